"""The command line: documented commands and machine-readable output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storyline.cli import app

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def _commands() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():
        subs = getattr(cmd, "commands", None)
        names += [f"{name} {sub}" for sub in subs] if subs else [name]
    return names


def test_every_command_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    missing = [c for c in _commands() if f"storyline {c.split()[0]}" not in readme or c.split()[-1] not in readme]
    assert not missing, f"undocumented commands: {missing}"


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "storyline", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "300", **(env or {})},
    )


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory, seeds) -> Path:
    db = tmp_path_factory.mktemp("cli") / "cli.db"
    proc = run_cli("ingest", "--db", str(db), str(seeds))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("0 failed")
    return db


def test_stories_json_has_the_documented_shape(seeded_db, seeds):
    proc = run_cli("stories", "--db", str(seeded_db), "--json")
    data = json.loads(proc.stdout)
    assert isinstance(data, list) and len(data) == 1
    story = data[0]
    assert {"id", "title", "events"} <= set(story)
    for event in story["events"]:
        assert {"id", "date", "title", "summary", "articles"} <= set(event)
        for article in event["articles"]:
            assert {"id", "title", "outlet", "url", "source", "published", "duplicate_of"} <= set(article)
    sources = {a["source"] for e in story["events"] for a in e["articles"]}
    assert {str(p.resolve()) for p in seeds.iterdir()} <= sources


def test_story_timeline_in_the_terminal(seeded_db):
    story_id = json.loads(run_cli("stories", "--db", str(seeded_db), "--json").stdout)[0]["id"]
    proc = run_cli("story", str(story_id), "--db", str(seeded_db))
    assert proc.returncode == 0
    text = proc.stdout
    assert text.index("2025-08-12") < text.index("2026-01-09")
    assert "Korea JoongAng Daily" in text and "WION" in text
    assert "I will unconditionally respect" in text and "Kim Jong Un" in text


def test_a_second_ingest_counts_inputs_unchanged_apart_from_articles(seeded_db, seeds, tmp_path):
    db = tmp_path / "again.db"
    shutil.copy(seeded_db, db)
    proc = run_cli("ingest", "--db", str(db), str(seeds))
    inputs = sum(1 for p in seeds.iterdir() if p.is_file())
    # New and duplicate count articles; an unchanged input file may hold many, so it is counted apart.
    assert proc.returncode == 0 and proc.stdout.strip() == f"0 new, 0 duplicates, 0 failed, {inputs} inputs unchanged since stored"
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0  # closed: all of it in the file


def test_story_that_does_not_exist(seeded_db):
    proc = run_cli("story", "999", "--db", str(seeded_db))
    assert proc.returncode == 1 and "no story 999" in proc.stderr


def test_events_and_articles_json(seeded_db):
    events = json.loads(run_cli("events", "--db", str(seeded_db), "--json").stdout)
    assert len(events) == 3 and events[0]["date"] >= events[-1]["date"]
    articles = json.loads(run_cli("articles", "--db", str(seeded_db), "--json").stdout)
    assert len(articles) == 9
    # The table names a few outlets of an event, and says how many it leaves out.
    widest = max(events, key=lambda e: len(e["outlets"]))
    assert len(widest["outlets"]) > 4
    table = " ".join(run_cli("events", "--db", str(seeded_db)).stdout.split())
    assert f"and {len(widest['outlets']) - 4} more" in table
    assert sum(1 for a in articles if a["merged_into"]) == 1


PAGE = """<!doctype html><html lang="en"><head><title>Night trains return | The Valley Courier</title>
<meta property="og:site_name" content="The Valley Courier">
<meta property="article:published_time" content="2024-05-02T08:00:00+00:00">
<meta name="author" content="Ada Brook"></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Night trains return to the valley line</h1>
<p>The regional rail company restarted its overnight service between the two valley towns on Thursday, after a gap of eleven years.</p>
<p>Passengers boarding the first train said the sleeper carriages had been refitted with new bunks and reading lamps.</p>
<p>The company plans to run three trains a week through the summer and to decide on a winter timetable in September.</p>
</article><footer>Copyright The Valley Courier. All rights reserved.</footer></body></html>"""


def test_extract_json_from_a_file(tmp_path):
    page = tmp_path / "night-trains.html"
    page.write_text(PAGE)
    proc = run_cli("extract", "--json", str(page))
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.strip().splitlines()[0])
    assert set(record) == {"source", "url", "title", "text", "published", "outlet", "byline", "language"}
    assert record["outlet"] == "The Valley Courier"
    assert record["published"].startswith("2024-05-02")
    assert "sleeper carriages" in record["text"] and "All rights reserved" not in record["text"]


def test_extract_bad_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.html"
    proc = run_cli("extract", str(missing))
    assert proc.returncode == 1
    assert "nope.html" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_reindex_cuts_an_index_made_before_shards_and_leaves_a_cut_one_alone(tmp_path):
    from conftest import store_at_version

    from storyline.search import SearchQuery, search
    from storyline.store import Store

    # An older Storyline's store: its whole index in one table, more articles than a shard holds.
    path = tmp_path / "old.db"
    db = store_at_version(path, 9)
    n = Store.SEARCH_SHARD_ARTICLES + Store.SEARCH_SHARD_WARMUP + 500
    db.executemany(
        "INSERT INTO articles (id, key, kind, source, title, text, created_at) VALUES (?, ?, 'text', 'x', ?, ?, '2026-01-01')",
        ((i, f"k{i}", f"Tide table {i}", f"High water at the quay came at hour {i % 24}." + (" Gale." if i % 1000 == 0 else ""))
         for i in range(1, n + 1)),
    )
    db.commit()
    db.close()
    proc = run_cli("reindex", "--db", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "search index: 2 shards (was 1)" in proc.stdout
    store = Store(path)
    assert [lo for _, lo, _ in store.search_shards()] == [Store.SEARCH_SHARD_ARTICLES + 1 + Store.SEARCH_SHARD_WARMUP, 0]
    assert not store.search_index_oversized()
    assert search(store, SearchQuery("gale", limit=50))["total"] == n // 1000
    store.close()
    again = run_cli("reindex", "--db", str(path))
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_titles_and_names_that_look_like_markup_print_as_they_are(tmp_path):
    post = tmp_path / "post.md"
    post.write_text('---\ntitle: "[/bold] [video] [Update] Harbour wall done"\ndate: 2024-06-03\noutlet: "[red]Gazette"\n---\n'
                    "Masons finished the new harbour wall at Kilmore on Friday, ahead of the winter storms, the council said.\n",
                    encoding="utf-8")
    db = str(tmp_path / "markup.db")
    assert run_cli("ingest", "--db", db, str(post)).returncode == 0
    for command in (["stories"], ["story", "1"], ["events"], ["articles"]):
        proc = run_cli(*command, "--db", db)
        assert proc.returncode == 0, proc.stderr
        assert "[/bold] [video] [Update] Harbour" in proc.stdout, command
    assert "[red]Gazette" in run_cli("articles", "--db", db).stdout
    assert "([storyline] table)" in run_cli("settings", "--db", db).stdout
    missing = run_cli("ingest", "--db", db, str(tmp_path / "[b]gone.txt"))
    assert missing.returncode == 1 and f"error: {tmp_path / '[b]gone.txt'}: no such file" in missing.stderr


def test_a_bad_setting_stops_a_command_with_one_line(tmp_path):
    proc = run_cli("stories", "--db", str(tmp_path / "s.db"), env={"STORYLINE_WORKERS": "abc"})
    assert proc.returncode == 2 and proc.stderr.strip() == "error: STORYLINE_WORKERS: setting workers: 'abc' is not a whole number"


def fill_store(path: Path, n: int) -> None:
    """A store of n stories, each one event of one article, written straight into SQLite."""
    import sqlite3

    from storyline.store import Store

    Store(path).close()
    db = sqlite3.connect(path)
    stamp = "2026-01-01T00:00:00+00:00"
    db.executemany("INSERT INTO stories (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                   ((i, f"Story {i}", stamp, stamp) for i in range(1, n + 1)))
    db.executemany("INSERT INTO events (id, story_id, title, date, n_articles, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
                   ((i, i, f"Event {i}", f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", stamp, stamp) for i in range(1, n + 1)))
    db.executemany("INSERT INTO articles (id, key, kind, source, title, text, event_id, created_at) VALUES (?, ?, 'text', 'x', ?, 'Body.', ?, ?)",
                   ((i, f"k{i}", f"Article {i}", i, stamp) for i in range(1, n + 1)))
    db.commit()
    db.close()


def test_listings_give_every_row_of_a_store_with_more_than_a_thousand_unless_limited(tmp_path):
    db = tmp_path / "big.db"
    fill_store(db, 1005)
    for command in ("stories", "events", "articles"):
        everything = run_cli(command, "--db", str(db), "--json")
        assert everything.returncode == 0, everything.stderr
        assert sorted(r["id"] for r in json.loads(everything.stdout)) == list(range(1, 1006)), command
        table = run_cli(command, "--db", str(db))
        assert sum(1 for line in table.stdout.splitlines() if line.strip()) == 1 + 1005, command  # header and rows
        limited = json.loads(run_cli(command, "--db", str(db), "--json", "--limit", "7").stdout)
        assert [r["id"] for r in limited] == [r["id"] for r in json.loads(everything.stdout)][:7], command


def test_an_export_whose_reader_leaves_stops_quietly(tmp_path):
    db = tmp_path / "big.db"
    fill_store(db, 1005)  # exports far larger than a pipe holds
    for args in (["export", "jsonl", "--what", "articles"], ["export", "csv", "--what", "articles"]):
        proc = subprocess.Popen([sys.executable, "-m", "storyline", *args, "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.read(100)
        proc.stdout.close()  # as `| head` does
        assert proc.stderr.read() == b"" and proc.wait() == 1, args  # not "error: [Errno 32] Broken pipe"
        proc.stderr.close()


def test_reading_commands_refuse_a_database_that_does_not_exist(tmp_path):
    typo = tmp_path / "typo.db"
    for command in (["stories"], ["story", "1"], ["events"], ["articles", "--json"], ["reindex"], ["export", "jsonl"],
                    ["export", "atom"], ["export", "hugo", str(tmp_path / "site")]):
        proc = run_cli(*command, "--db", str(typo))
        assert proc.returncode == 2 and proc.stderr == f"error: {typo}: no such database (ingest or import into it first)\n", command
        assert proc.stdout == "" and not typo.exists(), command


def test_publishing_summaries_stay_on_one_line_in_a_narrow_terminal(seeded_db, tmp_path):
    site = run_cli("export", "hugo", str(tmp_path / "site"), "--db", str(seeded_db), env={"COLUMNS": "40"})
    assert site.returncode == 0, site.stderr
    assert re.fullmatch(r"1 stories, \d+ events, \d+ articles; \d+ files written, 0 unchanged, 0 removed", site.stdout.splitlines()[0])
    assert site.stdout.splitlines()[1] == f"build it with: hugo --source {tmp_path / 'site'}"
    dump = tmp_path / "dump.jsonl"
    assert run_cli("export", "jsonl", "--what", "all", "--db", str(seeded_db), "-o", str(dump)).returncode == 0
    loaded = run_cli("import", "jsonl", str(dump), "--db", str(tmp_path / "copy.db"), env={"COLUMNS": "40"})
    assert loaded.returncode == 0 and len(loaded.stdout.splitlines()) == 1, loaded.stdout
    assert re.fullmatch(r"imported \d+ articles, .*\d+ stories", loaded.stdout.strip())


def test_commands_that_only_read_or_poll_refuse_a_database_that_does_not_exist(tmp_path):
    typo = str(tmp_path / "typo.db")
    for command in (["feeds", "list"], ["feeds", "remove", "1"], ["feeds", "export"], ["history", "1"], ["watch", "--once"]):
        result = runner.invoke(app, [*command, "--db", typo])
        assert result.exit_code == 2 and f"{typo}: no such database" in result.output, command
        assert not Path(typo).exists(), command
    empty = runner.invoke(app, ["ingest", "--db", "", str(tmp_path)])  # SQLite would open a throwaway database
    assert empty.exit_code == 2 and "setting db: the database path is empty" in empty.output


def test_ids_and_limits_past_sqlites_integers_are_usage_errors_not_tracebacks(seeded_db):
    huge = str(2**63)
    for command in (["story", huge], ["history", huge], ["events", "--story", huge], ["articles", "--event", huge],
                    ["stories", "--limit", huge], ["export", "atom", "--story", huge], ["export", "atom", "--limit", huge]):
        result = runner.invoke(app, [*command, "--db", str(seeded_db)])
        assert result.exit_code == 2, command
        assert "Traceback" not in result.output and "9223372036854775807" in result.output, command
    assert runner.invoke(app, ["story", str(2**63 - 1), "--db", str(seeded_db)]).exit_code == 1  # no story: one line


def test_extract_reads_its_limits_from_the_settings(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Dam opens</title></head><body><p>" + "The dam opened today. " * 200 + "</p></body></html>")
    result = runner.invoke(app, ["extract", str(page)], env={"STORYLINE_MAX_FILE_MB": "0.001"})
    assert result.exit_code == 1 and f"{page}: too large" in result.output and "setting max_file_mb" in result.output
    assert runner.invoke(app, ["extract", str(page), "--json"]).exit_code == 0
    folder = runner.invoke(app, ["extract", str(tmp_path)])
    assert folder.exit_code == 1 and f"error: {tmp_path}: Is a directory" in folder.output


def test_bench_refuses_flags_it_cannot_use_before_measuring_anything(tmp_path):
    for args, message in [(["--only", "servng"], "--only: 'servng' is not a path to measure alone"),
                          (["--sizes", "abc"], "--sizes: 'abc' is not a comma-separated list"),
                          (["--sizes", "100,0"], "every size must be at least 1")]:
        result = runner.invoke(app, ["bench", "--no-write", *args])
        assert result.exit_code == 2 and message in result.output, args
    assert runner.invoke(app, ["bench", "--no-write", "--repeats", "0"]).exit_code == 2


def test_every_log_level_the_settings_take_is_one_uvicorn_knows():
    from uvicorn.config import LOG_LEVELS

    from storyline.cli.web import uvicorn_level
    from storyline.settings import CHOICES

    assert {uvicorn_level(level) for level in CHOICES["log_level"]} <= set(LOG_LEVELS)


def test_watch_flags_override_the_settings_they_stand_for(monkeypatch):
    from storyline.cli.base import setup
    from storyline.cli.feeds import _watch_options

    monkeypatch.setenv("STORYLINE_FETCH_PAGES", "0")
    monkeypatch.setenv("STORYLINE_HOST_DELAY_S", "9")
    assert _watch_options(setup(None, fetch_pages=True, host_delay_s=0.5), False).fetch_pages is True  # --pages
    options = _watch_options(setup(None, fetch_pages=None, host_delay_s=None), False)  # no flags: the settings
    assert (options.fetch_pages, options.politeness.delay_s) == (False, 9.0)
    assert runner.invoke(app, ["watch", "--once", "--delay", "-5"]).output.startswith("error: --delay: setting host_delay_s")
