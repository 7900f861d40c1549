"""WARC web archives (e.g. Common Crawl's news crawl): pages streamed record by record with warcio."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

from warcio.archiveiterator import WARCIterator
from warcio.bufferedreaders import DecompressingBufferedReader
from warcio.exceptions import ArchiveLoadFailed

from .fetch import Page, page_text
from .models import Document, IngestResult, plausible
from .readers import InputError

if TYPE_CHECKING:
    from .ingest import Pipeline

log = logging.getLogger("storyline.warc")

BATCH_RECORDS = 50  # records per transaction: bounded memory, and a re-run skips whole stored batches
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class WarcError(ValueError):
    """An archive that cannot be read on; the message is one line."""


class PartialArchive(InputError):
    """An archive in memory that breaks off: the one-line error, and the articles of the whole records before it."""

    def __init__(self, message: str, documents: list[Document]) -> None:
        super().__init__(message)
        self.documents = documents

    def __reduce__(self) -> tuple[type[PartialArchive], tuple[str, list[Document]]]:
        return type(self), (str(self), self.documents)  # sent back whole from a worker process


class _CorruptMember(Exception):
    """A gzip member that does not inflate; no ValueError, which warcio's header parsing would swallow."""


class _GzipReader(DecompressingBufferedReader):
    """warcio's archive reader, but a gzip member that does not inflate raises.

    warcio prints zlib's error to stderr and reads on as if the file ended there: the records after
    it would vanish without an error. A member that does not begin with gzip's magic is read as plain
    text, as warcio reads it.
    """

    def _decompress(self, data: bytes) -> bytes:
        if not self.decompressor or not data:
            return data
        try:
            return self.decompressor.decompress(data)
        except zlib.error as exc:
            if self.num_block_read == 0 and not data.startswith(b"\x1f\x8b"):
                # A member's first bytes, and no gzip magic: a plain .warc, or plain records or padding
                # after the last member, read on as warcio reads them.
                self.decompressor = None
                return data
            raise _CorruptMember(str(exc).rpartition(": ")[2]) from None


@dataclass
class Record:
    """One HTML capture from an archive."""

    uri: str
    record_id: str
    offset: int
    date: datetime | None
    content_type: str
    payload: bytes


def _capture_date(value: str | None) -> datetime | None:
    """WARC-Date as an aware UTC datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _valid_length(value: str | None) -> bool:
    """Whether a record header's Content-Length is a whole number of bytes."""
    return value is not None and value.strip().isascii() and value.strip().isdigit()


def iter_records(stream: BinaryIO | IO[bytes], max_bytes: int) -> Iterator[Record]:
    """HTML responses (status 200) and resources of an archive, in file order; larger ones are skipped."""
    records = WARCIterator(stream)  # WARC only: the ARC reader would take any text for records
    records.reader = _GzipReader(records.fh)  # nothing is read yet: the iterator reads through whichever is set
    try:
        for rec in records:
            if not rec.rec_headers.protocol and not rec.rec_headers.headers:
                break  # blank lines after the last record: padding, not a record
            length = rec.rec_headers.get_header("Content-Length")
            if not _valid_length(length):
                # warcio would read the rest of the file as this record's block: the records after it would vanish.
                problem = "no Content-Length" if length is None else f"an invalid Content-Length {length!r}"
                raise WarcError(f"bad WARC: record at offset {records.get_record_offset()} has {problem}")
            if rec.rec_type not in ("response", "resource"):
                continue
            http = rec.http_headers
            if rec.rec_type == "response" and (http is None or http.get_statuscode() != "200"):
                continue
            content_type = (http.get_header("Content-Type") if http else None) or rec.rec_headers.get_header(
                "Content-Type", ""
            )
            if not content_type.lower().lstrip().startswith(_HTML_TYPES):
                continue
            uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
            # warcio undoes chunking and Content-Encoding; reading one byte past the cap tells "too large".
            payload = rec.content_stream().read(max_bytes + 1)
            if len(payload) > max_bytes or not uri:
                log.info("skipped record", extra={"uri": uri, "bytes": len(payload)})
                continue
            if getattr(rec.raw_stream, "limit", 0) > 0:
                # The record promised more bytes than the file holds: a cut-off download.
                raise WarcError(f"truncated WARC: record at offset {records.get_record_offset()} is incomplete")
            yield Record(
                uri=uri,
                record_id=rec.rec_headers.get_header("WARC-Record-ID") or "",
                offset=records.get_record_offset(),
                date=_capture_date(rec.rec_headers.get_header("WARC-Date")),
                content_type=content_type,
                payload=payload,
            )
    except WarcError:
        raise  # a ValueError too, but already one line: the clause below would wrap it twice
    except _CorruptMember as exc:
        # The iterator's offset is where the record being read began: in a .warc.gz, its gzip member.
        raise WarcError(f"corrupt gzip member at byte {records.offset} ({exc})") from None
    except ArchiveLoadFailed as exc:
        raise WarcError(f"unreadable WARC: {' '.join(str(exc).split())}") from None
    except (OSError, EOFError, ValueError) as exc:  # truncated gzip and the like
        raise WarcError(f"unreadable WARC: {type(exc).__name__}: {exc}") from None
    except (AttributeError, TypeError, IndexError) as exc:  # warcio on a record cut off inside its headers
        raise WarcError(f"truncated WARC: a record's headers are incomplete ({type(exc).__name__}: {exc})") from None


def record_document(rec: Record, source: str) -> Document | None:
    """The article in one capture, or None when the page has no main text (an index page, a video...)."""
    from .extract import ExtractError, extract_html  # trafilatura is heavy to import

    page = Page(rec.uri, 200, {"content-type": rec.content_type}, rec.payload)
    try:
        doc = extract_html(page_text(page), source, rec.uri)
    except ExtractError:
        return None
    doc.key = rec.uri  # the same URL from a feed or a later capture is the same article
    doc.url = rec.uri
    # The capture date bounds the publication date; a page that states none is dated by it.
    doc.published = doc.published or plausible(rec.date)
    return doc


def batches(stream: BinaryIO | IO[bytes], max_bytes: int, size: int = BATCH_RECORDS) -> Iterator[list[Record]]:
    """Records in groups of at most `size`, so only one group's payloads are held at a time."""
    group: list[Record] = []
    try:
        for rec in iter_records(stream, max_bytes):
            group.append(rec)
            if len(group) >= size:
                yield group
                group = []
    except WarcError:
        if group:
            yield group  # the records read before the break are whole: store them, then report the break
        raise
    if group:
        yield group


def manifest(path: str, group: list[Record]) -> bytes:
    """What a batch is, as stored with it: the archive and each record's place and payload digest."""
    records = [
        {"offset": r.offset, "id": r.record_id, "uri": r.uri, "sha1": hashlib.sha1(r.payload).hexdigest()}
        for r in group
    ]
    return json.dumps({"warc": path, "records": records}, ensure_ascii=False).encode("utf-8")


def ingest(pipeline: Pipeline, path: Path, result: IngestResult) -> None:
    """Store an archive's articles batch by batch; a killed run resumes after the last stored batch."""
    source = str(path.resolve())
    max_bytes = int(pipeline.settings.max_file_mb * 1_000_000)
    try:
        with path.open("rb") as fh:
            for group in batches(fh, max_bytes):
                _store_batch(pipeline, source, group, result)
    except (WarcError, OSError) as exc:
        result.failed += 1
        result.errors.append(f"{source}: {' '.join(str(exc).split())}")


def _store_batch(pipeline: Pipeline, source: str, group: list[Record], result: IngestResult) -> None:
    """One batch in one transaction, with its manifest as the raw input (the archive keeps the bytes)."""
    data = manifest(source, group)
    batch_source = f"{source}#{group[0].offset}"
    sha = hashlib.sha256(data).hexdigest()
    if pipeline.store.raw_exists(batch_source, sha):
        result.unchanged += len(group)
        return
    docs = [doc for rec in group if (doc := record_document(rec, source)) is not None]
    pipeline.store_documents(docs, result, raw=(batch_source, sha, "warc", data))
    log.info("warc batch", extra={"source": batch_source, "records": len(group), "documents": len(docs)})


def parse_bytes(data: bytes, source: str, max_bytes: int = 20_000_000) -> list[Document]:
    """The articles of a small archive held in memory; one that breaks off raises PartialArchive."""
    records: list[Record] = []
    try:
        for rec in iter_records(io.BytesIO(data), max_bytes):
            records.append(rec)
    except WarcError as exc:
        # As when streaming: the records read before the break are whole; the caller decides whether to store them.
        raise PartialArchive(str(exc), _documents(records, source)) from None
    return _documents(records, source)


def _documents(records: list[Record], source: str) -> list[Document]:
    """The articles of some captures, skipping pages without main text."""
    return [doc for rec in records if (doc := record_document(rec, source)) is not None]
