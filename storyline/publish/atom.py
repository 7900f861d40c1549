"""`storyline export atom`: Atom feeds (RFC 4287) of events, for all stories or one, with stable entry ids.

One entry per live event: its id never changes (`tag:storyline,2025:<store>/event/<id>`, where <store>
is the store's own random identity, so two stores never share an id), `updated` is the later of the
event's last change and its story's last rename (the entry shows the story's title), and the entry
carries the event summary and its sources.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO
from xml.etree import ElementTree as ET

from .. import views
from ..store import Store
from .common import PublishError, clean_text, one_line, pick_tags, web_url

ATOM_NS = "http://www.w3.org/2005/Atom"
ID_PREFIX = "tag:storyline,2025:"  # a tag URI (RFC 4151): ids stay the same however often we export
EPOCH = "1970-01-01T00:00:00Z"  # for a stored time that does not parse: old, and the same on every fetch


@dataclass(frozen=True)
class AtomOptions:
    """Which events a feed carries and how it names itself."""

    story_id: int | None = None  # None: events of all stories
    limit: int = 100  # most recently updated events; < 0 for all
    title: str = "Storyline"
    self_url: str | None = None  # where the feed is served, for its rel="self" link


def rfc3339(value: str | None) -> str | None:
    """A stored timestamp as RFC 3339 UTC (`...Z`), or None when it does not parse."""
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def id_prefix(store: Store) -> str:
    """The start of every Atom id of this store: the tag prefix and the store's identity (migration 011)."""
    identity = store.get_state("store_id")
    if not identity:  # the migration made one; without it ids would clash with other stores'
        raise PublishError(f"{store.path}: the store has no identity (state 'store_id'); reopen it to migrate")
    return f"{ID_PREFIX}{identity}/"


def later(*stamps: str | None) -> str | None:
    """The latest of some stored timestamps, as RFC 3339 UTC (None when none parses)."""
    parsed = [s for s in (rfc3339(x) for x in stamps) if s]
    return max(parsed) if parsed else None


def text_el(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    """A child element holding text (cleaned of characters XML cannot carry)."""
    el = ET.SubElement(parent, tag, attrs)
    el.text = clean_text(text)
    return el


def entry_html(event: dict[str, Any], story_title: str | None) -> str:
    """The entry content: date, story, summary, key quote and the list of sources."""
    esc = lambda s: html.escape(clean_text(s or ""))  # noqa: E731 - local shorthand
    parts = [f"<p><strong>{esc(event['date'] or 'undated')}</strong>"
             + (f" · story: {esc(story_title)}" if story_title else "") + "</p>"]
    if event["summary"]:
        parts.append(f"<p>{esc(event['summary'])}</p>")
    if event.get("quote"):
        speaker = f"<br>— {esc(event['quote']['speaker'])}" if event["quote"]["speaker"] else ""
        parts.append(f"<blockquote>“{esc(event['quote']['text'])}”{speaker}</blockquote>")
    items = []
    for a in event["articles"]:
        title = esc(a["title"] or a["url"] or "untitled")
        link = web_url(a["url"])
        label = f'<a href="{html.escape(link, quote=True)}">{title}</a>' if link else title
        extra = " — ".join(esc(x) for x in (a["outlet"], (a["published"] or "")[:10]) if x)
        items.append(f"<li>{label}{' — ' + extra if extra else ''}</li>")
    parts.append(f"<p>Sources ({len(items)}):</p><ul>{''.join(items)}</ul>")
    return "".join(parts)


def entry(store: Store, row: Any, story_title: str | None, prefix: str, renamed: str | None) -> ET.Element:
    """One event as an Atom entry (`renamed`: when its story was last renamed, which its content shows)."""
    event = views.event_dict(store, row, detail=True)
    el = ET.Element("entry")
    text_el(el, "id", f"{prefix}event/{event['id']}")
    title = one_line(event["title"]) or f"event {event['id']}"
    text_el(el, "title", f"{event['date']}: {title}" if event["date"] else title)
    text_el(el, "updated", later(row["updated_at"], renamed) or rfc3339(row["created_at"]) or EPOCH)
    if published := rfc3339(row["created_at"]):
        text_el(el, "published", published)
    links = [u for u in dict.fromkeys(web_url(a["url"]) for a in event["articles"]) if u]
    if links:
        ET.SubElement(el, "link", {"rel": "alternate", "type": "text/html", "href": links[0]})
    for url in links[1:]:
        ET.SubElement(el, "link", {"rel": "related", "type": "text/html", "href": url})
    for term in pick_tags([e["name"] for e in event["entities"]], [], limit=6):
        ET.SubElement(el, "category", {"term": clean_text(term)})
    for outlet in event["outlets"]:
        ET.SubElement(el, "category", {"term": clean_text(outlet), "label": f"outlet: {clean_text(outlet)}"})
    text_el(el, "summary", one_line(event["summary"]) or title, type="text")
    text_el(el, "content", entry_html(event, story_title), type="html")
    return el


def feed_element(store: Store, options: AtomOptions) -> ET.Element:
    """The feed as an XML tree."""
    story = store.story(options.story_id) if options.story_id is not None else None
    if options.story_id is not None and story is None:
        raise PublishError(f"no story {options.story_id}")
    rows = store.feed_events(options.story_id, options.limit)
    prefix = id_prefix(store)
    renames = store.story_renames()
    titles: dict[int, str] = {}
    entries: list[ET.Element] = []
    for row in rows:
        sid = row["story_id"]
        if sid is not None and sid not in titles:
            found = store.story(sid)
            titles[sid] = one_line(found["title"]) if found else ""
        entries.append(entry(store, row, titles.get(sid) if sid is not None else None, prefix, renames.get(sid)))
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    text_el(feed, "id", f"{prefix}story/{options.story_id}" if story else f"{prefix}stories")
    text_el(feed, "title", one_line(story["title"]) if story else one_line(options.title) or "Storyline")
    if story:
        text_el(feed, "subtitle", f"Events of one story, from {one_line(options.title) or 'Storyline'}")
    # A feed changes when an entry does (a rename of a story shows in its entries). With no entries,
    # the time of a stored change (the story's last, or the store's creation), never the request's:
    # a reader would otherwise see a change on every fetch.
    stamps = [el.findtext("updated") for el in entries]
    if story and not entries:
        stamps.append(story["updated_at"])
    text_el(feed, "updated", later(*stamps) or later(store.get_state("store_created")) or EPOCH)
    author = ET.SubElement(feed, "author")
    text_el(author, "name", "Storyline")
    text_el(feed, "generator", "Storyline")
    if options.self_url and web_url(options.self_url):
        ET.SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": web_url(options.self_url) or ""})
    feed.extend(entries)
    return feed


def serialize(feed: ET.Element) -> bytes:
    """A feed tree as an indented UTF-8 XML document."""
    ET.indent(feed)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8", xml_declaration=False) + b"\n"


def render_atom(store: Store, options: AtomOptions) -> bytes:
    """The whole feed as UTF-8 XML."""
    return serialize(feed_element(store, options))


def write_atom(store: Store, out: BinaryIO, options: AtomOptions) -> int:
    """Write a feed to a binary stream; return how many entries it has."""
    feed = feed_element(store, options)
    out.write(serialize(feed))
    return len(feed.findall("entry"))
