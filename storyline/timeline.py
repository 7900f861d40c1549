"""Story timelines: the key dates of a story and what happened on each, from its dated articles.

Unsupervised, after the "Datewise" approach of news-tls (Gholipour Ghalandari & Ifrim 2020):
rank days by how many articles refer to them (calendar dates, weekdays and "yesterday"-style
words resolved against each article's publication day; page stamps and comment times ignored),
then for each chosen day pick the sentences closest to what its candidates share: sentences that
name the day and the leads of articles published on it or the morning after, on the story's topic.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .summarize import split_sentences, words
from .vectors import idf

Article = tuple[date, str]
Timeline = list[tuple[date, list[str]]]

# --- date expressions ---------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?"
)
_DAY = r"[0-3]?\d(?:st|nd|rd|th)?"
_YEAR = r"(?:\s*,?\s*(?P<{}>(?:19|20)\d\d)(?!\d))?"
# Written for both plain and tokenised text ("on Tuesday ,", "April 20 , 2010"); case-sensitive, as
# capitals are what tell "March 20" and "May 5" from the verbs.
_EXPR = re.compile(
    rf"\b(?P<m1>{_MONTH})\s+(?P<d1>{_DAY})(?![\d:]){_YEAR.format('y1')}"
    rf"|\b(?P<d2>{_DAY})\s+(?:of\s+)?(?P<m2>{_MONTH})(?![a-z]){_YEAR.format('y2')}"
    r"|\b(?:(?P<which>[Ll]ast|[Nn]ext|[Tt]his)\s+)?(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    r"|\b(?P<rel>[Yy]esterday|[Tt]oday|[Tt]onight|[Tt]omorrow|[Ll]ast night|[Tt]his (?:morning|afternoon|evening))\b"
)
_CLOCK = re.compile(r"\d\s*[:.]\s*\d\d")
# Cheap test for any word the expressions above start with: most sentences have none.
_TRIGGER = re.compile(r"Jan|Feb|Ma[ry]|Apr|Ju[nl]|Aug|Sep|Oct|Nov|Dec|day\b|[Tt]omorrow|night|[Tt]his [mae]")
# A clock time right after a date marks a comment or posting stamp, not an event.
_STAMP_AFTER = re.compile(r"^\s*[,;]?\s*(?:(?:19|20)\d\d\s*[,;]?\s*)?(?:at\s+)?\d{1,2}\s*[:.]\s*\d\d")
_STAMP_BEFORE = re.compile(
    r"(?:\b(?:updated|posted|published|last modified|GMT|HKT|EST|EDT)\b|\||\d\s*[:.]\s*\d\d\s*(?:[ap]\.?m\.?)?\s*(?:on)?\s*)[^.]{0,40}$",
    re.IGNORECASE,
)
# A whole page stamp, "Tuesday 1 February 2005 02.38 GMT": its weekday is furniture too.
_STAMP_SPAN = re.compile(
    rf"(?:\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?\s*,?\s*)?\b(?:{_MONTH}\s+{_DAY}|{_DAY}\s+{_MONTH})\s*,?\s*(?:(?:19|20)\d\d)?"
    r"\s*[,;|]?\s*(?:at\s+)?\d{1,2}\s*[:.]\s*\d\d(?:\s*[AaPp]\.?[Mm]\.?)?(?:\s*(?:GMT|BST|EST|EDT|ET|HKT|UTC|CET)\b)?",
    re.IGNORECASE,
)
_FUTURE = re.compile(
    r"\b(?:will|wo|'ll|shall|expected|scheduled|due|plans?|planned|set to|to be held|next|until|by)\b[^.;]*$",
    re.IGNORECASE,
)
_ENTRY_AFTER = re.compile(r"\s*(?:-+|:|–|—)\s")
_RELATIVE = {"yesterday": -1, "last night": -1, "tomorrow": 1}
AHEAD_DAYS = 60  # news looks back more than forward: "March 19" in October is the past one


def _with_year(month: int, day: int, year: str | None, ref: date) -> date | None:
    """The day named by a month and day number: the explicit year, else the latest one not far after publication."""
    if year:
        try:
            return date(int(year), month, day)
        except ValueError:
            return None
    best = None
    for y in (ref.year - 1, ref.year, ref.year + 1):
        try:
            cand = date(y, month, day)
        except ValueError:
            continue
        if cand <= ref + timedelta(days=AHEAD_DAYS) and (best is None or cand > best):
            best = cand
    return best


def _weekday(name: str, which: str | None, future: bool, ref: date) -> date:
    """The day a weekday name points to: the latest such day up to publication, unless told forward."""
    target = _WEEKDAYS[name.lower()]
    if which == "next" or (which != "last" and future):
        return ref + timedelta(days=(target - ref.weekday() - 1) % 7 + 1)
    back = (ref.weekday() - target) % 7
    return ref - timedelta(days=back or (7 if which == "last" else 0))


def day_mentions(sentence: str, published: date) -> list[date]:
    """The calendar days a sentence refers to, resolved against the article's publication day."""
    return [d for d, _ in typed_mentions(sentence, published)]


def typed_mentions(sentence: str, published: date) -> list[tuple[date, str]]:
    """Days a sentence refers to, each with how it was said: "entry", "explicit", "weekday" or "relative"."""
    found: list[tuple[date, str]] = []
    if not _TRIGGER.search(sentence):
        return found
    if _CLOCK.search(sentence):
        sentence = _STAMP_SPAN.sub(lambda m: " " * len(m.group()), sentence)
    for m in _EXPR.finditer(sentence):
        g = m.groupdict()
        before = sentence[max(0, m.start() - 60) : m.start()]
        if g["m1"] or g["m2"]:
            if _STAMP_AFTER.match(sentence[m.end() :]) or _STAMP_BEFORE.search(before):
                continue
            month = _MONTHS[(g["m1"] or g["m2"])[:3].lower()]
            day = int(re.match(r"\d+", g["d1"] or g["d2"]).group())
            found_day, kind = _with_year(month, day, g["y1"] or g["y2"], published), "explicit"
            if not sentence[: m.start()].strip(" -*•") and _ENTRY_AFTER.match(sentence[m.end() :]):
                kind = "entry"  # "March 19 - Coalition strikes begin": a line of a chronology
        elif g["wd"]:
            kind = "weekday"
            found_day = _weekday(g["wd"], (g["which"] or "").lower() or None, bool(_FUTURE.search(before)), published)
        else:
            rel, kind = " ".join(g["rel"].lower().split()), "relative"
            found_day = published + timedelta(days=_RELATIVE.get(rel, 0))
        if found_day and all(found_day != d for d, _ in found):
            found.append((found_day, kind))
    return found


# --- sentences ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article, with the days it refers to and its content words."""

    text: str
    article: int
    position: int
    published: date
    days: tuple[date, ...]
    kinds: tuple[str, ...]
    words: tuple[str, ...]


# Penn-Treebank escapes and split contractions in tokenised corpora, undone before reading words.
_PTB = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}", "``": '"', "''": '"'}
_PTB_RE = re.compile("|".join(re.escape(k) for k in _PTB) + r"| (?=n't\b|'s\b|'re\b|'ve\b|'ll\b|'d\b|'m\b)")
BOILERPLATE_ARTICLES = 4  # a sentence repeated verbatim in this many articles is page furniture
BOILERPLATE_SHARE = 0.02


# Wire datelines and page stamps that open a lead: "LONDON | Tue Mar 15 , 2011 1:48 pm GMT LONDON -LRB- Reuters -RRB- -".
_DATELINE = re.compile(
    r"^.{0,160}?(?:-LRB-|\()\s*(?:Reuters|AP|AFP|CNN|BBC|UPI|Bloomberg)\s*(?:-RRB-|\))\s*(?:--?|:|–|—)\s*"
    r"|^[A-Z][A-Z .,'/]{2,40}\s+--?\s+(?=[A-Z])"
    rf"|^(?:[A-Z][a-z]+day\s*,?\s*)?{_MONTH}\s+\d{{1,2}}\s*,\s*\d{{4}}\s*;?\s*\d{{1,2}}:\d\d\s*[AaPp]\.?[Mm]\.?\s*",
)


def strip_dateline(sentence: str) -> str:
    """A sentence without the wire dateline or time stamp some outlets open articles with."""
    for _ in range(2):  # "WASHINGTON -- WASHINGTON -LRB- AP -RRB- --" has two
        sentence = _DATELINE.sub("", sentence, count=1)
    return sentence


def plain(text: str) -> str:
    """Text with tokeniser escapes undone, for reading words (output keeps the original)."""
    return _PTB_RE.sub(lambda m: _PTB.get(m.group(), ""), text)


def article_sentences(text: str) -> list[str]:
    """An article's sentences (a line holds one or more)."""
    return split_sentences(text)


def prepare(articles: Sequence[Article]) -> list[Sentence]:
    """Every sentence of every article, dates resolved, page furniture left out; once per story."""
    split = [article_sentences(text) for _, text in articles]
    seen_in: Counter[str] = Counter()
    for sentences in split:
        seen_in.update(set(sentences))
    limit = max(BOILERPLATE_ARTICLES, BOILERPLATE_SHARE * len(articles))
    out = []
    for i, ((published, _), sentences) in enumerate(zip(articles, split)):
        for pos, sentence in enumerate(sentences):
            if seen_in[sentence] >= limit:
                continue
            if pos < 3:
                sentence = strip_dateline(sentence)
                sentence = " ".join(_STAMP_SPAN.sub(" ", sentence).split()) if _CLOCK.search(sentence) else sentence
            found = typed_mentions(sentence, published)
            days, kinds = tuple(d for d, _ in found), tuple(k for _, k in found)
            out.append(Sentence(sentence, i, pos, published, days, kinds, tuple(words(plain(sentence)))))
    return out


# --- date selection ---------------------------------------------------------------------------

# How much one article's reference to a day counts, by how it was made: a calendar date is a
# deliberate pointer, "today" and "yesterday" mostly point at the day of writing. A chronology
# line ("entry") counts as a calendar date; weighting it far higher lifts T17's average, but only
# because one input article there is a copy of a gold timeline, so it is not done.
KIND_WEIGHTS = (("entry", 1.5), ("explicit", 1.5), ("weekday", 1.0), ("relative", 0.7))


def rank_days(sentences: Iterable[Sentence], span: tuple[date, date] | None, weights: dict[str, float]) -> list[tuple[date, float]]:
    """Days by how many articles refer to them, best first; an article counts once per day."""
    refs: dict[date, dict[int, float]] = defaultdict(dict)
    for s in sentences:
        for d, kind in zip(s.days, s.kinds):
            if weights[kind] > refs[d].get(s.article, 0.0):
                refs[d][s.article] = weights[kind]
    ranked = [(d, sum(a.values())) for d, a in refs.items() if span is None or span[0] <= d <= span[1]]
    return sorted(ranked, key=lambda dv: (-dv[1], dv[0]))


# --- per-day summaries ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineOptions:
    """How days are ranked and how candidate sentences are gathered and chosen for each."""

    lead: int = 4  # an article's first sentences tell what happened on (or the day before) its publication
    min_words: int = 5
    max_words: int = 60
    min_content: int = 4  # content words, so "-RRB- -LRB- BP ." fragments stay out
    redundant: float = 0.5  # cosine above which a sentence repeats one already chosen
    keyword_share: float = 0.2  # a given keyword counts when this share of articles use it
    top_keywords: int = 8  # the story's most widespread distinctive words also mark a sentence on topic
    keyword_pool: int = 300  # only this many most widespread words are ranked for that
    relevance: float = 0.5  # weight of a sentence's similarity to the whole story, beside the day's centroid
    weights: tuple[tuple[str, float], ...] = KIND_WEIGHTS


Vector = dict[str, float]
_COMMENT = re.compile(r"\bwrote\s*:|\bposted by\b|\breport abuse\b|\brecommend\b.{0,20}\bcomment", re.IGNORECASE)
_ENTRY_HEAD = re.compile(rf"^[-*•\s]*(?:{_MONTH}\s+{_DAY}|{_DAY}\s+{_MONTH})(?:\s*,?\s*\d{{4}})?\s*(?:-+|:|–|—)\s+(?=\S)")


def _unit(vec: dict[str, float]) -> Vector:
    """A vector scaled to length one (empty stays empty)."""
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {w: v / norm for w, v in vec.items()} if norm else {}


def _sum(vecs: Iterable[Vector]) -> Counter[str]:
    """The sum of sparse vectors."""
    total: Counter[str] = Counter()
    for v in vecs:
        total.update(v)
    return total


def _cos(a: Vector, b: Vector) -> float:
    """Dot product of unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


def _usable(s: Sentence, opt: TimelineOptions) -> bool:
    """Whether a sentence can stand in a timeline: full length, real words, not a question or a reader comment."""
    n = len(s.text.split())
    return (
        opt.min_words <= n <= opt.max_words
        and len(s.words) >= opt.min_content
        and not s.text.rstrip().endswith("?")
        and not _COMMENT.search(s.text)
    )


def _entry_text(text: str) -> str:
    """A chronology line without its leading date: the timeline shows the day already."""
    return _ENTRY_HEAD.sub("", text, count=1)


def summarize_day(cands: Sequence[Sentence], k: int, vecs: Sequence[Vector], story: Vector, opt: TimelineOptions) -> list[str]:
    """k sentences closest to what the day's candidates share (and to the story), none repeating another."""
    centroid = _unit(_sum(vecs))
    scores = [_cos(v, centroid) + opt.relevance * _cos(v, story) for v in vecs]
    chosen: list[int] = []
    for i in sorted(range(len(cands)), key=lambda i: (-scores[i], i)):
        if len(chosen) >= k:
            break
        if not any(cands[i].text == cands[j].text or _cos(vecs[i], vecs[j]) > opt.redundant for j in chosen):
            chosen.append(i)
    return [_entry_text(cands[i].text) for i in chosen]


def topic_keywords(sentences: Sequence[Sentence], keywords: Sequence[str] | None, opt: TimelineOptions = TimelineOptions()) -> list[str]:
    """The story's words: the given keywords (and camel-case parts) its articles use, then its most widespread rare words."""
    texts: dict[int, list[str]] = defaultdict(list)
    words_of: dict[int, set[str]] = defaultdict(set)
    for s in sentences:
        texts[s.article].append(s.text.lower())
        words_of[s.article].update(w.removesuffix("'s") for w in s.words)
    joined = [" ".join(parts) for parts in texts.values()]
    given = []
    for kw in keywords or []:
        # Topic labels like "SyrianCrisis" or "H1N1" name the story in parts.
        given += [kw.lower()] + [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z0-9]+(?![a-z])", kw) if len(p) > 2]
    used = [k for k in dict.fromkeys(given) if joined and sum(k in t for t in joined) >= opt.keyword_share * len(joined)]
    df: Counter[str] = Counter()
    for ws in words_of.values():
        df.update(ws)
    # Only widespread words can rank high: background idf differs by a few times at most.
    ranked = sorted((w for w, _ in df.most_common(opt.keyword_pool)), key=lambda w: (-df[w] * idf(w), w))
    return list(dict.fromkeys(used + ranked[: opt.top_keywords]))


def _candidates(sentences: Iterable[Sentence], keys: Sequence[str], opt: TimelineOptions) -> dict[date, list[Sentence]]:
    """Per day, the usable on-topic sentences that tell of it: those naming it, and leads published on it or the day after."""
    out: dict[date, list[Sentence]] = defaultdict(list)
    for s in sentences:
        if not _usable(s, opt) or not any(k in s.text.lower() for k in keys):
            continue
        for d in s.days:
            out[d].append(s)
        if s.position < opt.lead and s.published not in s.days:
            out[s.published].append(s)
            if not s.days:  # a morning report of yesterday's events that does not say so
                out[s.published - timedelta(days=1)].append(s)
    return out


def timeline_from(
    sentences: Sequence[Sentence],
    n_dates: int,
    sentences_per_date: int,
    keywords: Sequence[str] | None = None,
    span: tuple[date, date] | None = None,
    opt: TimelineOptions = TimelineOptions(),
) -> Timeline:
    """A timeline of n_dates days from prepared sentences, using only articles published and days within the span."""
    if span:
        sentences = [s for s in sentences if span[0] <= s.published <= span[1]]
    if not sentences or n_dates <= 0:
        return []
    df: Counter[str] = Counter()
    for s in sentences:
        df.update(set(s.words))
    idf_of = {w: math.log(len(sentences) / c) for w, c in df.items()}
    # The whole story's tf-idf, from document frequencies: what its sentences are mostly about.
    story = _unit({w: c * idf_of[w] for w, c in df.items()})
    cands = _candidates(sentences, topic_keywords(sentences, keywords, opt), opt)
    vec_of = {id(s): _unit({w: c * idf_of[w] for w, c in Counter(s.words).items()}) for pool in cands.values() for s in pool}
    out: Timeline = []
    for day, _ in rank_days(sentences, span, dict(opt.weights)):
        if len(out) >= n_dates:
            break
        pool = cands.get(day, [])
        summary = summarize_day(pool, max(1, sentences_per_date), [vec_of[id(s)] for s in pool], story, opt)
        if summary:
            out.append((day, summary))
    return sorted(out)


def build_timeline(
    articles: list[tuple[date, str]],
    n_dates: int,
    sentences_per_date: int,
    keywords: list[str] | None = None,
    span: tuple[date, date] | None = None,
) -> Timeline:
    """The story's n_dates key days, each with up to sentences_per_date sentences from its articles."""
    return timeline_from(prepare(articles), n_dates, sentences_per_date, keywords, span)
