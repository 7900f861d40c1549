"""The core commands: ingest, read stories/events/articles, extract, eval, settings."""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime, timezone
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import __version__, settings as settings_mod, views
from ..sqlite import sqlite3
from ..store import StoreError
from .base import (
    DbOption, JsonOption, LimitOption, app, err, eval_app, id_argument, id_option, marked, open_store, out, print_error, print_json,
    setup, sql_limit,
)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (read recursively)."),
    db: Optional[str] = DbOption,
    ner: Optional[str] = typer.Option(None, help="Entity recognition: spacy, fast or auto."),
) -> None:
    """Import files and folders: text, markdown posts, HTML pages, RSS/Atom/JSON feeds."""
    from ..ingest import Pipeline

    conf = setup(db, ner=ner)
    store = open_store(conf)
    pipeline = Pipeline(store, conf)
    columns = (TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}", markup=False))
    try:
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("", total=None)

            def progress(name: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=Path(name).name if name else "")

            try:
                result = pipeline.ingest_paths(paths, progress)
            except StoreError as exc:
                print_error(exc)
                raise typer.Exit(2) from None
    finally:
        # Closing checkpoints the write-ahead log into the file, whatever the outcome: a run with a
        # bad input had left its last writes in the -wal alone, and a copy of the .db was stale.
        store.close()
    for line in result.errors:
        print_error(line)
    out.print(result.summary(), highlight=False)
    raise typer.Exit(1 if result.failed else 0)


@app.command()
def stories(db: Optional[str] = DbOption, as_json: bool = JsonOption, limit: int = LimitOption) -> None:
    """List stories, newest development first."""
    store = open_store(setup(db), existing=True)
    data = views.stories_list(store, limit=sql_limit(limit))
    if as_json:
        print_json(data)
        return
    table = Table("id", "story", "events", "articles", "latest", box=None)
    for s in data:
        latest = max((e["date"] or "" for e in s["events"]), default="")
        table.add_row(str(s["id"]), s["title"], str(len(s["events"])), str(sum(len(e["articles"]) for e in s["events"])), latest)
    out.print(table)


@app.command()
def story(story_id: int = id_argument("Story id (see `storyline stories`)."), db: Optional[str] = DbOption, as_json: bool = JsonOption) -> None:
    """Show a story's timeline: date, event, outlets, key quote."""
    store = open_store(setup(db), existing=True)
    data = views.story_dict(store, story_id, detail=True)
    if data is None:
        print_error(f"no story {story_id}")
        raise typer.Exit(1)
    if as_json:
        print_json(data)
        return
    out.print(marked("[bold]{}[/bold]  (story {}, {} events)\n", data["title"], data["id"], len(data["events"])), highlight=False)
    for e in data["events"]:
        marker = "" if e["date_method"] == "text" else " [dim](publication date)[/dim]"
        out.print(marked("[cyan]{}[/cyan]" + marker + "  [bold]{}[/bold]", e["date"] or "undated", e["title"]), highlight=False)
        if e["outlets"]:
            out.print(f"    outlets: {', '.join(e['outlets'])}", highlight=False)
        changed = [a for a in e["articles"] if a.get("updated")]
        if changed:
            out.print(marked("    [yellow]updated:[/yellow] {} report(s) changed since first seen (see `storyline history ID`)", len(changed)), highlight=False)
        if e["summary"]:
            out.print(f"    {e['summary']}", highlight=False)
        if e["quote"]:
            speaker = e["quote"]["speaker"] or "unattributed"
            out.print(marked("    [italic]“{}”[/italic] — {}", e["quote"]["text"], speaker), highlight=False)
        out.print()


def few(names: list[str], shown: int = 4) -> str:
    """The first names of a list, and how many more there are."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


@app.command()
def events(
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
    story_id: Optional[int] = id_option("--story", "Only this story's events."),
    limit: int = LimitOption,
) -> None:
    """List events, newest first."""
    store = open_store(setup(db), existing=True)
    data = [views.event_dict(store, e) for e in store.events(story_id, sql_limit(limit))]
    if as_json:
        print_json(data)
        return
    table = Table("id", "date", "story", "event", "articles", "outlets", box=None)
    for e in data:
        table.add_row(str(e["id"]), e["date"] or "", str(e["story_id"]), e["title"], str(len(e["articles"])), few(e["outlets"]))
    out.print(table)


@app.command()
def articles(
    db: Optional[str] = DbOption,
    as_json: bool = JsonOption,
    event_id: Optional[int] = id_option("--event", "Only this event's articles."),
    limit: int = LimitOption,
) -> None:
    """List stored articles, newest first."""
    store = open_store(setup(db), existing=True)
    rows = store.articles(event_id, sql_limit(limit))
    data = [views.article_dict(r) | {"event_id": r["event_id"], "merged_into": r["merged_into"]} for r in rows]
    if as_json:
        print_json(data)
        return
    table = Table("id", "published", "event", "outlet", "title", "note", box=None)
    for a in data:
        note = "duplicate of %s" % a["duplicate_of"] if a["duplicate_of"] else ("merged into %s" % a["merged_into"] if a["merged_into"] else ("listed" if a["kind"] == "linked" else ""))
        table.add_row(str(a["id"]), (a["published"] or "")[:10], str(a["event_id"] or ""), a["outlet"] or "", a["title"] or "", note)
    out.print(table)


@app.command()
def extract(
    targets: list[str] = typer.Argument(..., help="HTML files or http(s) URLs."),
    as_json: bool = JsonOption,
    allow_private: bool = typer.Option(False, "--allow-private", help="Allow URLs on loopback/private addresses."),
) -> None:
    """Extract clean text and metadata from pages."""
    from .. import extract as extract_mod
    from .. import fetch, readers

    conf = setup(None)
    options = fetch.FetchOptions.from_settings(conf, allow_private)
    failed = 0
    for target in targets:
        try:
            if target.startswith(("http://", "https://")):
                page = fetch.fetch(target, options)
                doc = extract_mod.extract_html(fetch.page_text(page), target, page.url)  # the header's charset too, as watch
            else:
                if not target.strip():
                    raise ValueError("no file named")
                path = Path(target)
                data = readers.read_input(path, int(conf.max_file_mb * 1_000_000))
                doc = extract_mod.extract_html(data, str(path.resolve()))
        except (OSError, ValueError) as exc:
            failed += 1
            print_error(f"{target}: {getattr(exc, 'strerror', None) or exc}")
            continue
        record = {
            "source": doc.source,
            "url": doc.url,
            "title": doc.title,
            "text": doc.text,
            "published": doc.published.isoformat() if doc.published else None,
            "outlet": doc.outlet,
            "byline": doc.byline,
            "language": doc.language,
        }
        if as_json:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.print(marked("[bold]{}[/bold]", doc.title or "(no title)"), highlight=False)
            out.print(marked("[dim]{} {} {} {}[/dim]", doc.outlet or "", record["published"] or "", doc.byline or "", doc.url or doc.source), highlight=False)
            out.print(doc.text + "\n", highlight=False)
    raise typer.Exit(1 if failed else 0)


def _eval_run(task: str, data: Optional[Path], as_json: bool, write: bool) -> None:
    """Run one evaluation, print its table or JSON, and record it in docs/benchmarks.md."""
    from .. import eval_clustering, eval_timelines, evaluate

    conf = setup(None)
    sets = {
        "extraction": ["data/extraction/aeb"],
        "dates": ["data/extraction/dates-mediacloud"],
        "clustering": ["data/clustering/ecbplus", "data/clustering/uci-news-aggregator"],
        "timelines": ["data/timelines/t17"],
    }[task]
    paths = [data] if data else [conf.shared_path() / rel for rel in sets]
    for path in paths:
        if not path.exists():
            print_error(f"{path}: no such data folder")
            raise typer.Exit(2)
    with Progress(TextColumn(f"[bold]eval {task}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        bars: dict[str, object] = {}

        def progress(done: int, total: int, name: str = "") -> None:
            key = name or "main"
            if key not in bars:
                bars[key] = bar.add_task(name, total=total)
            bar.update(bars[key], completed=done, total=total)

        results = []
        for path in paths:
            if task == "extraction":
                results.append(evaluate.eval_extraction(path, progress=progress))
            elif task == "dates":
                results.append(evaluate.eval_dates(path, progress=progress))
            elif task == "clustering":
                results.append(eval_clustering.eval_clustering(path, conf, progress))
            else:
                results.append(eval_timelines.eval_timelines(path, progress=progress))
    result = results[0] if len(results) == 1 else {
        "task": task,
        "data": " + ".join(r["data"] for r in results),
        "rows": [row | {"data": r["data"]} for r in results for row in r["rows"]],
        "notes": list(dict.fromkeys(note for r in results for note in r.get("notes", []))),
    }
    if write:
        evaluate.write_benchmarks(task, result)
    if as_json:
        print_json(result)
        return
    keys = list(dict.fromkeys(k for row in result["rows"] for k in row))
    table = Table(*keys, title=f"eval {task}")
    for row in result["rows"]:
        table.add_row(*(f"{row.get(k):.3f}" if isinstance(row.get(k), float) else str(row.get(k, "")) for k in keys))
    out.print(table)


DataOption = typer.Option(None, "--data", help="Another folder in the same format as the default set.")
WriteOption = typer.Option(True, help="Write the figures to docs/benchmarks.md.")


@eval_app.command("extraction")
def eval_extraction(data: Optional[Path] = DataOption, as_json: bool = JsonOption, write: bool = WriteOption) -> None:
    """Main-text extraction F1 on the aeb pages, with peer extractors in the same run."""
    _eval_run("extraction", data, as_json, write)


@eval_app.command("dates")
def eval_dates(data: Optional[Path] = DataOption, as_json: bool = JsonOption, write: bool = WriteOption) -> None:
    """Publication-date accuracy on the dates-mediacloud pages, with htmldate as peer."""
    _eval_run("dates", data, as_json, write)


@eval_app.command("clustering")
def eval_clustering(data: Optional[Path] = DataOption, as_json: bool = JsonOption, write: bool = WriteOption) -> None:
    """BCubed F1 of online event assignment on ECB+ and the UCI aggregator stream."""
    _eval_run("clustering", data, as_json, write)


@eval_app.command("timelines")
def eval_timelines(data: Optional[Path] = DataOption, as_json: bool = JsonOption, write: bool = WriteOption) -> None:
    """Timeline summarization (AR1, AR2, date F1) on Timeline17."""
    _eval_run("timelines", data, as_json, write)


@app.command()
def reindex(
    db: Optional[str] = DbOption,
    force: bool = typer.Option(False, "--force", help="Rebuild even when no shard is too large."),
) -> None:
    """Cut the search index into shards as ingest does (stores indexed before shards): searches read the newest first."""
    store = open_store(setup(db), existing=True)
    try:
        shards = len(store.search_shards())
        if not force and not store.search_index_oversized():
            out.print(f"search index: {shards} shard{'s' if shards != 1 else ''}, none larger than ingest makes them; "
                      "nothing to do", highlight=False)
            return
        err.print(f"reindex: {store.path} is locked for writing until the index is rebuilt (25 s for 100,000 "
                  "articles on two cores): ingest, watch and edits in the web UI wait meanwhile, and give up after 10 s", highlight=False)
        columns = (TextColumn("[bold]reindex"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("", total=None)
            made = store.reshard_search(lambda done, total: bar.update(task, completed=done, total=total))
    except sqlite3.OperationalError as exc:
        print_error(f"{store.path}: {exc}; nothing was changed (is an ingest or watch running?)")
        raise typer.Exit(1) from None
    finally:
        store.close()
    out.print(f"search index: {made} shard{'s' if made != 1 else ''} (was {shards}) of up to {store.SEARCH_SHARD_ARTICLES:,} articles", highlight=False)


@app.command("settings")
def show_settings(db: Optional[str] = DbOption) -> None:
    """Show every setting, its value and where it can be set."""
    conf = setup(db)
    table = Table("name", "value", "default", "help", box=None)
    for s in settings_mod.TABLE:
        table.add_row(s.name, str(getattr(conf, s.name)), str(s.default), s.help)
    out.print(table)
    out.print("Set in storyline.toml ([storyline] table), as STORYLINE_<NAME>, or with a flag.", highlight=False)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="Small sizes, one run each (a smoke test)."),
    as_json: bool = JsonOption,
    write: bool = WriteOption,
    ner: Optional[str] = typer.Option(None, help="Entity recognition tier to measure."),
    sizes: Optional[str] = typer.Option(None, help="Text-path sizes, comma-separated (default 1000,10000,100000)."),
    repeats: Optional[int] = typer.Option(None, min=1, help="Runs per text-path size below 100k (the median is reported)."),
    serving_articles: Optional[int] = typer.Option(None, min=0, help="Articles stored for the serving figures (default 100000; 0 leaves serving out)."),
    only: Optional[str] = typer.Option(None, help="Measure one path only: serving (written to its own section)."),
) -> None:
    """Measure the product's code paths (text, HTML, serving, polling) and write docs/benchmarks.md."""
    from .. import bench as bench_mod
    from .. import evaluate

    if only not in (None, "serving"):  # a mistyped path ran the whole benchmark and rewrote the document
        print_error(f"--only: {only!r} is not a path to measure alone (serving)")
        raise typer.Exit(2)
    conf = setup(None, ner=ner)
    opts = bench_mod.BenchOptions(sizes=(200, 1000), repeats=1, serving_articles=2_000) if quick else bench_mod.BenchOptions()
    if sizes:
        try:
            opts = replace(opts, sizes=tuple(int(x) for x in sizes.split(",")))
        except ValueError:
            print_error(f"--sizes: {sizes!r} is not a comma-separated list of whole numbers")
            raise typer.Exit(2) from None
        if any(n < 1 for n in opts.sizes):
            print_error(f"--sizes: {sizes!r}: every size must be at least 1")
            raise typer.Exit(2)
    if repeats:
        opts = replace(opts, repeats=repeats)
    if serving_articles is not None:
        opts = replace(opts, serving_articles=serving_articles)
    with Progress(TextColumn("[bold]bench"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("", total=None)
        if only == "serving":
            result = {
                "task": "bench-serving",
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "command": shlex.join(["storyline", *sys.argv[1:]]),
                "serving": bench_mod.serving(conf, opts.serving_articles),
            }
        else:
            result = bench_mod.run_all(conf, opts, lambda done, total: bar.update(task, completed=done, total=total))
            result["command"] = shlex.join(["storyline", *sys.argv[1:]])
            result["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if write:
        evaluate.write_benchmarks("bench-serving" if only == "serving" else "bench", result)
    if as_json:
        print_json(result)
        return
    out.print_json(data=result)
