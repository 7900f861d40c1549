"""Shared pieces of the `storyline` command: the app, consoles, options, settings and store opening."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from .. import settings as settings_mod
from ..store import Store, StoreError

app = typer.Typer(help="Follow developing news stories across outlets and months.", no_args_is_help=True, add_completion=False)
eval_app = typer.Typer(help="Measure quality on the real evaluation sets (writes docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

out = Console()
err = Console(stderr=True)

DbOption = typer.Option(None, "--db", help="SQLite database file (default ./storyline.db, or $STORYLINE_DB).")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


class KeyValueFormatter(logging.Formatter):
    """Structured log lines: time, level, message and extra fields as key=value."""

    _SKIP = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in record.__dict__.items() if k not in self._SKIP}
        parts = [f"level={record.levelname.lower()}", f"logger={record.name}", f"msg={json.dumps(record.getMessage())}"]
        parts += [f"{k}={json.dumps(v, default=str)}" for k, v in fields.items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(db: Optional[str], **flags: Any) -> settings_mod.Settings:
    """Resolve settings and configure logging."""
    conf = settings_mod.load({"db": db, **flags})
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger("storyline")
    root.handlers[:] = [handler]
    root.setLevel(conf.log_level.upper())
    root.propagate = False
    return conf


def open_store(conf: settings_mod.Settings) -> Store:
    """Open the store or exit with a one-line error."""
    try:
        return Store(conf.db)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def print_json(data: Any) -> None:
    """Write JSON to stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


