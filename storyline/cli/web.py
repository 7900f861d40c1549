"""`storyline serve`: the web UI and JSON API over the store."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from .base import DbOption, app, err, marked, open_store, setup


@app.command()
def serve(
    db: Optional[str] = DbOption,
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default; 0.0.0.0 exposes it to the network)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes: more answer more requests at once, one core each."),
    allowed_host: list[str] = typer.Option([], "--allowed-host", help="Also answer requests for this host name (repeat for more; setting allowed_hosts)."),
) -> None:
    """Serve the web UI and JSON API (/api/v1) over the store, safe to run beside ingest and watch."""
    import uvicorn

    from ..web import WebOptions, create_app
    from ..web.app import HOST_VARIABLE, WILDCARDS, host_names
    from ..web.balance import BOARD_VARIABLE, supported

    conf = setup(db)
    if conf.db != ":memory:" and not Path(conf.db).exists():  # a new store can start here (feeds added in the UI)
        err.print(f"note: {conf.db} does not exist yet; serving a new, empty store", highlight=False, soft_wrap=True)
    open_store(conf).close()  # a bad database is a one-line error, not a traceback
    if allowed_host:
        conf = replace(conf, allowed_hosts=",".join([conf.allowed_hosts, *allowed_host]).strip(","))
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(marked("[yellow]warning:[/yellow] serving on {}: anyone who can reach it can read and edit this store", host), highlight=False)
        also = " and this machine's addresses" if host in WILDCARDS else ""
        err.print(f"answering for host names: {', '.join(host_names(host, conf.allowed_hosts.split(',')))}{also} "
                  "(more with --allowed-host NAME)", highlight=False)
    level = uvicorn_level(conf.log_level)
    if workers == 1:
        uvicorn.run(create_app(conf, WebOptions(host=host, port=port)), host=host, port=port, log_level=level, access_log=False)
        return
    # Worker processes build their own app from the environment: the database, the bind address and
    # the board where they post their clients, to keep them spread (web/balance.py), go there.
    with tempfile.TemporaryDirectory(prefix="storyline-serve-") as board:
        os.environ.update({
            "STORYLINE_DB": conf.db, "STORYLINE_ALLOWED_HOSTS": conf.allowed_hosts, HOST_VARIABLE: host,
            BOARD_VARIABLE: board if supported() else "",
        })
        uvicorn.run(
            "storyline.web.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
            log_level=level, access_log=False,
        )


def uvicorn_level(level: str) -> str:
    """uvicorn's name for a log_level setting (it has no NOTSET: ours then inherits WARNING)."""
    return "warning" if level == "NOTSET" else level.lower()
