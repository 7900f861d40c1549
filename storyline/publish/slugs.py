"""Slugs for page URLs: ASCII, short, unique by construction and stable across re-exports."""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS_CHARS = 60
_SAFE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = re.compile(r"['\u2019\u02bc]")  # "Korea's" and "Korea’s" both give "koreas"


def slug_words(title: str | None, limit: int = MAX_WORDS_CHARS) -> str:
    """The title as lower-case ASCII words joined by '-', cut at a word boundary ('' when none are left).

    A title mostly in another script leaves only its numbers and stray Latin letters: "京都市長選…2024年"
    would read "2024-…", like a date. Unless most of its letters fold to ASCII, it has no words here.
    """
    folded = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", title or "")).encode("ascii", "ignore").decode("ascii")
    letters = sum(ch.isalpha() for ch in unicodedata.normalize("NFKC", title or ""))
    if letters and 2 * sum(ch.isalpha() for ch in folded) <= letters:
        return ""
    words = _NON_ALNUM.sub("-", folded.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] if "-" in words[:limit] else words[:limit]
    return words.strip("-")


def page_slug(kind: str, item_id: int, title: str | None) -> str:
    """`<title words>-<id>` (or `<kind>-<id>` when the title has no ASCII words).

    The id goes last, so two pages of one kind never share a slug, whatever their titles: the digits
    after the final '-' always name the id. Titles in other scripts (RTL, emoji) fall back to the kind.
    """
    return f"{slug_words(title) or kind}-{int(item_id)}"


def is_safe_slug(slug: object, item_id: int) -> bool:
    """Whether a slug found in an earlier export is ours for this id and safe to keep."""
    return (
        isinstance(slug, str)
        and len(slug) <= MAX_WORDS_CHARS + 24
        and _SAFE.match(slug) is not None
        and slug.endswith(f"-{int(item_id)}")
    )
