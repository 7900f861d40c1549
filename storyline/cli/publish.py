"""Publishing commands: `storyline export hugo|atom|jsonl|csv|parquet` and `storyline import jsonl`."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import typer

from ..publish import AtomOptions, HugoOptions, PublishError, export_hugo, write_atom
from ..publish.load import ImportSource, import_jsonl
from ..publish.tables import WHAT, TableOptions, write_csv, write_jsonl, write_parquet
from ..store import MAX_ID
from .base import DbOption, OutputError, app, err, id_option, open_store, out, output, print_error, progress_bar, setup

export_app = typer.Typer(help="Publish: a Hugo site, Atom feeds, JSONL/CSV/Parquet data.", no_args_is_help=True)
import_app = typer.Typer(help="Read Storyline's own exports back into a store.", no_args_is_help=True)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")

OutputOption = typer.Option(None, "--output", "-o", help="Write to this file (default: standard output).")
WhatOption = typer.Option("articles", "--what", help=f"Records to export: {', '.join(WHAT)} (raw and all: jsonl only).")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error; return the exit to raise."""
    print_error(message)
    return typer.Exit(code)


@export_app.command("hugo")
def export_hugo_cmd(
    folder: Path = typer.Argument(..., help="Site folder (created; re-exporting updates pages in place)."),
    db: Optional[str] = DbOption,
    title: str = typer.Option("Storyline", "--title", help="Site title."),
    base_url: str = typer.Option("/", "--base-url", help="Where the site will be served."),
    full_text: bool = typer.Option(False, "--full-text", help="Article pages carry the whole text, not an excerpt."),
) -> None:
    """Write a Hugo site: one page per story (its timeline), event and article, with a bundled theme."""
    store = open_store(setup(db), existing=True)
    try:
        with progress_bar("export") as progress:
            report = export_hugo(store, folder, HugoOptions(site_title=title, base_url=base_url, full_text=full_text, progress=progress))
    except (PublishError, OSError) as exc:
        raise fail(str(exc)) from None
    out.print(report.summary(), highlight=False, soft_wrap=True)
    if report.config_kept:
        out.print(f"kept your own {folder / 'config.toml'}", highlight=False, soft_wrap=True)
    out.print(f"build it with: hugo --source {folder}", highlight=False, soft_wrap=True)


@export_app.command("atom")
def export_atom_cmd(
    db: Optional[str] = DbOption,
    story_id: Optional[int] = id_option("--story", "Only this story's events."),
    limit: int = typer.Option(100, "--limit", min=0, max=MAX_ID, help="Most recently updated events to include (0: all)."),
    self_url: Optional[str] = typer.Option(None, "--self-url", help="URL the feed will be served at."),
    output_path: Optional[Path] = OutputOption,
) -> None:
    """Write an Atom feed of events (all stories, or one) with their summaries and sources."""
    store = open_store(setup(db), existing=True)
    options = AtomOptions(story_id=story_id, limit=limit if limit > 0 else -1, self_url=self_url)
    try:
        with output(output_path, binary=True, store_path=store.path) as fh:
            n = write_atom(store, fh, options)
    except OutputError as exc:
        raise fail(str(exc), 2) from None
    except BrokenPipeError:
        raise  # the reader left (`| head`): the command line exits quietly, as other tools do
    except (PublishError, OSError) as exc:
        raise fail(str(exc)) from None
    if output_path is not None:
        err.print(f"{n} entries written to {output_path}", highlight=False, soft_wrap=True)


def export_table(fmt: str, what: str, db: Optional[str], output_path: Optional[Path]) -> None:
    """Run one data export and report its row count on stderr."""
    store = open_store(setup(db), existing=True)
    if what not in WHAT:
        raise fail(f"unknown --what {what!r}: choose from {', '.join(WHAT)}", 2)
    if fmt == "parquet" and output_path is None:
        raise fail("parquet is binary: give a file with --output", 2)
    try:
        with output(output_path, binary=fmt == "parquet", store_path=store.path) as fh:
            if fmt == "jsonl":
                n = write_jsonl(store, fh, what)
            elif fmt == "csv":
                n = write_csv(store, fh, what)
            else:
                n = write_parquet(store, fh, TableOptions(fmt=fmt, what=what))
    except OutputError as exc:
        raise fail(str(exc), 2) from None
    except BrokenPipeError:
        raise  # the reader left (`| head`): the command line exits quietly, as other tools do
    except (PublishError, OSError) as exc:
        raise fail(str(exc)) from None
    if output_path is not None:
        err.print(f"{n} records ({what}) written to {output_path}", highlight=False, soft_wrap=True)


@export_app.command("jsonl")
def export_jsonl_cmd(what: str = WhatOption, db: Optional[str] = DbOption, output_path: Optional[Path] = OutputOption) -> None:
    """Write records as JSON lines, lossless (`--what all` is the full dump `import jsonl` reads)."""
    export_table("jsonl", what, db, output_path)


@export_app.command("csv")
def export_csv_cmd(what: str = WhatOption, db: Optional[str] = DbOption, output_path: Optional[Path] = OutputOption) -> None:
    """Write records as CSV with a header row (list cells as JSON)."""
    export_table("csv", what, db, output_path)


@export_app.command("parquet")
def export_parquet_cmd(what: str = WhatOption, db: Optional[str] = DbOption, output_path: Optional[Path] = OutputOption) -> None:
    """Write records as a Parquet file with typed columns (needs pyarrow)."""
    export_table("parquet", what, db, output_path)


PLURAL = {"article": "articles", "entity": "entities", "event": "events", "outlet": "outlets", "raw": "raw inputs",
          "story": "stories", "row": "other rows"}


@import_app.command("jsonl")
def import_jsonl_cmd(
    files: list[Path] = typer.Argument(..., help="JSONL exports ('-' for standard input), in any order."),
    db: Optional[str] = DbOption,
) -> None:
    """Load Storyline's own JSONL into a new, empty store, ids preserved; all or nothing."""
    store = open_store(setup(db))
    try:
        with ExitStack() as stack:
            sources = [
                ImportSource(str(path), sys.stdin.buffer if str(path) == "-" else stack.enter_context(open(path, "rb")))
                for path in files
            ]
            counts = import_jsonl(store, sources)
    except (PublishError, OSError) as exc:
        raise fail(str(exc)) from None
    stored = ", ".join(f"{n} {PLURAL[k]}" for k, n in sorted(counts.items())) or "nothing"
    out.print(f"imported {stored}", highlight=False, soft_wrap=True)  # one line, however narrow the terminal
