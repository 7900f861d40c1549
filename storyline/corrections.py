"""User corrections of the machine's grouping: merge, split and move, kept in an audit log.

Each correction runs in one transaction and leaves the store as ingest would have built it had it
known better: moved articles keep their event (ingest never reassigns an article), retired events
and stories point to their survivor (`merged_into`, so they receive nothing new), signatures of the
groups involved are rebuilt from their members, and pairs a user separated are recorded so that
automatic merging leaves them apart.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

from .events import refresh as refresh_event
from .models import strip_controls
from .settings import Settings
from .sqlite import sqlite3
from .stories import retitle
from .store import Store
from .vectors import Centroid, CentroidIndex, document_vector, unit

ENTITY_FEATURES = 8  # as ingest: the most mentioned entities take part in event matching
MAX_TITLE = 300


class CorrectionError(ValueError):
    """A correction the store's state does not allow; `status` is the HTTP status that says why."""

    status = 409


class BadValue(CorrectionError):
    """A value no store state would allow (an empty or overlong title)."""

    status = 422


class NotFound(CorrectionError):
    """An id that names nothing."""

    status = 404


class Conflict(CorrectionError):
    """An id that names a retired (merged) event or story."""


def correction_dict(row: sqlite3.Row) -> dict[str, Any]:
    """An audit-log entry as a plain dict."""
    return {
        "id": row["id"],
        "action": row["action"],
        "params": json.loads(row["params"]),
        "result": json.loads(row["result"]),
        "created_at": row["created_at"],
    }


def _day(value: str | None) -> date | None:
    """A stored YYYY-MM-DD day, or None."""
    return date.fromisoformat(value) if value else None


@dataclass
class Corrector:
    """Applies corrections to a store."""

    store: Store
    settings: Settings

    # -- checks ---------------------------------------------------------------------------

    def _group(self, table: str, gid: int) -> sqlite3.Row:
        """A live event or story, or the error that says why not."""
        row = self.store.group(table, gid)
        noun = table[:-1] if table == "events" else "story"
        if row is None:
            raise NotFound(f"no {noun} {gid}")
        if row["merged_into"] is not None:
            raise Conflict(f"{noun} {gid} was merged into {row['merged_into']}")
        if table == "events" and not row["n_articles"]:
            raise Conflict(f"event {gid} has no articles")
        return row

    def _article(self, article_id: int) -> sqlite3.Row:
        """A movable article, or the error that says why not."""
        row = self.store.article(article_id)
        if row is None:
            raise NotFound(f"no article {article_id}")
        if row["merged_into"] is not None:
            raise CorrectionError(f"article {article_id} is listed coverage found to be article {row['merged_into']}; move that one")
        if row["event_id"] is None:
            raise CorrectionError(f"article {article_id} belongs to no event")
        return row

    # -- rebuilding -----------------------------------------------------------------------

    def rebuild_event(self, event_id: int) -> Centroid:
        """Recompute an event's signature from its members, then its title, date and summary."""
        index = CentroidIndex(self.settings.event_window_days)
        centroid = Centroid(event_id)
        for m in self.store.member_inputs(event_id):
            vec = document_vector(
                m["title"], m["text"] or "", json.loads(m["listed"]), json.loads(m["entities"])[:ENTITY_FEATURES], m["url"]
            )
            centroid = index.add_member(event_id, vec, _day(m["event_day"]))
        self.store.save_centroid("events", event_id, centroid.dumps(), _iso(centroid.first_day), _iso(centroid.last_day))
        self.store.touch_event(event_id)
        refresh_event(self.store, event_id, lambda: centroid, self.settings)
        return centroid

    def rebuild_story(self, story_id: int) -> None:
        """Recompute a story's signature from its live events (as threading built it), then its title."""
        index = CentroidIndex(self.settings.story_window_days)
        centroid = Centroid(story_id)
        for event_id in self.store.story_event_ids(story_id):
            row = self.store.event(event_id)
            event = Centroid.loads(event_id, row["signature"], row["first_day"], row["last_day"])
            centroid = index.add_member(story_id, unit(event.terms), event.first_day)
        self.store.save_centroid("stories", story_id, centroid.dumps(), _iso(centroid.first_day), _iso(centroid.last_day))
        retitle(self.store, story_id)

    def _settle_story(self, story_id: int, heir: int) -> list[int]:
        """Rebuild a story that lost events, retiring it into `heir` when none are left; return retired ids."""
        if self.store.story_event_ids(story_id):
            self.rebuild_story(story_id)
            return []
        self.store.retire_story(story_id, heir)
        return [story_id]

    def _log(self, action: str, params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        """Append the correction to the audit log and return the entry."""
        cid = self.store.record_correction(action, params, result)
        row = self.store.db.execute("SELECT * FROM corrections WHERE id = ?", (cid,)).fetchone()
        return correction_dict(row)

    # -- events ---------------------------------------------------------------------------

    def merge_events(self, into: int, event: int) -> dict[str, Any]:
        """Fold event `event` into event `into`; the retired one points to its survivor."""
        if into == event:
            raise CorrectionError("cannot merge an event into itself")
        with self.store.atomic("merge_events"):  # within a caller's transaction, one of several merges
            keep, drop = self._group("events", into), self._group("events", event)
            moved = [m["id"] for m in self.store.event_members(event)]
            self.store.merge_events(into, event)
            self.store.allow_merge("events", into, event)
            self.rebuild_event(into)
            retired_stories: list[int] = []
            if drop["story_id"] != keep["story_id"] and keep["story_id"] is not None:
                self.store.set_story([event], keep["story_id"])
                if drop["story_id"] is not None:
                    retired_stories = self._settle_story(drop["story_id"], keep["story_id"])
                self.rebuild_story(keep["story_id"])
            elif keep["story_id"] is not None:
                self.rebuild_story(keep["story_id"])
            result = {"event": into, "retired_events": [event], "retired_stories": retired_stories, "articles": moved}
            return self._log("merge_events", {"into": into, "event": event}, result)

    def _move(self, article_ids: Sequence[int], source: sqlite3.Row, target: int | None) -> dict[str, Any]:
        """Move articles from one event to another (a new one when `target` is None) and rebuild both."""
        split = target is None
        if target is None:
            first = min((a["event_day"] for a in map(self.store.article, article_ids) if a["event_day"]), default=None)
            target = self.store.create_group("events", first)
            self.store.update_event(target, story_id=source["story_id"])
        self.store.set_event(article_ids, target)
        retired: list[int] = []
        if not self.store.event_members(source["id"]):
            # Nothing left: the source lives on as the target (what is left there are merged listings).
            self.store.merge_events(target, source["id"])
            retired.append(source["id"])
        else:
            self.rebuild_event(source["id"])
        self.rebuild_event(target)
        heir = self.store.event(target)["story_id"]
        retired_stories: list[int] = []
        if source["story_id"] not in (None, heir):
            if heir is None:
                self.rebuild_story(source["story_id"])
            else:  # a story left without events is retired into the one its last report went to, as merges do
                retired_stories = self._settle_story(source["story_id"], heir)
        if heir is not None:
            self.rebuild_story(heir)
        return {"event": target, "source_event": source["id"], "articles": list(article_ids),
                "retired_events": retired, "retired_stories": retired_stories, "new_event": split}

    def move_article(self, article_id: int, event_id: int | None) -> dict[str, Any]:
        """Move an article (with its duplicates and listed coverage) to another event, or to a new one."""
        with self.store.transaction():
            article = self._article(article_id)
            source = self._group("events", article["event_id"])
            if event_id is not None:
                self._group("events", event_id)
                if event_id == source["id"]:
                    raise CorrectionError(f"article {article_id} is already in event {event_id}")
            family = self.store.article_family(article_id)
            result = self._move(family, source, event_id)
            entry = self._log("move_article", {"article_id": article_id, "event_id": event_id}, result)
            if event_id is None and not result["retired_events"]:
                self.store.forbid_merge("events", source["id"], result["event"], entry["id"])
            return entry

    def split_event(self, event_id: int, article_ids: Sequence[int]) -> dict[str, Any]:
        """Move some of an event's articles (with their copies) into a new event the pipeline keeps apart."""
        ids = sorted(set(article_ids))
        if not ids:
            raise CorrectionError("name at least one article to split off")
        with self.store.transaction():
            source = self._group("events", event_id)
            moving: set[int] = set()
            for aid in ids:
                article = self._article(aid)
                if article["event_id"] != event_id:
                    raise CorrectionError(f"article {aid} is not in event {event_id}")
                moving.update(self.store.article_family(aid))
            staying = [m["id"] for m in self.store.event_members(event_id) if m["id"] not in moving]
            if not staying:
                raise CorrectionError("a split must leave at least one article in the event")
            result = self._move(sorted(moving), source, None)
            entry = self._log("split_event", {"event_id": event_id, "article_ids": ids}, result)
            self.store.forbid_merge("events", event_id, result["event"], entry["id"])
            return entry

    # -- stories --------------------------------------------------------------------------

    def merge_stories(self, into: int, story: int) -> dict[str, Any]:
        """Fold story `story` into story `into`: its events join `into`, and it points to its survivor."""
        if into == story:
            raise CorrectionError("cannot merge a story into itself")
        with self.store.transaction():
            self._group("stories", into)
            self._group("stories", story)
            events = self.store.story_event_ids(story)
            self.store.set_story(events, into)
            self.store.retire_story(story, into)
            self.store.allow_merge("stories", into, story)
            self.rebuild_story(into)
            result = {"story": into, "retired_stories": [story], "events": events}
            return self._log("merge_stories", {"into": into, "story": story}, result)

    def split_story(self, story_id: int, event_ids: Sequence[int], title: str | None = None) -> dict[str, Any]:
        """Move some of a story's events into a new story the pipeline keeps apart."""
        ids = sorted(set(event_ids))
        if not ids:
            raise CorrectionError("name at least one event to split off")
        title = _title(title) if title is not None else None
        with self.store.transaction():
            self._group("stories", story_id)
            live = self.store.story_event_ids(story_id)
            stray = [e for e in ids if e not in live]
            if stray:
                raise CorrectionError(f"events {stray} are not live events of story {story_id}")
            if len(ids) == len(live):
                raise CorrectionError("a split must leave at least one event in the story")
            first = min((d for d in (self.store.event(e)["first_day"] for e in ids) if d), default=None)
            new = self.store.create_group("stories", first)
            self.store.set_story(ids, new)
            self.rebuild_story(new)
            self.rebuild_story(story_id)
            if title:
                self.store.rename_story(new, title)
            result = {"story": new, "source_story": story_id, "events": ids}
            entry = self._log("split_story", {"story_id": story_id, "event_ids": ids, "title": title}, result)
            self.store.forbid_merge("stories", story_id, new, entry["id"])
            return entry

    def rename_story(self, story_id: int, title: str) -> dict[str, Any]:
        """Give a story a title that automatic retitling keeps."""
        title = _title(title)
        with self.store.transaction():
            old = self._group("stories", story_id)["title"]
            self.store.rename_story(story_id, title)
            return self._log("rename_story", {"story_id": story_id, "title": title}, {"story": story_id, "old_title": old})


def _title(title: str) -> str:
    """A user title, whitespace-normalised and checked."""
    clean = " ".join(strip_controls(title).split())
    if not "".join(c for c in clean if unicodedata.category(c) != "Cf").strip():
        # only zero-width or other invisible format characters: a link nobody could see or click
        raise BadValue("title must not be empty")
    if len(clean) > MAX_TITLE:
        raise BadValue(f"title longer than {MAX_TITLE} characters")
    return clean


def _iso(day: date | None) -> str | None:
    """A day as YYYY-MM-DD, or None."""
    return day.isoformat() if day else None


def corrections_log(store: Store, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the audit log, newest first."""
    rows, total = store.correction_log(limit, offset)
    return [correction_dict(r) for r in rows], total
