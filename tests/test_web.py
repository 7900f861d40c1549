"""The server-rendered pages on a real loopback server: content, safety, last-visit marks, Atom, forms."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest

from storyline.ingest import Pipeline
from storyline.models import Document, IngestResult
from storyline.settings import load
from storyline.store import Store
from storyline.web import WebOptions, create_app
from storyline.web.charts import coverage_chart
from storyline.web.present import entity_links, http_url, paragraphs, report_line
from storyline.web.server import running

SETTINGS = {"ner": "fast"}
PAYLOAD_TITLE = 'Council vote <script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
PAYLOAD_TEXT = (
    "The council voted on the harbour plan on Tuesday evening after a long debate about parking.\n\n"
    "<script>window.__xss = 3; document.title = 'owned'</script> Residents filled the public gallery.\n\n"
    '<img src=x onerror="window.__xss = 4"> <a href="javascript:window.__xss=5">click</a> '
    "Councillors said a final decision on the marina would follow next month once the surveys were in."
)


def add(pipeline: Pipeline, key: str, title: str, text: str, outlet: str, url: str | None = None) -> None:
    """Store one document of our own."""
    when = datetime(2024, 4, 2, 18, 0, tzinfo=timezone.utc)
    d = Document(source=f"test:{key}", kind="text", key=key, title=title, text=text, outlet=outlet, published=when, url=url)
    pipeline.store_documents([d], IngestResult())


@pytest.fixture(scope="module")
def db(tmp_path_factory, seeds) -> Path:
    path = tmp_path_factory.mktemp("web") / "web.db"
    store = Store(path)
    pipeline = Pipeline(store, load(SETTINGS, env={}))
    assert pipeline.ingest_paths([seeds]).failed == 0
    add(pipeline, "xss", PAYLOAD_TITLE, PAYLOAD_TEXT, "Harbour <b>Times</b>", url="javascript:window.__xss=6")
    add(pipeline, "xss-copy", "Council vote (copy)", PAYLOAD_TEXT, "Wire Agency", url="https://wire.example/council")
    pipeline.refresh()
    store.close()
    return path


@pytest.fixture(scope="module")
def site(db) -> httpx.Client:
    with running(create_app(load({"db": str(db), **SETTINGS}, env={}), WebOptions())) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


def seed_story_id(client: httpx.Client) -> int:
    cards = client.get("/api/v1/stories", params={"limit": 100}).json()["items"]
    return next(c["id"] for c in cards if c["last_date"] == "2026-01-09")


def text_of(html: str) -> str:
    """Visible text, roughly: tags dropped, space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_stories_page_lists_stories_with_latest_event_and_sparkline(site):
    r = site.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    sid = seed_story_id(site)
    card = r.text.split(f'id="story-{sid}"')[1].split("</li>")[0]
    assert "3 events" in text_of(card) and '<svg class="spark"' in card and '<time datetime="2026-01-09">' in card
    assert site.get("/stories").text.count('class="story-card"') == r.text.count('class="story-card"')


def test_head_answers_as_get_without_a_body(site):
    sid = seed_story_id(site)
    for path, kind in ((f"/stories/{sid}", "text/html"), (f"/stories/{sid}/feed.atom", "application/atom+xml"),
                       ("/api/v1/stories", "application/json")):
        url = str(site.base_url.join(path))  # no cookies: a story page marks what is new since the last visit
        got, head = httpx.get(url), httpx.head(url)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["content-type"].startswith(kind) and head.headers["content-length"] == str(len(got.content))
        assert head.headers["content-security-policy"] == got.headers["content-security-policy"]
    assert site.head("/stories/999999").status_code == 404
    assert site.head(f"/stories/{sid}/rename").status_code == 405  # a form's target answers POST alone


def test_story_page_shows_dated_events_in_order_with_outlets(site):
    sid = seed_story_id(site)
    r = site.get(f"/stories/{sid}")
    assert r.status_code == 200
    dates = re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)">', r.text)
    assert dates == ["2025-08-12", "2025-12-27", "2026-01-09"]
    page = text_of(r.text)
    for outlet in ("Korea JoongAng Daily", "Devdiscourse", "Reuters", "NK News", "WION"):
        assert outlet in page
    assert page.count("first report") == 3
    assert re.search(r"\d+ reports?, \d+ independent", page)
    assert "Kim Jong Un" in page and "unconditionally support" in page
    assert '<svg class="chart"' in r.text
    assert f'href="/stories/{sid}/feed.atom"' in r.text


def test_updated_since_last_visit(tmp_path, db):
    path = tmp_path / "visit.db"
    shutil.copy(db, path)
    with running(create_app(load({"db": str(path), **SETTINGS}, env={}), WebOptions())) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            sid = seed_story_id(client)
            first = client.get(f"/stories/{sid}")
            assert "new report" not in first.text and "since your last visit" not in first.text
            assert client.cookies.get("seen")
            store = Store(path)
            event_id = store.db.execute("SELECT id FROM events WHERE date = '2026-01-09'").fetchone()[0]
            text = ("Kim Jong Un told Vladimir Putin he would unconditionally support Russia, KCNA said, in a letter "
                    "answering birthday greetings; analysts said the pledge went further than earlier statements "
                    "and tied Pyongyang more closely to the war in Ukraine than before.")
            Pipeline(store, load(SETTINGS, env={})).store_documents(
                [Document(source="test:later", kind="text", key="later", title="Kim pledges unconditional support",
                          text=text, outlet="Late Wire", published=datetime(2026, 1, 9, 12, tzinfo=timezone.utc))],
                IngestResult(),
            )
            store.db.execute("UPDATE articles SET created_at = '2999-01-01T00:00:00+00:00' WHERE key = 'later'")
            assert store.article(store.article_id_by_key("later"))["event_id"] == event_id
            second = client.get(f"/stories/{sid}")
            assert "since your last visit" in second.text
            assert re.search(r"1 new report\b", text_of(second.text))


def test_event_page_shows_coverage_side_by_side_with_copies_folded(site):
    event_id = site.get("/api/v1/search", params={"q": "marina"}).json()["items"][0]["event"]["id"]
    r = site.get(f"/events/{event_id}")
    assert r.status_code == 200
    assert "<th scope=\"col\">Outlet</th>" in r.text and "<th scope=\"col\">Language</th>" in r.text
    assert "2 reports, 1 independent" in text_of(r.text)
    assert "<details class=\"copies\"><summary>1 duplicate</summary>" in r.text
    assert 'href="https://wire.example/council"' in r.text


def test_article_with_script_payloads_renders_as_inert_text(site):
    aid = site.get("/api/v1/search", params={"q": "marina"}).json()["items"][0]["id"]
    r = site.get(f"/articles/{aid}")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "<script" not in r.text and "<img" not in r.text and "onerror=\"window" not in r.text
    assert "javascript:" not in re.findall(r'href="([^"]*)"', r.text).__str__()
    assert "&lt;script&gt;window.__xss = 3" in r.text and "onerror=&#34;window.__xss = 4&#34;" in r.text
    assert "Harbour &lt;b&gt;Times&lt;/b&gt;" in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    # The story's timeline lists the same report, its line built outside the template.
    sid = site.get(f"/api/v1/articles/{aid}").json()["event"]["story_id"]
    story = site.get(f"/stories/{sid}").text
    assert "<script" not in story.split("</header>")[1] and "<img" not in story
    assert "Council vote &lt;script&gt;window.__xss = 1&lt;/script&gt;" in story


def test_search_page_highlights_and_links_to_the_event(site):
    r = site.get("/search", params={"q": "unconditionally"})
    assert r.status_code == 200
    assert "<mark>unconditionally</mark>" in r.text.lower() or "<mark>Unconditionally</mark>" in r.text
    event = re.search(r'class="event-link" href="/events/(\d+)">2026-01-09', r.text)
    assert event, "the result links to the January 2026 event"
    assert site.get(f"/events/{event.group(1)}").status_code == 200
    bad = site.get("/search", params={"q": "kim", "from": "not-a-date"})
    assert bad.status_code == 422 and "from" in bad.text
    # The page's own form sends the filters left empty: they filter nothing.
    blank = site.get("/search", params={"q": "unconditionally", "from": "", "to": "", "outlet": "", "entity": "", "story": ""})
    assert blank.status_code == 200 and blank.text.count('class="event-link"') == r.text.count('class="event-link"') > 0
    assert "<script" not in site.get("/search", params={"q": "<script>alert(1)</script>"}).text.split("</header>")[1]


def test_search_page_paginates(site):
    r = site.get("/search", params={"q": "kim", "page": 1})
    assert r.status_code == 200
    total = int(re.search(r"(\d+) results?", r.text).group(1))
    assert total >= 1
    assert site.get("/search", params={"q": "kim", "page": 0}).status_code == 422


def test_story_atom_feed(site):
    sid = seed_story_id(site)
    r = site.get(f"/stories/{sid}/feed.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert len(root.findall("a:entry", ns)) == 3
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert {e.title[:10] for e in feed.entries} == {"2025-08-12", "2025-12-27", "2026-01-09"}
    assert any(link.rel == "self" and link.href.endswith(f"/stories/{sid}/feed.atom") for link in feed.feed.links)


def test_pages_404_and_redirects(tmp_path, db):
    path = tmp_path / "redirect.db"
    shutil.copy(db, path)
    with running(create_app(load({"db": str(path), **SETTINGS}, env={}), WebOptions())) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            for missing in ("/stories/999999", "/events/999999", "/articles/999999"):
                r = client.get(missing)
                assert r.status_code == 404 and "<h1>Error 404</h1>" in r.text
            sid = seed_story_id(client)
            ids = [e["id"] for e in client.get(f"/api/v1/stories/{sid}/timeline").json()["items"]]
            r = client.post(f"/stories/{sid}/merge-events", data={"event_ids": [str(ids[0]), str(ids[1])]}, headers={"origin": url})
            assert r.status_code == 303
            gone = client.get(f"/events/{ids[1]}")
            assert gone.status_code == 302 and gone.headers["location"] == f"/events/{ids[0]}"
            assert len(re.findall(r'<li class="event"', client.get(f"/stories/{sid}").text)) == 2


def test_forms_edit_and_refuse_cross_site_posts(tmp_path, db):
    path = tmp_path / "forms.db"
    shutil.copy(db, path)
    with running(create_app(load({"db": str(path), **SETTINGS}, env={}), WebOptions())) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            sid = seed_story_id(client)
            evil = client.post(f"/stories/{sid}/rename", data={"title": "pwned"}, headers={"origin": "https://evil.example"})
            assert evil.status_code == 403
            ok = client.post(f"/stories/{sid}/rename", data={"title": "Kim and Putin"}, headers={"origin": url})
            assert ok.status_code == 303 and ok.headers["location"] == f"/stories/{sid}"
            assert "<h1>Kim and Putin" in client.get(f"/stories/{sid}").text
            bad = client.post(f"/stories/{sid}/merge-events", data={"event_ids": ["1"]}, headers={"origin": url})
            assert bad.status_code == 422 and "at least two" in bad.text
            # A selection that cannot all be merged merges none of it.
            ids = [e["id"] for e in client.get(f"/api/v1/stories/{sid}/timeline").json()["items"]]
            partly = client.post(f"/stories/{sid}/merge-events", data={"event_ids": [str(ids[0]), str(ids[1]), "999999"]},
                                 headers={"origin": url})
            assert partly.status_code == 404
            assert [e["id"] for e in client.get(f"/api/v1/stories/{sid}/timeline").json()["items"]] == ids
            log = client.get("/corrections")
            assert "rename story" in log.text and "Kim and Putin" in log.text


def test_helpers():
    assert http_url("javascript:alert(1)") is None and http_url(" JavaScript:x") is None
    assert http_url("https://example.com/a") == "https://example.com/a" and http_url("http:/nohost") is None
    assert paragraphs("a\nb\n\n c  d ") == ["a b", "c d"] and paragraphs("one\ntwo") == ["one", "two"]
    chart = coverage_chart([{"day": "2026-01-01", "n": 2}, {"day": "2026-01-03", "n": 4}, {"day": "bad", "n": 9}], min_days=1)
    assert [b.label for b in chart.bars] == ["2026-01-01: 2", "2026-01-03: 4"] and chart.peak == 4 and chart.total == 6
    long = coverage_chart([{"day": "2020-01-01", "n": 1}, {"day": "2026-01-01", "n": 1}], max_bars=30)
    assert len(long.bars) == 2 and long.days_per_bar > 30
    assert '<title>2026-01-03: 4</title></rect>' in chart.rects and long.rects.count("<rect") == 2
    assert "<title>2020-01-01 – 2020-" in long.rects and long.first == "2020-01-01" and long.last == "2026-01-01"


def test_report_lines_and_entity_links_escape_what_they_show():
    line = report_line({"id": 7, "title": "<b>Vote</b>", "outlet": None, "kind": "linked", "first": True, "new": False})
    assert '<a href="/articles/7">&lt;b&gt;Vote&lt;/b&gt;</a>' in line and "unknown outlet" in line
    assert "first report" in line and ">listed<" in line and "badge new" not in line
    plain = report_line({"id": 8, "title": None, "outlet": "A & B", "kind": "html", "first": False, "new": True})
    assert "A &amp; B" in plain and "(untitled)" in plain and "badge new" in plain and "listed" not in plain
    items = [{"kind": 'person"><x', "name": "Ana & <Bo>"}, {"kind": "place", "name": "Oslo"}]
    first, again = entity_links(items), entity_links(items)  # the second is built from remembered items
    assert first == again and first.count("<li") == 2 and "<Bo>" not in first and "<x" not in first
    assert ">Ana &amp; &lt;Bo&gt;</a>" in first and 'href="/search?entity=Ana%20%26%20%3CBo%3E"' in first
    assert 'class="entity person&#34;&gt;&lt;x"' in first and str(entity_links([])) == ""


def test_feeds_page_adds_removes_and_shows_errors(tmp_path, db):
    path = tmp_path / "feeds.db"
    shutil.copy(db, path)
    with running(create_app(load({"db": str(path), **SETTINGS}, env={}), WebOptions())) as url:
        with httpx.Client(base_url=url, timeout=30, headers={"origin": url}) as client:
            assert "No subscriptions yet" in client.get("/feeds").text
            assert client.post("/feeds", data={"url": "https://news.example/rss.xml", "every": "1h"}).status_code == 303
            assert client.post("/feeds", data={"google_news": "kim putin"}).status_code == 303
            assert client.post("/feeds", data={"url": "file:///etc/passwd"}).status_code == 422
            assert client.post("/feeds", data={}).status_code == 422
            # An interval past the calendar's end is refused, and one stored before that was is still listed.
            too_long = client.post("/feeds", data={"url": "https://news.example/other.xml", "every": "99999999999999999d"})
            assert too_long.status_code == 422 and "at most 30d" in too_long.text
            assert client.post("/feeds", data={"url": "https://news.example/other.xml", "every": "31d"}).status_code == 422
            store = Store(path)
            fid = store.feed("https://news.example/rss.xml")["id"]
            store.update_feed(fid, last_error="HTTP 503 <b>busy</b>", last_error_at="2026-01-09T10:00:00+00:00", error_count=2)
            far = store.add_feed("https://far.example/rss.xml", None, 900)[0]
            store.update_feed(far, next_poll=1e15)
            assert client.get("/api/v1/feeds").status_code == 200
            page = client.get("/feeds").text
            assert "9999-12-31" in page
            assert "failing (2x)" in page and "HTTP 503 &lt;b&gt;busy&lt;/b&gt;" in page and "Google News: kim putin" in page
            assert client.post(f"/feeds/{fid}/remove").status_code == 303
            assert "news.example" not in client.get("/feeds").text


def test_serving_bench_builds_a_store_and_measures_every_page(shared, tmp_path):
    from storyline.web.bench import ServingOptions, serving_bench

    options = ServingOptions(articles=300, pipeline_articles=80, clients=2, requests_per_client=2, rounds=2, alone_requests=3)
    out = serving_bench(load({"shared": str(shared)}, env={}), options, db=tmp_path / "bench.db")
    assert out["store"]["articles"] == 300 and out["store"]["pipeline_articles"] == 80
    assert set(out["results"]) == {"stories_page", "story_page_largest", "story_page_median", "search_page", "search_api"}
    for name, figures in out["results"].items():
        assert figures["requests"] == 8 and not figures["errors"], (name, figures)
        assert len(figures["p95_ms_rounds"]) == 2
        assert figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
        assert 0 < figures["alone_p50_ms"] < 60_000


def test_serving_rounds_combine_into_medians():
    from storyline.web.bench import combine

    rounds = [
        {"requests": 200, "errors": [], "p50_ms": 40.0, "p95_ms": 90.0, "max_ms": 120.0, "requests_per_s": 150.0},
        {"requests": 200, "errors": ["/: 503"], "p50_ms": 70.0, "p95_ms": 240.0, "max_ms": 300.0, "requests_per_s": 80.0},
        {"requests": 200, "errors": [], "p50_ms": 45.0, "p95_ms": 100.0, "max_ms": 110.0, "requests_per_s": 140.0},
    ]
    out = combine(rounds)
    assert (out["p50_ms"], out["p95_ms"], out["requests_per_s"]) == (45.0, 100.0, 140.0)  # one bad round does not decide
    assert out["max_ms"] == 300.0 and out["requests"] == 600 and out["errors"] == ["/: 503"]
    assert out["p95_ms_rounds"] == [90.0, 240.0, 100.0]
    with_cpu = combine([{**r, "client_cpu_ms": cpu} for r, cpu in zip(rounds, (0.4, 0.9, 0.5))])
    assert with_cpu["client_cpu_ms"] == 0.5


def test_measure_quotes_paths_reconnects_when_the_server_closes_and_counts_its_own_cpu():
    # Every request is answered and counted once, whether the server announced the close or not.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from storyline.web.bench import measure

    seen: list[str] = []
    connections: list[int] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive unless a response says otherwise

        def setup(self) -> None:
            super().setup()
            with lock:
                connections.append(1)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            with lock:
                seen.append(self.path)
                close = len(seen) % 2 == 0  # every second answer closes its connection, as a busy worker does
                drop = len(seen) % 3 == 0 and not close  # some drop it unannounced, as an idle timeout does
            body = b"ok" if self.path.startswith("/search?q=") else b"no"
            self.send_response(200 if body == b"ok" else 404)
            self.send_header("Content-Length", str(len(body)))
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            if close or drop:
                self.close_connection = True

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        out = measure(base, ['/search?q="prime minister"', "/search?q=oil*", "/elsewhere"], clients=3, per_client=4)
    finally:
        server.shutdown()
        server.server_close()
    assert out["requests"] == 12 and len(seen) == 3 + 12  # the warm-up, then each request answered once
    assert '/search?q=%22prime%20minister%22' in seen and "/search?q=oil*" in seen
    assert len(connections) > 4  # 3 warm-up requests on one connection, 3 clients, and reconnections after closes
    assert out["errors"] and all(e.startswith("/elsewhere: 404") for e in out["errors"])
    assert out["client_cpu_ms"] >= 0 and out["p95_ms"] >= out["p50_ms"] > 0


def _closes(sent: list[tuple[bytes, bytes]]) -> bool:
    return (b"connection", b"close") in [(k.lower(), v.lower()) for k, v in sent]


async def _ask(guard, client: tuple[str, int], path: str = "/") -> list[tuple[bytes, bytes]]:
    """One request from a client (an address, one per connection) through a Guard; the answer's headers."""
    sent: list[tuple[bytes, bytes]] = []

    async def send(message) -> None:
        if message["type"] == "http.response.start":
            sent.extend(message["headers"])

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [], "scheme": "http",
             "server": ("127.0.0.1", 8000), "client": client, "root_path": ""}
    await guard(scope, receive, send)
    return sent


def test_a_busy_worker_serving_two_clients_more_than_another_sheds_one_and_only_then(tmp_path, monkeypatch):
    import asyncio

    from storyline.web import balance
    from storyline.web.app import Guard
    from storyline.web.balance import Balancer, Board

    release = asyncio.Event()

    async def inner(scope, receive, send) -> None:
        if scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
        if scope["path"] == "/tidy":  # work after the answer (FastAPI ends a dependency's cleanup there)
            await release.wait()

    clock = [1000.0]
    monkeypatch.setattr(balance, "_now", lambda: clock[0])
    busy, quiet = Guard(inner, Balancer(Board(tmp_path))), Guard(inner, Balancer(Board(tmp_path)))
    assert len(list(tmp_path.iterdir())) == 2  # each worker's post
    clients = [("127.0.0.1", 50_000 + k) for k in range(6)]

    async def scenario() -> None:
        assert not _closes(await _ask(quiet, clients[4]))
        # One client asking at a time is alone in flight: never moved, however many connections it opened.
        assert not any([_closes(await _ask(busy, c)) for c in clients[:4]])
        clock[0] += balance.ACTIVE_S * 2  # nobody asked for a while
        assert not _closes(await _ask(quiet, clients[4]))
        slow = asyncio.create_task(_ask(busy, clients[5], "/slow"))
        await asyncio.sleep(0)  # in flight from here: the worker is busy
        assert not _closes(await _ask(busy, clients[0]))  # two clients (this and the slow one's) against one
        moved = await _ask(busy, clients[1])  # three against one: two more than the other, so this client moves
        assert _closes(moved) and any(k.lower() == b"content-security-policy" for k, _ in moved)
        assert not any([_closes(await _ask(busy, clients[0])) for _ in range(3)])  # two against one again
        # A worker nobody asked lately serves nobody; a client waiting on a slow request still counts.
        clock[0] += balance.ACTIVE_S * 2
        assert _closes(await _ask(busy, clients[0]))  # two (the slow one's and this) against none
        release.set()
        assert not _closes(await slow)  # answered alone
        # The client's next request can come while the answered one still tidies up: not in flight.
        release.clear()
        tidy = asyncio.create_task(_ask(busy, clients[0], "/tidy"))
        await asyncio.sleep(0)
        assert not _closes(await _ask(busy, clients[1]))  # two against none, but nothing else in flight
        release.set()
        await tidy
        assert busy.balancer.in_flight == 0 and quiet.balancer.in_flight == 0 and not busy.balancer.waiting
        # A worker whose threads are all on slow requests answers nobody, yet keeps posting its clients.
        release.clear()
        held = [asyncio.create_task(_ask(quiet, c, "/slow")) for c in clients[2:5]]
        posting = asyncio.create_task(quiet.balancer.keep_posting())
        clock[0] += balance.ACTIVE_S * 2
        await asyncio.sleep(balance.ACTIVE_S)
        assert busy.balancer.board.others(clock[0]) == [3]
        posting.cancel()
        release.set()
        await asyncio.gather(*held)

    asyncio.run(scenario())
    # Without a balancer (one process), answers never close.
    alone = Guard(inner)
    release.set()
    assert not any(_closes(asyncio.run(_ask(alone, c, "/slow"))) for c in clients for _ in range(2))


def test_the_board_reads_running_workers_and_forgets_stopped_ones(tmp_path):
    import subprocess
    import sys
    import time

    from storyline.web.balance import Board

    mine = Board(tmp_path)
    (tmp_path / "notes.txt").write_bytes(b"x" * 64)  # not a worker's: never read
    # A worker that posted and exited without leaving (killed workers do not), and one that runs.
    code = ("import sys, time; from pathlib import Path; from storyline.web.balance import Board; "
            "b = Board(Path(sys.argv[1])); b.post(int(sys.argv[2]), time.monotonic()); print('ready', flush=True); "
            "sys.stdin.read()")
    subprocess.run([sys.executable, "-c", code, str(tmp_path), "7"], input="", text=True, check=True, capture_output=True)
    running = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), "5"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert running.stdout.readline() == "ready\n"
        assert len(list(tmp_path.iterdir())) == 4
        assert mine.others(time.monotonic()) == [5]  # the stopped one is left out, and cleared away
        assert len(list(tmp_path.iterdir())) == 3
        running.kill()
        running.wait()
        mine._scanned = float("-inf")  # look again now rather than in a second
        assert mine.others(time.monotonic()) == []
    finally:
        running.kill()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.path.name, "notes.txt"])
    mine.close()
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_serve_with_workers_answers_concurrent_clients_and_never_moves_a_lone_one(tmp_path, db, monkeypatch):
    import threading
    import time

    from storyline.web.bench import _serve

    path = tmp_path / "workers.db"
    shutil.copy(db, path)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # where `serve` makes the workers' board
    proc, base = _serve(path, 2)
    try:
        deadline = time.monotonic() + 30  # the second worker may still be starting
        while len(list(temp.glob("storyline-serve-*/*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(temp.glob("storyline-serve-*/*"))) == 2  # each worker posts its clients
        with httpx.Client(base_url=base, timeout=30) as alone:  # one client at a time never fills a worker
            assert all(alone.get("/search?q=Putin").headers.get("connection") != "close" for _ in range(5))
        answers: list[tuple[int, str | None]] = []

        def client() -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                for _ in range(10):
                    r = http.get("/search?q=Putin")
                    answers.append((r.status_code, r.headers.get("connection")))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Every moved client reconnects and is answered. How many are moved depends on which worker
        # wakes first on this machine (46 in 80 on a slow CI run, 10-30 here), so the rule for moving
        # them is checked with a fixed clock in the test above, not counted here.
        assert len(answers) == 80 and {status for status, _ in answers} == {200}
    finally:
        proc.terminate()
        proc.wait(10)
    assert list(temp.iterdir()) == []  # the board went with the server


def test_a_story_chart_summed_by_the_store_matches_the_chart_of_its_days():
    from datetime import timedelta

    from storyline.web.reading import story_chart, story_summary

    store = Store(":memory:")
    story = store.create_group("stories", "2025-01-01")
    start = datetime(2025, 1, 1, 9, 0, tzinfo=timezone.utc)
    # Reports on uneven days over ten months, so bars hold several days and some days sit on a bar's edge.
    for k, offset in enumerate([0, 1, 1, 5, 29, 30, 31, 60, 61, 150, 151, 152, 298, 299, 300]):
        event = store.create_group("events", None)
        store.update_event(event, story_id=story, date=(start + timedelta(days=offset)).date().isoformat())
        when = start + timedelta(days=offset, hours=k)
        doc = Document(source="test", kind="text", key=f"r{k}", title=f"Report {k}", text="Some words.", published=when)
        store.insert_article(doc, None, event_id=event)
    empty = store.create_group("stories", None)
    shapes = [(720, 72, 90, 7), (120, 24, 30, 14), (120, 24, 400, 14)]
    for width, height, bars, min_days in shapes:
        days = story_summary(store, story)["coverage"]
        assert sum(d["n"] for d in days) == 15
        expected = coverage_chart(days, width=width, height=height, max_bars=bars, min_days=min_days)
        assert story_chart(store, story, width, height, bars, min_days) == expected
        assert sum(b.h > 0 for b in expected.bars) >= 5 and expected.total == 15
        assert story_chart(store, empty, width, height, bars, min_days) == coverage_chart([], width=width, height=height)
    # A day that is not a date is left out, as the chart of the days leaves it out.
    store.db.execute("INSERT INTO story_day_counts (story_id, day, n) VALUES (?, 'someday', 4)", (story,))
    days = story_summary(store, story)["coverage"]
    assert story_chart(store, story, 720, 72, 90, 7) == coverage_chart(days, width=720, height=72, max_bars=90, min_days=7)
    assert story_chart(store, story, 720, 72, 90, 7).total == 15


def test_a_story_page_lists_a_dozen_reports_an_event_and_reads_its_first_reports_only(tmp_path, monkeypatch):
    from datetime import timedelta

    from storyline.models import Entity, Enrichment
    from storyline.web import reading

    path = tmp_path / "big.db"
    store = Store(path)
    story = store.create_group("stories", "2025-03-01")
    event = store.create_group("events", None)
    store.update_event(event, story_id=story, date="2025-03-01")
    start = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
    ids = []
    for k in range(15):
        doc = Document(source="test", kind="text", key=f"big{k}", title=f"Harbour report {k}", text=f"Report number {k}.",
                       outlet=f"Outlet {k}", published=start + timedelta(hours=k))
        copy_of = {"duplicate_of": ids[0]} if k == 14 else {}  # the last is a wire copy of the first
        ids.append(store.insert_article(doc, None, event_id=event, **copy_of))
        # Everyone names the harbour; only the eleventh report names the mayor.
        names = [Entity("Harbour Board", "org")] + ([Entity("Mayor Vance", "person")] if k == 10 else [])
        store.save_enrichment(ids[-1], Enrichment(entities=names))
    store.update_event(event, n_articles=15)
    row = store.event(event)
    full = reading.event_details(store, [row])[0]
    monkeypatch.setattr(reading, "PAGE_SAMPLE", 5)
    page = reading.event_details(store, [row], shown=12)[0]
    assert len(full["reports"]) == full["n_grouped"] == 14  # the copy folds under its original
    assert len(page["reports"]) == 12 and page["n_grouped"] == 14
    assert page["reports"] == full["reports"][:12] and page["reports"][0]["copies"][0]["id"] == ids[14]
    assert (page["n_reports"], page["n_independent"], len(page["outlets"])) == (15, 14, 15)  # counts of all
    assert {e["name"] for e in full["entities"]} == {"Harbour Board", "Mayor Vance"}
    assert [(e["name"], e["count"]) for e in page["entities"]] == [("Harbour Board", 5)]  # the first five only
    store.close()
    with running(create_app(load({"db": str(path), **SETTINGS}, env={}), WebOptions())) as url:
        html = httpx.get(f"{url}/stories/{story}", timeout=30).text
    assert html.count('<a href="/articles/') == 12 + 1  # twelve reports, and the copy folded under the first
    assert f'<a href="/events/{event}">all 14 reports →</a>' in html


def test_the_server_takes_uvicorns_c_parser_and_event_loop():
    import uvicorn
    from fastapi import FastAPI

    # Installed with Storyline, uvicorn picks them by itself; without them a request cost about a
    # millisecond more of the server's CPU (story pages: 285 against 440 answered a second, 8 clients).
    config = uvicorn.Config(FastAPI())
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    import uvloop  # noqa: F401 - uvicorn's "auto" loop takes it when it imports


def test_page_templates_read_dict_keys_as_jinja_does():
    import jinja2

    from storyline.web.app import templates

    env = templates()
    row = {"name": "Reuters", "items": [1, 2], "n": 0}
    out = env.from_string("{{ row.name }} {{ row.n }} {{ row['items']|length }} {{ row.items()|list|length }}").render(row=row)
    assert out == "Reuters 0 2 3"  # a key named like a dict method is still the method, as in plain Jinja
    assert env.from_string("{{ obj.real }}").render(obj=5) == "5"  # objects keep attribute lookup
    with pytest.raises(jinja2.UndefinedError):  # a missing key is still an error (StrictUndefined)
        env.from_string("{{ row.missing }}").render(row=row)


def test_worker_processes_answer_with_few_threads(db, monkeypatch):
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from storyline.web.app import WORKER_THREADS, app_from_environment

    monkeypatch.setenv("STORYLINE_DB", str(db))

    def limit(app) -> int:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            assert client.get("/api/v1/stories").status_code == 200
            return client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)

    assert limit(app_from_environment()) == WORKER_THREADS == 2
    assert limit(create_app(load({"db": str(db)}, env={}), WebOptions())) > WORKER_THREADS  # one process: anyio's default


def test_a_burst_of_requests_beyond_threads_and_pooled_stores_is_answered(db):
    import threading

    # A request takes its store in one pooled thread and runs in another: a pool that made it wait for
    # a store held threads the store holders needed (a deadlock at threads + stores requests at once).
    app = create_app(load({"db": str(db)}, env={}), WebOptions(threads=2, pool_size=2))
    statuses: list[int] = []
    with running(app) as base:
        def client() -> None:
            with httpx.Client(base_url=base, timeout=20) as http:
                statuses.append(http.get("/search?q=Putin").status_code)

        threads = [threading.Thread(target=client) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [200] * 12
    assert app.state.pool._free.qsize() <= 2  # no more idle stores kept than the pool's size


def test_text_that_holds_the_highlight_marks_shows_no_false_highlights(tmp_path, db):
    path = tmp_path / "marks.db"
    shutil.copy(db, path)
    store = Store(path)
    # A store written before ingest stripped control characters may hold the two mark characters.
    aid = store.db.execute("SELECT id FROM articles WHERE key = 'xss'").fetchone()[0]
    store.db.execute("UPDATE articles SET title = ?, text = ? || text WHERE id = ?",
                     ("Council \x02vote\x03 copy", "Marina \x02 surveys\x03 pending. ", aid))
    far = "Intro \x02click here\x03 to win. " + "Nothing of note happened in the valley. " * 600 + "Then a zeppelin landed."
    other = store.db.execute("SELECT id FROM articles WHERE id != ? AND duplicate_of IS NULL AND merged_into IS NULL "
                             "AND kind != 'linked' ORDER BY id LIMIT 1", (aid,)).fetchone()[0]
    store.db.execute("UPDATE articles SET text = ? WHERE id = ?", (far, other))  # its match lies past the opening
    store.db.commit()
    store.close()
    with running(create_app(load({"db": str(path), **SETTINGS}, env={}), WebOptions())) as url:
        items = httpx.get(url + "/api/v1/search", params={"q": "surveys"}).json()["items"]
        lead = httpx.get(url + "/api/v1/search", params={"q": "zeppelin"}).json()["items"]
    item = next(i for i in items if i["id"] == aid)
    assert item["title_html"] == "Council vote copy"
    # A result whose snippet is its text's lead (the match lies past the opening) shows no stray marks either.
    assert len(lead) == 1 and lead[0]["snippet"].startswith("Intro click here")
    assert "<mark>" not in lead[0]["snippet_html"]
    assert item["snippet_html"].count("<mark>") == item["snippet_html"].count("</mark>") == 1
    assert "<mark>surveys</mark>" in item["snippet_html"] and "\x02" not in item["snippet"]


def test_control_characters_never_reach_the_store_or_a_title(tmp_path):
    from storyline.corrections import Corrector

    pipeline = Pipeline(Store(tmp_path / "c.db"), load(SETTINGS, env={}))
    add(pipeline, "esc", "Harbour \x1b]0;OWNED\x07\x1b[2Jvote \u202eetov", "The council \x02voted\x03 on the harbour plan.\x00", "Gazette\x1b[31m")
    row = pipeline.store.db.execute("SELECT a.title, a.text, o.name FROM articles a JOIN outlets o ON o.id = a.outlet_id").fetchone()
    assert tuple(row) == ("Harbour ]0;OWNED[2Jvote etov", "The council voted on the harbour plan.", "Gazette[31m")
    pipeline.refresh()
    story = pipeline.store.db.execute("SELECT id FROM stories").fetchone()[0]
    corrector = Corrector(pipeline.store, pipeline.settings)
    corrector.rename_story(story, "Harbour \x1b[2J\u202eplan")
    assert pipeline.store.story(story)["title"] == "Harbour [2Jplan"
    with pytest.raises(Exception) as refused:
        corrector.rename_story(story, "\x1b\x07\u202e")
    assert getattr(refused.value, "status", None) == 422


def test_a_server_bound_beyond_loopback_answers_only_its_own_names(tmp_path, db):
    from storyline.web.app import host_names

    assert "192.168.1.5" in host_names("192.168.1.5", []) and "evil.example" not in host_names("192.168.1.5", [])
    assert "[fd00::5]" in host_names("fd00::5", []) and "news.lan" in host_names("0.0.0.0", ["news.lan"])
    settings = load({"db": str(db), **SETTINGS, "allowed_hosts": "news.lan"}, env={})
    with running(create_app(settings, WebOptions(host="0.0.0.0"))) as url:
        rebound = httpx.post(url + "/stories/1/rename", data={"title": "pwned"},
                             headers={"host": "attacker.example", "origin": "http://attacker.example"})
        named = httpx.get(url + "/api/v1/stories", headers={"host": "news.lan:8000"})
    assert rebound.status_code == 400 and rebound.headers["content-security-policy"]
    assert named.status_code == 200
    # Bound to every address, it answers for this machine's own addresses (127.0.0.5 is one on Linux),
    # however they were reached, and for no other literal address.
    with running(create_app(settings, WebOptions(host="0.0.0.0"))) as url:
        own = httpx.get(url + "/api/v1/stories", headers={"host": "127.0.0.5:8000"})
        other = httpx.get(url + "/api/v1/stories", headers={"host": "203.0.113.9:8000"})
    assert own.status_code == 200 and other.status_code == 400
    with running(create_app(settings, WebOptions(host="127.0.0.1"))) as url:
        assert httpx.get(url + "/api/v1/stories", headers={"host": "127.0.0.5"}).status_code == 400


def test_an_unexpected_error_is_a_500_page_with_the_security_headers(db):
    app = create_app(load({"db": str(db), **SETTINGS}, env={}), WebOptions())

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with running(app) as url:
        r = httpx.get(url + "/broken")
    assert r.status_code == 500 and "internal error" in r.text and "a bug" not in r.text
    assert r.headers["content-security-policy"] and r.headers["x-content-type-options"] == "nosniff"


def test_an_entity_link_lists_the_articles_naming_it_though_its_name_is_in_no_text(site, db):
    # Enrich names the place "United States" where a seed's text says "US": searched as words it finds nothing.
    store = Store(db)
    aid = store.db.execute("SELECT ae.article_id FROM article_entities ae JOIN entities e ON e.id = ae.entity_id "
                           "WHERE e.name = 'United States'").fetchone()[0]
    store.close()
    assert site.get("/api/v1/search", params={"q": "United States"}).json()["total"] == 0
    href = re.search(r'<a href="([^"]+)">United States</a>', site.get(f"/articles/{aid}").text).group(1)
    listing = site.get(href.replace("&amp;", "&"))
    assert listing.status_code == 200 and f'href="/articles/{aid}"' in listing.text
    assert "1 article for entity “United States”" in text_of(listing.text)


def test_the_search_page_lists_a_storys_articles_without_words_and_shows_the_form_alone_without_either(site):
    sid = seed_story_id(site)
    story = site.get(f"/stories/{sid}").text
    assert f'href="/search?story={sid}"' in story  # the story page's "search this story" link
    listing = site.get("/search", params={"story": sid, "q": "", "entity": " "})
    published = re.findall(r"· (\d{4}-\d\d-\d\d)", text_of(listing.text))
    assert listing.status_code == 200 and f"for story #{sid} “" in text_of(listing.text)  # named by its title too
    missing = site.get("/search", params={"story": 999_999})
    assert missing.status_code == 404 and "There is no story #999999." in text_of(missing.text)
    assert "0 articles" not in text_of(missing.text)
    assert len(published) > 1 and published == sorted(published, reverse=True)  # latest published first
    empty = site.get("/search", params={"q": "", "outlet": "  "})
    assert empty.status_code == 200 and 'class="results"' not in empty.text and '<form class="search"' in empty.text
    assert "Nothing to look for" not in empty.text  # nothing asked: the form alone
    # Operators other search boxes know are words here: the page says so.
    ored = text_of(site.get("/search", params={"q": "Kim OR Putin"}).text)
    assert "OR is searched as a word here" in ored
    assert "OR and NOT are searched as words" in text_of(site.get("/search", params={"q": "Kim OR Putin NOT Trump"}).text)
    assert "Every word must occur" not in text_of(site.get("/search", params={"q": '"Kim OR Putin" Kim'}).text)  # a phrase
    assert "Every word must occur" not in text_of(site.get("/search", params={"q": "Kim"}).text)
    # Dates alone, or a query of operators only, list nothing: the page says so, rather than show nothing.
    for params in ({"from": "2025-01-01"}, {"q": "*"}, {"q": '" ( "'}):
        page = site.get("/search", params=params)
        assert page.status_code == 200 and "Nothing to look for" in page.text and "0 articles" not in page.text, params


def test_a_page_past_the_last_is_404_with_a_link_to_the_last(site):
    sid = seed_story_id(site)
    total = site.get("/api/v1/search", params={"q": "kim"}).json()["total"]
    last = -(-total // 20)
    for path, params, link in (
        ("/stories", {"page": 2}, "/stories?page=1"),
        (f"/stories/{sid}", {"page": 2}, f"/stories/{sid}?page=1"),
        ("/search", {"q": "kim", "page": last + 1}, f"/search?q=kim&amp;page={last}"),
    ):
        r = site.get(path, params=params)
        assert r.status_code == 404 and f'<a href="{link}">Go to the last page</a>' in r.text, path
        assert site.get(path, params={**params, "page": params["page"] - 1}).status_code == 200
    # A listing with nothing in it has its one empty page, and says so.
    assert site.get("/search", params={"q": "zzyzzx", "page": 2}).status_code == 200


def test_a_head_request_is_no_visit(site):
    sid = seed_story_id(site)
    for path in ("/", f"/stories/{sid}"):
        url = str(site.base_url.join(path))
        head, got = httpx.head(url), httpx.get(url)
        # A link checker's HEAD would otherwise clear the marks of what is new since the user's last visit.
        assert head.status_code == 200 and "set-cookie" not in head.headers, path
        assert "set-cookie" in got.headers, path


def test_a_405_allows_head_wherever_it_allows_get(site):
    sid = seed_story_id(site)
    for path in (f"/stories/{sid}", "/search", "/api/v1/stories"):
        r = site.delete(path)
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD", path
    assert site.put("/feeds").headers["allow"] == "GET, HEAD, POST"
    assert site.delete(f"/stories/{sid}/rename").headers["allow"] == "POST"  # a form's target answers POST alone
    static = site.post("/static/style.css")  # the stylesheet's files are read-only too
    assert static.status_code == 405 and static.headers["allow"] == "GET, HEAD"


def test_bad_form_input_is_422_and_changes_nothing(tmp_path, db):
    path = tmp_path / "bad-forms.db"
    shutil.copy(db, path)
    with running(create_app(load({"db": str(path), **SETTINGS}, env={}), WebOptions())) as url:
        with httpx.Client(base_url=url, timeout=30, headers={"origin": url}) as client:
            sid = seed_story_id(client)
            event = client.get(f"/api/v1/stories/{sid}/timeline").json()["items"][-1]
            aid = event["reports"][0]["id"]
            for path, data, says in (
                (f"/articles/{aid}/move", {"event": "abc"}, "whole numbers"),
                (f"/articles/{aid}/move", {"event": "0"}, "no such id"),
                (f"/events/{event['id']}/split", {}, "select at least one report"),
                (f"/events/{event['id']}/split", {"article_ids": ["x"]}, "whole numbers"),
                (f"/stories/{sid}/split", {"title": "Part"}, "select at least one event"),
                (f"/stories/{sid}/merge-events", {}, "select at least one event"),
            ):
                r = client.post(path, data=data)
                assert r.status_code == 422 and says in r.text, path
            assert client.get("/api/v1/corrections").json()["total"] == 0


def test_counts_of_one_are_singular_on_an_event_page(site):
    events = site.get("/api/v1/events", params={"limit": 100}).json()["items"]
    one = next(e for e in events if e["n_reports"] == 1 and len(e["outlets"]) == 1)
    page = text_of(site.get(f"/events/{one['id']}").text)
    assert "1 report, 1 independent · 1 outlet" in page and "1 reports" not in page


def test_the_search_page_refuses_a_from_day_later_than_its_to_day(site):
    r = site.get("/search", params={"q": "kim", "from": "2026-02-01", "to": "2026-01-01"})
    assert r.status_code == 422 and "from (2026-02-01) is later than to (2026-01-01)" in r.text
