"""OPML import and export: the subscription lists other feed readers write and read."""

from __future__ import annotations

import pytest

from storyline.opml import Outline, OpmlError, parse_opml, write_opml
from storyline.store import Store
from storyline.watch import export_opml, import_opml

# Shaped like a reader's export: folders as outer outlines, feeds inside, one feed at the top level.
READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="Harbour Gazette" title="Harbour Gazette" xmlUrl="https://gazette.example/rss" htmlUrl="https://gazette.example/"/>
      <outline type="rss" text="Valley Radio" xmlUrl="https://radio.example/feed.atom"/>
    </outline>
    <outline text="Tech">
      <outline type="rss" title="Night Desk" xmlUrl="https://nightdesk.example/feed.json"/>
      <outline type="rss" title="Harbour Gazette again" xmlUrl="https://gazette.example/rss"/>
    </outline>
    <outline type="rss" text="Loose feed" xmlUrl="http://loose.example/index.xml"/>
    <outline type="link" text="Not a feed" url="javascript:alert(1)"/>
  </body>
</opml>"""


def test_parse_reader_export() -> None:
    assert parse_opml(READER_EXPORT) == [
        Outline("https://gazette.example/rss", "Harbour Gazette", "World"),
        Outline("https://radio.example/feed.atom", "Valley Radio", "World"),
        Outline("https://nightdesk.example/feed.json", "Night Desk", "Tech"),
        Outline("http://loose.example/index.xml", "Loose feed", None),
    ]


def test_round_trip() -> None:
    outlines = [Outline("https://a.example/rss", "A & B", "News"), Outline("https://c.example/atom", None, None)]
    data = write_opml(outlines)
    assert data.startswith(b"<?xml") and b"<opml version=\"2.0\">" in data
    assert parse_opml(data) == [Outline("https://a.example/rss", "A & B", "News"), Outline("https://c.example/atom", "https://c.example/atom", None)]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><opml><body/></opml>', "entity"),
        (b"<html><body>no</body></html>", "not an OPML file"),
        (b"", "malformed OPML"),
    ],
)
def test_bad_opml_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(OpmlError, match=reason) as caught:
        parse_opml(data)
    assert "\n" not in str(caught.value)


def test_import_export_through_the_store(tmp_path) -> None:
    store = Store(tmp_path / "o.db")
    assert import_opml(store, READER_EXPORT, 1800) == (4, 0, 0)
    assert import_opml(store, READER_EXPORT, 1800) == (0, 4, 0)
    assert [(f["url"], f["every_s"]) for f in store.feeds()][0] == ("https://gazette.example/rss", 1800)
    again = parse_opml(export_opml(store))
    assert [o.url for o in again] == [o.url for o in parse_opml(READER_EXPORT)]
    hostile = (b'<?xml version="1.0"?><opml version="2.0"><body><outline type="rss" text="Gazette &#x9b;31m&#x202e;News" '
               b'xmlUrl="https://hostile.example/rss"/></body></opml>')
    assert import_opml(store, hostile, 1800) == (1, 0, 0)
    assert store.feed("https://hostile.example/rss")["name"] == "Gazette 31mNews"


def test_cli_import_and_export(tmp_path) -> None:
    from typer.testing import CliRunner

    from storyline.cli import app

    db = str(tmp_path / "c.db")
    source = tmp_path / "subs.opml"
    source.write_bytes(READER_EXPORT)
    run = lambda *a: CliRunner().invoke(app, [*a, "--db", db])  # noqa: E731
    imported = run("feeds", "import", str(source))
    assert imported.exit_code == 0 and "4 added, 0 already subscribed" in imported.stdout
    exported = run("feeds", "export")
    assert [o.url for o in parse_opml(exported.stdout_bytes)] == [o.url for o in parse_opml(READER_EXPORT)]
    target = tmp_path / "out.opml"
    assert run("feeds", "export", str(target)).exit_code == 0
    assert parse_opml(target.read_bytes()) == parse_opml(exported.stdout_bytes)
    broken = tmp_path / "broken.opml"
    broken.write_bytes(b"<html/>")
    failed = run("feeds", "import", str(broken))
    assert failed.exit_code == 2 and "not an OPML file" in failed.stderr


def test_what_other_readers_write_is_read_as_they_meant_it(tmp_path) -> None:
    listing = b"""<?xml version="1.0"?><opml version="1.0"><body>
      <outline text="News"><outline text="World">
        <outline type="rss" text="Upper" xmlUrl="HTTPS://upper.example/feed"/>
        <outline type="rss" text="Old scheme" xmlUrl="feed://old.example/rss"/>
        <outline type="rss" text="Query" xmlUrl="https://q.example/rss?a=1&b=2"/>
      </outline></outline>
      <outline type="link" text="A home page" url="https://home.example/"/>
      <outline text="Older file" url="https://older.example/rss.xml"/>
      <outline type="rss" text="Empty address" xmlUrl="http://"/>
    </body></opml>"""  # a bare & in a URL is the one slip some readers make
    assert [(o.url, o.category) for o in parse_opml(listing)] == [
        ("HTTPS://upper.example/feed", "News/World"), ("feed://old.example/rss", "News/World"),
        ("https://q.example/rss?a=1&b=2", "News/World"), ("https://older.example/rss.xml", None), ("http://", None),
    ]
    store = Store(tmp_path / "o.db")
    assert import_opml(store, listing, 1800) == (4, 0, 1)  # the empty address is skipped, not "already there"
    assert sorted(f["url"] for f in store.feeds()) == [
        "http://old.example/rss", "https://older.example/rss.xml", "https://q.example/rss?a=1&b=2", "https://upper.example/feed",
    ]
    upper = b'<opml version="2.0"><body><outline text="U" xmlUrl="HTTPS://UPPER.Example/feed"/></body></opml>'
    assert import_opml(store, upper, 1800) == (0, 1, 0)  # scheme and host are case-blind: the same feed
    with pytest.raises(OpmlError, match="malformed OPML"):  # cut off mid-list: refused rather than read in part
        parse_opml(READER_EXPORT[: READER_EXPORT.index(b"Night Desk")])


def test_slips_of_other_writers_are_read_past_but_a_cut_file_is_not() -> None:
    body = (b'<opml version="2.0"><body><outline text="Caf&eacute;&nbsp;News" xmlUrl="https://cafe.example/rss"/>'
            b'<outline text="Z\xfcrich Daily" xmlUrl="https://zurich.example/rss"/></body></opml>')  # latin-1 in UTF-8
    for data in (body, b"\n\n<?xml version='1.0' encoding='UTF-8'?>" + body, body + b"\n<!-- written by a script -->x"):
        assert [o.url for o in parse_opml(data)] == ["https://cafe.example/rss", "https://zurich.example/rss"]
    with pytest.raises(OpmlError, match="cut off"):
        parse_opml(body[: body.index(b"<outline text=\"Z")])
