"""Sparse term vectors and the centroid index that events and stories are assigned with."""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Iterable, Mapping

from .summarize import zipf  # wordfreq's table read directly: its tokenizer dominates otherwise

Vector = dict[str, float]

_TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\d+(?:[.,]\d+)*", re.UNICODE)
STOP_ZIPF = 5.9  # words this common (the, said, would ...) carry no topic
MAX_IDF = 7.0  # idf() scale, kept for the keyword ranking that shares it
# Matching weights: measured on ECB+ and the UCI aggregator set (see eval_clustering). A flatter
# idf than idf()'s lets ordinary words (fired/hired, sixth/seventh round) tell apart two events
# of one kind that share their rare names.
WEIGHT_CEILING = 9.0
TITLE_WEIGHT = 4.0  # the headline says what happened; the lead repeats it with background
LEAD_WORDS = 300  # later paragraphs drift into background
BIGRAM_WEIGHT = 0.5  # adjacent content words: names and what was done to whom
BIGRAM_IDF = 0.5  # a bigram's idf is this share of its two words' idfs
NUMBER_WEIGHT = 2.0  # tolls, scores, sums and years tell same-kind events apart
# In a full text the numbers are the details (the toll, the score, the sum, the date) that reports of
# one happening repeat and a report of another happening of the same kind does not. Applied after the
# term-frequency saturation, which would otherwise flatten any count-based weight. ECB+ BCubed F1 .864 -> .895
# (eval clustering); headlines (UCI) are left as they were. 2 to 3 all score about the same.
TEXT_NUMBER_BOOST = 2.5
ENTITY_WEIGHT = 1.5
ENTITY_IDF = 7.0
SLUG_WEIGHT = 1.0
SLUG_MIN_ZIPF = 2.0  # ids, hashes and base64 in URLs are not words
TF_SATURATION = 2.0  # BM25's k1: a word repeated keeps adding, ever less


@lru_cache(maxsize=500_000)
def idf(word: str) -> float:
    """Inverse document frequency of a word, from general English word frequencies (fixed, order-free)."""
    return max(0.0, MAX_IDF - zipf(word))


def term_idf(token: str) -> float:
    """The matching weight of a word or number; 0 for words too common to say anything."""
    z = zipf(token)
    if z >= STOP_ZIPF and not token[0].isdigit():
        return 0.0
    return max(0.0, WEIGHT_CEILING - z)


def stem(word: str) -> str:
    """A crude suffix-stripped form, so 'pledges'/'pledged'/'pledge' meet."""
    for suffix in ("ally", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=500_000)
def _term(token: str) -> tuple[str, float]:
    """A token's term and matching weight: "#" and the number for a number, else the word's stem (cached here, once)."""
    return ("#" + token if token[0].isdigit() else stem(token)), term_idf(token)


def tokens(text: str) -> list[str]:
    """Lower-cased word and number tokens ("1,200" -> "1200"; possessive 's dropped)."""
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group().lower().replace("’", "'").strip("'-")
        if tok[:1].isdigit():
            out.append(tok.replace(",", ""))
            continue
        if tok.endswith("'s"):
            tok = tok[:-2]
        if len(tok) > 1:
            out.append(tok)
    return out


@dataclass
class Terms:
    """Weighted term counts of one document, with each term's idf."""

    counts: dict[str, float] = field(default_factory=dict)
    idfs: dict[str, float] = field(default_factory=dict)

    def add(self, text: str, weight: float) -> None:
        """Count a text's content words, adjacent-word pairs and numbers."""
        # Written out, with no call per word: this runs for every word of every article.
        counts, idfs = self.counts, self.idfs
        count_of, idf_of = counts.get, idfs.get
        number_weight, pair_weight = weight * NUMBER_WEIGHT, weight * BIGRAM_WEIGHT
        prev: str | None = None
        prev_w = 0.0
        for tok in tokens(text):
            key, w = _term(tok)
            if key[0] == "#":
                # A number keeps the words around it adjacent: "5.6 magnitude quake".
                if w:
                    counts[key] = count_of(key, 0.0) + number_weight
                    if idf_of(key, 0.0) < w:
                        idfs[key] = w
                continue
            if not w:
                prev = None
                continue
            counts[key] = count_of(key, 0.0) + weight
            if idf_of(key, 0.0) < w:
                idfs[key] = w
            if prev is not None:
                pair, pair_w = f"{prev} {key}", BIGRAM_IDF * (prev_w + w)
                counts[pair] = count_of(pair, 0.0) + pair_weight
                if idf_of(pair, 0.0) < pair_w:
                    idfs[pair] = pair_w
            prev, prev_w = key, w

    def weights(self, number_boost: float = 1.0) -> dict[str, float]:
        """Each term's saturating term frequency times its idf (numbers' times `number_boost`), not yet of unit length."""
        k1 = TF_SATURATION
        return {
            k: v * (k1 + 1) / (v + k1) * self.idfs[k] * (number_boost if k[0] == "#" else 1.0)
            for k, v in self.counts.items()
            if v > 0
        }

    def vector(self, number_boost: float = 1.0) -> Vector:
        """The unit vector of the weights."""
        return unit(self.weights(number_boost))


class DocVector(dict[str, float]):
    """A document's unit vector that knows whether it came from a headline alone (no text)."""

    def __init__(self, terms: Mapping[str, float], brief: bool) -> None:
        super().__init__(terms)
        self.brief = brief


def unit(vec: Mapping[str, float]) -> Vector:
    """A unit-length copy of a vector, weights kept proportional."""
    length = norm(vec)
    return {k: v / length for k, v in vec.items()} if length else {}


_SLUG_WORD = re.compile(r"[a-z]{3,20}")


def slug_words(url: str | None) -> str:
    """The real words of a URL's path (its slug), which often say more than a short headline."""
    if not url:
        return ""
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0].lower()
    return " ".join(w for w in _SLUG_WORD.findall(path) if zipf(w) >= SLUG_MIN_ZIPF)


def document_terms(
    title: str | None, text: str, extra_titles: Iterable[str] = (), url: str | None = None
) -> Terms:
    """The weighted terms of an article's own words: title, lead, the titles listed with it, its URL slug."""
    terms = Terms()
    if title:
        terms.add(title, TITLE_WEIGHT)
    if url and not text:
        terms.add(slug_words(url), SLUG_WEIGHT)
    for other in extra_titles:
        terms.add(other, 1.0)
    if text:
        terms.add(" ".join(text.split()[:LEAD_WORDS]), 1.0)
    return terms


def own_weights(terms: Terms, brief: bool) -> dict[str, float]:
    """An article's own terms weighted, before its entities join them (`brief`: a headline with no text).

    Order-free, so the prepare workers weigh them: the process that places articles only adds the
    entities and scales the whole to unit length.
    """
    return terms.weights(1.0 if brief else TEXT_NUMBER_BOOST)


def finish_vector(weights: Mapping[str, float], entities: Iterable[str], brief: bool) -> DocVector:
    """An article's unit vector: its own weighted terms (`own_weights`) and its entities."""
    mentions: dict[str, float] = {}
    for name in entities:  # counted as a text's words are; none of those begins with "@"
        key = "@" + name.lower()
        mentions[key] = mentions.get(key, 0.0) + ENTITY_WEIGHT
    k1 = TF_SATURATION
    vec = dict(weights)
    for key, v in mentions.items():
        vec[key] = v * (k1 + 1) / (v + k1) * ENTITY_IDF  # Terms.weights of a term with the entities' idf
    return DocVector(unit(vec), brief=brief)


def document_vector(
    title: str | None,
    text: str,
    extra_titles: Iterable[str] = (),
    entities: Iterable[str] = (),
    url: str | None = None,
) -> DocVector:
    """The unit vector of an article: title, lead, the titles listed with it, its entities, its URL slug."""
    return finish_vector(own_weights(document_terms(title, text, extra_titles, url), not text), entities, brief=not text)


@lru_cache(maxsize=20_000)
def headline_vector(title: str) -> DocVector:
    """The vector of a headline alone, shared (read-only): refreshing an event compares every member's."""
    return document_vector(title, "")


def norm(vec: Mapping[str, float]) -> float:
    """Euclidean length of a sparse vector."""
    return math.sqrt(sum(v * v for v in vec.values()))


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine similarity of two sparse vectors."""
    na, nb = norm(a), norm(b)
    return dot(a, b) / (na * nb) if na and nb else 0.0


def dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Dot product of two sparse vectors."""
    common = a.keys() & b.keys()  # in C: most terms of two texts differ
    # fsum is exactly rounded, so the set's hash order (which varies by process) cannot change a score.
    return math.fsum([a[k] * b[k] for k in common])


def top_terms(vec: Mapping[str, float], n: int) -> Vector:
    """The n heaviest terms of a vector, heaviest first (ties broken by term, so the result is stable)."""
    # Every new member of a group cuts its signature back to the heaviest terms. Sorting in C (weights
    # for the cut, then terms, then weights again, which keeps the terms' order among equal weights)
    # costs a third of a heap keyed by a Python function, and gives the same terms in the same order.
    if len(vec) > n:
        cut = sorted(vec.values(), reverse=True)[n - 1] if n > 0 else math.inf
        items = sorted([kv for kv in vec.items() if kv[1] >= cut])
    else:
        items = sorted(vec.items())
    items.sort(key=itemgetter(1), reverse=True)
    return dict(items[:n])


@dataclass
class Centroid:
    """A group (event or story) as the sum of its members' vectors, with its date span."""

    id: int
    terms: Vector = field(default_factory=dict)
    n: int = 0
    first_day: date | None = None
    last_day: date | None = None
    length: float = field(init=False, repr=False, compare=False)
    first_ord: int = field(init=False, repr=False, compare=False)
    last_ord: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every search compares against every candidate; the length and day numbers are computed once.
        self.length = norm(self.terms)
        # An undated group never falls in a dated window: its span is empty.
        self.first_ord = self.first_day.toordinal() if self.first_day and self.last_day else 1
        self.last_ord = self.last_day.toordinal() if self.first_day and self.last_day else 0

    def similarity(self, vec: Mapping[str, float]) -> float:
        """Cosine similarity of a unit vector to this centroid."""
        return dot(vec, self.terms) / self.length if self.length else 0.0

    def dumps(self) -> str:
        """The signature as stored in the database."""
        return json.dumps({"n": self.n, "t": self.terms}, sort_keys=True)

    @classmethod
    def loads(cls, cid: int, signature: str, first_day: str | None, last_day: str | None) -> "Centroid":
        """A centroid from its stored signature."""
        data = json.loads(signature or "{}")
        return cls(
            cid,
            {sys.intern(k): v for k, v in data.get("t", {}).items()},
            int(data.get("n", 0)),
            date.fromisoformat(first_day) if first_day else None,
            date.fromisoformat(last_day) if last_day else None,
        )


MAX_BUCKETS = 64  # a group spanning years is filed once, as "wide", not under every week of it


class CentroidIndex:
    """Active centroids with an inverted index on their heaviest terms, searched by date window.

    Centroids are also filed by stretch of time (buckets of at least a week that their window
    reaches), so a search looks only at the groups of its day's bucket that share a heavy term:
    a topic's groups from other months cost nothing, however many there are.
    """

    def __init__(self, window_days: int, max_terms: int = 120, probe_terms: int = 12, max_span_days: int | None = None) -> None:
        self.window = timedelta(days=window_days)
        # A group whose reports come day after day would otherwise stretch its window with each one
        # and never end: an "event" of two months of a war. None: no bound (a story runs for months).
        self.max_span = max_span_days
        self.max_terms = max_terms
        self.probe_terms = probe_terms
        self.bucket_days = max(7, window_days)
        self.items: dict[int, Centroid] = {}
        self.postings: dict[str, set[int]] = {}
        self.buckets: dict[int | str | None, set[int]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def _buckets_of(self, c: Centroid) -> range | tuple[int | str | None]:
        """The time buckets a centroid's window reaches (None: undated; "wide": more than MAX_BUCKETS)."""
        if c.first_ord > c.last_ord:
            return (None,)
        w, size = self.window.days, self.bucket_days
        reach = range((c.first_ord - w) // size, (c.last_ord + w) // size + 1)
        return reach if len(reach) <= MAX_BUCKETS else ("wide",)

    def _file(self, c: Centroid, buckets: range | tuple[int | str | None], add: bool) -> None:
        """File a centroid under (or take it out of) its time buckets."""
        for b in buckets:
            if add:
                self.buckets.setdefault(b, set()).add(c.id)
            elif (ids := self.buckets.get(b)) is not None:
                ids.discard(c.id)
                if not ids:
                    del self.buckets[b]

    def put(self, centroid: Centroid) -> None:
        """Add or replace a centroid."""
        old = self.items.get(centroid.id)
        self.items[centroid.id] = centroid
        before_buckets = self._buckets_of(old) if old else ()
        after_buckets = self._buckets_of(centroid)
        if before_buckets != after_buckets:
            self._file(centroid, before_buckets, add=False)
            self._file(centroid, after_buckets, add=True)
        before = old.terms.keys() if old else set()
        # A new member changes few of a group's heaviest terms: only those postings move.
        for term in before - centroid.terms.keys():
            self._unpost(term, centroid.id)
        for term in centroid.terms.keys() - before:
            self.postings.setdefault(term, set()).add(centroid.id)

    def remove(self, cid: int) -> None:
        """Drop a centroid."""
        old = self.items.pop(cid, None)
        if old:
            self._file(old, self._buckets_of(old), add=False)
            for term in old.terms:
                self._unpost(term, cid)

    def _unpost(self, term: str, cid: int) -> None:
        """Take a centroid off one term's postings."""
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
        d, w, m, c = day.toordinal(), self.window.days, self.max_span, centroid  # as `search` tests it, inline
        return c.first_ord - w <= d <= c.last_ord + w and (m is None or c.last_ord - m <= d <= c.first_ord + m)

    def search(self, vec: Mapping[str, float], day: date | None) -> list[tuple[float, int]]:
        """Centroids sharing a heavy term with the vector, in the window, best first."""
        near_ids = self.buckets.get(None if day is None else day.toordinal() // self.bucket_days, set())
        if day is not None and "wide" in self.buckets:
            near_ids = near_ids | self.buckets["wide"]
        candidates: set[int] = set()
        for term in top_terms(vec, self.probe_terms):
            ids = self.postings.get(term)
            if ids:
                candidates |= near_ids & ids  # set & set walks the smaller one
        items = self.items
        if day is None:
            near = [c for c in map(items.__getitem__, candidates) if c.first_day is None]
        else:
            # in_window on day numbers: a busy topic puts thousands of groups behind one term.
            d, w, m = day.toordinal(), self.window.days, self.max_span
            near = [
                c for c in map(items.__getitem__, candidates)
                if c.first_ord - w <= d <= c.last_ord + w and (m is None or c.last_ord - m <= d <= c.first_ord + m)
            ]
        scored = self._cosines(vec, near)
        scored.sort(key=lambda sc: (-sc[0], sc[1]))
        return scored

    def _cosines(self, vec: Mapping[str, float], near: list[Centroid]) -> list[tuple[float, int]]:
        """(Centroid.similarity, id) of each centroid.

        One dot product each, over the terms the two share (a set intersection in C). Walking the
        vector's terms through the postings instead cost 1.8 times as much: a candidate group holds at
        most max_terms terms, where a text's vector holds about 180.
        """
        return [(c.similarity(vec), c.id) for c in near]

    def add_member(self, cid: int, vec: Mapping[str, float], day: date | None) -> Centroid:
        """Fold a member's vector and day into a centroid (created if new)."""
        c = self.items.get(cid) or Centroid(cid)
        terms = dict(c.terms)
        for k, v in vec.items():
            if k in terms:
                terms[k] += v
            else:
                # Interned: a vector's words arrive as fresh strings (from a worker, from JSON); the
                # thousands of centroids and postings that keep a word then share one copy of it.
                terms[sys.intern(k)] = v
        updated = Centroid(
            cid,
            top_terms(terms, self.max_terms),
            c.n + 1,
            min(filter(None, [c.first_day, day]), default=None),
            max(filter(None, [c.last_day, day]), default=None),
        )
        self.put(updated)
        return updated

    def compact(self) -> None:
        """Rebuild the postings and buckets at their present sizes.

        A Python set keeps the table of the most it ever held: after many groups are let go, the
        postings of a topic's common words would otherwise hold memory for thousands of ids each.
        """
        for table in (self.postings, self.buckets):
            for key, ids in table.items():
                table[key] = set(ids)  # one at a time, so the old table is freed as the new one is made
