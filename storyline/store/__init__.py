"""The SQLite store: every SQL statement Storyline runs lives in this package, one class over it."""

from .base import MAX_ID, CoreStore, StoreError, _iso, migrations, utcnow
from .collection import CollectionSQL
from .exports import ExportSQL
from .search import SearchSQL


class Store(CollectionSQL, ExportSQL, SearchSQL, CoreStore):
    """A Storyline database: articles, outlets, events, stories, entities, quotes, raw inputs, feeds."""


__all__ = ["MAX_ID", "Store", "StoreError", "migrations", "utcnow", "_iso"]
