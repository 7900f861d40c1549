"""Publishing what Storyline found: a Hugo site, Atom feeds, JSONL/CSV/Parquet data, and JSONL back in."""

from .atom import AtomOptions, render_atom, write_atom
from .common import PublishError
from .hugo import HugoOptions, HugoReport, export_hugo
from .slugs import page_slug, slug_words

__all__ = [
    "AtomOptions", "HugoOptions", "HugoReport", "PublishError",
    "export_hugo", "page_slug", "render_atom", "slug_words", "write_atom",
]
