"""Local inputs: detect a file's format and parse it into Documents."""

from __future__ import annotations

import codecs
import hashlib
import html
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

import yaml

from . import clean, dates, feeds
from .models import Document

TEXT_SUFFIXES = {".txt", ".text", ""}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json", ".feed"}
WARC_SUFFIXES = {".warc", ".warc.gz"}  # web archives: streamed record by record (storyline.warc)
KNOWN_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES | {".warc"}

# YAML between --- lines or TOML between +++ lines (Hugo's two formats)
_FRONT_MATTER = re.compile(r"\A\ufeff?(---|\+\+\+)\s*\n(.*?)\r?\n\1\s*\n?(.*)\Z", re.DOTALL)
# Fields a post's front matter sets: a block of --- rule lines naming none of them is plain text set off by rules.
_FRONT_MATTER_KEYS = frozenset(
    "title date link url author authors description summary tags outlet language "
    "draft slug categories keywords lastmod publishdate aliases".split()
)
_BLOCK_KEY = re.compile(r"""^[ \t]*["']?([\w-]+)["']?[ \t]*[:=]""", re.M)
# A key front matter could have (layout, permalink, headline): prose between rule lines reads as
# "Water plant opens: officials", a key with spaces.
_FIELD_NAME = re.compile(r"[A-Za-z_][\w.-]*\Z")
# UTF-16 and UTF-32 text is full of NUL bytes; its BOM says it is text all the same.
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_WIDE_BOMS = _UTF32_BOMS + _UTF16_BOMS
_HTML_SNIFF = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_DATE_LINE = re.compile(r"\A\s*date\s+\d{4}-\d{2}-\d{2}\b")


class InputError(ValueError):
    """An input that cannot be read; the message is one line naming the problem."""


@dataclass
class Parsed:
    """What one input gave: its detected format and documents."""

    fmt: str
    documents: list[Document]


# A folder of articles often carries its licence and notes too: files with these names are no
# articles, so a folder walk leaves them out (a file named on the command line is still read).
_NOTES = ("LICENSE", "LICENCE", "COPYING", "README")  # not NOTICE or CHANGES: "notice.html" may well be an article


def _is_notes(name: str) -> bool:
    """Whether a file name is a licence or readme: LICENSE, readme.md, COPYING-CC.TXT (not licensing-rules.md)."""
    stem = name.split(".", 1)[0]
    return stem.upper() in _NOTES or (stem.isupper() and stem.startswith(_NOTES))


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Files under the given paths, recursively, in a stable order; hidden files and licence/readme files skipped."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in rel.parts) and not _is_notes(child.name):
                    yield child
        else:
            yield path


def preload(paths: list[Path]) -> None:
    """Import the parsers these inputs need now: worker processes forked next inherit them, not import each."""
    if any(path.suffix.lower() not in FEED_SUFFIXES for path in paths):
        # pages need the extractor, and plain text (which a .md without front matter is) its language guesser
        from . import extract  # noqa: F401 - trafilatura, htmldate and dateparser take ~0.3 s to import


def is_warc(path: Path) -> bool:
    """Whether a file is a WARC archive (.warc or .warc.gz)."""
    return any(path.name.lower().endswith(suffix) for suffix in WARC_SUFFIXES)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def _too_large(size: int, max_bytes: int) -> InputError:
    """The error for an input over the size limit."""
    return InputError(f"too large: {size / 1e6:.1f} MB (limit {max_bytes / 1e6:g} MB, setting max_file_mb)")


def read_input(path: Path, max_bytes: int) -> bytes:
    """A file's bytes, refused before reading when it is larger than the limit (and after, if empty or binary)."""
    if (size := path.stat().st_size) > max_bytes:
        raise _too_large(size, max_bytes)
    data = path.read_bytes()
    check_bytes(data, max_bytes)
    return data


def check_bytes(data: bytes, max_bytes: int) -> None:
    """Refuse inputs that are empty, too large or binary."""
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    if not data.strip():
        raise InputError("empty file")
    if b"\x00" in data[:8192] and not data.startswith(_WIDE_BOMS):
        raise InputError("binary file: not text, markdown, HTML or a feed")


def decode_utf8(data: bytes) -> str:
    """Decode UTF-8 text (or UTF-16/32 that says so with a BOM), or say where it is not UTF-8."""
    for boms, codec in ((_UTF32_BOMS, "utf-32"), (_UTF16_BOMS, "utf-16")):  # UTF-32's LE BOM begins as UTF-16's
        if data.startswith(boms):
            try:
                return data.decode(codec).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                raise InputError(f"invalid {codec.upper()} at byte {exc.start}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"invalid UTF-8 at byte {exc.start}") from None


def detect(data: bytes, suffix: str) -> str:
    """The format of an input: feed, html, markdown or text."""
    if fmt := _markup_format(data, suffix):
        return fmt
    try:
        return "markdown" if _front_matter(data[:65536].decode("utf-8", "replace")) else "text"
    except InputError:  # front matter that does not load: parsing says what is wrong with it
        return "markdown"


def _markup_format(data: bytes, suffix: str) -> str | None:
    """"feed" or "html" when an input is one, None for text (with or without front matter)."""
    suffix = suffix.lower()
    if suffix not in KNOWN_SUFFIXES:
        raise InputError(f"unknown format: '{suffix}' files are not read (text, markdown, HTML, RSS/Atom/JSON feeds)")
    if feeds.looks_like_feed(data):
        return "feed"
    if suffix in HTML_SUFFIXES or _HTML_SNIFF.match(data[:2048]):
        return "html"
    if suffix == ".json":
        raise InputError("unknown format: JSON that is not a JSON Feed")
    if suffix in {".xml", ".rss", ".atom", ".rdf", ".feed"}:
        # Let the feed parser say what is wrong with it: that is the clearest message.
        return "feed"
    return None


def _as_datetime(value: object) -> datetime | None:
    """A front-matter date (date, datetime or string) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return _as_datetime(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _plain(value: str) -> str:
    """Text of an HTML fragment, entities decoded and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())


def _markdown_text(body: str) -> str:
    """Plain text of a markdown body (an `<ol>` of links is coverage, not text)."""
    body = re.sub(r"<ol>.*?</ol>", "", body, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    body = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", body)
    body = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"^#+\s*", "", body, flags=re.M)
    # entities go last: an escaped "&lt;b&gt;" is text, not a tag to strip
    body = html.unescape(body).replace("\xa0", " ")
    return "\n\n".join(p.strip() for p in re.split(r"\n\s*\n", body) if p.strip())


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases: front matter never needs them, and nested ones multiply (a 366-byte file made a 44 MB title)."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        """A node, refusing a reference to an anchor."""
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", self.peek_event().start_mark)
        return super().compose_node(parent, index)


def _field(meta: dict, *names: str, joined: bool = False) -> str | None:
    """A front matter field as text (the first of `names` set); a list is joined with ", " when `joined`, else
    it and a mapping are passed over, as a field that says nothing usable."""
    for name in names:
        value = meta.get(name)
        if joined and isinstance(value, list):
            value = ", ".join(str(v).strip() for v in value if isinstance(v, (str, int, float)) and str(v).strip())
        if isinstance(value, (list, dict)):
            continue
        if value is not None and value != "":
            return str(value).strip() or None
    return None


def _tags(value: object) -> list[str]:
    """Front matter tags: a list, or one tag on its own (a mapping says nothing usable)."""
    if isinstance(value, dict):
        return []
    items = value if isinstance(value, list) else [value]
    return [str(t).strip() for t in items if t is not None and not isinstance(t, (list, dict)) and str(t).strip()]


def _load_block(fence: str, block: str) -> object:
    """A front matter block loaded as TOML (+++) or YAML (---)."""
    if fence == "+++":
        try:
            return tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"bad TOML front matter: {exc}") from None
    try:
        return yaml.load(block, Loader=_FrontMatterLoader) or {}
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a timestamp YAML reads but Python refuses (hour 25)
        raise InputError(f"bad YAML front matter: {str(exc).splitlines()[0]}") from None


def _front_matter(text: str) -> tuple[dict, str] | None:
    """A post's front matter and body; None when the text does not open with front matter."""
    m = _FRONT_MATTER.match(text if text.endswith("\n") else text + "\n")
    if not m:
        return None
    fence, block, body = m.groups()
    try:
        meta = _load_block(fence, block)
    except InputError:
        # A broken block that names front matter fields is a post to report; one that names none is prose.
        if _FRONT_MATTER_KEYS.isdisjoint(k.lower() for k in _BLOCK_KEY.findall(block)):
            return None
        raise
    if not isinstance(meta, dict) or not meta or not all(isinstance(k, str) and _FIELD_NAME.match(k) for k in meta):
        return None
    fields: dict = {}
    for key, value in meta.items():
        fields.setdefault(key.lower(), value)  # "Title:" as some writers capitalise it
    return fields, body


def parse_markdown(text: str, source: str) -> Document:
    """A Hugo/markdown post with YAML or TOML front matter (as `parse` reads one)."""
    split = _front_matter(text)
    if split is None:
        raise InputError("markdown without front matter")
    return _markdown_document(*split, source)


def _markdown_document(meta: dict, body: str, source: str) -> Document:
    """The Document of a post from its front matter and markdown body."""
    title, outlet = feeds.split_title_outlet(_field(meta, "title", "headline") or "", _field(meta, "outlet"))
    url = _field(meta, "link", "url")
    linked = [
        item for item in feeds.parse_coverage_list(body)
        if not (url and item.url == url) and not (item.title == title and item.outlet == outlet)
    ]
    description = _plain(_field(meta, "description", "summary") or "") or None
    tags = _tags(meta.get("tags"))
    return Document(
        source=source,
        kind="markdown",
        key=url or f"file:{source}",
        title=title or None,
        text=_markdown_text(body),
        url=url,
        published=_as_datetime(meta.get("date") or meta.get("publishdate")),
        outlet=outlet,
        byline=_field(meta, "author", "authors", joined=True),
        language=_field(meta, "language"),
        description=description if description and linked == [] else None,
        tags=tags,
        linked=linked,
    )


def parse_text(text: str, source: str) -> Document:
    """Scraped plain text: optional `date YYYY-MM-DD` first line, header cues, boilerplate."""
    from . import extract  # the page extractor holds the language guesser; preload imports it for text inputs

    meta = clean.text_metadata(text)
    body = clean.clean_text(text)
    if not body.strip():
        raise InputError("no article text found")
    if meta.published is None and (day := dates.find_dateline(text)):
        meta.published = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return Document(
        source=source,
        kind="text",
        key=f"file:{source}",
        title=meta.title,
        title_inferred=meta.title_inferred,
        text=body,
        published=meta.published,
        outlet=meta.outlet,
        byline=meta.byline,
        language=extract.guess_language(body),
    )


def parse(data: bytes, source: str, suffix: str) -> Parsed:
    """Parse one input's bytes into documents, or raise InputError."""
    if suffix.lower() == ".warc":
        from . import warc  # a small archive given as bytes; files are streamed by Pipeline.ingest_warc

        return Parsed("warc", warc.parse_bytes(data, source))
    fmt = _markup_format(data, suffix)  # not detect: front matter is loaded once, below
    if fmt == "feed":
        try:
            docs = feeds.parse_feed(data, source, strict=True)
        except feeds.FeedError as exc:
            raise InputError(str(exc)) from None
        feeds.key_by_link(docs)  # a link names an article across feeds and captures; the feed-local key is the fallback
        return Parsed(fmt, docs)
    if fmt == "html":
        from . import extract  # trafilatura is heavy to import; only pages need it

        try:
            return Parsed(fmt, [extract.extract_html(data, source)])  # decoded there: BOM, UTF-8, declared charset
        except extract.ExtractError as exc:
            raise InputError(str(exc)) from None
    text = decode_utf8(data)
    if split := _front_matter(text):
        return Parsed("markdown", [_markdown_document(*split, source)])
    return Parsed("text", [parse_text(text, source)])

