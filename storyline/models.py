"""Plain data records passed between pipeline stages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class LinkedItem:
    """An article an aggregator lists beside an item (Google News `<ol>`): no text yet."""

    title: str
    url: str | None = None
    outlet: str | None = None


@dataclass
class Document:
    """One article-like record parsed from an input, before it is stored."""

    source: str
    kind: str  # text | markdown | html | feed-item | linked
    key: str  # stable identity, so re-ingesting the same input adds nothing
    title: str | None = None
    text: str = ""
    url: str | None = None
    published: datetime | None = None
    outlet: str | None = None
    byline: str | None = None
    language: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    linked: list[LinkedItem] = field(default_factory=list)
    title_inferred: bool = False

    def __post_init__(self) -> None:
        self.published = plausible(self.published)


# Control characters (line breaks and tabs aside), bidirectional overrides and isolates, and what is
# not a character: untrusted text carries terminal escapes and reordered titles into every output.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


# Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) or with
# particles joined to them (Korean): search looks them up by trigram, dedup shingles them by character.
UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]")
# Labels of a host that name no site: second levels ("co" of .co.uk) and common subdomains ("news").
_GENERIC_LABELS = frozenset("www co com net org ac or ne go gov edu news m feeds rss".split())


def site_label(host: str) -> str | None:
    """The label of a host that names its site: "entermedia" of entermedia.co.kr, "tut" of news.tut.by."""
    labels = [label for label in host.lower().split(".")[:-1] if label and label not in _GENERIC_LABELS]
    return labels[-1] if labels else None


def strip_controls(text: str) -> str:
    """Text without control characters other than line breaks and tabs, bidi overrides or non-characters."""
    return _CONTROLS.sub("", text)


def sanitize(doc: Document) -> Document:
    """Strip control characters from a document's text fields, in place (before anything reads them)."""
    doc.text = strip_controls(doc.text)
    for name in ("title", "outlet", "byline", "description", "url", "language"):
        value = getattr(doc, name)
        if value:
            setattr(doc, name, strip_controls(value))
    doc.tags = [strip_controls(t) for t in doc.tags]
    for item in doc.linked:
        for name in ("title", "outlet", "url"):
            value = getattr(item, name, None)
            if value:
                setattr(item, name, strip_controls(value))
    return doc


# Publication years a news report can have; feeds write 0001-01-01 for "unknown", and days counted
# back or forth from such a date leave the calendar (an OverflowError lost the whole input).
PLAUSIBLE_YEARS = (1800, 2200)


def plausible(when: datetime | None) -> datetime | None:
    """A publication date, or None for a placeholder (Go's zero time 0001-01-01T00:00:00Z, 9999-12-31)."""
    return when if when is not None and PLAUSIBLE_YEARS[0] <= when.year <= PLAUSIBLE_YEARS[1] else None


@dataclass
class TextMeta:
    """Metadata read from the header lines of already-scraped text."""

    title: str | None = None
    title_inferred: bool = False
    published: datetime | None = None
    outlet: str | None = None
    byline: str | None = None


@dataclass
class Entity:
    """A named person, place or organisation."""

    name: str
    kind: str  # person | place | org
    count: int = 1


@dataclass
class Quote:
    """A quoted statement and who said it, when that can be told."""

    text: str
    speaker: str | None = None


@dataclass
class Enrichment:
    """What enrichment adds to an article."""

    entities: list[Entity] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)


@dataclass
class EventDate:
    """When an event happened, and why we think so."""

    day: date
    method: str  # text | published
    evidence: str


@dataclass
class IngestResult:
    """Counts reported at the end of an ingest run."""

    new: int = 0
    duplicates: int = 0
    unchanged: int = 0
    updated: int = 0  # stored articles whose input changed (their earlier text kept as a version)
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The one-line summary the CLI prints."""
        return (
            f"{self.new} new, {self.duplicates} duplicates, {self.failed} failed"
            + (f", {self.updated} updated" if self.updated else "")
            + (f", {self.unchanged} inputs unchanged since stored" if self.unchanged else "")
        )
