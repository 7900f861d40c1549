"""Pieces every publisher shares: errors, text cleaning, tags and writing files safely inside a folder."""

from __future__ import annotations

import html
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import quote, urlsplit, urlunsplit

from ..models import strip_controls


class PublishError(RuntimeError):
    """An export or import cannot go on (bad input, unsafe target, missing optional dependency)."""


# Characters XML 1.0 forbids (and lone surrogates): feeds and pages must never carry them. Bidi
# embeddings/overrides go too: one left unclosed in a title reverses the rest of a page's line.
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]?\s+(?=[A-Z0-9“\"'‘(])")


def clean_text(text: str | None) -> str:
    """Text without control characters that break XML, YAML readers or terminals (stores from before ingest stripped them)."""
    return strip_controls(text or "")


def one_line(text: str | None, limit: int = 0) -> str:
    """Plain text on one line (spaces collapsed), cut at a word when longer than `limit`."""
    out = _SPACE.sub(" ", clean_text(text)).strip()
    if limit and len(out) > limit:
        out = out[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return out


def plain(text: str | None, limit: int = 0) -> str:
    """One line of plain text from text that may hold HTML markup and entities (feed descriptions)."""
    return one_line(html.unescape(_TAG.sub(" ", clean_text(text))), limit)


def first_sentence(text: str | None, limit: int = 300) -> str:
    """The first sentence of a plain text (on one line, at most `limit` characters)."""
    return one_line(_SENTENCE_END.split(one_line(text), maxsplit=1)[0], limit)


def is_web_url(url: str | None) -> bool:
    """Whether a string is an absolute http(s) URL (feeds and pages link to nothing else)."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:  # e.g. a broken IPv6 host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def web_url(url: str | None) -> str | None:
    """An http(s) URL made safe as a link target (spaces and quotes percent-encoded, an international
    host name in its ASCII form), or None for anything else."""
    if not url or not is_web_url(url):
        return None
    parts = urlsplit(clean_text(url.strip()))
    netloc = parts.netloc
    if not netloc.isascii():  # percent-encoded, "bücher.de" would name a host nobody has
        userinfo, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        netloc = f"{userinfo}{at}{host}{colon}{port}"
    return quote(urlunsplit(parts._replace(netloc=netloc)), safe=":/?#@!$&'*+,;=%~-._[]")


def pick_tags(entities: Sequence[str], keyword_lists: Iterable[Sequence[str]], limit: int = 12) -> list[str]:
    """Entities first (most mentioned), then the keywords most articles share, none repeated.

    A keyword that only restates an entity ("kim" beside "Kim Jong Un") is dropped: tags are for
    finding pages, and duplicates split one subject over two tag pages.
    """
    tags: list[str] = []
    seen: set[str] = set()
    entity_words: set[str] = set()
    for name in entities[: max(1, limit * 2 // 3)]:
        key = one_line(name).lower()
        if key and key not in seen:
            seen.add(key)
            tags.append(one_line(name))
            entity_words.update(key.split())
    shared: Counter[str] = Counter()
    first_at: dict[str, int] = {}
    for words in keyword_lists:
        for pos, word in enumerate(dict.fromkeys(one_line(w).lower() for w in words)):
            if word:
                shared[word] += 1
                first_at[word] = min(first_at.get(word, pos), pos)
    for word in sorted(shared, key=lambda w: (-shared[w], first_at[w], w)):
        if len(tags) >= limit:
            break
        if word not in seen and not set(word.split()) <= entity_words:
            seen.add(word)
            tags.append(word)
    return tags


def inside(root: Path, relative: str | Path) -> Path:
    """The path `relative` names under `root`, refused when it (or a link on the way) leads outside."""
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or target == base:
        raise PublishError(f"refusing to write outside {base}: {relative}")
    return target


def write_if_changed(root: Path, relative: str | Path, data: bytes) -> bool:
    """Write a file under `root` atomically unless it already holds `data`; True when written."""
    target = inside(root, relative)
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".storyline-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)  # replaces a link itself, never the file it points to
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
