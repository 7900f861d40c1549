"""A story as an Atom feed: one entry per event, updated when the event gains coverage.

Small on purpose: the exporter in `storyline.publish` is the place for a full one; this renders
what the web app already has in hand.
"""

from __future__ import annotations

import re
from typing import Any, Sequence
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str | None) -> str:
    """Text without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", value or "")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """Append a child element in the Atom namespace."""
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = _text(text)
    return el


def _entry_content(event: dict[str, Any]) -> str:
    """An entry's plain-text body: summary, key quote, coverage."""
    parts = [event["summary"]] if event["summary"] else []
    if event["quote"]:
        speaker = event["quote"]["speaker"] or "unattributed"
        parts.append(f"“{event['quote']['text']}” — {speaker}")
    parts.append(f"{event['n_reports']} reports, {event['n_independent']} independent: {', '.join(event['outlets'])}")
    return "\n\n".join(parts)


def story_feed(story: dict[str, Any], events: Sequence[dict[str, Any]], base_url: str) -> bytes:
    """The Atom document of a story; `events` newest update first, `base_url` without a trailing slash."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    story_url = f"{base_url}/stories/{story['id']}"
    _sub(feed, "id", story_url)
    _sub(feed, "title", story["title"])
    _sub(feed, "updated", max((e["updated_at"] for e in events), default=story.get("updated_at") or "1970-01-01T00:00:00+00:00"))
    _sub(feed, "link", href=story_url, rel="alternate", type="text/html")
    _sub(feed, "link", href=f"{story_url}/feed.atom", rel="self", type="application/atom+xml")
    _sub(feed, "generator", "Storyline")
    author = _sub(feed, "author")
    _sub(author, "name", "Storyline")
    for event in events:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"{base_url}/events/{event['id']}")
        when = f"{event['date']}: " if event["date"] else ""
        _sub(entry, "title", when + (event["title"] or f"Event {event['id']}"))
        _sub(entry, "published", event["created_at"])
        _sub(entry, "updated", event["updated_at"])
        _sub(entry, "link", href=f"{base_url}/events/{event['id']}", rel="alternate", type="text/html")
        for outlet in event["outlets"][:20]:
            _sub(entry, "category", term=_text(outlet))
        _sub(entry, "summary", _text(event["summary"] or event["title"]), type="text")
        _sub(entry, "content", _entry_content(event), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
