"""Parse RSS 0.9x/1.0/2.0, Atom and JSON Feed files into Documents."""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import html as htmllib
import io
import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser
import lxml.html
from lxml import etree

from storyline.models import Document, LinkedItem, site_label, strip_controls
from storyline.summarize import outlet_like

MAX_FEED_BYTES = 64 * 1024 * 1024
SNIFF_BYTES = 8192
# A generous bound on what declared entities may add; real feeds declare a few short ones.
MAX_ENTITY_EXPANSION = 1_000_000
MAX_ENTITY_DECLARATIONS = 1_000

_FEED_ROOTS = {"rss", "feed", "rdf", "channel"}
_BLOCK_TAGS = set(
    "p div br li ol ul dl dt dd tr table blockquote pre section article header footer aside"
    " figure figcaption h1 h2 h3 h4 h5 h6 hr".split()
)
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg")
_TITLE_SEPARATORS = (" - ", " – ", " — ", " | ")
# Value lengths are bounded so that a declaration with no closing quote cannot make the
# scan quadratic; longer values are refused as unreadable.
_ENTITY_DECL = re.compile(
    r"<!ENTITY\s+(%\s*)?([^\s\"'>]+)\s*(?:\"([^\"]{0,65536})\"|'([^']{0,65536})'|(SYSTEM|PUBLIC)\b)?",
    re.IGNORECASE,
)
# A quoted system or public id may hold ">" or "<" (`SYSTEM "x>y"`): it does not end the DOCTYPE.
_INTERNAL_SUBSET = re.compile(r"""<!DOCTYPE(?:[^<>\["']|"[^"]*"|'[^']*')*\[""")
# A reference inside an entity value, including '&#38;name;' which expands to '&name;'.
_ENTITY_REF = re.compile(r"[&%][A-Za-z_:][\w:.-]*;|&#0*3[78];|&#x0*2[56];", re.IGNORECASE)
_ANY_REF = re.compile(r"([&%])([A-Za-z_:][\w:.-]*);")
_PROLOG_JUNK = re.compile(
    r"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]++|\[[^\]]*+\])*+>)", re.IGNORECASE | re.DOTALL
)
_ROOT_TAG = re.compile(r"\A<([A-Za-z_][\w:.-]*)")
_JSONFEED_VERSION = re.compile(r'"version"\s*:\s*"[^"]*jsonfeed', re.IGNORECASE)
# Reddit appends this to every post; on link posts it is all there is.
_REDDIT_FOOTER = re.compile(
    r"submitted\s*by\s*\S.{0,200}?\[link\]\s*\[(?:\d[\d,]*\s*)?comments?\]\s*$", re.DOTALL
)
# WordPress ends every feed item with this line; it repeats the headline, so summaries ranked it first.
_WORDPRESS_FOOTER = re.compile(r"(?:^|\n)\s*The post .{1,400}? appeared first on .{1,200}?\.?\s*$", re.DOTALL)
_LEFTOVER_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_GOOGLE_NEWS_OUTLET_FONT = re.compile(r"<font\b[^<>]*color=[\"']?#6f6f6f", re.IGNORECASE)


class FeedError(ValueError):
    """The bytes cannot be understood as a feed; the message is a one-line reason."""

    def __init__(self, reason: str) -> None:
        line = _squash(reason)
        super().__init__(line if len(line) <= 300 else line[:299] + "…")


def looks_like_feed(data: bytes) -> bool:
    """Cheaply tell from the first few KB whether these bytes are an RSS/Atom/RDF or JSON feed."""
    head = _decode_for_sniff(data[:SNIFF_BYTES]).lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return bool(_JSONFEED_VERSION.search(head))
    root = _root_name(head)
    return root is not None and root in _FEED_ROOTS


def parse_feed(data: bytes, source: str, strict: bool = False, base_url: str | None = None) -> list[Document]:
    """Parse a feed file into one Document per entry; raise FeedError when it is not a feed.

    With `strict`, XML that is not well-formed is refused even when items could be recovered
    (a local file should be fixed; a live feed is better read as far as it goes). `base_url`: where
    the feed was answered from, when a redirect took it away from `source`, which still names it
    (in the keys of items without a link: a changing redirect must not store them anew).
    """
    if not data or not data.strip():
        raise FeedError("not a feed: empty input")
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"refused: feed too large ({len(data)} bytes, limit {MAX_FEED_BYTES})")
    text_head = _decode_for_sniff(data[:SNIFF_BYTES]).lstrip("\ufeff \t\r\n")
    if text_head.startswith(("{", "[")):
        return _parse_json_feed(data, source)
    if "<" not in text_head:
        raise FeedError("not a feed: no XML or JSON markup")
    _refuse_entity_expansion(data)
    # A URL source is the base for relative links; a BytesIO keeps feedparser off the network.
    base_url = base_url or source
    headers = {"content-location": base_url} if base_url.startswith(("http://", "https://")) else {}
    try:
        parsed = feedparser.parse(
            io.BytesIO(data), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser is large and old; no input may crash the caller
        raise FeedError(f"unparseable feed: {type(exc).__name__}: {exc}") from exc
    entries = dict.get(parsed, "entries") or []
    error = dict.get(parsed, "bozo_exception") if dict.get(parsed, "bozo") else None
    if strict and isinstance(error, SAXParseException):
        raise FeedError(f"malformed XML: {error.getMessage()} at line {error.getLineNumber()}")
    if not entries:
        _check_empty_feed(parsed, text_head)
        return []
    feed = dict.get(parsed, "feed") or {}
    base = _feed_base(feed, base_url)
    docs = [_entry_document(e, feed, source, base, i) for i, e in enumerate(entries)]
    # An RSS guid is a permalink unless it says otherwise, so feedparser made a relative one ("12345")
    # a link against the feed's address: a page that does not exist, and one two feeds of a host share.
    from_guid = [doc for doc, e in zip(docs, entries) if doc.url and dict.get(e, "guidislink") and not dict.get(e, "links")]
    if from_guid:  # most feeds link their items: no second look at their bytes
        made_up = _relative_guid_links(data, [b for b in (base_url, base) if b])
        for doc in from_guid:
            if doc.url in made_up:
                doc.url = None
    return docs


def parse_coverage_list(html: str) -> list[LinkedItem]:
    """Read a Google News `<ol>` of `<a>Headline</a> <font>Outlet</font>` rows into LinkedItems."""
    root = _html_root(html) if html and "<" in html else None
    if root is None:
        return []
    rows = list(root.iter("li"))
    # Single-article items carry the anchor and font without any list around them.
    pairs = [(next(row.iter("a"), None), row) for row in rows] or [(a, root) for a in root.iter("a")]
    items = [_coverage_row(anchor, row) for anchor, row in pairs]
    return [item for item in items if item is not None]


def coverage_without_item(
    linked: Iterable[LinkedItem], url: str | None, title: str | None, outlet: str | None
) -> list[LinkedItem]:
    """Drop the row of a coverage list that is the item itself (same url, or same title+outlet)."""
    own_url, own_story = (url or "").strip(), (_fold(title), _fold(outlet))
    return [
        item for item in linked
        if not (own_url and (item.url or "").strip() == own_url)
        and not (own_story[0] and (_fold(item.title), _fold(item.outlet)) == own_story)
    ]


# What an aggregator's " - Outlet" leaves: the page's own title, with the site's name in its own form
# ("... | NHK" from nhk.or.jp, "...：Harbour Gazette Digital" from Harbour Gazette).
SITE_SECTION_CHARS = 12  # what a site's own name may add after the outlet's: "デジタル", " 北海道のニュース"
_SITE_SEPARATORS = (" - ", " – ", " — ", " | ", "｜", "：")


def _strip_site_name(title: str, outlet: str) -> str:
    """A headline without a trailing site name that names the outlet (its name, a longer form, its domain's)."""
    name = outlet.casefold()
    for sep in _SITE_SEPARATORS:
        head, found, tail = title.rpartition(sep)
        site = tail.strip().casefold()
        if not found or len(head.strip()) < 10 or not site or len(site) > 40:
            continue
        # A longer form of the name is a short one ("朝日新聞デジタル", "NHK 北海道のニュース" from nhk.or.jp):
        # "Taverncast 11: War of the Murlocs" is an episode's title that opens with the name.
        longer = len(site) - len(name) <= SITE_SECTION_CHARS and ":" not in site
        if site == name or (longer and site.startswith(name)) or (("." in name or len(site) >= 3) and name.startswith(site)):
            return head.rstrip()
        if "." in name and site.split()[0] == site_label(name) and len(site) <= SITE_SECTION_CHARS + 8:
            return head.rstrip()  # the site's name, then its section
    return title


def split_title_outlet(title: str, outlet: str | None) -> tuple[str, str | None]:
    """Strip a trailing " - Outlet" from a headline; infer the outlet from it when none is given."""
    clean = _squash(title)
    if outlet and outlet.strip():
        outlet = _squash(outlet)
        for sep in _TITLE_SEPARATORS:
            suffix = sep + outlet
            if len(clean) > len(suffix) and clean.casefold().endswith(suffix.casefold()):
                return _strip_site_name(clean[: -len(suffix)].rstrip(), outlet), outlet
        return _strip_site_name(clean, outlet), outlet
    head, sep, tail = clean.rpartition(" - ")
    if sep and head.strip() and outlet_like(tail):
        return head.rstrip(), tail.strip()
    return clean, None


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: entities decoded, tags dropped, one line per block."""
    if "<" not in html and "&" not in html:
        return _squash_lines(strip_controls(html))
    root = _html_root(html)
    if root is None:
        stripped = re.sub(r"<[^>]*>", " ", html)
        return _squash_lines(strip_controls(htmllib.unescape(stripped)))
    return _squash_lines(_element_text(root))


def _element_text(root: Any) -> str:
    """Text of an lxml element with newlines after block elements and no script/style."""
    for bad in list(root.iter(*_DROP_TAGS)):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
    return root.text_content()


def _html_root(html: str) -> Any | None:
    """Parse an HTML fragment under a <div>, or None when lxml cannot take it."""
    clean = strip_controls(html)
    try:
        return lxml.html.fragment_fromstring(clean, create_parent="div") if clean.strip() else None
    except (ValueError, etree.ParserError, etree.XMLSyntaxError):
        return None


def _coverage_row(anchor: Any, row: Any) -> LinkedItem | None:
    """One LinkedItem from an anchor and the outlet <font> after it, skipping 'full coverage'."""
    if anchor is None:
        return None
    title = _squash(anchor.text_content())
    url = (anchor.get("href") or "").strip() or None
    font = anchor.getnext()
    if font is None or font.tag != "font":
        font = next(row.iter("font"), None) if row.tag == "li" else None
    outlet = _squash(font.text_content()) if font is not None else None
    if not title:
        return None
    is_hub = _is_google_news_host(url) and "/stories/" in (url or "")
    if outlet is None and (is_hub or anchor.getparent().tag == "strong"):
        return None  # Google News' "View full coverage" link, not an article
    if outlet:  # the list shows the page's own title, often with " - Outlet" or the site's name after it
        title = split_title_outlet(title, outlet)[0]
    return LinkedItem(title=title, url=url, outlet=outlet or None)


def _is_google_news_host(url: str | None) -> bool:
    """Whether a URL points at news.google.com (malformed URLs do not)."""
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:
        return False
    return host == "news.google.com" or host.endswith(".news.google.com")


def _entry_document(entry: dict, feed: dict, source: str, base: str | None, index: int) -> Document:
    """Build the Document for one feedparser entry."""
    summary_html = _str(dict.get(entry, "summary")) or ""
    link = _web_url(_str(dict.get(entry, "link")), base)
    raw_title = _inline_text(dict.get(entry, "title"))
    source_info = dict.get(entry, "source") or {}
    source_outlet = _inline_text(dict.get(source_info, "title")) if isinstance(source_info, dict) else None
    # Google News items describe themselves with a coverage list, never with article text.
    is_aggregated = bool(_GOOGLE_NEWS_OUTLET_FONT.search(summary_html)) or any(
        map(_is_google_news_host, (link, _str(dict.get(feed, "link"))))
    )
    title, outlet = _title_and_outlet(raw_title, source_outlet, feed, is_aggregated)
    linked: list[LinkedItem] = []
    if is_aggregated and _GOOGLE_NEWS_OUTLET_FONT.search(summary_html):
        linked = coverage_without_item(parse_coverage_list(summary_html), link, title, outlet)
    text = "" if is_aggregated else _best_text(_content_values(entry) + [summary_html], title)
    field = "published" if dict.get(entry, "published_parsed") else "updated"
    published = _struct_to_utc(dict.get(entry, f"{field}_parsed"))
    return Document(
        source=source, kind="feed-item", title=title or None, text=text, url=link,
        key=_entry_key(source, _str(dict.get(entry, "id")), link, title, published, text, index),
        published=_in_own_zone(dict.get(entry, field), published), outlet=outlet, byline=_byline(entry),
        language=_language(feed, entry), description=html_to_text(summary_html) or None,
        tags=_entry_tags(entry), linked=linked,
    )


_CHANNEL_PARTS = re.compile(r"\s+[-–—|:>»]\s+|:\s+")


def _channel_outlet(title: str | None, link: str | None) -> str | None:
    """The outlet a channel title names: the part that is its site's name ("TUT.BY" of "TUT.BY: Новости ТУТ - ...")."""
    if not title or not link:
        return title
    try:
        host = (urlsplit(link).hostname or "").removeprefix("www.")
    except ValueError:
        return title
    labels = host.split(".")
    # news.tut.by is "TUT.BY" or "tut" (a tail of the host, or its site's label), never "news"
    names = {"".join(labels[i:]) for i in range(len(labels) - 1)} | {site_label(host) or ""}
    names = {re.sub(r"[^a-z0-9]", "", n) for n in names} - {""}
    parts = _CHANNEL_PARTS.split(title)
    if len(parts) > 1:
        for part in parts:
            if re.sub(r"[^a-z0-9]", "", part.lower()) in names:
                return part.strip()
    return title


def _title_and_outlet(
    title: str | None, source_outlet: str | None, feed: dict, is_aggregated: bool
) -> tuple[str | None, str | None]:
    """Headline without its outlet suffix, and the outlet (from <source>, suffix or feed title)."""
    feed_title = None if is_aggregated else _channel_outlet(_inline_text(dict.get(feed, "title")), _str(dict.get(feed, "link")))
    outlet = source_outlet or feed_title
    if not title:
        return None, outlet
    if outlet or is_aggregated:
        return split_title_outlet(title, outlet)
    return title, None


def _content_values(entry: dict) -> list[str]:
    """All content bodies of an entry (feedparser also files media:description here)."""
    content = dict.get(entry, "content")
    if not isinstance(content, list):
        return []
    return [v for c in content if isinstance(c, dict) for v in [_str(dict.get(c, "value"))] if v]


def _best_text(candidates: list[str], title: str | None) -> str:
    """The longest real article text among content and summary ("" when none is)."""
    texts = [_article_text(c, title) for c in candidates if c]
    return max(texts, key=len, default="")


def _feed_base(feed: dict, source: str) -> str | None:
    """Where relative entry links point from: the feed's link, itself made absolute if need be."""
    links = [_str(dict.get(x, "href")) for x in dict.get(feed, "links") or [] if isinstance(x, dict)]
    anchor = next((u for u in (source, *links) if _web_url(u, None)), None)
    return _web_url(_str(dict.get(feed, "link")), anchor) or anchor


_GUID = re.compile(rb"<guid\b[^>]*>\s*(?:<!\[CDATA\[)?([^<\]]*)", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _relative_guid_links(data: bytes, bases: list[str]) -> set[str]:
    """The links made of guids written without a scheme ("12345"), resolved against each base a link may take."""
    made: set[str] = set()
    for m in _GUID.finditer(data):  # one pass over the bytes, as written (a UTF-16 feed finds none: links kept)
        guid = htmllib.unescape(m.group(1).decode("utf-8", "replace")).strip()
        if guid and not _SCHEME.match(guid):
            made.update(urljoin(base, guid) for base in bases)
    return made


def key_by_link(docs: list[Document]) -> None:
    """Key items by their link, which names an article across feeds and captures (the feed's own key otherwise).

    Items of one feed that share a link are one article, rewritten by each in turn. Keying them apart
    only while they share it made a key depend on the other items of a poll, and stored articles again.
    """
    for doc in docs:
        if doc.url:
            doc.key = doc.url


def _web_url(link: str | None, base: str | None) -> str | None:
    """An absolute http(s) URL, resolving a relative link against the feed's own link."""
    if not link:
        return None
    try:
        if base and not urlsplit(link).scheme:
            link = urljoin(base, link)
        scheme = urlsplit(link).scheme.lower()
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return link if scheme in ("http", "https") else None


def _article_text(html: str, title: str | None) -> str:
    """Plain text of content/summary, or "" when it is only links or repeats the headline."""
    if not html:
        return ""
    root = _html_root(html) if "<" in html else None
    if root is not None:
        text = _squash_lines(_element_text(root))
        linked_chars = sum(len(_squash(a.text_content())) for a in root.iter("a"))
    else:
        text, linked_chars = html_to_text(html), 0
    text = _WORDPRESS_FOOTER.sub("", _REDDIT_FOOTER.sub("", text)).strip()
    plain = _squash(text)
    if not plain or plain.casefold() == _fold(title):
        return ""
    if linked_chars >= 0.8 * len(plain):
        return ""
    return text


def _entry_key(
    source: str, guid: str | None, link: str | None, title: str | None,
    published: datetime | None, text: str, index: int,
) -> str:
    """Stable identity: guid/id, else link, else a hash of title and date."""
    if guid or link:
        return f"{source}#{guid or link}"
    basis = f"{title or ''}\x1f{published.isoformat() if published else ''}"
    if not title and not published:
        # Nothing identifies the item but its body (or, failing that, its place in the feed).
        basis += f"\x1f{text or index}"
    return f"{source}#sha1:{hashlib.sha1(basis.encode('utf-8')).hexdigest()[:16]}"


def _byline(entry: dict) -> str | None:
    """Author name, preferring the parsed name over a raw 'email (Name)' string."""
    detail = dict.get(entry, "author_detail")
    name = _inline_text(dict.get(detail, "name")) if isinstance(detail, dict) else None
    return name or _inline_text(dict.get(entry, "author"))


def _language(feed: dict, entry: dict) -> str | None:
    """Feed language, else the xml:lang of the entry's title or summary."""
    details = [dict.get(entry, key) for key in ("title_detail", "summary_detail")]
    langs = [_str(dict.get(d, "language")) for d in details if isinstance(d, dict)]
    return _str(dict.get(feed, "language")) or next((lang for lang in langs if lang), None)


def _entry_tags(entry: dict) -> list[str]:
    """Category names (term, else label), first occurrence kept."""
    tags = [t for t in dict.get(entry, "tags") or [] if isinstance(t, dict)]
    names = [_inline_text(dict.get(t, "term")) or _inline_text(dict.get(t, "label")) for t in tags]
    return list(dict.fromkeys(n for n in names if n))


def _struct_to_utc(value: Any) -> datetime | None:
    """A feedparser UTC struct_time as an aware datetime, None when absent or impossible."""
    if not isinstance(value, (time.struct_time, tuple)) or len(value) < 6:
        return None
    try:
        # Round-trip through a timestamp so leap seconds and out-of-range fields normalise.
        return datetime.fromtimestamp(calendar.timegm(tuple(value[:6]) + (0, 0, 0)), timezone.utc)
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def _parse_date(value: Any, own_zone: bool = False) -> datetime | None:
    """An ISO 8601 or RFC 822 date string as an aware datetime (UTC, or `own_zone`: as written), None when unreadable."""
    text = _str(value)
    for parse in (datetime.fromisoformat, email.utils.parsedate_to_datetime):
        try:
            parsed = parse(text) if text else None
            if parsed is not None:  # a date without a zone is taken as UTC
                parsed = parsed.replace(tzinfo=parsed.tzinfo or timezone.utc)
                return parsed if own_zone else parsed.astimezone(timezone.utc)
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
    return None


def _in_own_zone(raw: Any, published: datetime | None) -> datetime | None:
    """The instant `published` in the zone the feed wrote it in, else as it is.

    A report's "yesterday" counts from the newsroom's day: 08:00 on 13 August in Seoul is the 12th
    in UTC, and the phone talks "the previous day" were on the 12th, not the 11th. It is stored in UTC.
    """
    local = _parse_date(raw, own_zone=True)
    return local if local is not None and published is not None and local == published else published


def _check_empty_feed(parsed: dict, head: str) -> None:
    """Raise FeedError unless an item-less parse is still a real (empty) feed."""
    version = dict.get(parsed, "version") or ""
    has_channel = bool(dict.get(parsed, "feed"))
    error = dict.get(parsed, "bozo_exception") if dict.get(parsed, "bozo") else None
    root = _root_name(head)
    if not version and root is not None and root not in _FEED_ROOTS:
        raise FeedError(f"not a feed: root element is <{root}>")
    # Encoding complaints alone are no reason to give up on a feed: only broken XML is.
    if isinstance(error, SAXParseException) and not (version and has_channel):
        raise FeedError(f"malformed XML: {error.getMessage()} at line {error.getLineNumber()}")
    if not (version or (has_channel and root in _FEED_ROOTS)):
        raise FeedError("not a feed: no items and no channel")


def _refuse_entity_expansion(data: bytes) -> None:
    """Raise FeedError for nested or oversized entity declarations ("billion laughs")."""
    text = _decode_for_sniff(data)
    # Declarations only count inside a DOCTYPE's internal subset; elsewhere they are just text.
    subset = _INTERNAL_SUBSET.search(text)
    if subset is None:
        return
    refs = Counter(_ANY_REF.findall(text))
    expansion = 0
    for count, match in enumerate(_ENTITY_DECL.finditer(text, subset.start()), start=1):
        is_parameter, name, external = bool(match.group(1)), match.group(2), match.group(5)
        value = match.group(3) if match.group(3) is not None else match.group(4)
        if count > MAX_ENTITY_DECLARATIONS:
            raise FeedError("refused: XML entity expansion (too many entity declarations)")
        if external:
            continue  # SYSTEM/PUBLIC: never fetched by our parsers
        if value is None:
            raise FeedError("refused: XML entity expansion (unreadable entity declaration)")
        if _ENTITY_REF.search(value) or "<!" in value:
            raise FeedError("refused: XML entity expansion (nested entity declarations)")
        expansion += len(value) * refs["%" if is_parameter else "&", name]
    if expansion > MAX_ENTITY_EXPANSION:
        raise FeedError("refused: XML entity expansion (declared entities expand too far)")


def _parse_json_feed(data: bytes, source: str) -> list[Document]:
    """Parse a JSON Feed (https://jsonfeed.org, versions 1 and 1.1) into Documents."""
    try:
        feed = json.loads(data.decode(json.detect_encoding(data), errors="replace").lstrip("\ufeff"))
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"malformed JSON: {exc}") from exc
    if not isinstance(feed, dict):
        raise FeedError("not a feed: JSON is not an object")
    version = _str(feed.get("version")) or ""
    items = feed.get("items")
    if "jsonfeed" not in version.lower() and not isinstance(items, list):
        raise FeedError("not a feed: JSON without a jsonfeed version or items")
    items = items if isinstance(items, list) else []
    return [_json_item(item, feed, source, i) for i, item in enumerate(items) if isinstance(item, dict)]


def _json_item(item: dict, feed: dict, source: str, index: int) -> Document:
    """Build the Document for one JSON Feed item."""
    base = _str(feed.get("home_page_url"))
    link = _web_url(_str(item.get("url")), base) or _web_url(_str(item.get("external_url")), base)
    feed_title = _inline_text(feed.get("title"))
    raw_title = _inline_text(item.get("title"))
    title, outlet = split_title_outlet(raw_title, feed_title) if raw_title else (None, feed_title)
    summary = _str(item.get("summary"))
    content_html = _str(item.get("content_html"))
    content_text = _str(item.get("content_text"))
    plain = _squash_lines(strip_controls(content_text or ""))
    text = _best_text([content_html or "", summary or ""], title)
    text = plain if len(plain) > len(text) and _fold(plain) != _fold(title) else text
    field, published = "date_published", _parse_date(item.get("date_published"))
    if published is None:
        field, published = "date_modified", _parse_date(item.get("date_modified"))
    guid = item.get("id")
    guid = str(guid).strip() if isinstance(guid, (str, int, float)) and str(guid).strip() else None
    tags = item.get("tags") if isinstance(item.get("tags"), list) else []
    return Document(
        source=source, kind="feed-item", title=title or None, text=text, url=link,
        key=_entry_key(source, guid, link, title, published, text, index),
        published=_in_own_zone(item.get(field), published), outlet=outlet, byline=_json_author(item) or _json_author(feed),
        language=_str(item.get("language")) or _str(feed.get("language")),
        description=html_to_text(summary) if summary else None,
        tags=list(dict.fromkeys(n for n in map(_inline_text, tags) if n)),
    )


def _json_author(obj: dict) -> str | None:
    """Author name from JSON Feed 1.1 "authors" or 1.0 "author"."""
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    names = [_inline_text(a.get("name")) for a in candidates if isinstance(a, dict)]
    return ", ".join(n for n in names if n) or None


def _decode_for_sniff(data: bytes) -> str:
    """Decode enough to see markup: UTF-16/32 and EBCDIC by BOM or '<' pattern, else Latin-1."""
    for marker, codec in (
        (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
        (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
        (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"), (b"\x4c\x6f\xa7\x94", "cp037"),
    ):
        if data.startswith(marker):
            return data.decode(codec, errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # Latin-1 maps every byte, so ASCII markup survives in any ASCII-compatible encoding.
    return data.decode("latin-1")


def _root_name(head: str) -> str | None:
    """Lower-cased local name of the first element, skipping the prolog; None if not found."""
    pos = 0
    while True:
        match = _PROLOG_JUNK.match(head, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
    root = _ROOT_TAG.match(head[pos:])
    return root.group(1).rsplit(":", 1)[-1].lower() if root else None


def _inline_text(value: Any) -> str | None:
    """One line of plain text from a possibly HTML-bearing value, None when empty."""
    text = _str(value)
    # A second pass catches double-escaped markup ("&lt;b&gt;"), common in feed titles.
    return (_squash(_LEFTOVER_TAG.sub("", html_to_text(text))) or None) if text else None


def _str(value: Any) -> str | None:
    """A stripped string, None for non-strings and blanks."""
    return (value.strip() or None) if isinstance(value, str) else None


def _fold(value: str | None) -> str:
    """Comparison form of a short label: whitespace squashed, case folded."""
    return _squash(value or "").casefold()


def _squash(text: str) -> str:
    """Collapse all whitespace (including nbsp) to single spaces."""
    return " ".join(text.replace("\xa0", " ").split())


def _squash_lines(text: str) -> str:
    """Collapse whitespace within lines and drop empty lines."""
    lines = (_squash(line) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
