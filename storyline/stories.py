"""Stories: events threaded together by shared actors and topic across weeks and months."""

from __future__ import annotations

from datetime import date

from .events import GroupAssigner
from .settings import Settings
from .store import Store
from .vectors import Centroid, unit


class StoryThreader:
    """Puts each new event into the most similar open story, or starts a story."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.groups = GroupAssigner(store, "stories", settings.story_window_days, settings.story_threshold)

    def reset(self) -> None:
        """Forget the in-memory mirror."""
        self.groups.reset()

    def thread(self, event_id: int, event: Centroid, day: date | None, defer: bool = False) -> int:
        """Attach an event to a story and return the story id (`defer`: its signature is written by `flush`)."""
        vec = unit(event.terms)
        story_id, _ = self.groups.best(vec, day)
        if story_id is None:
            story_id = self.groups.open(day)
        self.groups.add(story_id, vec, day, defer=defer)
        self.store.update_event(event_id, story_id=story_id)
        return story_id

    def flush(self) -> None:
        """Write the signatures `thread(defer=True)` left in memory (before the transaction commits)."""
        self.groups.flush()

    def settle(self, story_id: int, heir: int) -> None:
        """Retire a story that an automatic merge of events left without live events into `heir`, as a user merge does.

        Its signature joins the heir's, so a later report of what it covered threads there, not into a ghost.
        """
        if story_id == heir or self.store.story_event_ids(story_id):
            return
        self.groups.absorb(heir, story_id)
        self.store.retire_story(story_id, heir)


def retitle(store: Store, story_id: int) -> None:
    """Name a story after its most covered event (the earliest among equals)."""
    events = store.story_events(story_id)
    if events:
        top = max(events, key=lambda e: (e["n_articles"], -(e["id"])))
        store.update_story(story_id, top["title"] or f"Story {story_id}")
    else:
        # Its events were all moved out (a correction) while it waited for a title: it keeps its old one, and
        # must not stay marked, or the refresh, which runs until no story is, would never end.
        story = store.story(story_id)
        store.update_story(story_id, story["title"] if story else "")
