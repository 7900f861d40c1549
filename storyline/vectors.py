"""Sparse term vectors and the centroid index that events and stories are assigned with."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Iterable, Mapping

from wordfreq import zipf_frequency

Vector = dict[str, float]

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
STOP_ZIPF = 5.9  # words this common (the, said, would ...) carry no topic
MAX_IDF = 7.0
LEAD_WORDS = 300  # the lead says what happened; later paragraphs drift into background
TITLE_WEIGHT = 2.0
ENTITY_WEIGHT = 1.5
SLUG_WEIGHT = 1.0
SLUG_MIN_ZIPF = 2.0  # ids, hashes and base64 in URLs are not words
NAME_WEIGHT = 1.0  # measured on ECB+/UCI: extra weight on capitalised words did not help


@lru_cache(maxsize=500_000)
def idf(word: str) -> float:
    """Inverse document frequency of a word, from general English word frequencies (fixed, order-free)."""
    return max(0.0, MAX_IDF - zipf_frequency(word, "en"))


@lru_cache(maxsize=500_000)
def stem(word: str) -> str:
    """A crude suffix-stripped form, so 'pledges'/'pledged'/'pledge' meet."""
    for suffix in ("ally", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[tuple[str, bool]]:
    """Lower-cased word tokens with whether they look like a name (capitalised mid-sentence)."""
    out = []
    after_stop = True
    for m in _TOKEN.finditer(text):
        raw = m.group()
        tok = raw.lower().replace("’", "'").strip("'-")
        if tok.endswith("'s"):
            tok = tok[:-2]
        gap = text[max(0, m.start() - 3) : m.start()]
        sentence_start = after_stop or any(c in gap for c in ".!?\n\"“")
        after_stop = False
        if len(tok) > 1:
            out.append((tok, raw[0].isupper() and not sentence_start))
    return out


@dataclass
class Terms:
    """Weighted term counts of one document, with each term's idf (the rarest surface form's)."""

    counts: dict[str, float] = field(default_factory=dict)
    idfs: dict[str, float] = field(default_factory=dict)

    def add(self, text: str, weight: float) -> None:
        """Count a text's content words."""
        for tok, name in tokens(text):
            w = idf(tok)
            if w <= MAX_IDF - STOP_ZIPF:
                continue
            self.add_key(stem(tok), weight * (NAME_WEIGHT if name else 1.0), w)

    def add_key(self, key: str, weight: float, key_idf: float) -> None:
        """Count one term."""
        self.counts[key] = self.counts.get(key, 0.0) + weight
        self.idfs[key] = max(self.idfs.get(key, 0.0), key_idf)

    def vector(self) -> Vector:
        """The unit vector: sub-linear term frequency times idf."""
        scaled = {k: (1.0 + math.log(v) if v > 1 else v) * self.idfs[k] for k, v in self.counts.items() if v > 0}
        return unit(scaled)


def unit(vec: Mapping[str, float]) -> Vector:
    """A unit-length copy of a vector, weights kept proportional."""
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {k: v / norm for k, v in vec.items()} if norm else {}


_SLUG_WORD = re.compile(r"[a-z]{3,20}")


def slug_words(url: str | None) -> str:
    """The real words of a URL's path (its slug), which often say more than a short headline."""
    if not url:
        return ""
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0].lower()
    return " ".join(w for w in _SLUG_WORD.findall(path) if zipf_frequency(w, "en") >= SLUG_MIN_ZIPF)


def document_vector(
    title: str | None,
    text: str,
    extra_titles: Iterable[str] = (),
    entities: Iterable[str] = (),
    url: str | None = None,
) -> Vector:
    """The unit vector of an article: title, lead, the titles listed with it, its entities, its URL slug."""
    terms = Terms()
    if title:
        terms.add(title, TITLE_WEIGHT)
    if url and not text:
        terms.add(slug_words(url), SLUG_WEIGHT)
    for other in extra_titles:
        terms.add(other, 1.0)
    if text:
        terms.add(" ".join(text.split()[:LEAD_WORDS]), 1.0)
    for name in entities:
        terms.add_key("@" + name.lower(), ENTITY_WEIGHT, MAX_IDF)
    return terms.vector()


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine similarity of two sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def top_terms(vec: Mapping[str, float], n: int) -> Vector:
    """The n heaviest terms of a vector (ties broken by term, so the result is stable)."""
    return dict(sorted(vec.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


@dataclass
class Centroid:
    """A group (event or story) as the sum of its members' vectors, with its date span."""

    id: int
    terms: Vector = field(default_factory=dict)
    n: int = 0
    first_day: date | None = None
    last_day: date | None = None

    def dumps(self) -> str:
        """The signature as stored in the database."""
        return json.dumps({"n": self.n, "t": self.terms}, sort_keys=True)

    @classmethod
    def loads(cls, cid: int, signature: str, first_day: str | None, last_day: str | None) -> "Centroid":
        """A centroid from its stored signature."""
        data = json.loads(signature or "{}")
        return cls(
            cid,
            dict(data.get("t", {})),
            int(data.get("n", 0)),
            date.fromisoformat(first_day) if first_day else None,
            date.fromisoformat(last_day) if last_day else None,
        )


class CentroidIndex:
    """Active centroids with an inverted index on their heaviest terms, searched by date window."""

    def __init__(self, window_days: int, max_terms: int = 120, probe_terms: int = 12) -> None:
        self.window = timedelta(days=window_days)
        self.max_terms = max_terms
        self.probe_terms = probe_terms
        self.items: dict[int, Centroid] = {}
        self.postings: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def put(self, centroid: Centroid) -> None:
        """Add or replace a centroid."""
        self.remove(centroid.id)
        self.items[centroid.id] = centroid
        for term in centroid.terms:
            self.postings.setdefault(term, set()).add(centroid.id)

    def remove(self, cid: int) -> None:
        """Drop a centroid."""
        old = self.items.pop(cid, None)
        if old:
            for term in old.terms:
                ids = self.postings.get(term)
                if ids:
                    ids.discard(cid)
                    if not ids:
                        del self.postings[term]

    def in_window(self, centroid: Centroid, day: date | None) -> bool:
        """Whether a day falls within the window around a centroid's span."""
        if day is None or centroid.first_day is None or centroid.last_day is None:
            # An unknown time cannot be shown to be near a known one.
            return day is None and centroid.first_day is None
        return centroid.first_day - self.window <= day <= centroid.last_day + self.window

    def search(self, vec: Mapping[str, float], day: date | None) -> list[tuple[float, int]]:
        """Centroids sharing a heavy term with the vector, in the window, best first."""
        probe = top_terms(vec, self.probe_terms)
        candidates: set[int] = set()
        for term in probe:
            candidates |= self.postings.get(term, set())
        scored = []
        for cid in candidates:
            c = self.items[cid]
            if self.in_window(c, day):
                scored.append((cosine(vec, c.terms), cid))
        scored.sort(key=lambda sc: (-sc[0], sc[1]))
        return scored

    def add_member(self, cid: int, vec: Mapping[str, float], day: date | None) -> Centroid:
        """Fold a member's vector and day into a centroid (created if new)."""
        c = self.items.get(cid) or Centroid(cid)
        terms = dict(c.terms)
        for k, v in vec.items():
            terms[k] = terms.get(k, 0.0) + v
        updated = Centroid(
            cid,
            top_terms(terms, self.max_terms),
            c.n + 1,
            min(filter(None, [c.first_day, day]), default=None),
            max(filter(None, [c.last_day, day]), default=None),
        )
        self.put(updated)
        return updated

    def evict_before(self, day: date) -> None:
        """Forget centroids whose span ended before a day minus the window."""
        for cid in [cid for cid, c in self.items.items() if c.last_day and c.last_day + self.window < day]:
            self.remove(cid)
