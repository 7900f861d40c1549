"""HTML page -> clean main text and metadata, as a Document."""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections import Counter, deque
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from dateutil import parser as dateparser
from htmldate import find_date
from lxml.etree import _Element
from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from .models import Document, site_label

LOGGER = logging.getLogger(__name__)


class ExtractError(ValueError):
    """The page has no usable main text."""


# --- decoding and parsing -------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding=["']([\w.:-]+)""", re.I
)


def decode_html(data: bytes) -> str:
    """Decode page bytes: BOM, then UTF-8, then the declared charset (a stray byte replaced), else lossy UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace").lstrip("\ufeff")
    # valid UTF-8 is almost never another charset by accident, and pages often misdeclare
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = _DECLARED_CHARSET.search(data[:4096])
    if match:
        declared = (match.group(1) or match.group(2)).decode("ascii", "ignore")
        try:
            # one byte the charset does not define spoils one character, not the page (as lossy UTF-8 did)
            return data.decode(declared, errors="replace")
        except LookupError:
            LOGGER.debug("declared charset %s is unknown", declared)
    return data.decode("utf-8", errors="replace")


def parse_html(html: str | bytes) -> HtmlElement:
    """Parse a page once, the way trafilatura does (comments and PIs dropped)."""
    text = decode_html(html) if isinstance(html, bytes) else html
    tree = load_html(text) if text.strip() else None
    if tree is None:
        raise ExtractError("not parseable as HTML")
    return tree


# --- small text helpers ----------------------------------------------------------------

_TOKENS = re.compile(r"\w+")


def _squash(text: str | None) -> str:
    """Collapse runs of whitespace."""
    return " ".join(text.split()) if text else ""


def _tokens(text: str) -> list[str]:
    """Lower-cased word tokens, for loose comparisons."""
    return _TOKENS.findall(text.lower())


def _element_text(element: _Element) -> str:
    """All text under an element, whitespace collapsed."""
    return _squash("".join(element.itertext()))


# --- page markup: meta tags and JSON-LD ---------------------------------------------------


def meta_tags(tree: HtmlElement) -> dict[str, str]:
    """First non-empty content of each meta name/property/itemprop, keys lower-cased."""
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = _squash(meta.get("content"))
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                found.setdefault(key.strip().lower(), content)
    return found


# Properties whose values are, by schema.org's definitions, works other than the one they sit in
# (related, cited, reviewed, containing or contained ones). An article found under them, or in a list,
# is never the page's own: list pages have no article of their own, and article pages list others.
_OTHER_WORKS = frozenset(
    {
        "about",
        "citation",
        "comment",
        "exampleOfWork",
        "hasPart",
        "isBasedOn",
        "isPartOf",
        "itemListElement",
        "mentions",
        "relatedLink",
        "review",
        "reviews",
        "significantLink",
        "subjectOf",
        "translationOfWork",
        "workExample",
        "workTranslation",
    }
)
_LIST_TYPES = re.compile(r"ItemList|ListItem|BreadcrumbList|SiteNavigationElement", re.I)
# ranks of JSON-LD objects: where on the page a description of the page's own article is likeliest
_PAGE_LEVEL, _MAIN_ENTITY, _NESTED = 0, 1, 2


def _members(data: Any) -> Iterator[dict[str, Any]]:
    """The objects at one level of a JSON-LD value: list entries and @graph members."""
    if isinstance(data, list):
        for entry in data:
            yield from _members(entry)
    elif isinstance(data, dict):
        yield data
        yield from _members(data.get("@graph"))


def _ranked_items(data: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each JSON-LD object of a payload with its rank, outermost first; other works left out."""
    queue = deque((_PAGE_LEVEL, item) for item in _members(data))
    while queue:
        rank, item = queue.popleft()
        yield rank, item
        if _LIST_TYPES.search(_type_of(item)):
            continue
        for key, value in item.items():
            # @graph members were already taken at this item's level
            if key == "@graph" or key in _OTHER_WORKS:
                continue
            child = _MAIN_ENTITY if rank == _PAGE_LEVEL and key == "mainEntity" else _NESTED
            queue.extend((child, member) for member in _members(value))


def json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    """The page's JSON-LD objects, page-level ones first; broken blocks are skipped."""
    ranked: list[tuple[int, dict[str, Any]]] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            # some CMSs leave HTML comment wrappers or trailing semicolons around the JSON
            try:
                data = json.loads(raw.strip("<!->; \n\t"), strict=False)
            except ValueError:
                continue
        ranked.extend(_ranked_items(data))
    # blocks come in any order: a related-stories list may precede the article's own block
    return [item for _, item in sorted(ranked, key=lambda pair: pair[0])]


_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|Blog|Review", re.I)


def _type_of(item: dict[str, Any]) -> str:
    """The @type of a JSON-LD object as one string."""
    kind = item.get("@type", "")
    return " ".join(map(str, kind)) if isinstance(kind, list) else str(kind)


def _article_item(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON-LD object that describes the article itself, else an empty dict."""
    for item in items:
        if _ARTICLE_TYPES.search(_type_of(item)):
            return item
    for item in items:
        if "datePublished" in item or "headline" in item:
            return item
    return {}


def _names(value: Any) -> list[str]:
    """Names out of a JSON-LD person/organisation value (string, dict or list)."""
    if isinstance(value, str):
        return [_squash(value)] if value.strip() else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for entry in value for name in _names(entry)]
    return []


# --- dates ---------------------------------------------------------------------------------

# publication-date meta keys, strongest first; "modified" keys are deliberately absent.
# Open Graph stamps come before JSON-LD, whose datePublished is more often written in the
# wrong zone; the other meta keys come after it.
_OPEN_GRAPH_DATE_META = ("article:published_time", "og:published_time", "og:article:published_time")
_DATE_META = (
    "datepublished",
    "article.published",
    "published_time",
    "publish-date",
    "publishdate",
    "publish_date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "citation_publication_date",
    "article:published",
    "date",
)
_EARLIEST = datetime(1995, 1, 1, tzinfo=timezone.utc)
_MAX_OFFSET = timedelta(hours=14)  # the widest UTC offset in use
_SAME_INSTANT = timedelta(minutes=1)
# newsroom zones that put a UTC stamp on the URL's day lie within this of UTC; a larger shift
# means the URL day is something else (a slug made the day before, a scheduled post)
_MAX_NEWSROOM_SHIFT = timedelta(hours=10)
_QUARTER_HOUR = timedelta(minutes=15)

# a year, alone or opening a compact 20200607 date
_HAS_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?:\d{4})?(?!\d)")


# Zone abbreviations that name one offset wherever news is written; dateutil knows none of them and
# warns on each (on stderr, through the CLI). CST, IST and BST each name several zones: left naive.
_HOURS = {
    "EST": -5, "EDT": -4, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10,
    "WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "MSK": 3, "JST": 9, "KST": 9, "AEST": 10,
    "AEDT": 11, "NZST": 12, "NZDT": 13,
}
_ZONES = {name: timezone(timedelta(hours=hours), name) for name, hours in _HOURS.items()}


def _zone(name: str | None, offset: int | None) -> timezone | None:
    """dateutil's tzinfos hook (asked of every date, zoned or not): the zone, None (naive) for no zone or an unknown one."""
    if offset is not None:
        return timezone(timedelta(seconds=offset))
    return _ZONES.get(name.upper()) if name else None


def parse_datetime(value: str | None) -> datetime | None:
    """A datetime from an ISO-like or common textual date; naive when it names no zone."""
    value = _squash(value)
    # without a four-digit year dateutil fills the gaps from today, which is never right
    if not value or not _HAS_YEAR.search(value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = dateparser.parse(value, fuzzy=False, tzinfos=_zone)
        except (ValueError, OverflowError, TypeError):
            return None
    if parsed.tzinfo is not None and parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=None)
    return parsed


def _aware(moment: datetime) -> datetime:
    """A naive datetime read as UTC, so day-level dates stay on their day."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _plausible(moment: datetime | None) -> datetime | None:
    """Reject dates before the web news era or in the future."""
    if moment is None:
        return None
    now = datetime.now(timezone.utc) + timedelta(days=1)
    return moment if _EARLIEST <= _aware(moment) <= now else None


def _markup_candidates(tree: HtmlElement, meta: dict[str, str], article: dict[str, Any]) -> Iterator[datetime]:
    """Plausible publication dates from JSON-LD, meta tags and <time> markup, strongest first."""
    values = [meta.get(key) for key in _OPEN_GRAPH_DATE_META]
    values += [article.get("datePublished"), article.get("dateCreated")]
    values += [meta.get(key) for key in _DATE_META]
    values += tree.xpath('//time[@itemprop="datePublished" or contains(@class, "pub")]/@datetime')
    for value in values:
        if isinstance(value, str) and (moment := _plausible(parse_datetime(value))):
            yield moment


def _markup_date(tree: HtmlElement, meta: dict[str, str], article: dict[str, Any]) -> datetime | None:
    """The publication date the page states in its structured markup."""
    candidates = list(_markup_candidates(tree, meta, article))
    if not candidates:
        return None
    first = candidates[0]
    zoned = [other for other in candidates[1:] if other.tzinfo is not None]
    if first.tzinfo is None:
        if first.time() == time(0):
            return first  # a bare day is the page's own calendar day
        # a clock time without zone is local to somewhere: a zoned stamp of that instant is exact
        return next((other for other in zoned if abs(other - _aware(first)) <= _MAX_OFFSET), first)
    if first.utcoffset() == timedelta(0):
        # the same instant written with the newsroom's offset also tells its calendar day
        return next((other for other in zoned if other.utcoffset() and abs(other - first) < _SAME_INSTANT), first)
    return first


def _fallback_date(tree: HtmlElement, url: str | None) -> datetime | None:
    """htmldate's heuristics (URL, text patterns) when the markup names no date."""
    try:
        found = find_date(tree, url=url, original_date=True, extensive_search=True)
    except Exception as err:  # htmldate can trip over odd markup; a date is optional
        LOGGER.debug("htmldate failed: %s", err)
        return None
    return _plausible(parse_datetime(found)) if found else None


# /2020/06/07/, /2020-06-07, _20200607 ... in a URL path; the separators must match
_URL_DATE = re.compile(r"(?<!\d)(20\d\d|19\d\d)([/_.-]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")


def url_date(url: str | None) -> date | None:
    """The publication day a URL path spells out, if it spells out a whole one."""
    if not url:
        return None
    match = _URL_DATE.search(urlsplit(url).path)
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
    except ValueError:
        return None
    return day if _EARLIEST.date() <= day <= datetime.now(timezone.utc).date() else None


def _on_day(moment: datetime, day: date) -> datetime | None:
    """A UTC stamp re-expressed in the nearest whole-hour zone where it falls on `day`."""
    if moment.date() == day:
        return moment
    if moment.utcoffset() != timedelta(0):
        return None  # the page gave its own zone: its clock already shows the local day
    step = timedelta(hours=1 if day > moment.date() else -1)
    offset = timedelta(0)
    while abs(offset + step) <= _MAX_NEWSROOM_SHIFT:
        offset += step
        shifted = moment.astimezone(timezone(offset))
        if shifted.date() == day:
            return shifted
    return None


# publication stamps that scripts, RDF trackback blocks and data attributes repeat in raw markup
_SCRIPT_DATE = re.compile(
    r"""(?i)(?:date_?published|publi(?:cation|shed|sh)_?(?:date|time)|dc:date|pubdate|date_?creat(?:ed|ion))"""
    r"""["']?\s*[:=]\s*["']"""
    r"""((?:19|20)\d\d-[01]\d-[0-3]\d(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d)?(?:\.\d+)?(?:Z|[+-][01]\d:?[0-5]\d)?)?)["']"""
)
# a case-insensitive regex over a whole page is slow; literal-led hints find the few places to try
_SCRIPT_DATE_HINTS = tuple(
    re.compile(hint)
    for hint in ("ub(?:lish|lication|date)", "UB(?:LISH|LICATION|DATE)", "c:date", "C:DATE", "reat(?:ed|ion)", "REAT(?:ED|ION)")
)
_HINT_WINDOW = (8, 90)


def _script_dates(html: str) -> list[datetime]:
    """Plausible publication stamps written into the raw page outside the parsed markup."""
    starts: dict[int, str] = {}
    for hint in _SCRIPT_DATE_HINTS:
        for found in hint.finditer(html):
            index = found.start()
            match = _SCRIPT_DATE.search(html, max(0, index - _HINT_WINDOW[0]), index + _HINT_WINDOW[1])
            if match:
                starts.setdefault(match.start(), match.group(1))
    moments = (_plausible(parse_datetime(starts[start])) for start in sorted(starts))
    return [moment for moment in moments if moment is not None]


def _local_twin(moment: datetime, others: list[datetime]) -> datetime:
    """A UTC stamp shown in the page's zone, when the page also writes it as local clock time or day."""
    for other in others:
        if other.tzinfo is not None or other.time() == time(0):
            continue
        offset = other - moment.replace(tzinfo=None)
        zone = _QUARTER_HOUR * round(offset / _QUARTER_HOUR)
        # the same minute shifted by a real zone offset: that zone is the newsroom's
        if zone and abs(zone) <= _MAX_OFFSET and abs(offset - zone) < _SAME_INSTANT:
            return moment.astimezone(timezone(zone))
    # a bare publication day is written in the newsroom's calendar, like a URL day
    day = next((other.date() for other in others if other.tzinfo is None and other.time() == time(0)), None)
    return (_on_day(moment, day) if day else None) or moment


# stamps with an explicit UTC offset, ISO 8601 (2020-05-01T23:00:00-04:00) or RFC 2822
# (01 May 2020 23:00:00 -0400); without the "T" only a clock with seconds counts, so that
# time ranges ("2020-05-01 09:00-10:00") are not read as a zone
_ZONED_STAMP = re.compile(
    r"(?:19|20)\d\d(?:-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d(?::[0-5]\d)?|(?:-[01]\d-[0-3]\d)? [0-2]\d:[0-5]\d:[0-5]\d)"
    r"(?:\.\d+)? ?(?:GMT|UTC)?([+-])([01]\d):?([0-5]\d)(?![\d:])"
)


def _page_zone(html: str) -> timezone | None:
    """The one non-UTC offset every zoned stamp on the page agrees on, if there is one."""
    zones: set[timedelta] = set()
    for sign, hours, minutes in _ZONED_STAMP.findall(html):
        offset = timedelta(hours=int(hours), minutes=int(minutes)) * (-1 if sign == "-" else 1)
        if offset and abs(offset) <= _MAX_OFFSET and offset % _QUARTER_HOUR == timedelta(0):
            zones.add(offset)
    # stamps in two zones (summer and winter time, a syndicated item) leave the newsroom unknown
    return timezone(zones.pop()) if len(zones) == 1 else None


# Unix times (seconds, or milliseconds) that social, forum and blog pages render as "2 hours ago"
_EPOCH_ATTRIBUTES = ("data-time", "data-timestamp", "data-utime", "data-time-ms")
_EPOCH_XPATH = " | ".join(f"descendant-or-self::*/@{name}" for name in _EPOCH_ATTRIBUTES)
_EPOCH = re.compile(r"\d{10}(?:\d{3})?")


def _address(url: str | None) -> tuple[str, str, str] | None:
    """Host, path and query of an http(s) URL: what two links to the same page share."""
    host = _host(url)
    if not host or url is None:
        return None
    parts = urlsplit(url.strip())
    return host, parts.path.rstrip("/"), parts.query


def _own_addresses(tree: HtmlElement, meta: dict[str, str], url: str | None) -> set[tuple[str, str, str]]:
    """Every address the page gives itself, unless it is the site's front page (linked from all pages)."""
    found = (_address(address) for address in (url, _canonical(tree, meta), meta.get("og:url")))
    return {address for address in found if address and (address[1] or address[2])}


def _stamp_in(element: _Element) -> datetime | None:
    """The first machine-readable timestamp in an element: <time datetime>, then a Unix time."""
    for value in element.xpath("descendant-or-self::*/@datetime"):
        if moment := _plausible(parse_datetime(value)):
            return _aware(moment)
    for value in element.xpath(_EPOCH_XPATH):
        if _EPOCH.fullmatch(value := value.strip()):
            seconds = int(value) / (1000 if len(value) == 13 else 1)
            if moment := _plausible(datetime.fromtimestamp(seconds, timezone.utc)):
                return moment
    return None


def _permalink_date(tree: HtmlElement, meta: dict[str, str], url: str | None) -> datetime | None:
    """The timestamp a post carries on its permalink, the link back to this very page."""
    own = _own_addresses(tree, meta, url)
    base = url or _canonical(tree, meta) or ""
    for link in tree.iterfind(".//a[@href]") if own else ():
        # the machine-readable stamp, not the link's text: that is shown in the reader's zone
        if _address(urljoin(base, link.get("href", "").strip())) in own and (moment := _stamp_in(link)):
            return moment
    return None


def find_published(
    tree: HtmlElement,
    url: str | None = None,
    meta: dict[str, str] | None = None,
    article: dict[str, Any] | None = None,
    html: str | None = None,
) -> datetime | None:
    """The publication instant, expressed in the zone of the page's own calendar day."""
    meta = meta_tags(tree) if meta is None else meta
    article = _article_item(json_ld(tree)) if article is None else article
    day = url_date(url) or url_date(_canonical(tree, meta))
    moment = _markup_date(tree, meta, article)
    zone = None
    if moment is not None and moment.utcoffset() == timedelta(0) and html:
        moment = _local_twin(moment, _script_dates(html))
        # a stamp stored in UTC reads on the newsroom's clock, which its other stamps show
        zone = _page_zone(html) if moment.utcoffset() == timedelta(0) else None
    if moment is not None:
        moment = _aware(moment)
        # stamps are often stored in UTC while the URL keeps the newsroom's day
        return (_on_day(moment, day) if day else None) or (moment.astimezone(zone) if zone else moment)
    if day is not None:
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    scripted = _script_dates(html) if html else []
    if scripted:
        return _aware(scripted[0])
    # blogs, forums and social posts stamp the link to the post itself (hAtom's rel="bookmark")
    if permalinked := _permalink_date(tree, meta, url):
        return permalinked
    # media uploads are filed by day, and the lead image is uploaded with the story
    if image_day := url_date(meta.get("og:image")):
        return datetime(image_day.year, image_day.month, image_day.day, tzinfo=timezone.utc)
    found = _fallback_date(tree, url)
    return _aware(found) if found else None


def extract_date(html: str | bytes, url: str | None = None) -> datetime | None:
    """Publication instant in the page's own zone (its .date() is the day the page shows)."""
    text = decode_html(html) if isinstance(html, bytes) else html
    return find_published(parse_html(text), url, html=text)


# --- main text -----------------------------------------------------------------------------

# lines that are about the site, not the story; only trusted on short blocks
_BOILERPLATE = re.compile(
    r"copyright|©|all rights reserved|subscribe|newsletter|sign(ing)? up|share (this|it)"
    r"|follow (us|him|her)|thank you|error has occurred|read more|click here",
    re.I,
)
_SHORT_BLOCK = 150
_SHORT_TAIL = 200
_LINK_BLOCK = 300
_HEADING = 250
_LEAD_BLOCKS = 3


def _link_texts(tree: HtmlElement) -> set[str]:
    """The text of every link on the page, to spot blocks that are only a link."""
    return {text for anchor in tree.iter("a") if (text := _squash(anchor.text_content()))}


def _is_link_block(block: _Element, text: str, links: set[str]) -> bool:
    """True for a paragraph that is one link, or a list made of links."""
    if block.tag == "list":
        items = [text for item in block.iter("item") if (text := _element_text(item))]
        return bool(items) and sum(item in links for item in items) >= 0.8 * len(items)
    return text in links


def _is_title(text: str, titles: list[list[str]]) -> bool:
    """True when a block repeats the headline (possibly with or without a site suffix)."""
    words = _tokens(text)
    if not words:
        return False
    for title in titles:
        if words == title:
            return True
        # "Headline | Outlet" in the title, "Headline" in the text
        if len(words) >= 3 and len(words) < len(title) and title[: len(words)] == words:
            return True
    return False


def _is_site_line(text: str, limit: int) -> bool:
    """A short line about the site (copyright, newsletter, sharing), not about the story."""
    return len(text) < limit and _BOILERPLATE.search(text) is not None


def _clean_blocks(blocks: list[_Element], titles: list[list[str]], links: set[str]) -> list[_Element]:
    """Drop the headline and standfirst above the story, and link lists and site lines."""
    texts = {id(block): _element_text(block) for block in blocks}
    kept = [block for block in blocks if texts[id(block)]]
    # the headline and its deck sit above the first paragraph
    for _ in range(_LEAD_BLOCKS):
        if not kept:
            break
        text = texts[id(kept[0])]
        if not ((kept[0].tag == "head" and len(text) < _HEADING) or _is_title(text, titles)):
            break
        kept.pop(0)
    # a story never ends on a heading, a link or a site line: those belong to the page
    while len(kept) > 1:
        block, text = kept[-1], texts[id(kept[-1])]
        if not (block.tag == "head" or _is_link_block(block, text, links) or _is_site_line(text, _SHORT_TAIL)):
            break
        kept.pop()
    # inside the story, only short blocks can be told apart from its text this way
    filtered = [
        block
        for block in kept
        if not (
            _is_site_line(text := texts[id(block)], _SHORT_BLOCK)
            or (block.tag in ("p", "list") and len(text) < _LINK_BLOCK and _is_link_block(block, text, links))
        )
    ]
    return filtered or kept


def main_text(tree: HtmlElement, url: str | None = None, titles: list[str] | None = None) -> str:
    """The article body as paragraphs separated by blank lines ("" when none is found)."""
    try:
        # recall focus skips trafilatura's own recall retry; the filters below restore precision
        result = bare_extraction(tree, url=url, fast=True, favor_recall=True, include_comments=False)
    except Exception as err:  # a crash inside the extractor means "no text", not a failed run
        LOGGER.debug("trafilatura failed on %s: %s", url, err)
        return ""
    if result is None or result.body is None:
        return ""
    title_words = [words for title in titles or () if (words := _tokens(title))]
    links = _link_texts(tree)
    blocks = _clean_blocks(list(result.body), title_words, links)
    paragraphs = [paragraph for block in blocks if (paragraph := xmltotxt(block, False).strip())]
    # the extractor's last resort dumps whatever text it finds; menus alone are not an article
    lines = [line for paragraph in paragraphs for line in paragraph.splitlines() if line.strip()]
    if all(_squash(line) in links for line in lines):
        return ""
    return "\n\n".join(paragraphs)


# --- metadata ------------------------------------------------------------------------------

_STOPWORDS = {
    "en": "the and of to in is that for with was on are",
    "de": "der die und das ist nicht mit den von zu ein",
    "fr": "le la les et des est une dans pour que pas",
    "es": "el la los las y que del en por una para con",
    "it": "il la che di e per una sono non della con",
    "pt": "o a os que de não uma para com do da em",
    "nl": "de het een en van is dat niet op te zijn",
    "ru": "и в не на что он с как это по но",
    "uk": "і в не на що та з як це до але",
    "pl": "i w nie na się że z do jest to jak",
}


_LANGUAGES_OF: dict[str, list[str]] = {}  # a function word -> the languages that have it ("la": es, fr, it)
for _lang, _stop in _STOPWORDS.items():
    for _word in _stop.split():
        _LANGUAGES_OF.setdefault(_word, []).append(_lang)


def _function_words(text: str) -> tuple[dict[str, int], int]:
    """How many of the opening's words are each language's function words, and how many words it has."""
    words = _tokens(text[:5000])
    scores = dict.fromkeys(_STOPWORDS, 0)
    for word, n in Counter(words).items():
        for lang in _LANGUAGES_OF.get(word, ()):
            scores[lang] += n
    return scores, len(words)


def _plain_language(scores: dict[str, int], n: int) -> str | None:
    """The language whose function words make up a clear share of an opening's n words, else None."""
    best = max(scores, key=scores.__getitem__)
    return best if n >= 20 and scores[best] >= 0.08 * n else None


def guess_language(text: str) -> str | None:
    """A two-letter language code from function-word counts, None when unclear."""
    return _plain_language(*_function_words(text))


def _language(tree: HtmlElement, meta: dict[str, str], article: dict[str, Any], text: str) -> str | None:
    """Primary language subtag from markup, else guessed from the text."""
    declared = tree.get("lang") or tree.get("xml:lang") or meta.get("content-language") or meta.get("og:locale")
    if not declared and isinstance(article.get("inLanguage"), str):
        declared = article["inLanguage"]
    if declared:
        code = re.split(r"[-_]", declared.strip())[0].lower()
        if code.isalpha() and 2 <= len(code) <= 3:
            # Many sites keep their template's lang="en" on every page: a text that is plainly in
            # another language says more (twice the function words of the declared one, or more). A
            # language without a word list here (Catalan, Bulgarian) is taken as declared.
            scores, n = _function_words(text)
            plain = _plain_language(scores, n)
            if code in scores and plain not in (None, code) and scores[code] * 2 < scores[plain]:
                return plain
            return code
    return guess_language(text)


def _host(url: str | None) -> str | None:
    """Host name without "www.", None for anything that is not an http(s) URL."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.removeprefix("www.")


def _canonical(tree: HtmlElement, meta: dict[str, str]) -> str | None:
    """The page's own idea of its URL (canonical link, then og:url)."""
    for link in tree.iterfind(".//link[@rel]"):
        if "canonical" in link.get("rel", "").lower().split() and _host(link.get("href")):
            return link.get("href").strip()
    candidate = meta.get("og:url")
    return candidate if _host(candidate) else None


_TITLE_PARTS = re.compile(r"\s+[|\-\u2013\u2014:\u00b7\u2022\u00bb/]\s+")


def _plain(text: str) -> str:
    """Lower-cased letters and digits only, for matching names loosely."""
    return "".join(_tokens(text))


def _strip_site(title: str, names: list[str]) -> str:
    """A headline without the " | Outlet" part that pages append or prepend."""
    separators = list(_TITLE_PARTS.finditer(title))
    if not separators:
        return title
    keys = {key for name in names if name and (key := _plain(name))}
    if _plain(title[separators[-1].end() :]) in keys:
        return title[: separators[-1].start()]
    if _plain(title[: separators[0].start()]) in keys:
        return title[separators[0].end() :]
    return title


def _site_names(meta: dict[str, str], article: dict[str, Any], url: str | None) -> list[str]:
    """What a page calls its site: og:site_name, publisher, host and its main label ("entermedia" of entermedia.co.kr)."""
    names = [meta.get("og:site_name") or "", meta.get("application-name") or "", *_names(article.get("publisher"))]
    host = _host(url)
    if host:
        names += [host, host.rpartition(".")[0], site_label(host) or host]
    return names


def _title(tree: HtmlElement, meta: dict[str, str], article: dict[str, Any], url: str | None) -> str | None:
    """Headline: og/twitter title, JSON-LD headline, first h1, then <title>; site name removed."""
    headline = article.get("headline") if isinstance(article.get("headline"), str) else None
    h1 = next((text for elem in tree.iter("h1") if not _is_branding(elem) and (text := _element_text(elem))), None)
    page_title = _element_text_or_none(tree, "title")
    for candidate in (meta.get("og:title"), meta.get("twitter:title"), headline, h1, page_title):
        if candidate and _squash(candidate):
            return _strip_site(_squash(candidate), _site_names(meta, article, url))
    return None


_BRANDING = re.compile(r"(?:^|[\s_-])(?:site[-_]?(?:title|name|logo|branding)|logo|brand|branding|masthead)(?:$|[\s_-])", re.I)


def _is_branding(elem: HtmlElement) -> bool:
    """Whether an <h1> is the site's name in its header (a logo, or a link home), not the headline."""
    for node in (elem, *elem.iterancestors()):
        if _BRANDING.search(f"{node.get('id', '')} {node.get('class', '')}"):
            return True
        if node.tag == "body":
            break
    return any((a.get("href") or "").strip() in ("/", "./", "#") for a in (*elem.iterancestors("a"), *elem.iter("a")))


def _element_text_or_none(tree: HtmlElement, tag: str) -> str | None:
    """Text of the first element with that tag, if any."""
    elem = tree.find(f".//{tag}")
    return _element_text(elem) if elem is not None else None


def _byline(meta: dict[str, str], article: dict[str, Any]) -> str | None:
    """Author names from JSON-LD, then author meta tags (URLs are not names)."""
    names = _names(article.get("author"))
    if not names:
        for key in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "byl"):
            value = meta.get(key)
            if value and not value.startswith(("http://", "https://")):
                names = [re.sub(r"^by\s+", "", value, flags=re.I)]
                break
    unique = list(dict.fromkeys(name for name in names if name))
    return ", ".join(unique) if unique else None


def _outlet(meta: dict[str, str], article: dict[str, Any], url: str | None) -> str | None:
    """Outlet name: og:site_name, JSON-LD publisher, else the host name."""
    publisher = _names(article.get("publisher"))
    # some sites pack a tagline or section list into og:site_name after a bar
    site = _TITLE_PARTS.split(meta.get("og:site_name", ""))[0].lstrip("@").strip()
    return site or (publisher[0] if publisher else None) or _host(url)


def _description(meta: dict[str, str], article: dict[str, Any]) -> str | None:
    """Summary line from og/meta/twitter description or JSON-LD."""
    for candidate in (meta.get("og:description"), meta.get("description"), meta.get("twitter:description")):
        if candidate:
            return candidate
    value = article.get("description")
    return _squash(value) if isinstance(value, str) and value.strip() else None


# --- entry point ---------------------------------------------------------------------------


def extract_html(html: str | bytes, source: str, url: str | None = None) -> Document:
    """Turn one HTML page into a Document; raise ExtractError when it has no main text."""
    text_html = decode_html(html) if isinstance(html, bytes) else html
    tree = parse_html(text_html)
    meta = meta_tags(tree)
    article = _article_item(json_ld(tree))
    page_url = url or _canonical(tree, meta)
    title = _title(tree, meta, article, page_url)
    h1 = _element_text_or_none(tree, "h1")
    text = main_text(tree, page_url, [candidate for candidate in (title, h1) if candidate])
    if not text and isinstance(article.get("articleBody"), str):
        # the JSON-LD copy is a last resort: it often lacks paragraph breaks or runs long
        text = article["articleBody"].strip()
    if not text:
        raise ExtractError(f"no main text found in {source}")
    published = find_published(tree, page_url, meta, article, text_html)
    return Document(
        source=source,
        kind="html",
        key=url or source,
        title=title,
        text=text,
        url=page_url,
        # In the page's own zone: its calendar day is the publication day (and dates the text's "yesterday");
        # the store keeps the instant in UTC. In UTC, an evening report from the Americas was a day late.
        published=published,
        outlet=_outlet(meta, article, page_url),
        byline=_byline(meta, article),
        language=_language(tree, meta, article, text),
        description=_description(meta, article),
    )
