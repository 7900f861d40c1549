"""WARC archives: pages streamed from .warc/.warc.gz files (written here with warcio) into the store."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storyline.ingest import Pipeline
from storyline.readers import InputError, is_warc, parse
from storyline.settings import load
from storyline.store import Store
from storyline.warc import batches, iter_records


def page(title: str, n: int, town: str = "Lakeside") -> bytes:
    paragraphs = "".join(
        f"<p>{sentence}</p>"
        for sentence in (
            f"The council of {town} approved a new footbridge over the river on Tuesday, vote number {n}.",
            f"Construction of the {town} bridge is expected to start in spring and last about eight months.",
            "Local shop owners said the crossing would bring more visitors to the old market square.",
            "The project is paid for by a regional fund for walking and cycling routes, officials said.",
            f"Opponents in {town} argued that the money should have gone to repairing the existing road bridge.",
        )
    )
    return (
        f"<html><head><title>{title}</title><meta property='article:published_time' content='2024-05-0{n % 9 + 1}T08:00:00Z'>"
        f"</head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


def write_warc(path: Path, records: list[tuple[str, str, bytes, dict[str, str]]], compress: bool = True) -> None:
    """A WARC with one response record per (uri, status line, body, extra HTTP headers), plus noise."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=compress)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "storyline tests"}))
        for uri, status, body, extra in records:
            fields = {"Content-Type": "text/html; charset=utf-8", **extra}
            headers = StatusAndHeaders(status, list(fields.items()), protocol="HTTP/1.1")
            request = writer.create_warc_record(uri, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
            writer.write_record(request)
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers))


def ingest(store: Store, *paths: Path, **flags):
    return Pipeline(store, load({"ner": "fast", **flags}, env={})).ingest_paths(list(paths))


def test_warc_pages_are_stored_and_noise_skipped(tmp_path) -> None:
    archive = tmp_path / "news.warc.gz"
    write_warc(archive, [
        ("https://lakeside.example/bridge", "200 OK", page("Council approves footbridge", 1), {}),
        ("https://lakeside.example/bridge-zipped", "200 OK", gzip.compress(page("Footbridge vote explained", 2, "Riverton")),
         {"Content-Encoding": "gzip"}),
        ("https://lakeside.example/missing", "404 Not Found", page("Gone", 3), {}),
        ("https://lakeside.example/logo.png", "200 OK", b"\x89PNG\r\n\x1a\n" + bytes(200), {"Content-Type": "image/png"}),
        ("https://lakeside.example/menu", "200 OK", b"<html><body><a href='/'>Home</a></body></html>", {}),
    ])
    assert is_warc(archive) and not is_warc(tmp_path / "notes.gz")
    store = Store(tmp_path / "w.db")
    result = ingest(store, archive)
    assert (result.new, result.failed) == (2, 0), result.errors
    rows = {r["url"]: r for r in store.db.execute("SELECT * FROM articles")}
    assert set(rows) == {"https://lakeside.example/bridge", "https://lakeside.example/bridge-zipped"}
    assert rows["https://lakeside.example/bridge"]["title"] == "Council approves footbridge"
    assert "Riverton bridge is expected" in rows["https://lakeside.example/bridge-zipped"]["text"]
    assert rows["https://lakeside.example/bridge"]["published"].startswith("2024-05-02")

    again = ingest(store, archive)
    assert (again.new, again.failed) == (0, 0) and again.unchanged == 3  # the HTML records, skipped by batch


def test_archive_larger_than_max_file_mb_is_streamed_in_batches(tmp_path) -> None:
    archive = tmp_path / "big.warc"
    filler = "<!-- " + "padding " * 2000 + " -->"
    records = [
        (f"https://town{n}.example/bridge", "200 OK", page(f"Footbridge approved in town {n}", n, f"Town{n}").replace(b"</body>", filler.encode() + b"</body>"), {})
        for n in range(120)
    ]
    write_warc(archive, records, compress=False)
    assert archive.stat().st_size > 2_000_000
    with archive.open("rb") as fh:
        sizes = [len(group) for group in batches(fh, 1_000_000, size=50)]
    assert sizes == [50, 50, 20]
    store = Store(tmp_path / "w.db")
    # max_file_mb=1: reading the archive whole would be refused; streaming it is not.
    result = ingest(store, archive, max_file_mb=1)
    assert result.failed == 0, result.errors
    assert store.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 120
    assert store.db.execute("SELECT COUNT(*) FROM raw_inputs WHERE format = 'warc'").fetchone()[0] == 3


def test_interrupted_warc_ingest_resumes_by_batch(tmp_path) -> None:
    """A re-run skips stored batches by their manifest and stores the rest: nothing lost, nothing twice."""
    records = [(f"https://t{n}.example/b", "200 OK", page(f"Bridge news from town {n}", n, f"T{n}"), {}) for n in range(70)]
    first_part = tmp_path / "part.warc.gz"
    whole = tmp_path / "whole.warc.gz"
    write_warc(first_part, records[:50])
    write_warc(whole, records)
    store = Store(tmp_path / "w.db")
    assert ingest(store, first_part).new == 50
    result = ingest(store, whole)
    assert result.new == 20 and result.failed == 0
    keys = [r[0] for r in store.db.execute("SELECT key FROM articles")]
    assert len(keys) == len(set(keys)) == 70


def test_a_later_capture_of_a_changed_page_is_an_update(tmp_path) -> None:
    url = "https://lakeside.example/bridge"
    old, new = tmp_path / "monday.warc.gz", tmp_path / "tuesday.warc.gz"
    write_warc(old, [(url, "200 OK", page("Council approves footbridge", 1), {})])
    write_warc(new, [(url, "200 OK", page("Council approves footbridge after long debate", 1), {})])
    store = Store(tmp_path / "w.db")
    ingest(store, old)
    ingest(store, new)
    [row] = store.db.execute("SELECT * FROM articles").fetchall()
    assert row["title"] == "Council approves footbridge after long debate" and row["revisions"] == 1
    assert [v["title"] for v in store.article_versions(row["id"])] == [
        "Council approves footbridge", "Council approves footbridge after long debate",
    ]


def test_a_later_capture_of_an_undated_page_keeps_its_first_date(tmp_path) -> None:
    # A page that states no date is dated by its capture: a later capture is no new publication date.
    url = "https://lakeside.example/bridge"
    body = re.sub(rb"<meta property='article:published_time'[^>]*>", b"", page("Council approves footbridge", 1))
    for name, when in (("monday.warc", "2024-05-06T09:00:00Z"), ("friday.warc", "2024-05-10T09:00:00Z")):
        with (tmp_path / name).open("wb") as fh:
            writer = WARCWriter(fh, gzip=False)
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers, warc_headers_dict={"WARC-Date": when}))
    store = Store(tmp_path / "w.db")
    assert ingest(store, tmp_path / "monday.warc").new == 1
    assert ingest(store, tmp_path / "friday.warc").updated == 0
    [row] = store.db.execute("SELECT * FROM articles").fetchall()
    assert row["published"].startswith("2024-05-06") and row["revisions"] == 0


def test_broken_archives_fail_with_one_line(tmp_path) -> None:
    good = tmp_path / "good.warc.gz"
    write_warc(good, [(f"https://t{n}.example/b", "200 OK", page(f"Bridge news {n}", n, f"T{n}"), {}) for n in range(3)])
    data = good.read_bytes()
    truncated = tmp_path / "truncated.warc.gz"
    truncated.write_bytes(data[: len(data) - 300])
    garbage = tmp_path / "garbage.warc"
    garbage.write_bytes(b"this is not an archive at all\n" * 10)
    store = Store(tmp_path / "w.db")
    result = ingest(store, truncated, garbage)
    assert result.failed == 2
    assert all("\n" not in line and "WARC" in line for line in result.errors)


def test_an_archive_cut_anywhere_fails_with_a_warc_error_or_reads_whole_records(tmp_path) -> None:
    from storyline.warc import WarcError

    archive = tmp_path / "cut.warc"
    write_warc(archive, [(f"https://t{n}.example/b", "200 OK", page(f"Bridge news {n}", n, f"T{n}"), {}) for n in range(2)], compress=False)
    data = archive.read_bytes()
    whole = {(r.uri, r.payload) for r in iter_records(io.BytesIO(data), 10**6)}
    failed = 0
    for cut in range(len(data) - 1, 0, -5):  # cuts inside headers made warcio raise AttributeError
        try:
            assert {(r.uri, r.payload) for r in iter_records(io.BytesIO(data[:cut]), 10**6)} <= whole
        except WarcError as exc:
            assert "\n" not in str(exc) and "WARC" in str(exc)
            failed += 1
    assert failed > 0


def test_small_warc_bytes_parse_and_cli_ingest(tmp_path) -> None:
    archive = tmp_path / "one.warc"
    write_warc(archive, [("https://lakeside.example/bridge", "200 OK", page("Council approves footbridge", 1), {})], compress=False)
    parsed = parse(archive.read_bytes(), str(archive), ".warc")
    assert parsed.fmt == "warc" and [d.title for d in parsed.documents] == ["Council approves footbridge"]
    with archive.open("rb") as fh:
        assert [r.uri for r in iter_records(fh, 1_000_000)] == ["https://lakeside.example/bridge"]
    proc = subprocess.run(
        [sys.executable, "-m", "storyline", "ingest", "--db", str(tmp_path / "c.db"), str(archive)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "STORYLINE_NER": "fast"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("1 new")


def _pages(n: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    return [(f"https://t{i}.example/b", "200 OK", page(f"Bridge news {i}", i, f"T{i}"), {}) for i in range(n)]


def test_a_cut_archive_keeps_the_whole_records_before_the_cut(tmp_path) -> None:
    """The break comes inside the batch being filled: the whole records read before it are stored."""
    archive = tmp_path / "cut.warc"
    write_warc(archive, _pages(4), compress=False)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) - 300])  # inside the last page's body
    store = Store(tmp_path / "w.db")
    result = ingest(store, archive)
    assert (result.new, result.failed) == (3, 1), result.errors
    assert sorted(r[0] for r in store.db.execute("SELECT url FROM articles")) == [f"https://t{i}.example/b" for i in range(3)]
    [error] = result.errors
    assert error.startswith(f"{archive.resolve()}: truncated WARC: record at offset ") and "\n" not in error


def test_a_warc_error_is_not_wrapped_again(tmp_path) -> None:
    from storyline.warc import WarcError

    archive = tmp_path / "cut.warc"
    write_warc(archive, _pages(2), compress=False)
    data = archive.read_bytes()
    try:
        list(iter_records(io.BytesIO(data[: len(data) - 300]), 10**6))
    except WarcError as exc:
        assert str(exc).startswith("truncated WARC: record at offset "), str(exc)
    else:
        raise AssertionError("a cut archive read whole")


@pytest.mark.parametrize(("header", "problem"), [(b"", "no Content-Length"), (b"Content-Length: many\r\n", "an invalid Content-Length 'many'")])
def test_a_record_without_a_valid_content_length_fails_its_archive(tmp_path, header: bytes, problem: str) -> None:
    """warcio would take the rest of the file for that record's block, and the pages after it would vanish."""
    archive = tmp_path / "nolength.warc"
    write_warc(archive, _pages(4), compress=False)
    data = archive.read_bytes()
    # The third page's response record; its request record comes just before it.
    response = data.index(b"WARC-Type: response", data.index(b"WARC-Target-URI: https://t2.example/b"))
    start = data.rindex(b"WARC/1.0\r\n", 0, response)
    length = re.compile(rb"Content-Length: \d+\r\n").search(data, start)
    assert length is not None
    archive.write_bytes(data[: length.start()] + header + data[length.end() :])
    store = Store(tmp_path / "w.db")
    result = ingest(store, archive)
    assert (result.new, result.failed) == (2, 1), result.errors
    assert result.errors == [f"{archive.resolve()}: bad WARC: record at offset {start} has {problem}"]


def _bulky_pages(n: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Pages whose gzip members outgrow warcio's 16 KiB read: it inflates each in several reads."""
    noise = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(1500)).encode()  # barely compresses
    return [(uri, status, body.replace(b"</body>", b"<!-- " + noise + b" --></body>"), extra) for uri, status, body, extra in _pages(n)]


def _members(data: bytes) -> list[tuple[int, int]]:
    """Each record's (offset, length): in a .warc.gz, its gzip member."""
    records = ArchiveIterator(io.BytesIO(data))
    return [(records.get_record_offset(), records.get_record_length()) for _ in records]


@pytest.mark.parametrize(("bulky", "where"), [(True, "crc"), (True, "middle"), (False, "middle")])
def test_a_corrupt_gzip_member_keeps_the_records_before_it_and_fails_the_archive(tmp_path, capsys, bulky: bool, where: str) -> None:
    """warcio printed zlib's error and ended the file at a bad member (bulky: silently) or misread it as text."""
    pages = _bulky_pages(4) if bulky else _pages(4)
    gone = ("https://t9.example/gone", "404 Not Found", pages[0][2], {})  # a record whose payload is never read
    archive = tmp_path / "corrupt.warc.gz"
    write_warc(archive, [*pages[:2], gone, *pages[2:]])
    data = bytearray(archive.read_bytes())
    start, length = _members(bytes(data))[6]  # warcinfo, then a request and a response per page: the 404's response
    data[start + (length - 8 if where == "crc" else length // 2)] ^= 0xFF
    archive.write_bytes(bytes(data))
    store = Store(tmp_path / "w.db")
    result = ingest(store, archive)
    assert (result.new, result.failed) == (2, 1), result.errors
    assert sorted(r[0] for r in store.db.execute("SELECT url FROM articles")) == ["https://t0.example/b", "https://t1.example/b"]
    [error] = result.errors
    assert error.startswith(f"{archive.resolve()}: corrupt gzip member at byte {start} (") and "\n" not in error, error
    assert capsys.readouterr() == ("", "")  # warcio's own print of zlib's error

    proc = subprocess.run(
        [sys.executable, "-m", "storyline", "ingest", "--db", str(tmp_path / "c.db"), str(archive)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "STORYLINE_NER": "fast"},
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.strip().startswith("2 new")
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [f"error: {error}"]


@pytest.mark.parametrize("tail", [b"\r\n\r\n", "plain"])
def test_padding_or_plain_records_after_the_last_gzip_member_are_no_corruption(tmp_path, tail) -> None:
    """As warcio reads them: a member that does not begin with gzip's magic is plain text, not a broken member."""
    archive, plain = tmp_path / "padded.warc.gz", tmp_path / "more.warc"
    write_warc(archive, _pages(2))
    write_warc(plain, [("https://t7.example/b", "200 OK", page("Bridge news 7", 7, "T7"), {})], compress=False)
    archive.write_bytes(archive.read_bytes() + (plain.read_bytes() if tail == "plain" else tail))
    store = Store(tmp_path / "w.db")
    result = ingest(store, archive)
    assert (result.new, result.failed) == (3 if tail == "plain" else 2, 0), result.errors


def test_archive_bytes_cut_short_keep_the_whole_records_before_the_cut(tmp_path) -> None:
    """Like a streamed archive: the cut is reported with the same error, and the records before it are not dropped."""
    archive = tmp_path / "cut.warc"
    write_warc(archive, _pages(4), compress=False)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) - 300])  # inside the last page's body
    with pytest.raises(InputError) as raised:
        parse(archive.read_bytes(), str(archive), ".warc")
    [streamed] = ingest(Store(tmp_path / "w.db"), archive).errors
    assert streamed == f"{archive.resolve()}: {raised.value}"
    assert [d.title for d in raised.value.documents] == [f"Bridge news {i}" for i in range(3)]
    sent = pickle.loads(pickle.dumps(raised.value))  # as a worker process hands it back
    assert str(sent) == str(raised.value) and [d.url for d in sent.documents] == [f"https://t{i}.example/b" for i in range(3)]
