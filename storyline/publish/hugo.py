"""`storyline export hugo DIR`: a Hugo content tree (one page per story, event and article) and a theme.

Pages live at `content/<section>/<kind>-<id>.md`, named by id so a re-export rewrites the same file
in place; the URL comes from the front-matter `slug`, which is kept from the previous export when
there is one, so published links survive a story being retitled. Front matter follows the form of
the founding seed (title, date, description, summary, slug, image, link, source, categories, tags,
draft) plus Storyline's own fields (page_kind, story/event/article ids, outlets, event_date), named
clear of the keys Hugo reserves (`kind`, `type`, `layout`, `url`, `path`, `lang`, `keywords`, ...).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml

from .. import views
from ..store import Store
from .atom import AtomOptions, render_atom
from .common import (PublishError, clean_text, first_sentence, inside, is_web_url, one_line, pick_tags, plain, web_url,
                     write_if_changed)
from .slugs import is_safe_slug, page_slug

SECTIONS = {"story": "stories", "event": "events", "article": "articles"}
SECTION_TITLES = {"stories": "Stories", "events": "Events", "articles": "Articles"}
CONFIG_MARK = "# Written by `storyline export hugo`."
_OURS = re.compile(r"^(story|event|article)-\d+\.(md|xml)$")
# Markdown that could turn text into markup: inline syntax, HTML, entities and Hugo shortcodes (`{{<`)
# anywhere; block syntax (headings, lists, quotes, definitions) only where a line starts.
_MD_INLINE = re.compile(r"([\\`*_{}\[\]()<>|~&])")
_MD_LINE_START = re.compile(r"^(?:([#+\-=>:])|(\d+)([.)]))")
_SPACE = re.compile(r"\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")
KEYWORD_CHUNK = 500  # ids per IN (...) query when gathering a story's keywords


@dataclass(frozen=True)
class HugoOptions:
    """How a Hugo site is exported."""

    site_title: str = "Storyline"
    base_url: str = "/"
    full_text: bool = False  # article pages carry the whole text instead of an excerpt
    excerpt_chars: int = 600
    feed_limit: int = 200  # events in the site's Atom feed of all stories
    # Called with (pages done, pages in all) as the export goes: a large store takes minutes.
    progress: Callable[[int, int], None] | None = field(default=None, compare=False)


@dataclass
class HugoReport:
    """What an export wrote."""

    written: int = 0
    unchanged: int = 0
    removed: int = 0
    pages: Counter[str] = field(default_factory=Counter)
    config_kept: bool = False  # an existing config.toml not written by us was left alone

    def summary(self) -> str:
        """The one-line summary the CLI prints."""
        kinds = ", ".join(f"{self.pages[k]} {SECTIONS[k]}" for k in SECTIONS)
        return f"{kinds}; {self.written} files written, {self.unchanged} unchanged, {self.removed} removed"


@dataclass
class Page:
    """One content file: front matter and a Markdown body."""

    kind: str
    item_id: int
    front: dict[str, Any]
    body: str

    @property
    def path(self) -> str:
        """Where the page lives under the site folder."""
        return f"content/{SECTIONS[self.kind]}/{self.kind}-{self.item_id}.md"

    def render(self) -> bytes:
        """The page file."""
        return render_page(self.front, self.body)


class _FrontDumper(yaml.SafeDumper):
    """YAML without anchors (a list used twice is written out twice), every string value in double quotes.

    Hugo's YAML reader takes `Y`, `n`, `off`, `1e6` or `0o17` as booleans and numbers where PyYAML's
    does not, so plain strings like these lost their text (a title "1e6" showed as 1000000).
    """

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_str(self, data: str) -> yaml.ScalarNode:
        return self.represent_scalar("tag:yaml.org,2002:str", data, style='"')

    def represent_dict(self, data: dict[Any, Any]) -> yaml.MappingNode:
        # keys are our own field names: left plain, as in the seed's front matter
        pairs = [(yaml.ScalarNode("tag:yaml.org,2002:str", str(k)), self.represent_data(v)) for k, v in data.items()]
        return yaml.MappingNode("tag:yaml.org,2002:map", pairs)


_FrontDumper.add_representer(str, _FrontDumper.represent_str)
_FrontDumper.add_representer(dict, _FrontDumper.represent_dict)

TAXONOMIES = ("categories", "tags")
# Hugo makes a folder of each term: a segment over 255 bytes ("file name too long") broke the build.
TERM_BYTES = 150
_PATH_SEPARATORS = re.compile(r"[/\\]")


def taxonomy_term(term: str) -> str:
    """A term as Hugo can make a page of it: at most TERM_BYTES of UTF-8; '' when it cannot.

    A term with a '.' or '..' path segment ("..", "a/../../b") names a folder outside the taxonomy,
    and the build failed with "missing taxonomy".
    """
    cut = term.encode("utf-8")[:TERM_BYTES].decode("utf-8", "ignore").strip()
    return "" if any(part.strip() in (".", "..") for part in _PATH_SEPARATORS.split(cut)) else cut


def render_page(front: dict[str, Any], body: str) -> bytes:
    """A content file: YAML front matter between `---` lines, then the Markdown body."""
    front = {k: list(dict.fromkeys(t for t in map(taxonomy_term, map(str, v)) if t)) if k in TAXONOMIES else v
             for k, v in front.items()}
    text = yaml.dump(front, Dumper=_FrontDumper, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{text}---\n\n{body.strip()}\n".encode("utf-8")


class _Site:
    """The export's target folder: safe writes, counts, and which generated files this run produced."""

    def __init__(self, root: Path, report: HugoReport) -> None:
        self.root = root
        self.report = report
        self.produced: set[str] = set()

    def write(self, relative: str, data: bytes) -> None:
        """Write one file under the site folder (only when its bytes change)."""
        if write_if_changed(self.root, relative, data):
            self.report.written += 1
        else:
            self.report.unchanged += 1
        self.produced.add(relative)

    def old_slug(self, page: Page) -> str | None:
        """The slug an earlier export gave this page, when it is ours and safe."""
        path = inside(self.root, page.path)
        if not path.is_file():
            return None
        front = read_front_matter(path.read_text(encoding="utf-8", errors="replace"))
        slug = front.get("slug")
        return slug if is_safe_slug(slug, page.item_id) else None

    def add(self, page: Page) -> None:
        """Give a page its slug (kept from the last export, else from its title) and write it."""
        slug = self.old_slug(page) or page_slug(page.kind, page.item_id, page.front["title"])
        page.front["slug"] = slug
        self.write(page.path, page.render())
        self.report.pages[page.kind] += 1

    def remove_stale(self, folders: Iterable[str]) -> None:
        """Delete generated files no longer produced (events merged away, ...); others are left alone."""
        for folder in folders:
            base = inside(self.root, folder)
            if not base.is_dir():
                continue
            for entry in base.iterdir():
                relative = f"{folder}/{entry.name}"
                if _OURS.match(entry.name) and relative not in self.produced and not entry.is_dir():
                    entry.unlink()
                    self.report.removed += 1


def read_front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a page ({} when there is none or it does not parse)."""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    try:
        data = yaml.safe_load(text[4:end]) if end > 0 else None
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


# -- Markdown -------------------------------------------------------------------------------


def md(text: str | None) -> str:
    """Text as one line of Markdown that renders literally: no markup, HTML or Hugo shortcodes."""
    inline = _MD_INLINE.sub(r"\\\1", _SPACE.sub(" ", clean_text(text)).strip())
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", inline)


def md_paragraphs(text: str | None) -> str:
    """Plain text as literal Markdown paragraphs."""
    return "\n\n".join(p for p in (md(part) for part in _PARAGRAPH.split(clean_text(text))) if p)


def ref(kind: str, item_id: int, title: str | None) -> str:
    """A Markdown link to another exported page, resolved by Hugo (so it follows the page's slug)."""
    target = f"/{SECTIONS[kind]}/{kind}-{int(item_id)}.md"
    return f'[{md(title) or f"{kind} {int(item_id)}"}]({{{{< relref "{target}" >}}}})'


def out_link(url: str | None, label: str = "original") -> str:
    """A Markdown link to an outside page, or '' when the URL is not a web address."""
    safe = web_url(url)
    return f"[{label}]({safe})" if safe else ""


def quote_md(quote_: dict[str, Any] | None) -> str:
    """A key quote as a Markdown block quote."""
    if not quote_:
        return ""
    speaker = f" — {md(quote_['speaker'])}" if quote_.get("speaker") else ""
    return f"> “{md(quote_['text'])}”{speaker}"


# -- front matter pieces ----------------------------------------------------------------------


def day(value: str | None) -> date | None:
    """A YYYY-MM-DD string as a date (written unquoted, as in the seed), or None."""
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def public_source(source: str | None) -> str:
    """Where an article came from, without publishing local file paths (only the file name)."""
    if not source:
        return ""
    if is_web_url(source):
        return clean_text(source)
    return clean_text(Path(source).name)


def first_link(articles: list[dict[str, Any]]) -> str:
    """The first web URL among some articles ('' when none)."""
    return next((a["url"] for a in articles if web_url(a["url"])), "")


def keywords_of(store: Store, article_ids: list[int]) -> Iterator[list[str]]:
    """The keyword lists of many articles, fetched in chunks."""
    for i in range(0, len(article_ids), KEYWORD_CHUNK):
        yield from store.article_keywords(article_ids[i : i + KEYWORD_CHUNK])


def base_front(title: str, when: date | str | None, description: str, summary: str) -> dict[str, Any]:
    """The seed's fields in the seed's order; the caller fills the rest (an unknown date stays null)."""
    return {
        "title": one_line(title) or "(untitled)",
        "date": when,
        "description": description,
        "summary": summary,
        "slug": "",
        "image": "",
        "link": "",
        "source": "",
        "categories": [],
        "tags": [],
        "draft": False,
    }


# -- pages -----------------------------------------------------------------------------------


def story_page(store: Store, data: dict[str, Any]) -> Page:
    """A story's page: its timeline of events, oldest first, each with date, outlets, summary and quote."""
    events = data["events"]
    dates = [e["date"] for e in events if e["date"]]
    outlets = sorted({o for e in events for o in e["outlets"]}, key=str.lower)
    latest = next((e for e in reversed(events) if e["date"]), events[-1])  # undated events come last, not latest
    mentions: Counter[str] = Counter()
    for e in events:
        for ent in e["entities"]:
            mentions[ent["name"]] += ent["count"]
    ids = [a["id"] for e in events for a in e["articles"]]
    span = f"{dates[0]} to {dates[-1]}" if dates else "undated"
    front = base_front(
        data["title"],
        day(dates[-1]) if dates else None,
        f"{len(events)} events, {span}, covered by {len(outlets)} outlets.",
        one_line(latest["summary"]),
    )
    front.update(
        link=first_link(latest["articles"]),
        categories=outlets,
        tags=pick_tags([n for n, _ in mentions.most_common()], keywords_of(store, ids)),
        page_kind="story",
        story_id=data["id"],
        event_ids=[e["id"] for e in events],
        outlets=outlets,
        event_date=dates[-1] if dates else None,
        first_event_date=dates[0] if dates else None,
        feed=f"feeds/story-{data['id']}.xml",
    )
    body = [f"{len(events)} events, {md(span)}."]
    for e in events:
        # an explicit anchor: generated ones would spell out Hugo's shortcode placeholder
        body.append(f"## {md(e['date'] or 'undated')} · {ref('event', e['id'], e['title'])} {{#event-{e['id']}}}")
        if e["outlets"]:
            body.append(f"**Outlets:** {md(', '.join(e['outlets']))}")
        if e["summary"]:
            body.append(md(e["summary"]))
        if e["quote"]:
            body.append(quote_md(e["quote"]))
    return Page("story", data["id"], front, "\n\n".join(body))


def event_page(store: Store, data: dict[str, Any]) -> Page:
    """An event's page: date and its evidence, summary, key quote, and every article that covered it."""
    arts = data["articles"]
    front = base_front(data["title"], day(data["date"]), first_sentence(data["summary"]), one_line(data["summary"]))
    story = store.story(data["story_id"]) if data["story_id"] is not None else None
    front.update(
        link=first_link(arts),
        source=public_source(arts[0]["source"]) if arts else "",
        categories=data["outlets"],
        tags=pick_tags([e["name"] for e in data["entities"]], keywords_of(store, [a["id"] for a in arts])),
        page_kind="event",
        story_id=data["story_id"],
        event_id=data["id"],
        article_ids=[a["id"] for a in arts],
        outlets=data["outlets"],
        event_date=data["date"],
        date_method=data["date_method"],
    )
    body = []
    if story is not None:
        body.append(f"Part of the story {ref('story', story['id'], story['title'])}.")
    when = md(data["date"] or "undated")
    if data["date_method"] == "text" and data["date_evidence"]:
        when += f" (from the text: “{md(data['date_evidence'])}”)"
    elif data["date_method"]:
        when += " (publication date)"
    body.append(f"**Date:** {when}")
    if data["summary"]:
        body.append(md(data["summary"]))
    if data["quote"]:
        body.append(quote_md(data["quote"]))
    body.append("## Coverage")
    lines = []
    for a in arts:
        bits = [ref("article", a["id"], a["title"])]
        if a["outlet"]:
            bits.append(md(a["outlet"]))
        if a["published"]:
            bits.append(md(a["published"][:10]))
        if link := out_link(a["url"]):
            bits.append(link)
        lines.append("- " + " · ".join(bits))
    body.append("\n".join(lines) or "No articles.")
    return Page("event", data["id"], front, "\n\n".join(body))


def article_page(store: Store, row: Any, options: HugoOptions) -> Page:
    """An article's page: outlet, dates, its event, and an excerpt (or the full text) with the original link."""
    entities = json.loads(row["entities_json"] or "[]")
    text = row["text"] or ""
    lead = plain(row["description"]) or text  # descriptions may carry a feed's HTML
    outlets = [row["outlet"]] if row["outlet"] else []
    front = base_front(row["title"], row["published"], first_sentence(lead), one_line(lead, 400))
    front.update(
        link=row["url"] or "",
        source=public_source(row["source"]),
        categories=outlets,
        tags=pick_tags([e["name"] for e in entities], [json.loads(row["keywords"] or "[]")]),
        page_kind="article",
        story_id=row["story_id"],
        event_id=row["event_id"],
        article_id=row["id"],
        outlets=outlets,
        event_date=row["event_date"],
        article_kind=row["kind"],
        duplicate_of=row["duplicate_of"],
        listed_by=row["listed_by"],
    )
    body = []
    meta = [md(row["outlet"]) if row["outlet"] else "", md(row["byline"]) if row["byline"] else ""]
    meta += [f"published {md(row['published'][:10])}" if row["published"] else "", out_link(row["url"])]
    body.append(" · ".join(m for m in meta if m))
    if row["event_id"] is not None:
        event = store.event(row["event_id"])
        body.append(f"Reports the event {ref('event', row['event_id'], event['title'] if event else None)}.")
    if row["duplicate_of"] is not None:
        body.append(f"A {md(row['duplicate_kind'] or '')} duplicate of {ref('article', row['duplicate_of'], None)}.")
    if row["listed_by"] is not None:
        body.append(f"Listed as coverage by {ref('article', row['listed_by'], None)}.")
    if text:
        shown = text if options.full_text else one_line(text, options.excerpt_chars)
        body.append(md_paragraphs(shown))
    elif row["description"]:
        body.append(md(plain(row["description"])))
    return Page("article", row["id"], front, "\n\n".join(b for b in body if b))


# -- site ------------------------------------------------------------------------------------


def theme_files(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """Every file of the bundled theme as (relative path, bytes)."""
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith((".", "__")):
            continue
        if entry.is_dir():
            yield from theme_files(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry.read_bytes()


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, once control characters are gone)."""
    return json.dumps(clean_text(value).replace("\x7f", ""), ensure_ascii=False)


def config_text(options: HugoOptions) -> str:
    """The site's config.toml: our theme, relative URLs, future-dated events built, no raw HTML."""
    return "\n".join(
        [
            f"{CONFIG_MARK} Delete this line to keep your own edits: later exports then leave the file alone.",
            f"baseURL = {toml_string(options.base_url)}",
            f"title = {toml_string(options.site_title)}",
            'theme = "storyline"',
            "relativeURLs = true",
            "buildFuture = true  # an event may be dated after the build",
            'refLinksErrorLevel = "WARNING"  # a page gone between two exports must not break the build',
            "[taxonomies]",
            '  category = "categories"',
            '  tag = "tags"',
            "[markup.goldmark.renderer]",
            "  unsafe = false  # titles and texts come from the web: never pass their HTML through",
            "[params]",
            '  feed = "atom.xml"',
            "",
        ]
    )


def write_scaffold(site: _Site, options: HugoOptions) -> None:
    """The theme, the config (unless the user owns it) and the section index pages."""
    for relative, data in theme_files(resources.files("storyline") / "hugo_theme"):
        site.write(f"themes/storyline/{relative}", data)
    config = inside(site.root, "config.toml")
    if config.exists() and not config.read_text(encoding="utf-8", errors="replace").startswith(CONFIG_MARK):
        site.report.config_kept = True
    else:
        site.write("config.toml", config_text(options).encode("utf-8"))
    home = {"title": one_line(options.site_title) or "Storyline", "draft": False}
    site.write("content/_index.md", render_page(home, "Stories followed across outlets, with their timelines."))
    for section, title in SECTION_TITLES.items():
        site.write(f"content/{section}/_index.md", render_page({"title": title, "draft": False}, ""))


def write_feeds(store: Store, site: _Site, story_ids: list[int], options: HugoOptions) -> None:
    """Atom feeds beside the pages: all stories, and one per story."""
    site.write("static/atom.xml", render_atom(store, AtomOptions(limit=options.feed_limit, title=options.site_title)))
    for sid in story_ids:
        site.write(f"static/feeds/story-{sid}.xml", render_atom(store, AtomOptions(story_id=sid, limit=-1)))


def export_hugo(store: Store, folder: Path, options: HugoOptions) -> HugoReport:
    """Write (or update in place) a Hugo site for the whole store under `folder`."""
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise PublishError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    report = HugoReport()
    site = _Site(root, report)
    write_scaffold(site, options)
    with store.snapshot():
        counts = store.counts()
        total, done = counts["stories"] + counts["events"] + counts["articles"], 0

        def tick() -> None:
            nonlocal done
            done += 1
            if options.progress and done % 100 == 0:
                options.progress(done, total)

        story_ids = []
        for sid in store.live_story_ids():
            data = views.story_dict(store, sid, detail=True)
            if data and data["events"]:
                site.add(story_page(store, data))
                story_ids.append(sid)
            tick()
        for event in store.iter_live_events():
            site.add(event_page(store, views.event_dict(store, event, detail=True)))
            tick()
        for row in store.iter_articles():
            if row["merged_into"] is None:  # listed coverage matched to a full text is that article's page
                site.add(article_page(store, row, options))
            tick()
        write_feeds(store, site, story_ids, options)
        if options.progress:
            options.progress(total, total)
    site.remove_stale([f"content/{s}" for s in SECTIONS.values()] + ["static/feeds"])
    return report
