"""`storyline serve`: the web UI and JSON API over the store."""

from __future__ import annotations

from typing import Optional

import typer

from .base import DbOption, app, err, open_store, setup


@app.command()
def serve(
    db: Optional[str] = DbOption,
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default; 0.0.0.0 exposes it to the network)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on (0 picks a free one)."),
) -> None:
    """Serve the web UI and JSON API (/api/v1) over the store, safe to run beside ingest."""
    import uvicorn

    from ..web import WebOptions, create_app

    conf = setup(db)
    open_store(conf).close()  # a bad database is a one-line error, not a traceback
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/yellow] serving on {host}: anyone who can reach it can read and edit this store", highlight=False)
    application = create_app(conf, WebOptions(host=host, port=port))
    uvicorn.run(application, host=host, port=port, log_level=conf.log_level.lower(), access_log=False)
