"""`storyline export jsonl|csv|parquet`: complete records, streamed, with ids that join across files.

Every record carries its own id and the ids it points to (`articles.event_id` -> `events.id`,
`events.story_id` -> `stories.id`, `articles.outlet_id` -> `outlets.id`, entity ids inside
`articles.entities` -> `entities.id`), so separate exports join like the tables they come from.

JSONL is the complete, lossless form (`storyline import jsonl` reads it back): every column of
every table, each line tagged with `type`, bytes as `{"base64": ...}`. CSV and Parquet carry the
documented public columns below; Parquet with these Arrow types (`list<...>` cells are JSON text
in CSV):

articles: id int64, key string, kind string, source string, url string, title string,
  title_inferred bool, text string, description string, published timestamp[us, UTC],
  outlet_id int64, outlet string, byline string, language string, tags list<string>,
  keywords list<string>, text_hash string, duplicate_of int64, duplicate_kind string,
  listed_by int64, merged_into int64, event_id int64, story_id int64, event_day date32,
  event_day_method string, event_day_evidence string, raw_id int64, created_at timestamp[us, UTC],
  entities list<struct<id int64, name string, kind string, count int64>>,
  quotes list<struct<id int64, text string, speaker string>>
events: id int64, story_id int64, title string, date date32, date_method string,
  date_evidence string, summary string, first_day date32, last_day date32, n_articles int64,
  merged_into int64, created_at timestamp[us, UTC], updated_at timestamp[us, UTC],
  article_ids list<int64>, outlets list<string>
stories: id int64, title string, user_title string, first_day date32, last_day date32,
  merged_into int64, created_at timestamp[us, UTC], updated_at timestamp[us, UTC],
  event_ids list<int64>
outlets: id int64, name string, domain string
entities: id int64, name string, kind string
"""

from __future__ import annotations

import base64
import csv
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterator, TextIO

from ..store import Store
from .common import PublishError

# (column, type) per public table; types: int str bool ts date list_str list_int entities quotes
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "articles": [
        ("id", "int"), ("key", "str"), ("kind", "str"), ("source", "str"), ("url", "str"), ("title", "str"),
        ("title_inferred", "bool"), ("text", "str"), ("description", "str"), ("published", "ts"),
        ("outlet_id", "int"), ("outlet", "str"), ("byline", "str"), ("language", "str"), ("tags", "list_str"),
        ("keywords", "list_str"), ("text_hash", "str"), ("duplicate_of", "int"), ("duplicate_kind", "str"),
        ("listed_by", "int"), ("merged_into", "int"), ("event_id", "int"), ("story_id", "int"),
        ("event_day", "date"), ("event_day_method", "str"), ("event_day_evidence", "str"), ("raw_id", "int"),
        ("created_at", "ts"), ("entities", "entities"), ("quotes", "quotes"),
    ],
    "events": [
        ("id", "int"), ("story_id", "int"), ("title", "str"), ("date", "date"), ("date_method", "str"),
        ("date_evidence", "str"), ("summary", "str"), ("first_day", "date"), ("last_day", "date"),
        ("n_articles", "int"), ("merged_into", "int"), ("created_at", "ts"), ("updated_at", "ts"),
        ("article_ids", "list_int"), ("outlets", "list_str"),
    ],
    "stories": [
        ("id", "int"), ("title", "str"), ("user_title", "str"), ("first_day", "date"), ("last_day", "date"),
        ("merged_into", "int"), ("created_at", "ts"), ("updated_at", "ts"), ("event_ids", "list_int"),
    ],
    "outlets": [("id", "int"), ("name", "str"), ("domain", "str")],
    "entities": [("id", "int"), ("name", "str"), ("kind", "str")],
}
JSONL_ONLY = ("raw", "all")  # raw input bytes and the full dump only make sense as JSONL
WHAT = (*COLUMNS, *JSONL_ONLY)
FORMATS = ("jsonl", "csv", "parquet")
RECORD_TYPE = {"articles": "article", "events": "event", "stories": "story", "outlets": "outlet", "entities": "entity",
               "raw": "raw"}
# Columns the export queries add beside a table's own (joined or gathered as JSON).
_HELPERS = {"quotes_json", "entities_json", "article_ids_json", "outlets_json", "event_ids_json", "event_date"}


@dataclass(frozen=True)
class TableOptions:
    """Which records go out, in which format."""

    fmt: str = "jsonl"
    what: str = "articles"
    batch_rows: int = 1000  # Parquet row group size: memory stays bounded by one batch


def encode(value: Any) -> Any:
    """A column value as JSON: bytes become {"base64": ...}, everything else as stored."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return value


def row_values(row: Any) -> dict[str, Any]:
    """A row's own columns (query helpers left out), encoded for JSON."""
    return {k: encode(row[k]) for k in row.keys() if k not in _HELPERS}


# -- records -----------------------------------------------------------------------------------


def article_record(row: Any, bands: list[list[int]] | None) -> dict[str, Any]:
    """An article with its outlet, story, entities and quotes (and LSH bands when given)."""
    rec = {"type": "article"} | row_values(row)
    rec["title_inferred"] = bool(row["title_inferred"])
    rec["tags"] = json.loads(row["tags"] or "[]")
    rec["keywords"] = json.loads(row["keywords"] or "[]")
    rec["entities"] = json.loads(row["entities_json"] or "[]")
    rec["quotes"] = json.loads(row["quotes_json"] or "[]")
    if bands is not None:
        rec["minhash_bands"] = bands
    return rec


def event_record(row: Any) -> dict[str, Any]:
    """An event with its member article ids and outlets."""
    return {"type": "event"} | row_values(row) | {
        "article_ids": json.loads(row["article_ids_json"] or "[]"),
        "outlets": json.loads(row["outlets_json"] or "[]"),
    }


def story_record(row: Any) -> dict[str, Any]:
    """A story with its live event ids, in date order."""
    return {"type": "story"} | row_values(row) | {"event_ids": json.loads(row["event_ids_json"] or "[]")}


def articles_with_bands(store: Store) -> Iterator[dict[str, Any]]:
    """Article records with their LSH bands, merging two id-ordered streams (bounded memory)."""
    bands = store.iter_minhash_bands()
    pending = next(bands, None)
    for row in store.iter_articles():
        mine: list[list[int]] = []
        while pending is not None and pending["article_id"] <= row["id"]:
            if pending["article_id"] == row["id"]:
                mine.append([pending["band"], pending["hash"]])
            pending = next(bands, None)
        yield article_record(row, mine)


def records(store: Store, what: str, lossless: bool) -> Iterator[dict[str, Any]]:
    """The records of one kind (or, for `all`, of every table), streamed in id order."""
    if what == "articles":
        yield from articles_with_bands(store) if lossless else (article_record(r, None) for r in store.iter_articles())
    elif what == "events":
        yield from (event_record(r) for r in store.iter_events())
    elif what == "stories":
        yield from (story_record(r) for r in store.iter_stories())
    elif what in ("outlets", "entities"):
        yield from ({"type": RECORD_TYPE[what]} | row_values(r) for r in store.iter_table(what))
    elif what == "raw":
        yield from ({"type": "raw"} | {k: encode(v) for k, v in r.items()} for r in store.iter_raw())
    elif what == "all":
        for part in ("outlets", "entities", "raw", "stories", "events", "articles"):
            yield from records(store, part, lossless)
        for table in store.extra_tables():  # tables other features added (corrections, ...)
            yield from ({"type": "row", "table": table, "values": row_values(r)} for r in store.iter_table(table))
    else:
        raise PublishError(f"unknown --what {what!r}: choose from {', '.join(WHAT)}")


# -- formats -----------------------------------------------------------------------------------


def write_jsonl(store: Store, out: TextIO, what: str) -> int:
    """One JSON object per line, lossless; returns the number of records."""
    n = 0
    with store.snapshot():
        for rec in records(store, what, lossless=True):
            out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as CSV text: lists and objects as JSON, booleans as true/false, NULL as empty.

    Text that a spreadsheet would run as a formula (a headline "=HYPERLINK(...)") gets a leading
    apostrophe, as OWASP advises: CSV is for spreadsheets; JSONL and Parquet keep text exactly.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return str(value)


def write_csv(store: Store, out: TextIO, what: str) -> int:
    """A header row, then one row per record with the documented columns; returns the row count."""
    names = [name for name, _ in public_columns(what)]
    writer = csv.writer(out)
    writer.writerow(names)
    n = 0
    with store.snapshot():
        for rec in records(store, what, lossless=False):
            writer.writerow([csv_cell(rec.get(name)) for name in names])
            n += 1
    return n


def public_columns(what: str) -> list[tuple[str, str]]:
    """The documented columns of a table, or an error for JSONL-only kinds."""
    if what not in COLUMNS:
        raise PublishError(f"--what {what} is only exported as jsonl")
    return COLUMNS[what]


def as_timestamp(value: Any) -> datetime | None:
    """A stored ISO timestamp as an aware UTC datetime (None when absent or unreadable)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc) if moment else None


def as_date(value: Any) -> date | None:
    """A stored YYYY-MM-DD day as a date (None when absent or unreadable)."""
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


def arrow_schema(what: str) -> Any:
    """The Arrow schema of a table's Parquet file."""
    import pyarrow as pa

    entity = pa.struct([("id", pa.int64()), ("name", pa.string()), ("kind", pa.string()), ("count", pa.int64())])
    quote = pa.struct([("id", pa.int64()), ("text", pa.string()), ("speaker", pa.string())])
    types = {
        "int": pa.int64(), "str": pa.string(), "bool": pa.bool_(), "ts": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(), "list_str": pa.list_(pa.string()), "list_int": pa.list_(pa.int64()),
        "entities": pa.list_(entity), "quotes": pa.list_(quote),
    }
    return pa.schema([(name, types[kind]) for name, kind in public_columns(what)])


def arrow_row(rec: dict[str, Any], columns: list[tuple[str, str]]) -> dict[str, Any]:
    """A record's values converted to what its Arrow column types take."""
    convert = {"ts": as_timestamp, "date": as_date, "bool": lambda v: None if v is None else bool(v)}
    return {name: convert.get(kind, lambda v: v)(rec.get(name)) for name, kind in columns}


def write_parquet(store: Store, target: Path | BinaryIO, options: TableOptions) -> int:
    """A Parquet file written one row group per batch; returns the row count."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise PublishError("parquet export needs pyarrow: pip install 'storyline[parquet]'") from None
    columns = public_columns(options.what)
    schema = arrow_schema(options.what)
    n = 0
    with pq.ParquetWriter(target, schema, compression="zstd") as writer, store.snapshot():
        batch: list[dict[str, Any]] = []
        for rec in records(store, options.what, lossless=False):
            batch.append(arrow_row(rec, columns))
            if len(batch) >= options.batch_rows:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n, batch = n + len(batch), []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n
