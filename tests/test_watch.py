"""Live collection end to end: real HTTP servers on 127.0.0.x, real SQLite stores, the real feeds in ../shared."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import kill_when, wait_for_count
from lxml import etree

from storyline.feeds import FeedError, key_by_link, parse_feed
from storyline.fetch import FetchOptions
from storyline.ingest import Pipeline
from storyline.models import sanitize
from storyline.politeness import PolitenessOptions
from storyline.settings import load
from storyline.store import Store, _iso
from storyline.watch import WatchOptions, Watcher, google_news_url, parse_interval, subscribe
from test_fetch import LocalServer, Reply, routes

REAL_FOLDERS = ("google_news", "real_world", "feedjira_sample_feeds", "rss_parser_inputs")


def pipeline(path: Path) -> Pipeline:
    return Pipeline(Store(path), load({"ner": "fast"}, env={}))


def options(**kw) -> WatchOptions:
    """Options for tests: loopback allowed, short timeouts, tiny delays."""
    fetch = kw.pop("fetch", FetchOptions(allow_private=True, timeout_s=2.0, deadline_s=5.0, max_bytes=2_000_000))
    polite = kw.pop("politeness", PolitenessOptions(delay_s=0.0, jitter=0.0))
    return WatchOptions(fetch=fetch, politeness=polite, reload_s=0.2, **kw)


def client(**mounts: str) -> httpx.Client:
    """A plain client; `mounts` sends some hosts through a local server acting as their proxy."""
    proxies = {f"all://{host}": httpx.HTTPTransport(proxy=url, trust_env=False) for host, url in mounts.items()}
    return httpx.Client(timeout=2.0, trust_env=False, follow_redirects=False, mounts=proxies)


def rss(title: str, items: list[dict], extra: str = "") -> bytes:
    """A small RSS 2.0 document."""
    body = "".join(
        f"<item><title>{i['title']}</title><link>{i['link']}</link><guid>{i.get('guid', i['link'])}</guid>"
        f"<pubDate>{i.get('date', 'Mon, 03 Jun 2024 10:00:00 GMT')}</pubDate>"
        f"<description>{i.get('summary', 'A short summary.')}</description>{i.get('extra', '')}</item>"
        for i in items
    )
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>{extra}{body}</channel></rss>".encode()


def article_html(title: str, sentences: list[str], outlet: str = "Valley Courier") -> bytes:
    paragraphs = "".join(f"<p>{s}</p>" for s in sentences)
    return (
        f"<html><head><title>{title} | {outlet}</title><meta property='og:site_name' content='{outlet}'>"
        f"<meta property='article:published_time' content='2024-06-03T09:00:00Z'></head>"
        f"<body><nav>Home News Sport</nav><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


def story(n: int, topic: str = "reservoir") -> list[str]:
    return [
        f"Engineers inspected the {topic} dam on Monday after heavy rain raised the water level, officials said (report {n}).",
        "The regional water board said the spillway worked as designed and no homes downstream were evacuated.",
        "Residents gathered on the embankment to watch the water pour over the spillway into the valley below.",
        "A spokesperson said crews would stay on site through the week and publish daily readings of the gauge.",
        f"Farmers near the {topic} said their fields stayed dry thanks to the new channels dug last summer.",
    ]


def conditional(body: bytes, content_type: str = "application/rss+xml"):
    """A route that answers 304 to a matching If-None-Match."""
    etag = '"' + hashlib.sha1(body).hexdigest() + '"'

    def answer(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == etag:
            return Reply(304, {"ETag": etag})
        return Reply(200, {"ETag": etag, "Content-Type": content_type, "Last-Modified": "Mon, 03 Jun 2024 10:00:00 GMT"}, body)

    return answer


# -- subscriptions ---------------------------------------------------------------------------------------


def test_intervals_and_google_news_urls() -> None:
    assert parse_interval("15m") == 900 and parse_interval("1h30m") == 5400 and parse_interval("3600") == 3600
    assert parse_interval("1d") == 86400
    for bad in ("", "soon", "10s", "5x"):
        with pytest.raises(ValueError):
            parse_interval(bad)
    assert google_news_url("Kim Jong Un Putin") == (
        "https://news.google.com/rss/search?q=Kim+Jong+Un+Putin&hl=en-US&gl=US&ceid=US%3Aen"
    )
    assert "hl=de&gl=DE&ceid=DE%3Ade" in google_news_url("Wahl", "de", "DE")


def test_private_addresses_are_refused_by_default(tmp_path) -> None:
    with LocalServer(routes({"/feed": Reply(200, {}, rss("x", []))})) as server:
        pipe = pipeline(tmp_path / "w.db")
        subscribe(pipe.store, server.url("/feed"), None, 900)
        watcher = Watcher(pipe, options(fetch=FetchOptions()))  # the real guarded client, nothing allowed
        report = watcher.run(once=True)
        watcher.close()
        assert report.failed == 1 and server.hits() == []
        [feed] = pipe.store.feeds()
        assert "refused" in feed["last_error"] and "--allow-private" in feed["last_error"]


# -- a feed, its pages, a 304 ---------------------------------------------------------------------------


def test_feed_items_pages_robots_and_a_304(tmp_path) -> None:
    table: dict = {}
    with LocalServer(routes(table)) as server:
        items = [{"title": f"Dam inspected after storm {i}", "link": server.url(f"/news/{i}")} for i in range(4)]
        table["/feed.xml"] = conditional(rss("Valley Courier", items))
        table["/news/0"] = Reply(200, {"Content-Type": "text/html; charset=utf-8"}, article_html("Dam inspected after storm", story(0)))
        table["/news/1"] = Reply(200, {"Content-Type": "text/html; charset=iso-8859-1"},
                                 article_html("Dam inspected after storm", story(1, "Talsperre Möhne")).decode().encode("latin-1"))
        table["/news/3"] = Reply(503, {"Retry-After": "7200"})  # fails now, retried later
        table["/robots.txt"] = Reply(200, {}, b"User-agent: *\nDisallow: /news/2\n")
        pipe = pipeline(tmp_path / "w.db")
        subscribe(pipe.store, server.url("/feed.xml"), "Courier", 900)
        watcher = Watcher(pipe, options(), client())
        first = watcher.run(once=True)
        assert (first.polled, first.stored.new, first.pages) == (1, 4, 2)
        store = pipe.store
        rows = {r["url"]: r for r in store.db.execute("SELECT * FROM articles")}
        assert set(rows) == {i["link"] for i in items}
        assert all(r["title"].startswith("Dam inspected after storm") for r in rows.values())
        assert "spillway worked as designed" in rows[server.url("/news/0")]["text"]
        assert "Talsperre Möhne" in rows[server.url("/news/1")]["text"]  # charset from the HTTP header
        # A page that could not be fetched keeps the feed's title and summary and is retried later.
        kept = rows[server.url("/news/3")]
        assert kept["title"] == "Dam inspected after storm 3" and kept["text"] == "A short summary."
        pages = {r["url"]: r for r in store.db.execute("SELECT * FROM pages")}
        assert pages[server.url("/news/3")]["state"] == "pending"
        assert pages[server.url("/news/3")]["next_try"] >= time.time() + 7000  # Retry-After honoured
        assert "robots.txt" in pages[server.url("/news/2")]["last_error"]
        assert [h.path for h in server.hits("/news/2")] == []
        assert [h.path for h in server.hits("/robots.txt")] == ["/robots.txt"]
        [feed] = store.feeds()
        assert feed["items_seen"] == 4 and feed["error_count"] == 0 and feed["etag"]

        before = len(server.hits())
        counts = store.counts()
        second = Watcher(pipe, options(), client()).run(once=True, everything=True)
        assert (second.polled, second.not_modified, second.stored.new, second.pages) == (1, 1, 0, 0)
        assert [(h.path, h.status) for h in server.hits()[before:]] == [("/feed.xml", 304)]
        assert store.counts() == counts


def test_a_robots_txt_longer_than_the_limit_is_read_up_to_it_not_taken_for_unreachable(tmp_path) -> None:
    import gzip

    rules = b"User-agent: *\nDisallow: /news/1\n" + b"# a long list of crawlers kept for the record\n" * 16_000  # ~700 KB
    for name, reply in [("plain", Reply(200, {}, rules)),
                        ("gzip", Reply(200, {"Content-Encoding": "gzip"}, gzip.compress(rules)))]:
        table: dict = {}
        with LocalServer(routes(table)) as server:
            items = [{"title": f"Dam inspected after storm {i}", "link": server.url(f"/news/{i}")} for i in range(2)]
            table["/feed.xml"] = Reply(200, {}, rss("Valley Courier", items))
            table["/news/0"] = Reply(200, {"Content-Type": "text/html"}, article_html("Dam inspected after storm", story(0)))
            table["/robots.txt"] = reply
            pipe = pipeline(tmp_path / f"{name}.db")
            subscribe(pipe.store, server.url("/feed.xml"), None, 900)
            report = Watcher(pipe, options(), client()).run(once=True)
            pages = {r["url"]: r for r in pipe.store.db.execute("SELECT * FROM pages")}
            assert report.pages == 1 and pages[server.url("/news/0")]["state"] == "done", name  # not "site off limits"
            assert "robots.txt" in pages[server.url("/news/1")]["last_error"] and not server.hits("/news/1"), name


# -- updates keep their history ------------------------------------------------------------------------


def test_changed_headline_and_corrected_page_keep_history(tmp_path) -> None:
    table: dict = {}
    with LocalServer(routes(table)) as server:
        link = server.url("/dam")
        table["/feed.xml"] = conditional(rss("Valley Courier", [{"title": "Dam holds after storm", "link": link}]))
        table["/dam"] = Reply(200, {"Content-Type": "text/html"}, article_html("Dam holds after storm", story(1)))
        pipe = pipeline(tmp_path / "w.db")
        subscribe(pipe.store, server.url("/feed.xml"), None, 900)
        Watcher(pipe, options(), client()).run(once=True)
        store = pipe.store
        aid = store.article_id_by_key(link)
        assert store.article(aid)["revisions"] == 0  # the page filling in a feed item is no update

        corrected = story(1)[:3] + ["Correction: an earlier version misstated the height of the spillway."]
        table["/feed.xml"] = conditional(rss("Valley Courier", [{"title": "Dam breaches after second storm", "link": link}]))
        table["/dam"] = Reply(200, {"Content-Type": "text/html"}, article_html("Dam breaches after second storm", corrected))
        report = Watcher(pipe, options(), client()).run(once=True, everything=True)
        assert report.updated == 1 and report.pages == 1 and report.stored.new == 0
        row = store.article(aid)
        assert row["title"] == "Dam breaches after second storm"
        assert "Correction: an earlier version" in row["text"]
        assert row["revisions"] == 2 and row["updated_at"]
        versions = store.article_versions(aid)
        assert [(v["origin"], v["title"]) for v in versions] == [
            ("feed", "Dam holds after storm"), ("page", "Dam holds after storm"),
            ("feed", "Dam breaches after second storm"), ("page", "Dam breaches after second storm"),
        ]
        assert "Correction" not in versions[1]["text"] and "Correction" in versions[3]["text"]
        assert store.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 1

        again = Watcher(pipe, options(), client()).run(once=True, everything=True)
        assert again.updated == 0 and len(store.article_versions(aid)) == 4

        from typer.testing import CliRunner

        from storyline.cli import app

        shown = CliRunner().invoke(app, ["history", str(aid), "--json", "--db", str(tmp_path / "w.db")])
        data = json.loads(shown.stdout)
        assert data["revisions"] == 2 and len(data["versions"]) == 4
        assert data["page"]["state"] == "done"


# -- Google News links ---------------------------------------------------------------------------------


def _google_token(url: str) -> str:
    """An old-style Google News article token carrying `url` (field 4 of a small protobuf)."""
    raw = b"\x08\x13\x22" + bytes([len(url)]) + url.encode() + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_google_news_links_are_kept_and_resolved_when_possible(tmp_path) -> None:
    publisher_table: dict = {}
    google_table: dict = {}
    with LocalServer(routes(publisher_table), host="127.0.0.3") as publisher, LocalServer(
        lambda method, path, headers: routes(google_table)(method, urlsplit(path).path, headers), host="127.0.0.4"
    ) as google:
        for n in (1, 2, 3):
            publisher_table[f"/story{n}"] = Reply(200, {"Content-Type": "text/html"}, article_html(f"Reservoir story {n}", story(n)))
        encoded = f"https://news.google.com/rss/articles/{_google_token(publisher.url('/story1'))}?oc=5"
        redirected = "http://news.google.com/rss/articles/OPAQUEREDIRECT?oc=5"
        script_only = "http://news.google.com/rss/articles/OPAQUESCRIPT?oc=5"
        google_table["/rss/articles/OPAQUEREDIRECT"] = Reply(302, {"Location": publisher.url("/story2")})
        google_table["/rss/articles/OPAQUESCRIPT"] = Reply(200, {"Content-Type": "text/html"}, b"<html><script>go()</script></html>")
        feed = rss("Top stories - Google News", [
            {"title": "Reservoir story 1 - Valley Courier", "link": encoded},
            {"title": "Reservoir story 2 - Valley Courier", "link": redirected},
            {"title": "Reservoir story 3 - Valley Courier", "link": script_only},
        ], extra="<link>https://news.google.com/?hl=en-US</link>")
        feeds_table = {"/gn.xml": Reply(200, {"Content-Type": "application/rss+xml"}, feed)}
        with LocalServer(routes(feeds_table)) as feeds_server:
            pipe = pipeline(tmp_path / "w.db")
            subscribe(pipe.store, feeds_server.url("/gn.xml"), None, 900)
            report = Watcher(pipe, options(), client(**{"news.google.com": google.url("")})).run(once=True)
        assert report.pages == 2
        store = pipe.store
        rows = {r["url"]: r for r in store.db.execute("SELECT a.*, p.state, p.last_error FROM articles a JOIN pages p ON p.article_id = a.id")}
        assert set(rows) == {encoded, redirected, script_only}  # kept as given
        assert "spillway worked as designed" in rows[encoded]["text"] and rows[encoded]["state"] == "done"
        assert "spillway worked as designed" in rows[redirected]["text"] and rows[redirected]["state"] == "done"
        assert rows[script_only]["state"] == "unresolved" and rows[script_only]["text"] == ""
        assert rows[script_only]["title"] == "Reservoir story 3"
        # The encoded link never reached Google; the opaque ones did, once each (plus robots.txt).
        assert sorted(urlsplit(h.path).path for h in google.hits()) == [
            "/robots.txt", "/rss/articles/OPAQUEREDIRECT", "/rss/articles/OPAQUESCRIPT",
        ]


def test_unresolvable_google_news_item_is_matched_to_the_full_text_by_title_and_outlet(tmp_path) -> None:
    table: dict = {}
    google_table = {"/rss/articles/OPAQUE": Reply(200, {"Content-Type": "text/html"}, b"<html><script>go()</script></html>")}
    with LocalServer(routes(table), host="127.0.0.3") as publisher, LocalServer(
        lambda method, path, headers: routes(google_table)(method, urlsplit(path).path, headers), host="127.0.0.4"
    ) as google:
        dam, bridge = story(7), [
            "The council of Lakeside approved a new footbridge over the river on Tuesday after a long debate.",
            "Construction of the bridge is expected to start in spring and last about eight months, the mayor said.",
            "Shop owners said the crossing would bring more visitors to the old market square on weekends.",
        ]
        table["/rss"] = Reply(200, {}, rss("Valley Courier", [
            {"title": "Engineers inspect reservoir dam after heavy rain", "link": publisher.url("/dam"), "summary": " ".join(dam)},
            {"title": "Lakeside council approves footbridge", "link": publisher.url("/bridge"), "summary": " ".join(bridge)},
        ]))
        table["/dam"] = Reply(200, {"Content-Type": "text/html"}, article_html("Engineers inspect reservoir dam after heavy rain", dam))
        table["/bridge"] = Reply(200, {"Content-Type": "text/html"}, article_html("Lakeside council approves footbridge", bridge))
        table["/gn"] = Reply(200, {}, rss("Top stories - Google News", [{
            "title": "Engineers inspect reservoir dam after heavy rain - Valley Courier",
            "link": "http://news.google.com/rss/articles/OPAQUE?oc=5",
            "extra": "<source url='https://courier.example'>Valley Courier</source>",
        }]))
        pipe = pipeline(tmp_path / "w.db")
        subscribe(pipe.store, publisher.url("/rss"), None, 900)
        subscribe(pipe.store, publisher.url("/gn"), None, 900)
        Watcher(pipe, options(), client(**{"news.google.com": google.url("")})).run(once=True)
    rows = {r["url"]: r for r in pipe.store.db.execute("SELECT * FROM articles")}
    item = rows["http://news.google.com/rss/articles/OPAQUE?oc=5"]
    full, other = rows[publisher.url("/dam")], rows[publisher.url("/bridge")]
    assert pipe.store.page(item["id"])["state"] == "unresolved"
    assert item["merged_into"] == full["id"] and item["event_id"] == full["event_id"] != other["event_id"]


# -- misbehaving servers --------------------------------------------------------------------------------


def _bad_servers() -> dict[str, tuple[LocalServer, str]]:
    """One misbehaving feed per loopback host, with the reason it must fail for."""
    def loop(method: str, path: str, headers: dict) -> Reply:
        return Reply(302, {"Location": "/b" if path == "/a" else "/a"})

    bomb = __import__("gzip").compress(b"\0" * 60_000_000)
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><rss version="2.0"><channel><item><title>&c;</title></item></channel></rss>'
    )
    return {
        "busy": (LocalServer(routes({"/feed": Reply(429, {"Retry-After": "3600"})}), "127.0.0.2"), "HTTP 429"),
        "broken": (LocalServer(routes({"/feed": Reply(500)}), "127.0.0.3"), "HTTP 500"),
        "loop": (LocalServer(loop, "127.0.0.4"), "redirect loop"),
        "hang": (LocalServer(routes({"/feed": Reply(stall_s=60)}), "127.0.0.5"), "timed out"),
        "huge": (LocalServer(routes({"/feed": Reply(200, {}, (b"<rss>" + b" " * 65531 for _ in range(1600)))}), "127.0.0.6"), "refused: body larger"),
        "bomb": (LocalServer(routes({"/feed": Reply(200, {"Content-Encoding": "gzip"}, bomb)}), "127.0.0.7"), "decompression bomb"),
        "laughs": (LocalServer(routes({"/feed": Reply(200, {}, laughs)}), "127.0.0.8"), "refused: XML entity expansion"),
    }


def test_misbehaving_servers_fail_visibly_and_alone(tmp_path) -> None:
    bad = _bad_servers()
    good_items = [{"title": f"Quiet day at the reservoir {i}", "link": f"https://courier.example/{i}"} for i in range(3)]
    with LocalServer(routes({"/feed": Reply(200, {}, rss("Courier", good_items))})) as good:
        for server, _ in bad.values():
            server.__enter__()
        try:
            pipe = pipeline(tmp_path / "w.db")
            for server, _ in bad.values():
                subscribe(pipe.store, server.url("/feed" if server is not bad["loop"][0] else "/a"), None, 900)
            subscribe(pipe.store, good.url("/feed"), None, 900)
            started = time.time()
            report = Watcher(pipe, options(fetch_pages=False), client()).run(once=True)
        finally:
            for server, _ in bad.values():
                server.__exit__()
    feeds = {urlsplit(f["url"]).hostname: f for f in pipe.store.feeds()}
    assert report.polled == 8 and report.failed == 7 and report.stored.new == 3
    for name, (server, reason) in bad.items():
        feed = feeds[server.host]
        assert reason in feed["last_error"], (name, feed["last_error"])
        assert "\n" not in feed["last_error"] and feed["error_count"] == 1 and feed["last_success"] is None
        assert feed["next_poll"] > started  # it stays scheduled: a failing feed never silently stops
    assert feeds["127.0.0.2"]["next_poll"] >= started + 3600  # Retry-After honoured
    assert feeds["127.0.0.1"]["error_count"] == 0


def test_other_feeds_keep_their_schedule_while_one_hangs_and_one_says_retry_after(tmp_path) -> None:
    items = [{"title": "Quiet day at the reservoir", "link": "https://courier.example/1"}]
    with LocalServer(routes({"/feed": Reply(200, {}, rss("Courier", items))})) as good, \
            LocalServer(routes({"/feed": Reply(stall_s=60)}), "127.0.0.5") as hang, \
            LocalServer(routes({"/feed": Reply(429, {"Retry-After": "2"})}), "127.0.0.2") as busy:
        pipe = pipeline(tmp_path / "w.db")
        for server in (good, hang, busy):
            subscribe(pipe.store, server.url("/feed"), None, 1)
        stop = threading.Event()
        opts = options(fetch=FetchOptions(allow_private=True, timeout_s=4.0, deadline_s=8.0), fetch_pages=False)
        watcher = Watcher(pipe, opts, client(), stop=stop)
        runner = threading.Thread(target=watcher.run)
        runner.start()
        try:
            deadline = time.time() + 60
            while time.time() < deadline and not (len(hang.hits()) >= 2 and len(busy.hits()) >= 2):
                time.sleep(0.1)
        finally:
            stop.set()
            runner.join(10)
        assert not runner.is_alive()
        first_hang = hang.hits()[0]
        second_hang = hang.hits()[1]
        during = [h for h in good.hits() if first_hang.start < h.start < second_hang.start]
        assert len(during) >= 2  # the good feed went on being polled while the hung request waited
        first_busy, second_busy = busy.hits()[:2]
        # Retry-After: 2 was respected. The server stamps `end` after its last write, a moment after
        # the client may already have read the reply and started counting, so allow those few ms.
        assert second_busy.start - first_busy.end >= 1.95
        watcher.close()


# -- politeness -------------------------------------------------------------------------------------------


def test_per_host_limit_and_spacing_hold_for_fifty_feeds(tmp_path) -> None:
    delay = 0.1
    table = {f"/feed{i}": Reply(200, {}, rss(f"Feed {i}", [{"title": f"Item {i}", "link": f"https://x.example/{i}"}])) for i in range(50)}
    with LocalServer(routes(table)) as server, LocalServer(routes(table), "127.0.0.9") as other:
        pipe = pipeline(tmp_path / "w.db")
        for i in range(50):
            subscribe(pipe.store, server.url(f"/feed{i}"), None, 900)
        for i in range(5):
            subscribe(pipe.store, other.url(f"/feed{i}"), None, 900)
        polite = PolitenessOptions(per_host=1, delay_s=delay, jitter=0.5)
        report = Watcher(pipe, options(politeness=polite, fetch_pages=False, workers=8), client()).run(once=True)
        assert report.polled == 55 and report.failed == 0
        hits = sorted(server.hits(), key=lambda h: h.start)
        assert len(hits) == 50
        for before, after in zip(hits, hits[1:]):
            assert after.start >= before.end  # never two at once
            assert after.start - before.end >= delay  # and at least the configured delay apart
        # The other host was not made to wait behind the first one.
        assert min(h.start for h in other.hits()) < hits[-1].start


def test_a_host_answering_too_busy_without_retry_after_is_left_alone_longer_each_time(tmp_path) -> None:
    from storyline.politeness import HostGate

    table = {f"/feed{i}": Reply(429) for i in range(4)}  # too busy, and not saying for how long
    with LocalServer(routes(table)) as server:
        pipe = pipeline(tmp_path / "w.db")
        for i in range(4):
            subscribe(pipe.store, server.url(f"/feed{i}"), None, 900)
        polite = PolitenessOptions(delay_s=0.0, jitter=0.0, throttled_pause_s=0.3)
        report = Watcher(pipe, options(politeness=polite, fetch_pages=False), client()).run(once=True)
    assert report.failed == 4
    hits = sorted(server.hits(), key=lambda h: h.start)
    gaps = [after.start - before.end for before, after in zip(hits, hits[1:])]
    assert len(hits) == 4 and all(gap >= 0.3 * 2**k - 0.05 for k, gap in enumerate(gaps)), gaps  # 0.3, 0.6, 1.2 s
    gate = HostGate(PolitenessOptions(delay_s=1.0, jitter=0.0, throttled_pause_s=30.0, max_throttled_pause_s=100.0))
    for answer, expected in [(True, 30), (True, 60), (True, 100), (False, 1), (True, 30)]:  # capped; reset by an answer
        gate.start("busy.example")
        gate.finish("busy.example", 0.0, throttled=answer)
        assert gate.wait("busy.example", 0.0) == expected
        gate.hosts["busy.example"].not_before = 0.0
    gate.start("busy.example")
    gate.finish("busy.example", 0.0, pause_s=0.0, throttled=True)  # "Retry-After: 0": the host's own word
    assert gate.wait("busy.example", 0.0) == 1


def test_feeds_moved_to_one_host_are_polled_there_at_its_pace(tmp_path) -> None:
    body = rss("Courier", [{"title": "Quiet day at the reservoir", "link": "https://courier.example/1"}])
    target = LocalServer(routes({"/feed": Reply(200, {}, body, stall_s=0.2)}), "127.0.0.20")
    movers = [LocalServer(routes({"/feed": Reply(301, {"Location": target.url("/feed")})}), f"127.0.0.{11 + i}")
              for i in range(4)]
    tables: list[dict] = [{} for _ in range(3)]
    chain = [LocalServer(routes(table), f"127.0.0.{31 + i}") for i, table in enumerate(tables)]
    for i, table in enumerate(tables):  # each host sends the feed on to the next, the last back to the first
        table["/feed"] = Reply(302, {"Location": chain[(i + 1) % 3].url("/feed")})
    servers = [target, *movers, *chain]
    for server in servers:
        server.__enter__()
    try:
        pipe = pipeline(tmp_path / "w.db")
        for server in [*movers, chain[0]]:
            subscribe(pipe.store, server.url("/feed"), None, 900)
        polite = PolitenessOptions(per_host=1, delay_s=0.05, jitter=0.0)
        report = Watcher(pipe, options(politeness=polite, fetch_pages=False, workers=8, max_hops=4), client()).run(once=True)
    finally:
        for server in servers:
            server.__exit__(None, None, None)
    # The four moved feeds were polled at their new host one at a time, as its limit says, not all at once.
    hits = sorted(target.hits(), key=lambda h: h.start)
    assert len(hits) == 4 and all(after.start >= before.end for before, after in zip(hits, hits[1:]))
    assert report.polled == 5 and report.failed == 1 and report.stored.new == 1
    assert "more than 4 redirects" in pipe.store.feeds()[-1]["last_error"]


def test_permanent_moves_are_remembered_and_temporary_ones_are_not(tmp_path) -> None:
    body = rss("Courier", [{"title": "Quiet day at the reservoir", "link": "/stories/1"}])
    new_home = LocalServer(routes({"/feed": Reply(200, {}, body), "/bounce": Reply(302, {"Location": "/feed"})}), "127.0.0.40")
    table = {
        "/same-host": Reply(301, {"Location": "/feed"}),  # moved within the host
        "/to-new-home": Reply(308, {"Location": new_home.url("/feed")}),  # moved to another host
        "/for-now": Reply(302, {"Location": "/feed"}),  # a temporary redirect: asked again next time
        "/mixed": Reply(301, {"Location": new_home.url("/bounce")}),  # permanent, then temporary
        "/to-taken": Reply(301, {"Location": "/taken"}),  # where another subscription already polls
        "/feed": Reply(200, {}, body),
        "/taken": Reply(200, {}, body),
    }
    old_home = LocalServer(routes(table), "127.0.0.41")
    with old_home, new_home:
        pipe = pipeline(tmp_path / "w.db")
        paths = ["/same-host", "/to-new-home", "/for-now", "/mixed", "/to-taken", "/taken"]
        for path in paths:
            subscribe(pipe.store, old_home.url(path), None, 900)
        report = Watcher(pipe, options(fetch_pages=False), client()).run(once=True)
        assert report.polled == 6 and report.failed == 0 and report.moved == 2
        assert "2 moved" in report.summary()
        urls = {row["id"]: row["url"] for row in pipe.store.feeds()}
        assert urls == {
            1: old_home.url("/feed"), 2: new_home.url("/feed"), 3: old_home.url("/for-now"), 4: old_home.url("/mixed"),
            5: old_home.url("/to-taken"), 6: old_home.url("/taken"),
        }
        # A relative item link counts from where the feed was answered.
        assert pipe.store.article_id_by_key(old_home.url("/stories/1")) is not None
        assert pipe.store.article_id_by_key(new_home.url("/stories/1")) is not None
        before = {path: len(old_home.hits(path)) for path in paths}
        again = Watcher(pipe, options(fetch_pages=False), client()).run(once=True, everything=True)
    assert again.failed == 0 and again.moved == 0
    # The moved subscriptions went straight to their new address; the others asked their old one again
    # (/taken twice: for its own subscription and at the end of /to-taken's redirect).
    asked = {path: len(old_home.hits(path)) - before[path] for path in paths}
    assert asked == {"/same-host": 0, "/to-new-home": 0, "/for-now": 1, "/mixed": 1, "/to-taken": 1, "/taken": 2}


def test_items_behind_a_changing_redirect_or_with_bidi_marks_are_stored_once_and_not_updated(tmp_path) -> None:
    polls = {"n": 0}

    def feed_body() -> bytes:
        items = "".join(
            f"<item><title>Council \u202bvotes\u202c on bridge {i}</title><guid isPermaLink='false'>id-{i}</guid>"
            f"<description>The council voted on the bridge plan, item {i}.</description></item>"
            for i in range(3 + polls["n"])  # one more item every poll, so the feed's bytes change
        )
        return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Council</title>{items}</channel></rss>".encode()

    def latest(headers: dict) -> Reply:
        polls["n"] += 1
        return Reply(302, {"Location": f"/feed?token={polls['n']}"})

    table: dict = {"/latest": latest}
    with LocalServer(lambda method, path, headers: Reply(200, {}, feed_body()) if path.startswith("/feed?")
                     else routes(table)(method, path, headers)) as server:
        pipe = pipeline(tmp_path / "w.db")
        subscribe(pipe.store, server.url("/latest"), None, 900)
        reports = [Watcher(pipe, options(fetch_pages=False), client()).run(once=True, everything=True) for _ in range(3)]
    assert [r.stored.new for r in reports] == [4, 1, 1]  # only the item the feed gained each time
    assert [r.updated for r in reports] == [0, 0, 0]  # a title's bidi marks are stripped before comparing
    assert pipe.store.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 6
    assert pipe.store.feeds()[0]["url"] == server.url("/latest")  # a temporary redirect is not remembered


def test_items_with_bare_guids_get_no_made_up_link_and_stay_apart_across_feeds(tmp_path) -> None:
    numbered = lambda section: "".join(  # noqa: E731
        f"<item><title>{section} result {i}: the {section} club won at home</title><guid>{i}</guid>"
        f"<description>The {section} club won its home match {i}.</description></item>"
        for i in (1, 2)
    )  # guids that read as relative permalinks: the same "1" and "2" in both feeds of one host
    table: dict = {}
    with LocalServer(routes(table)) as server:
        table["/sport.xml"] = lambda h: Reply(200, {}, rss_page("Sport", numbered("football")))
        table["/politics.xml"] = lambda h: Reply(200, {}, rss_page("Politics", numbered("debating")))
        pipe = pipeline(tmp_path / "w.db")
        for path in ("/sport.xml", "/politics.xml"):
            subscribe(pipe.store, server.url(path), None, 900)
        report = Watcher(pipe, options(fetch_pages=True), client()).run(once=True, everything=True)
    assert (report.stored.new, report.updated) == (4, 0)
    rows = pipe.store.db.execute("SELECT title, url, revisions FROM articles ORDER BY id").fetchall()
    assert sorted(r["title"] for r in rows if r["url"] is None and r["revisions"] == 0) == sorted(
        f"{s} result {i}: the {s} club won at home" for s in ("football", "debating") for i in (1, 2)
    )  # no page is made up for them (there is no /1 on that host)
    assert not [hit.path for hit in server.log if hit.path in ("/1", "/2")]


def test_a_feed_that_restamps_its_items_on_every_poll_does_not_update_them(tmp_path) -> None:
    polls = {"n": 0}

    def feed(headers: dict) -> Reply:
        polls["n"] += 1  # the feed is rebuilt, every item dated with the time of the build
        stamp = f"Mon, 03 Jun 2024 1{polls['n']}:00:00 GMT"
        items = [{"title": f"Harbour works begin {i}", "link": f"https://courier.example/{i}", "date": stamp} for i in range(2)]
        return Reply(200, {}, rss("Courier", items))

    with LocalServer(routes({"/feed": feed})) as server:
        pipe = pipeline(tmp_path / "w.db")
        subscribe(pipe.store, server.url("/feed"), None, 900)
        reports = [Watcher(pipe, options(fetch_pages=False), client()).run(once=True, everything=True) for _ in range(3)]
    assert [(r.stored.new, r.updated) for r in reports] == [(2, 0), (0, 0), (0, 0)]


def rss_page(title: str, items: str) -> bytes:
    """An RSS document around ready-made items."""
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>{items}</channel></rss>".encode()


def test_a_stopped_watch_titles_what_it_stored_and_a_new_one_what_an_earlier_one_left(tmp_path) -> None:
    from storyline.models import Document, IngestResult

    pipe = pipeline(tmp_path / "w.db")
    for i in range(3):  # stored as a watch stores items, then stopped before any refresh
        doc = Document(source=f"feed:{i}", kind="feed-item", key=f"https://courier.example/{i}",
                       title=f"Reservoir level report {i}", text=" ".join(story(i)))
        pipe.store_documents([doc], IngestResult())
    assert pipe.store.dirty_events(10)
    stop = threading.Event()
    stop.set()  # stopped at once: it stores nothing new, but titles what the earlier run left
    Watcher(pipe, options(fetch_pages=False), client(), stop=stop).run()
    assert not pipe.store.dirty_events(10) and not pipe.store.dirty_stories(10)
    titles = [r[0] for r in pipe.store.db.execute("SELECT title FROM events WHERE n_articles > 0")]
    assert titles and all(titles)


def test_watch_once_exits_non_zero_when_a_feed_failed(tmp_path) -> None:
    from typer.testing import CliRunner

    from storyline.cli import app

    table = {"/ok": Reply(200, {}, rss("Courier", [{"title": "Quiet day at the reservoir", "link": "https://courier.example/1"}]))}
    db = str(tmp_path / "cli.db")
    with LocalServer(routes(table)) as server:
        store = Store(db)
        subscribe(store, server.url("/ok"), None, 900)
        store.close()

        def watch_once():
            return CliRunner().invoke(app, ["watch", "--once", "--all", "--allow-private", "--delay", "0", "--no-pages", "--db", db],
                                      env={"COLUMNS": "300", "STORYLINE_NER": "fast"})

        ok = watch_once()
        assert ok.exit_code == 0 and "1 feeds polled (0 unchanged, 0 failed)" in ok.stdout
        store = Store(db)
        subscribe(store, server.url("/gone"), None, 900)
        store.close()
        failed = watch_once()
    assert failed.exit_code == 1, failed.stdout
    assert "1 failed" in failed.stdout and "/gone: HTTP 404" in failed.stderr


def test_all_polls_early_but_not_a_server_that_asked_for_time_and_a_run_says_what_waits(tmp_path) -> None:
    items = [{"title": "Quiet day at the reservoir", "link": "https://courier.example/1"}]
    with LocalServer(routes({"/feed": Reply(200, {}, rss("Courier", items))})) as good, \
            LocalServer(routes({"/feed": Reply(429, {"Retry-After": "3600"})}), "127.0.0.2") as busy:
        pipe = pipeline(tmp_path / "w.db")
        subscribe(pipe.store, good.url("/feed"), None, 900)
        subscribe(pipe.store, busy.url("/feed"), None, 900)
        opts = options(fetch=FetchOptions(allow_private=True), fetch_pages=False)
        first = Watcher(pipe, opts, client()).run(once=True)
        assert (first.polled, first.failed, first.not_due) == (2, 1, 0)
        # Nothing is due now: a plain run says so, and when, rather than a bare "0 feeds polled".
        idle = Watcher(pipe, opts, client()).run(once=True)
        assert (idle.polled, idle.not_due) == (0, 2) and "2 not due yet (the first at " in idle.summary()
        # --all polls the feed that is merely not due, and leaves alone the one whose server asked for an hour.
        forced = Watcher(pipe, opts, client()).run(once=True, everything=True)
        assert (forced.polled, forced.held) == (1, 1) and "1 left alone" in forced.summary()
        assert len(good.hits()) == 2 and len(busy.hits()) == 1


# -- the real feeds -----------------------------------------------------------------------------------------


def _real_feed_files(shared: Path) -> list[Path]:
    """Every file of the real feed folders that is offered as a feed (not licences or expected outputs)."""
    base = shared / "data/feeds"
    files = []
    for folder in REAL_FOLDERS:
        for path in sorted((base / folder).rglob("*")):
            if path.is_file() and path.name != "LICENSE" and "output" not in path.relative_to(base).parts:
                files.append(path)
    return files


def _file_server(base: Path) -> LocalServer:
    """Serve files under /f/ with ETag and Last-Modified, answering 304 when the ETag matches; 404 elsewhere."""
    def app(method: str, path: str, headers: dict) -> Reply:
        if not path.startswith("/f/"):
            return Reply(404, {}, b"")  # robots.txt and pages of the feeds' own sites, proxied here
        data = (base / path[3:]).read_bytes()
        etag = '"' + hashlib.sha1(data).hexdigest() + '"'
        if headers.get("if-none-match") == etag:
            return Reply(304, {"ETag": etag})
        kind = "application/json" if path.endswith(".json") else "application/xml"
        return Reply(200, {"ETag": etag, "Content-Type": kind, "Last-Modified": "Mon, 03 Jun 2024 10:00:00 GMT"}, data)

    return LocalServer(app)


def test_real_feeds_are_stored_and_a_second_poll_is_304(tmp_path, shared) -> None:
    base = shared / "data/feeds"
    files = _real_feed_files(shared)
    assert len(files) >= 80
    with _file_server(base) as server:
        pipe = pipeline(tmp_path / "w.db")
        urls = {path: server.url("/f/" + str(path.relative_to(base))) for path in files}
        for url in urls.values():
            subscribe(pipe.store, url, None, 900)
        # Feeds come from the server; the items' own sites (robots.txt, pages) are answered by it as their proxy.
        proxied = httpx.Client(
            timeout=2.0, trust_env=False, mounts={
                f"all://{server.host}": httpx.HTTPTransport(trust_env=False),
                "all://": httpx.HTTPTransport(proxy=server.url(""), trust_env=False),
            },
        )
        first = Watcher(pipe, options(workers=8), proxied).run(once=True)
        store = pipe.store
        expected: dict[str, list] = {}
        parseable = 0
        for path, url in urls.items():
            feed = store.feed(url)
            try:
                docs = parse_feed(path.read_bytes(), url)
            except FeedError:
                assert feed["error_count"] == 1 and feed["last_error"] and "\n" not in feed["last_error"], path
                continue
            parseable += 1
            assert feed["error_count"] == 0 and feed["last_status"] == 200, (path, feed["last_error"])
            key_by_link(docs)  # a link is the key unless several items share it
            for doc in docs:
                sanitize(doc)  # stored without control characters (one capture's mis-decoded titles hold C1 ones)
            expected[url] = docs
        assert parseable >= 70
        owners: dict[str, int] = {}
        for docs in expected.values():
            for doc in {d.key: d for d in docs}.values():
                owners[doc.key] = owners.get(doc.key, 0) + 1
        checked = 0
        for url, docs in expected.items():
            linked = {r[0] for r in store.db.execute(
                "SELECT a.key FROM feed_items i JOIN articles a ON a.id = i.article_id JOIN feeds f ON f.id = i.feed_id "
                "WHERE f.url = ?", (url,))}
            assert linked == {d.key for d in docs}, url
            for doc in docs:
                row = store.article(store.article_id_by_key(doc.key))
                if owners[doc.key] > 1 or row["kind"] != "feed-item" or row["revisions"]:
                    continue  # an item several feeds carry is stored once, as the first one had it
                assert (row["title"], row["url"], row["published"]) == (doc.title, doc.url, _iso(doc.published)), url
                checked += 1
        assert checked > 1500
        _check_yahoo_independently(store, base / "real_world/bsuir_yahoo_news.xml")

        counts = store.counts()
        before = len(server.log)
        second = Watcher(pipe, options(workers=8), proxied).run(once=True, everything=True)
        new_hits = server.log[before:]
        assert second.stored.new == 0 and second.updated == 0 and second.pages == 0
        assert store.counts() == counts
        assert all(h.path.startswith("/f/") for h in new_hits)  # no page or robots request
        assert len(new_hits) == len(files)
        statuses = {server.url(h.path): h.status for h in new_hits}
        assert all(statuses[url] == 304 for url in expected)  # a feed that failed is read again in full
        assert first.polled == second.polled == len(files)


def _check_yahoo_independently(store: Store, path: Path) -> None:
    """Titles, links and dates of one capture, read with lxml rather than the feed parser."""
    for item in etree.parse(str(path)).iter("item"):
        link = item.findtext("link").strip()
        row = store.article(store.article_id_by_key(link))
        assert row is not None, link
        title = " ".join(html.unescape(item.findtext("title")).split())  # double-escaped there, with nbsp
        assert title.startswith(row["title"])
        published = __import__("email.utils").utils.parsedate_to_datetime(item.findtext("pubDate"))
        assert row["published"] == _iso(published)


def _declared_headers(data: bytes) -> dict[str, str]:
    """The HTTP headers a feedparser test case asks to be served with (its `Header:` lines)."""
    head = data[:2000].decode("latin-1")
    found = {}
    for m in re.finditer(r"^Header:\s*([\w-]+):\s*(.*?)\s*$", head, re.M):
        if m.group(1).lower() not in {"content-length", "transfer-encoding", "content-encoding", "connection"}:
            found[m.group(1)] = m.group(2)
    return found


def test_feedparser_cases_are_all_polled_without_a_crash(tmp_path, shared) -> None:
    base = shared / "data/feeds/feedparser_tests"
    files = sorted(p for p in (base / "tests").rglob("*") if p.is_file())
    assert len(files) > 2000

    def app(method: str, path: str, headers: dict) -> Reply:
        data = (base / path[1:]).read_bytes()
        return Reply(200, {"Content-Type": "application/xml", **_declared_headers(data)}, data)

    with LocalServer(app) as server:
        pipe = pipeline(tmp_path / "w.db")
        with pipe.store.transaction():
            for path in files:
                pipe.store.add_feed(server.url("/" + str(path.relative_to(base))), None, 900)
        report = Watcher(pipe, options(fetch_pages=False, workers=8), client()).run(once=True)
    assert report.polled == len(files)
    states = pipe.store.feeds()
    failed = [f for f in states if f["error_count"]]
    assert all(f["last_status"] == 200 and f["last_success"] for f in states if not f["error_count"])
    assert all(f["last_error"] and "\n" not in f["last_error"] for f in failed)
    assert len(failed) < 40
    assert sum(f["items_seen"] for f in states) > 1000


# -- stopping and killing ------------------------------------------------------------------------------------


def _fill_site(table: dict, server: LocalServer, n_feeds: int, n_items: int) -> None:
    for f in range(n_feeds):
        items = [{"title": f"Report {f}-{i} on the reservoir", "link": server.url(f"/p/{f}/{i}")} for i in range(n_items)]
        table[f"/feed/{f}"] = conditional(rss(f"Site {f}", items))
        for i in range(n_items):
            table[f"/p/{f}/{i}"] = Reply(200, {"Content-Type": "text/html"}, article_html(f"Report {f}-{i} on the reservoir", story(f * 100 + i, f"lake {f}")))


def _snapshot(db: Path) -> dict:
    with sqlite3.connect(db) as con:
        return {
            "articles": sorted(con.execute("SELECT key, kind, title, length(text) FROM articles")),
            "feed_items": con.execute("SELECT COUNT(*) FROM feed_items").fetchone()[0],
            "pages": sorted(con.execute("SELECT url, state FROM pages")),
            "versions": sorted(con.execute("SELECT a.key, v.origin FROM article_versions v JOIN articles a ON a.id = v.article_id")),
        }


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "storyline", *args]


def test_sigkill_mid_poll_then_restart_loses_nothing_and_duplicates_nothing(tmp_path) -> None:
    table: dict = {}
    env = {**os.environ, "STORYLINE_NER": "fast"}
    with LocalServer(routes(table)) as server:
        _fill_site(table, server, 12, 15)
        whole, killed = tmp_path / "whole.db", tmp_path / "killed.db"
        for db in (whole, killed):
            store = Store(db)
            for f in range(12):
                subscribe(store, server.url(f"/feed/{f}"), None, 900)
            store.close()
        subprocess.run(_cli("watch", "--once", "--allow-private", "--delay", "0", "--db", str(whole)), env=env, check=True, capture_output=True, timeout=600)

        proc = subprocess.Popen(_cli("watch", "--allow-private", "--delay", "0.01", "--db", str(killed)), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done = kill_when(proc, killed, "SELECT COUNT(*) FROM pages WHERE state = 'done'", 40)
        assert done != -1, "watch stopped before it could be killed"
        assert 0 < done < 180
        subprocess.run(_cli("watch", "--once", "--allow-private", "--delay", "0", "--db", str(killed)), env=env, check=True, capture_output=True, timeout=600)
    expected = _snapshot(whole)
    assert len(expected["articles"]) == 180 and all(state == "done" for _, state in expected["pages"])
    assert _snapshot(killed) == expected


def test_sigterm_finishes_the_current_write_and_exits_cleanly(tmp_path) -> None:
    table: dict = {}
    env = {**os.environ, "STORYLINE_NER": "fast"}
    with LocalServer(routes(table)) as server:
        _fill_site(table, server, 3, 30)
        db = tmp_path / "w.db"
        store = Store(db)
        for f in range(3):
            subscribe(store, server.url(f"/feed/{f}"), None, 900)
        store.close()
        proc = subprocess.Popen(_cli("watch", "--allow-private", "--delay", "0.05", "--db", str(db)), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_count(proc, db, "SELECT COUNT(*) FROM pages WHERE state = 'done'", 5)
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "feeds polled" in stdout
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 90


# -- the CLI ---------------------------------------------------------------------------------------------------


def test_feeds_commands(tmp_path) -> None:
    from typer.testing import CliRunner

    from storyline.cli import app

    db = str(tmp_path / "cli.db")

    def run(*args: str):
        return CliRunner().invoke(app, [*args, "--db", db], env={"COLUMNS": "300"})

    assert "added: 1" in run("feeds", "add", "https://courier.example/rss", "--name", "Courier", "--every", "30m").stdout
    assert "already subscribed" in run("feeds", "add", "https://courier.example/rss").stdout
    added = run("feeds", "add", "--google-news", "reservoir dam")
    assert "news.google.com/rss/search?q=reservoir+dam" in added.stdout
    assert run("feeds", "add", "ftp://nope.example/x").exit_code == 2
    assert run("feeds", "add", "https://x.example/", "--every", "soon").exit_code == 2
    listed = json.loads(run("feeds", "list", "--json").stdout)
    assert [(f["name"], f["every_s"], f["state"], f["items_seen"]) for f in listed] == [
        ("Courier", 1800, "new", 0), ("Google News: reservoir dam", 900, "new", 0),
    ]
    assert "Courier" in run("feeds", "list").stdout
    # A feed that failed and then recovered: its last error is history, and the table says so.
    store = Store(db)
    with store.transaction():
        store.update_feed(1, last_error="HTTP 500", last_error_at="2026-01-02T03:04:05+00:00", error_count=1)
    assert "(recovered)" not in run("feeds", "list").stdout
    with store.transaction():
        store.update_feed(1, last_success="2026-01-02T04:00:00+00:00", error_count=0)
    store.close()
    assert "(recovered) 2026-01-02T03:04 HTTP 500" in run("feeds", "list").stdout
    # Asked again with an interval or a name, a subscription takes them; a plain repeat changes nothing.
    assert "already subscribed, updated: 1" in run("feeds", "add", "https://courier.example/rss", "--every", "2h").stdout
    assert "already subscribed: 1" in run("feeds", "add", "https://courier.example/rss").stdout
    assert [(f["name"], f["every_s"]) for f in json.loads(run("feeds", "list", "--json").stdout)][0] == ("Courier", 7200)
    spaced = run("feeds", "add", "https://cour ier.example/rss")
    assert spaced.exit_code == 2 and "holds spaces or control characters" in spaced.output
    assert "added: 3 http://wire.example/rss" in run("feeds", "add", "feed://wire.example/rss").stdout  # old browsers' scheme
    assert "removed: 3" in run("feeds", "remove", "3").stdout
    assert "removed: 1" in run("feeds", "remove", "1").stdout
    assert run("feeds", "remove", "https://courier.example/rss").exit_code == 1
    huge = run("feeds", "remove", str(2**63))  # past SQLite's integers: no such feed, not an OverflowError
    assert huge.exit_code == 1 and f"no such feed: {2**63}" in huge.output
    assert len(json.loads(run("feeds", "list", "--json").stdout)) == 1
