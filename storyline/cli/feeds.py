"""Collection commands: `feeds add|list|remove|import|export`, `watch` and `history`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from .. import settings as settings_mod
from .base import (
    DbOption, JsonOption, OutputError, app, err, id_argument, marked, open_store, out, output, print_error, print_json, setup,
)

feeds_app = typer.Typer(help="Subscriptions that `storyline watch` polls (RSS, Atom, JSON Feed, Google News).", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


def _fail(message: str, code: int = 1) -> None:
    """Print one error line and exit."""
    print_error(message)
    raise typer.Exit(code)


@feeds_app.command("add")
def feeds_add(
    url: Optional[str] = typer.Argument(None, help="Feed URL (RSS, Atom, JSON Feed; Google News RSS URLs too)."),
    name: Optional[str] = typer.Option(None, "--name", help="A name to show instead of the URL."),
    every: Optional[str] = typer.Option(None, "--every", help="Poll interval, e.g. 15m, 2h, 1d (default: setting poll_every, 15m)."),
    google_news: Optional[str] = typer.Option(None, "--google-news", help="Subscribe to the Google News search feed for this query."),
    language: str = typer.Option("en-US", "--hl", help="Google News interface language (with --google-news)."),
    country: str = typer.Option("US", "--gl", help="Google News edition country (with --google-news)."),
    db: Optional[str] = DbOption,
) -> None:
    """Subscribe to a feed; it is polled on the next `storyline watch`."""
    from ..watch import check_feed_url, google_news_url, parse_interval, subscribe

    conf = setup(db)
    if bool(url) == bool(google_news):
        _fail("give a feed URL or --google-news QUERY (one of them)", 2)
    target = url or google_news_url(google_news or "", language, country)
    try:
        target = check_feed_url(target)
        seconds = parse_interval(every or conf.poll_every)
        # Asked again with --every or --name, a subscription already there takes them (as the web form does).
        feed_id, new = subscribe(
            open_store(conf), target, name or (f"Google News: {google_news}" if google_news else None), seconds,
            update=bool(every or name),
        )
    except ValueError as exc:
        _fail(str(exc), 2)
    note = "added" if new else ("already subscribed, updated" if every or name else "already subscribed")
    out.print(f"{note}: {feed_id} {target}", highlight=False, soft_wrap=True)


@feeds_app.command("list")
def feeds_list(db: Optional[str] = DbOption, as_json: bool = JsonOption) -> None:
    """Subscriptions with their state: last success, last error, error count, next poll, items seen."""
    from ..watch import feed_status

    store = open_store(setup(db), existing=True)
    data = [feed_status(row) for row in store.feeds()]
    if as_json:
        print_json(data)
        return
    table = Table("id", "feed", "state", "last success", "last error", "next poll", "items", "pages", box=None)
    for f in data:
        error = f"{(f['last_error_at'] or '')[:16]} {f['last_error']}" if f["last_error"] else ""
        if error and not f["error_count"]:
            error = f"(recovered) {error}"  # the last poll succeeded: this one is history
        pages = f"{f['pages_pending']} pending" + (f", {f['pages_failed']} failed" if f["pages_failed"] else "")
        table.add_row(
            str(f["id"]), f["name"] or f["url"], f["state"], (f["last_success"] or "never")[:16], error,
            str(f["next_poll"])[:16], str(f["items_seen"]), pages,
        )
    out.print(table)


@feeds_app.command("remove")
def feeds_remove(feed: str = typer.Argument(..., help="Feed id or URL (see `storyline feeds list`)."), db: Optional[str] = DbOption) -> None:
    """Unsubscribe (stored articles stay)."""
    from ..watch import unsubscribe

    row = unsubscribe(open_store(setup(db), existing=True), feed)
    if row is None:
        _fail(f"no such feed: {feed}")
    out.print(f"removed: {row['id']} {row['url']}", highlight=False, soft_wrap=True)


@feeds_app.command("import")
def feeds_import(
    file: Path = typer.Argument(..., help="An OPML file exported from Miniflux, FreshRSS, Feedly, Inoreader..."),
    every: Optional[str] = typer.Option(None, "--every", help="Poll interval for the imported feeds."),
    db: Optional[str] = DbOption,
) -> None:
    """Subscribe to every feed an OPML file lists."""
    from ..opml import OpmlError
    from ..watch import import_opml, parse_interval

    conf = setup(db)
    try:
        seconds = parse_interval(every or conf.poll_every)
        added, known, skipped = import_opml(open_store(conf), file.read_bytes(), seconds)
    except (OSError, OpmlError, ValueError) as exc:
        _fail(f"{file}: {getattr(exc, 'strerror', None) or exc}", 2)
    out.print(f"{added} added, {known} already subscribed" + (f", {skipped} skipped (not http(s) feed URLs)" if skipped else ""), highlight=False)


@feeds_app.command("export")
def feeds_export(
    file: Optional[Path] = typer.Argument(None, help="Write here instead of standard output."),
    db: Optional[str] = DbOption,
) -> None:
    """Write the subscriptions as OPML (for any other feed reader)."""
    from ..watch import export_opml

    store = open_store(setup(db), existing=True)
    data = export_opml(store)
    try:
        with output(file, binary=True, store_path=store.path) as fh:
            fh.write(data)
    except OutputError as exc:
        _fail(str(exc), 2)
    except OSError as exc:
        _fail(f"{file}: {exc.strerror or exc}", 2)


@app.command()
def watch(
    once: bool = typer.Option(False, "--once", help="Poll what is due (and the pages that brings), then exit (1 if a feed failed)."),
    poll_all: bool = typer.Option(False, "--all", help="Poll every feed now, due or not."),
    allow_private: bool = typer.Option(False, "--allow-private", help="Allow feeds and pages on loopback/private addresses."),
    delay: Optional[float] = typer.Option(None, "--delay", help="Seconds between two requests to one host (default: setting host_delay_s, 2)."),
    pages: Optional[bool] = typer.Option(None, "--pages/--no-pages", help="Fetch and extract the article page of each new item (default: setting fetch_pages, on)."),
    db: Optional[str] = DbOption,
) -> None:
    """Poll subscriptions until stopped (Ctrl-C or SIGTERM finish the current write and exit)."""
    import threading

    from ..ingest import Pipeline
    from ..watch import Watcher, stop_on_signals

    conf = setup(db, fetch_pages=pages, host_delay_s=delay)
    store = open_store(conf, existing=True)
    if not store.feeds():
        _fail("no subscriptions: add one with `storyline feeds add URL`")
    stop = threading.Event()
    stop_on_signals(stop)
    watcher = Watcher(Pipeline(store, conf), _watch_options(conf, allow_private), stop=stop)
    if not once:
        err.print(f"watching {len(store.feeds())} feeds; Ctrl-C or SIGTERM to stop", highlight=False)
    try:
        report = watcher.run(once=once, everything=poll_all)
    finally:
        watcher.close()
    for line in report.errors:
        err.print(marked("[yellow]feed error:[/yellow] {}", line), highlight=False, soft_wrap=True)
    out.print(report.summary(), highlight=False)
    if once and report.failed:
        raise typer.Exit(1)  # as `ingest` does for a bad file: what did work is stored, and scripts can tell


def _watch_options(conf: settings_mod.Settings, allow_private: bool) -> Any:
    """WatchOptions from the settings (flags included: `--delay` and `--pages` are settings) and `--allow-private`."""
    from ..fetch import FetchOptions
    from ..politeness import PolitenessOptions
    from ..watch import WatchOptions

    return WatchOptions(
        workers=conf.fetch_workers,
        fetch_pages=conf.fetch_pages,
        max_backoff_s=float(conf.max_backoff_s),
        fetch=FetchOptions.from_settings(conf, allow_private),
        politeness=PolitenessOptions(per_host=conf.host_concurrency, delay_s=conf.host_delay_s),
    )


@app.command()
def history(article_id: int = id_argument("Article id (see `storyline articles`)."), db: Optional[str] = DbOption, as_json: bool = JsonOption) -> None:
    """An article's versions: how its headline and text changed since it was first seen."""
    store = open_store(setup(db), existing=True)
    row = store.article(article_id)
    if row is None:
        _fail(f"no article {article_id}")
    versions = [
        {"seen_at": v["seen_at"], "origin": v["origin"], "title": v["title"], "text_chars": len(v["text"] or ""),
         "published": v["published"]}
        for v in store.article_versions(article_id)
    ]
    page = store.page(article_id)
    data = {
        "id": row["id"], "title": row["title"], "url": row["url"], "revisions": row["revisions"],
        "updated_at": row["updated_at"], "page": dict(page) if page else None, "versions": versions,
    }
    if as_json:
        print_json(data)
        return
    note = f", updated {row['revisions']}x (last {row['updated_at']})" if row["revisions"] else ""
    out.print(marked("[bold]{}[/bold]  (article {}{})", row["title"] or "(no title)", row["id"], note), highlight=False)
    if page:
        out.print(f"page: {page['state']} {page['last_error'] or ''}", highlight=False)
    for v in versions or [{"seen_at": row["created_at"], "origin": row["kind"], "title": row["title"], "text_chars": len(row["text"])}]:
        out.print(f"  {v['seen_at']}  {v['origin']:<5}  {v['title'] or ''}  ({v['text_chars']} chars)", highlight=False)
