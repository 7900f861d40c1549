"""The JSON API's request and response models: they are its OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Optional, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_ID = 2**53 - 1  # the largest id every JSON reader holds exactly (SQLite allows 2**63 - 1)
T = TypeVar("T")


def _encodable(value: str) -> str:
    """Refuse strings SQLite cannot store (lone surrogates from JSON escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Encodable = AfterValidator(_encodable)  # after the constraints, so they stay in the schema
# Some character that every regex engine (Python, Rust, ECMA) agrees is neither a space nor a control
# character (which titles lose: models.strip_controls), and that Python's str.split keeps.
VISIBLE = "[^\\s\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\u0085\ufeff]"
Title = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=VISIBLE), Encodable]


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, how many there are in all, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ArticleRef(BaseModel):
    """An article as listed with an event."""

    id: int
    title: Optional[str]
    outlet: Optional[str]
    url: Optional[str]
    source: str
    published: Optional[str]
    duplicate_of: Optional[int]
    kind: str
    listed_by: Optional[int]


class Report(ArticleRef):
    """An independent report of an event, with the copies (wire copies, duplicates) folded under it."""

    language: Optional[str]
    first: bool = Field(description="the earliest report of the event")
    new: bool = Field(description="stored since the caller's last visit")
    copies: list[ArticleRef]


class EntityOut(BaseModel):
    """A person, place or organisation and how often it is mentioned."""

    name: str
    kind: str
    count: int


class QuoteOut(BaseModel):
    """A quote and who said it."""

    text: str
    speaker: Optional[str]


class DayCount(BaseModel):
    """Reports published on one day."""

    day: str
    n: int


class EventRef(BaseModel):
    """An event in a list."""

    id: int
    title: str
    date: Optional[str]
    story_id: Optional[int] = None


class EventOut(BaseModel):
    """An event: when it happened, what it was, who covered it."""

    id: int
    story_id: Optional[int]
    date: Optional[str]
    date_method: Optional[str]
    date_evidence: Optional[str]
    title: str
    summary: str
    quote: Optional[QuoteOut]
    entities: list[EntityOut]
    outlets: list[str]
    n_reports: int
    n_independent: int
    reports: list[Report]
    coverage: list[DayCount] = Field(description="reports per publication day")
    created_at: str
    updated_at: str
    new: bool = Field(description="the event appeared since the caller's last visit")
    n_new: int = Field(description="reports stored since the caller's last visit")


class StoryCard(BaseModel):
    """A story in the list: its latest development and coverage over time."""

    id: int
    title: str
    n_events: int
    n_articles: int
    n_outlets: int
    outlets: list[str]
    last_date: Optional[str]
    latest_event: Optional[EventRef]
    coverage: list[DayCount] = Field(description="reports per event date")
    updated_at: Optional[str]


class StoryOut(BaseModel):
    """A story with its coverage per day (its events: /stories/{id}/timeline)."""

    id: int
    title: str
    renamed: bool = Field(description="the title was given by a user")
    n_events: int
    n_articles: int
    first_day: Optional[str]
    last_day: Optional[str]
    coverage: list[DayCount] = Field(description="reports per publication day")


class ArticleOut(ArticleRef):
    """An article with its clean text, metadata, entities, quotes and copies."""

    text: str
    description: Optional[str]
    byline: Optional[str]
    language: Optional[str]
    tags: list[str]
    keywords: list[str]
    event: Optional[EventRef]
    duplicate_kind: Optional[str]
    merged_into: Optional[int]
    event_day: Optional[str]
    event_day_evidence: Optional[str]
    entities: list[EntityOut]
    quotes: list[QuoteOut]
    copies: list[ArticleRef]


class SearchHit(BaseModel):
    """A search match; `title_html`/`snippet_html` are escaped HTML with matches in <mark>."""

    id: int
    title: Optional[str]
    outlet: Optional[str]
    url: Optional[str]
    published: Optional[str]
    language: Optional[str]
    kind: str
    duplicate_of: Optional[int]
    event: Optional[EventRef]
    score: float
    title_html: str
    snippet_html: str
    snippet: str


class SearchPage(Page[SearchHit]):
    """A page of search results: the newest matches (1,000 at most), ranked by relevance (or listed, without words)."""

    query: str
    total: int = Field(
        description="matches ranked: all of them when `total_is_lower_bound` is false; otherwise more matched, and only "
        "the newest `total` (by arrival, after the filters) are ranked and can be paged through"
    )
    total_is_lower_bound: bool = Field(False, description="more articles match than `total`; older ones are not returned")
    ranked: bool = Field(
        True, description="ranked by relevance to the words; false for a listing by filters alone, latest published first"
    )


class Correction(BaseModel):
    """An audit-log entry: what a user asked for and what changed."""

    id: int
    action: str
    params: dict[str, Any]
    result: dict[str, Any]
    created_at: str


class Strict(BaseModel):
    """Requests refuse unknown fields, so a typo is an error rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class MergeEvents(Strict):
    """Fold `event` into `into`."""

    into: Id
    event: Id


class MoveArticle(Strict):
    """Move an article (with its copies) to `event_id`, or to a new event when it is null."""

    article_id: Id
    event_id: Optional[Id] = None


class SplitEvent(Strict):
    """Move these articles (with their copies) of an event into a new event."""

    event_id: Id
    article_ids: list[Id] = Field(min_length=1, max_length=1000)


class MergeStories(Strict):
    """Fold story `story` into story `into`."""

    into: Id
    story: Id


class SplitStory(Strict):
    """Move these events of a story into a new story (optionally titled)."""

    story_id: Id
    event_ids: list[Id] = Field(min_length=1, max_length=1000)
    title: Optional[Title] = None


class RenameStory(Strict):
    """Give a story a title that automatic retitling keeps."""

    story_id: Id
    title: Title


class FeedOut(BaseModel):
    """A subscription and how polling it goes."""

    id: int
    url: str
    name: Optional[str]
    every_s: int
    state: str = Field(description="new, ok, or failing (N times in a row)")
    last_success: Optional[str]
    last_error: Optional[str]
    last_error_at: Optional[str]
    error_count: int
    last_status: Optional[int]
    next_poll: str
    items_seen: int
    pages_pending: int
    pages_failed: int


class NewFeed(Strict):
    """A subscription to add: an RSS, Atom or JSON Feed URL, polled every `every_s` seconds."""

    url: Annotated[
        str, StringConstraints(max_length=2000, pattern=r"^[hH][tT][tT][pP][sS]?://[A-Za-z0-9._~-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"),
        Encodable,
    ]
    name: Optional[Annotated[str, StringConstraints(max_length=200), Encodable]] = None
    every_s: Optional[Annotated[int, Field(ge=60, le=30 * 86400)]] = Field(None, description="default: setting poll_every")


class FeedAdded(BaseModel):
    """The subscription, and whether it was new."""

    created: bool
    feed: FeedOut


class ErrorOut(BaseModel):
    """An error: `detail` says what went wrong."""

    detail: Any
