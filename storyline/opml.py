"""OPML subscription lists, the format Miniflux, FreshRSS, Feedly and others import and export."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

from lxml import etree

MAX_OPML_BYTES = 10_000_000
_BARE_AMPERSAND = re.compile(rb"&(?!#?\w+;)")
_CLOSED = re.compile(rb"</opml\s*>", re.I)


class OpmlError(ValueError):
    """An OPML file that cannot be read; the message is one line."""


@dataclass
class Outline:
    """One subscription in an OPML file."""

    url: str
    name: str | None = None
    category: str | None = None


def parse_opml(data: bytes) -> list[Outline]:
    """The feed outlines of an OPML document (nested folders become categories), first occurrence kept."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"refused: OPML file larger than {MAX_OPML_BYTES // 1_000_000} MB")
    if b"<!ENTITY" in data.upper():
        raise OpmlError("refused: OPML with entity declarations (XML entity expansion)")
    root = _parse(data)
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise OpmlError("not an OPML file: no <opml> root element")
    found: dict[str, Outline] = {}
    for node in root.iter("{*}outline", "outline"):
        url = (node.get("xmlUrl") or node.get("xmlurl") or "").strip()
        if not url and (node.get("type") or "").lower() not in ("link", "include"):
            url = (node.get("url") or "").strip()  # older files; a "link" outline's url is a web page, not a feed
        if not url:
            continue  # a folder
        name = (node.get("title") or node.get("text") or "").strip() or None
        found.setdefault(url, Outline(url, name, _folder(node)))
    return list(found.values())


def _parse(data: bytes) -> etree._Element | None:
    """The document's root; a file cut off mid-list is refused, not read in part.

    Other slips that readers and scripts make (a bare & in a URL, HTML entities in a title, bytes of
    another charset, a blank line before the declaration) are read past, as lenient readers do.
    """
    def parse(recover: bool) -> etree._Element | None:
        # No DTDs, no entity resolution, no network: an OPML file is untrusted input.
        options = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=recover)
        return etree.fromstring(_BARE_AMPERSAND.sub(b"&amp;", data.lstrip()), etree.XMLParser(**options))

    try:
        return parse(recover=False)
    except etree.XMLSyntaxError as exc:
        if not _CLOSED.search(data[-4096:]):
            raise OpmlError(f"malformed OPML: {exc} (the file ends before </opml>: cut off?)") from None
    try:
        return parse(recover=True)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"malformed OPML: {exc}") from None


def _folder(node: etree._Element) -> str | None:
    """The folders an outline sits in, outermost first ("News/World")."""
    names = []
    for parent in node.iterancestors():
        if etree.QName(parent).localname != "outline" or parent.get("xmlUrl"):
            break
        if name := (parent.get("title") or parent.get("text") or "").strip():
            names.append(name)
    return "/".join(reversed(names)) or None


def write_opml(outlines: list[Outline], title: str = "Storyline subscriptions") -> bytes:
    """An OPML 2.0 document listing the subscriptions, grouped by category."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(timezone.utc))
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for outline in outlines:
        parent = body
        if outline.category:
            if outline.category not in folders:
                folders[outline.category] = etree.SubElement(body, "outline", text=outline.category, title=outline.category)
            parent = folders[outline.category]
        name = outline.name or outline.url
        etree.SubElement(parent, "outline", type="rss", text=name, title=name, xmlUrl=outline.url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
