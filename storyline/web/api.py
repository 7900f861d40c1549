"""The JSON API under /api/v1: stories, timelines, events, articles, search, corrections."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from .. import search as search_mod
from .. import watch
from ..corrections import Corrector, corrections_log
from ..store import Store
from . import reading
from .app import store_dep
from .schemas import (
    MAX_ID, ArticleOut, ArticleRef, Correction, ErrorOut, EventOut, FeedAdded, FeedOut, MergeEvents, MergeStories,
    MoveArticle, NewFeed, Page, RenameStory, SearchPage, SplitEvent, SplitStory, StoryCard, StoryOut,
)

router = APIRouter(prefix="/api/v1")

StoreDep = Annotated[Store, Depends(store_dep)]
Limit = Annotated[int, Query(ge=1, le=100, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
StoryId = Annotated[int, Path(ge=1, le=MAX_ID)]
EventId = Annotated[int, Path(ge=1, le=MAX_ID)]
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID)]
Since = Annotated[
    Optional[str],
    Query(
        json_schema_extra={"format": "date-time"},
        description="mark events and reports stored after this time as new (RFC 3339, e.g. 2026-01-09T08:00:00Z)",
    ),
]
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "no such item"}}
CORRECTION_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the body cannot be read (bytes that are not UTF-8)"},
    404: {"model": ErrorOut, "description": "an id names nothing"},
    409: {"model": ErrorOut, "description": "the store's state does not allow it (a merged event, an article already there)"},
    422: {"model": ErrorOut, "description": "bad parameters, or a body that is not JSON"},
}


def _page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """A page as the API returns it."""
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _since(text: str | None) -> str | None:
    """A caller's time as the store writes times (ISO 8601 UTC, seconds)."""
    if text is None:
        return None
    try:
        if not _RFC3339.match(text):
            raise ValueError(text)
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)  # OverflowError past year 9999 (9999-12-31T23:59-01:00)
    except (ValueError, OverflowError):
        raise RequestValidationError([{"loc": ("query", "since"), "msg": "not a date or time", "type": "datetime_parsing"}]) from None
    return value.replace(microsecond=0).isoformat()


def _live(store: Store, table: str, gid: int) -> None:
    """404 unless the event or story exists and was not merged away."""
    row = store.group(table, gid)
    noun = "event" if table == "events" else "story"
    if row is None:
        raise HTTPException(404, f"no {noun} {gid}")
    if row["merged_into"] is not None:
        raise HTTPException(404, f"{noun} {gid} was merged into {noun} {row['merged_into']}")


@router.get("/stories", response_model=Page[StoryCard], summary="Active stories, newest development first")
def list_stories(store: StoreDep, limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    """Stories with live events, each with its latest event, outlets and coverage per day."""
    cards, total = reading.story_cards(store, limit, offset)
    return _page(cards, total, limit, offset)


@router.get("/stories/{story_id}", response_model=StoryOut, responses=NOT_FOUND, summary="One story")
def get_story(store: StoreDep, story_id: StoryId) -> dict[str, Any]:
    """A story's title, counts, date span and coverage per day."""
    _live(store, "stories", story_id)
    return reading.story_summary(store, story_id)  # type: ignore[return-value]


@router.get("/stories/{story_id}/timeline", response_model=Page[EventOut], responses=NOT_FOUND, summary="A story's timeline")
def get_timeline(store: StoreDep, story_id: StoryId, limit: Limit = 20, offset: Offset = 0, since: Since = None) -> dict[str, Any]:
    """A story's events in date order, with reports (copies folded), outlets, entities and key quote."""
    _live(store, "stories", story_id)
    events, total = reading.timeline(store, story_id, limit, offset, _since(since))
    return _page(events, total, limit, offset)


@router.get("/events", response_model=Page[EventOut], summary="Events, newest first")
def list_events(
    store: StoreDep, limit: Limit = 20, offset: Offset = 0,
    story_id: Annotated[Optional[int], Query(ge=1, le=MAX_ID, description="only this story's events")] = None,
) -> dict[str, Any]:
    """Live events, newest first."""
    events, total = reading.event_page(store, story_id, limit, offset)
    return _page(events, total, limit, offset)


@router.get("/events/{event_id}", response_model=EventOut, responses=NOT_FOUND, summary="One event")
def get_event(store: StoreDep, event_id: EventId, since: Since = None) -> dict[str, Any]:
    """An event with all its coverage, copies folded under their originals."""
    _live(store, "events", event_id)
    return reading.event_details(store, [store.event(event_id)], _since(since))[0]  # type: ignore[list-item]


@router.get("/articles", response_model=Page[ArticleRef], summary="Articles, newest first")
def list_articles(
    store: StoreDep, limit: Limit = 20, offset: Offset = 0,
    event_id: Annotated[Optional[int], Query(ge=1, le=MAX_ID, description="only this event's articles")] = None,
) -> dict[str, Any]:
    """Stored articles (without their texts), newest first."""
    items, total = reading.article_page(store, event_id, limit, offset)
    return _page(items, total, limit, offset)


@router.get("/articles/{article_id}", response_model=ArticleOut, responses=NOT_FOUND, summary="One article")
def get_article(store: StoreDep, article_id: ArticleId) -> dict[str, Any]:
    """An article's clean text, metadata, entities, quotes, event and copies."""
    found = reading.article_detail(store, article_id)
    if found is None:
        raise HTTPException(404, f"no article {article_id}")
    return found


def date_range(start: date | None, end: date | None) -> None:
    """422 when a search's `from` day is later than its `to` day: no article could pass both."""
    if start is not None and end is not None and start > end:
        msg = f"from ({start}) is later than to ({end})"
        raise RequestValidationError([{"loc": ("query", "from"), "msg": msg, "type": "value_error"}])


def _cleaned(value: str | None) -> str | None:
    """A name filter without surrounding spaces (None when blank), as the search page's form sends it."""
    return (value or "").strip() or None


@router.get("/search", response_model=SearchPage, summary="Full-text search")
def search(
    store: StoreDep,
    q: Annotated[
        Optional[str],
        Query(min_length=1, max_length=500, description='words, "phrases", prefix*; optional with an entity, outlet '
              "or story_id filter, which alone lists the articles that pass it, latest published first"),
    ] = None,
    start: Annotated[Optional[date], Query(alias="from", description="published on or after")] = None,
    end: Annotated[Optional[date], Query(alias="to", description="published on or before")] = None,
    outlet: Annotated[Optional[str], Query(max_length=200)] = None,
    entity: Annotated[Optional[str], Query(max_length=200)] = None,
    story_id: Annotated[Optional[int], Query(ge=1, le=MAX_ID)] = None,
    duplicates: Annotated[bool, Query(description="include duplicates of other results")] = False,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Articles matching all the words, best first among the newest 1,000 matches, with matches highlighted."""
    date_range(start, end)
    query = search_mod.SearchQuery(q or "", start, end, _cleaned(outlet), _cleaned(entity), story_id, duplicates, limit, offset)
    if q is None and not search_mod.has_filter(query):
        msg = "give words to search for, or an entity, outlet or story_id filter"
        raise RequestValidationError([{"loc": ("query", "q"), "msg": msg, "type": "missing"}])
    return search_mod.search(store, query)


@router.get("/corrections", response_model=Page[Correction], summary="The audit log of corrections")
def list_corrections(store: StoreDep, limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    """User corrections, newest first."""
    items, total = corrections_log(store, limit, offset)
    return _page(items, total, limit, offset)


def _corrector(request: Request, store: Store) -> Corrector:
    """A corrector over the request's store."""
    return Corrector(store, request.app.state.settings)


@router.post("/corrections/merge-events", response_model=Correction, status_code=201, responses=CORRECTION_ERRORS)
def merge_events(request: Request, store: StoreDep, body: MergeEvents) -> dict[str, Any]:
    """Merge event `event` into event `into`."""
    return _corrector(request, store).merge_events(body.into, body.event)


@router.post("/corrections/move-article", response_model=Correction, status_code=201, responses=CORRECTION_ERRORS)
def move_article(request: Request, store: StoreDep, body: MoveArticle) -> dict[str, Any]:
    """Move an article (with its copies) to another event, or to a new one (`event_id` null)."""
    return _corrector(request, store).move_article(body.article_id, body.event_id)


@router.post("/corrections/split-event", response_model=Correction, status_code=201, responses=CORRECTION_ERRORS)
def split_event(request: Request, store: StoreDep, body: SplitEvent) -> dict[str, Any]:
    """Split articles off an event into a new event that automatic merging keeps apart."""
    return _corrector(request, store).split_event(body.event_id, body.article_ids)


@router.post("/corrections/merge-stories", response_model=Correction, status_code=201, responses=CORRECTION_ERRORS)
def merge_stories(request: Request, store: StoreDep, body: MergeStories) -> dict[str, Any]:
    """Merge story `story` into story `into`."""
    return _corrector(request, store).merge_stories(body.into, body.story)


@router.post("/corrections/split-story", response_model=Correction, status_code=201, responses=CORRECTION_ERRORS)
def split_story(request: Request, store: StoreDep, body: SplitStory) -> dict[str, Any]:
    """Split events off a story into a new story."""
    return _corrector(request, store).split_story(body.story_id, body.event_ids, body.title)


@router.post("/corrections/rename-story", response_model=Correction, status_code=201, responses=CORRECTION_ERRORS)
def rename_story(request: Request, store: StoreDep, body: RenameStory) -> dict[str, Any]:
    """Give a story a title that automatic retitling keeps."""
    return _corrector(request, store).rename_story(body.story_id, body.title)


# -- feeds (subscriptions that `storyline watch` polls) ------------------------------------------


def default_every(request: Request) -> int:
    """The poll interval of new subscriptions: setting poll_every, else 15 minutes."""
    return watch.parse_interval(str(getattr(request.app.state.settings, "poll_every", "15m")))


@router.get("/feeds", response_model=Page[FeedOut], summary="Subscriptions with their status")
def list_feeds(store: StoreDep, limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    """Subscriptions: last success, last error, error count, next poll, items seen, pages pending."""
    rows = store.feeds()
    return _page([watch.feed_status(r) for r in rows[offset:offset + limit]], len(rows), limit, offset)


@router.get("/feeds/{feed_id}", response_model=FeedOut, responses=NOT_FOUND, summary="One subscription")
def get_feed(store: StoreDep, feed_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    """A subscription and how polling it goes."""
    row = next((r for r in store.feeds() if r["id"] == feed_id), None)
    if row is None:
        raise HTTPException(404, f"no feed {feed_id}")
    return watch.feed_status(row)


@router.post(
    "/feeds", response_model=FeedAdded, status_code=201, summary="Subscribe",
    responses={200: {"model": FeedAdded, "description": "already subscribed"},
               400: CORRECTION_ERRORS[400], 422: CORRECTION_ERRORS[422]},
)
def add_feed(request: Request, response: Response, store: StoreDep, body: NewFeed) -> dict[str, Any]:
    """Subscribe to a feed (polled on the next `storyline watch`); 200 when it was already there."""
    try:
        feed_id, created = watch.subscribe(store, body.url, body.name, body.every_s or default_every(request))
    except ValueError as exc:
        raise RequestValidationError([{"loc": ("body", "url"), "msg": str(exc), "type": "value_error"}]) from None
    if not created:
        response.status_code = 200
    return {"created": created, "feed": get_feed(store, feed_id)}


@router.delete("/feeds/{feed_id}", status_code=204, responses=NOT_FOUND, summary="Unsubscribe")
def remove_feed(store: StoreDep, feed_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    """Unsubscribe (stored articles stay)."""
    if watch.unsubscribe(store, str(feed_id)) is None:
        raise HTTPException(404, f"no feed {feed_id}")
    return Response(status_code=204)
