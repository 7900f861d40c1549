"""Shared pieces of the `storyline` command: the app, consoles, options, settings and store opening."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from .. import settings as settings_mod
from ..store import MAX_ID, Store, StoreError

app = typer.Typer(help="Follow developing news stories across outlets and months.", no_args_is_help=True, add_completion=False)
eval_app = typer.Typer(help="Measure quality on the real evaluation sets (writes docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

# Without markup: headlines, outlet and feed names, and paths are printed as they are ("[video] ..."
# was eaten, and "[/bold] ..." stopped every listing with a MarkupError). Styles come from `marked`.
out = Console(markup=False)
err = Console(stderr=True, markup=False)


def marked(template: str, *values: object) -> Text:
    """Styled text: markup in `template` (ours), each {} filled with a value shown exactly as it is."""
    return Text.from_markup(template.format(*(escape(str(v)) for v in values)))


def print_error(message: object) -> None:
    """The one-line `error: ...` on stderr, the message shown exactly as it is."""
    err.print(marked("[red]error:[/red] {}", message), highlight=False, soft_wrap=True)

DbOption = typer.Option(None, "--db", help="SQLite database file (default ./storyline.db, or db in storyline.toml, or $STORYLINE_DB).")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")
# Ids and counts stop at SQLite's largest integer: a larger one was bound as-is and raised OverflowError.
LimitOption = typer.Option(0, "--limit", min=0, max=MAX_ID, help="At most this many rows (default 0: all).")


def id_argument(help: str) -> Any:
    """A required row id argument."""
    return typer.Argument(..., min=0, max=MAX_ID, help=help)


def id_option(flag: str, help: str) -> Any:
    """An optional row id option (`--story`, `--event`)."""
    return typer.Option(None, flag, min=0, max=MAX_ID, help=help)


def sql_limit(limit: int) -> int:
    """A --limit as the store's LIMIT: 0 asks for every row, which SQLite spells -1."""
    return limit if limit > 0 else -1


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
    try:
        conf = settings_mod.load({"db": db, **flags})
    except settings_mod.SettingsError as exc:
        print_error(exc)
        raise typer.Exit(2) from None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger("storyline")
    root.handlers[:] = [handler]
    root.setLevel(conf.log_level.upper())
    root.propagate = False
    return conf


def open_store(conf: settings_mod.Settings, existing: bool = False) -> Store:
    """Open the store or exit with a one-line error; `existing`: one that is already there, never a new, empty one."""
    if existing and conf.db != ":memory:" and not Path(conf.db).exists():
        # a mistyped --db made an empty store, and the command printed nothing as if all were well
        print_error(f"{conf.db}: no such database (ingest or import into it first)")
        raise typer.Exit(2)
    try:
        return Store(conf.db)
    except StoreError as exc:
        print_error(exc)
        raise typer.Exit(2) from None


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (a terminal only), updated by the (done, total) callback it yields."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"[bold]{escape(label)}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def print_json(data: Any) -> None:
    """Write JSON to stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


class OutputError(ValueError):
    """An output file that must not be written (the store's own database)."""


def _store_files(store_path: str) -> set[Path]:
    """The database file of a store and the files SQLite keeps beside it."""
    db = Path(store_path).resolve()
    return {db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))}


@contextmanager
def output(path: Optional[Path], binary: bool, store_path: str | None = None) -> Iterator[IO]:
    """The file to write (its folder created), or standard output for None or '-'.

    Written beside the target and moved over it only when complete: an export that fails leaves any
    earlier file as it was. A store's own files are refused (an export onto its database emptied it).
    """
    if path is None or str(path) == "-":
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()  # a reader gone (`| head`) is met here, where the command line quietly exits on it
        return
    if store_path and store_path != ":memory:" and path.resolve() in _store_files(store_path):
        raise OutputError(f"{path}: is the store's own database; write the export to another file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        # A link, a pipe or a device (/dev/stdout, >(gzip)): written through, as the user asked, never replaced.
        with open(path, "wb") if binary else open(path, "w", encoding="utf-8", newline="") as fh:
            yield fh
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.is_file() else 0o666 & ~umask)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
