"""Server-rendered pages: stories, a story's timeline, events, articles, search, corrections.

No page needs JavaScript: charts are inline SVG, folding is <details>, edits are plain forms that
redirect to their result.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BeforeValidator

from .. import search as search_mod
from .. import watch
from ..corrections import BadValue, Corrector, corrections_log
from ..publish.atom import AtomOptions, render_atom
from ..store import Store, utcnow
from . import reading
from .api import date_range, default_every
from .app import PastLastPage, is_head, store_dep
from .charts import coverage_chart
from .present import Pager, pager, valid_seen
from .schemas import MAX_ID

router = APIRouter(include_in_schema=False)

StoreDep = Annotated[Store, Depends(store_dep)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
# The search form sends the filters left empty as "from=&story=": empty means no filter.
Blank = BeforeValidator(lambda value: None if isinstance(value, str) and not value.strip() else value)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
STORIES_PER_PAGE = 25
EVENTS_PER_PAGE = 30  # a page of a long story stays quick: its work grows with the events shown
REPORTS_PER_EVENT = 12  # a story page lists this many reports of each event, with a link to the rest
SEARCH_PER_PAGE = 20
FEED_EVENTS = 50
SEEN_MAX_AGE = 365 * 86400
MOVED = 302  # not 301: browsers would keep a permanent redirect whatever later edits do


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered as a page."""
    html = request.app.state.templates.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status)


def remember_visit(request: Request, response: Response, name: str, path: str) -> None:
    """Note the time of this visit, so the next one can mark what is new."""
    if is_head(request):
        return  # a link checker's or feed reader's probe, not a visit: it must not clear the user's marks
    response.set_cookie(name, utcnow(), max_age=SEEN_MAX_AGE, path=path, httponly=True, samesite="lax")


def page_of(request: Request, total: int, per_page: int, page: int) -> Pager:
    """Where `page` sits among the pages of `total` items; 404 past the last page of a listing that has items."""
    found = pager(total, per_page, page)
    if total and page > found.pages:
        raise PastLastPage(request, page, found.pages)
    return found


@router.get("/", response_class=HTMLResponse)
@router.get("/stories", response_class=HTMLResponse)
def stories_page(request: Request, store: StoreDep, page: PageNo = 1) -> Response:
    """Active stories, newest development first."""
    cards, total = reading.story_cards(store, STORIES_PER_PAGE, (page - 1) * STORIES_PER_PAGE)
    pages = page_of(request, total, STORIES_PER_PAGE, page)
    seen = valid_seen(request.cookies.get("seen_list"))
    for card in cards:
        card["chart"] = coverage_chart(card["coverage"])
        card["updated"] = bool(seen and card["updated_at"] and card["updated_at"] > seen)
    response = render(request, "stories.html", title="Stories", cards=cards, pager=pages)
    remember_visit(request, response, "seen_list", "/")
    return response


def _story(store: Store, story_id: int, days: bool = True) -> dict[str, Any]:
    """A story's header, or 404."""
    summary = reading.story_summary(store, story_id, days)
    if summary is None:
        raise HTTPException(404, f"no story {story_id}")
    return summary


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(request: Request, store: StoreDep, story_id: Id, page: PageNo = 1) -> Response:
    """A story's timeline: dated events, who covered them, what is new since the last visit."""
    story = _story(store, story_id, days=False)  # the chart is counted in bars by the store instead
    if story["merged_into"] is not None:
        return RedirectResponse(f"/stories/{story['merged_into']}", status_code=MOVED)
    seen = valid_seen(request.cookies.get("seen"))
    # The page charts the story, not each event: no per-event coverage days.
    events, total = reading.timeline(
        store, story_id, EVENTS_PER_PAGE, (page - 1) * EVENTS_PER_PAGE, seen, days=False, shown=REPORTS_PER_EVENT
    )
    pages = page_of(request, total, EVENTS_PER_PAGE, page)
    chart = reading.story_chart(store, story_id, width=720, height=72, max_bars=90, min_days=7)
    response = render(
        request, "story.html", title=story["title"], story=story, events=events, chart=chart, seen=seen, pager=pages,
    )
    remember_visit(request, response, "seen", f"/stories/{story_id}")
    return response


@router.get("/stories/{story_id}/feed.atom")
def story_atom(request: Request, store: StoreDep, story_id: Id) -> Response:
    """A story as an Atom feed (the publish exporter's): one entry per event, newest update first."""
    story = _story(store, story_id)
    if story["merged_into"] is not None:
        return RedirectResponse(f"/stories/{story['merged_into']}/feed.atom", status_code=MOVED)
    options = AtomOptions(story_id=story_id, limit=FEED_EVENTS, self_url=str(request.url.remove_query_params("page")))
    return Response(render_atom(store, options), media_type="application/atom+xml")


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, store: StoreDep, event_id: Id) -> Response:
    """All coverage of an event side by side, copies folded under their originals."""
    row = store.event(event_id)
    if row is None:
        raise HTTPException(404, f"no event {event_id}")
    if row["merged_into"] is not None:
        return RedirectResponse(f"/events/{row['merged_into']}", status_code=MOVED)
    event = reading.event_details(store, [row])[0]
    story = store.story(row["story_id"]) if row["story_id"] is not None else None
    chart = coverage_chart(event["coverage"], width=480, height=48, max_bars=60, min_days=7)
    return render(request, "event.html", title=event["title"] or f"Event {event_id}", event=event, story=story, chart=chart)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, store: StoreDep, article_id: Id) -> Response:
    """An article's clean text (escaped: it is untrusted), metadata, entities, quotes and copies."""
    article = reading.article_detail(store, article_id)
    if article is None:
        raise HTTPException(404, f"no article {article_id}")
    original = store.article(article["duplicate_of"]) if article["duplicate_of"] else None
    found_as = store.article(article["merged_into"]) if article["merged_into"] else None
    return render(
        request, "article.html", title=article["title"] or f"Article {article_id}", article=article,
        original=original, found_as=found_as,
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    store: StoreDep,
    q: Annotated[str, Query(max_length=500)] = "",
    start: Annotated[Optional[date], Query(alias="from"), Blank] = None,
    end: Annotated[Optional[date], Query(alias="to"), Blank] = None,
    outlet: Annotated[str, Query(max_length=200)] = "",
    entity: Annotated[str, Query(max_length=200)] = "",
    story: Annotated[Optional[int], Query(ge=1, le=MAX_ID), Blank] = None,
    page: PageNo = 1,
) -> Response:
    """Full-text search with filters, matches highlighted; filters alone list the articles that pass them."""
    date_range(start, end)
    outlet, entity = outlet.strip(), entity.strip()
    row = store.story(story) if story is not None else None
    # A mistyped story number would list nothing and read as a story without articles: say there is none.
    missing_story = story if story is not None and row is None else None
    story_title = row["title"] if row is not None else None
    query = search_mod.SearchQuery(
        q, start, end, outlet or None, entity or None, story, False, SEARCH_PER_PAGE, (page - 1) * SEARCH_PER_PAGE,
    )
    searchable = not missing_story and (search_mod.has_words(q) or search_mod.has_filter(query))
    results = search_mod.search(store, query) if searchable else None
    about = q.strip() or _filters_named(entity, outlet, story, story_title)
    # Asked for something that lists nothing alone (dates, or a query of only "*" or quotes): say why.
    unsearchable = not searchable and not missing_story and bool(q.strip() or start or end)
    # Other search boxes take these as operators; here every word must occur, these too.
    operators = " and ".join(dict.fromkeys(re.findall(r"\b(OR|AND|NOT)\b", re.sub(r'"[^"]*"', "", q))))
    return render(
        request, "search.html", title=f"Search: {about}" if about else "Search", q=q, start=start, end=end,
        outlet=outlet, entity=entity, story=story, results=results, about=about, unsearchable=unsearchable, operators=operators,
        missing_story=missing_story, pager=page_of(request, results["total"], SEARCH_PER_PAGE, page) if results else None,
        status=404 if missing_story else 200,
    )


def _filters_named(entity: str, outlet: str, story: int | None, story_title: str | None = None) -> str:
    """The filters of a search without words, as the page names what it lists."""
    titled = f"story #{story} “{story_title}”" if story_title else f"story #{story}"
    named = [f"entity “{entity}”" if entity else "", f"outlet “{outlet}”" if outlet else "", titled if story else ""]
    return ", ".join(n for n in named if n)


@router.get("/corrections", response_class=HTMLResponse)
def corrections_page(request: Request, store: StoreDep, page: PageNo = 1) -> Response:
    """The audit log of user corrections."""
    items, total = corrections_log(store, 50, (page - 1) * 50)
    return render(request, "corrections.html", title="Corrections", items=items, pager=page_of(request, total, 50, page))


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, store: StoreDep) -> Response:
    """Subscriptions with their status and last error; add and remove."""
    feeds = [watch.feed_status(r) for r in store.feeds()]
    return render(request, "feeds.html", title="Feeds", feeds=feeds)


@router.post("/feeds")
def add_feed(
    request: Request, store: StoreDep, url: Annotated[str, Form(max_length=2000)] = "",
    google_news: Annotated[str, Form(max_length=200)] = "", name: Annotated[str, Form(max_length=200)] = "",
    every: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Subscribe to a feed URL or a Google News search."""
    if bool(url.strip()) == bool(google_news.strip()):
        raise HTTPException(422, "give a feed URL or a Google News search (one of them)")
    target = url.strip() or watch.google_news_url(google_news.strip())
    label = name.strip() or (f"Google News: {google_news.strip()}" if google_news.strip() else None)
    try:
        seconds = watch.parse_interval(every) if every.strip() else default_every(request)
        watch.subscribe(store, target, label, seconds)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return _see("/feeds")


@router.post("/feeds/{feed_id}/remove")
def remove_feed(store: StoreDep, feed_id: Id) -> Response:
    """Unsubscribe (stored articles stay)."""
    if watch.unsubscribe(store, str(feed_id)) is None:
        raise HTTPException(404, f"no feed {feed_id}")
    return _see("/feeds")


# -- corrections from forms: each redirects (303) to the page that shows the result ------------


def _corrector(request: Request, store: Store) -> Corrector:
    """A corrector over the request's store."""
    return Corrector(store, request.app.state.settings)


def _ids(values: list[str], noun: str = "id") -> list[int]:
    """Ids from form checkboxes or a field, at least one (422 otherwise: the form, not the store, is wrong)."""
    try:
        ids = [int(v) for v in values]
    except ValueError:
        raise BadValue("ids must be whole numbers") from None
    if any(not 1 <= i <= MAX_ID for i in ids):
        raise BadValue("no such id")
    if not ids:
        raise BadValue(f"select at least one {noun}")
    return ids


def _see(path: str) -> RedirectResponse:
    """Redirect after a successful edit."""
    return RedirectResponse(path, status_code=303)


@router.post("/stories/{story_id}/rename")
def rename_story(request: Request, store: StoreDep, story_id: Id, title: Annotated[str, Form(max_length=300)]) -> Response:
    """Rename a story."""
    _corrector(request, store).rename_story(story_id, title)
    return _see(f"/stories/{story_id}")


@router.post("/stories/{story_id}/merge")
def merge_story(request: Request, store: StoreDep, story_id: Id, into: Annotated[int, Form(ge=1, le=MAX_ID)]) -> Response:
    """Merge this story into another."""
    _corrector(request, store).merge_stories(into, story_id)
    return _see(f"/stories/{into}")


@router.post("/stories/{story_id}/split")
def split_story(
    request: Request, store: StoreDep, story_id: Id, event_ids: Annotated[list[str], Form()] = [],  # noqa: B006
    title: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Move the selected events into a new story."""
    done = _corrector(request, store).split_story(story_id, _ids(event_ids, "event"), title.strip() or None)
    return _see(f"/stories/{done['result']['story']}")


@router.post("/stories/{story_id}/merge-events")
def merge_selected_events(
    request: Request, store: StoreDep, story_id: Id, event_ids: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """Merge the selected events into the one opened first."""
    ids = sorted(set(_ids(event_ids, "event")))
    if len(ids) < 2:
        raise BadValue("select at least two events to merge")
    corrector = _corrector(request, store)
    with store.transaction():  # all of the selection or none of it
        for other in ids[1:]:
            corrector.merge_events(ids[0], other)
    return _see(f"/stories/{story_id}#event-{ids[0]}")


@router.post("/events/{event_id}/merge")
def merge_event(request: Request, store: StoreDep, event_id: Id, into: Annotated[int, Form(ge=1, le=MAX_ID)]) -> Response:
    """Merge this event into another."""
    _corrector(request, store).merge_events(into, event_id)
    return _see(f"/events/{into}")


@router.post("/events/{event_id}/split")
def split_event(
    request: Request, store: StoreDep, event_id: Id, article_ids: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """Move the selected reports into a new event."""
    done = _corrector(request, store).split_event(event_id, _ids(article_ids, "report"))
    return _see(f"/events/{done['result']['event']}")


@router.post("/articles/{article_id}/move")
def move_article(
    request: Request, store: StoreDep, article_id: Id, event: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """Move an article to another event (or to a new one when left empty)."""
    target = _ids([event.strip().lstrip("#")])[0] if event.strip() else None
    done = _corrector(request, store).move_article(article_id, target)
    return _see(f"/events/{done['result']['event']}")
