"""Story timelines: the key dates of a story and what happened on each, from its dated articles.

Unsupervised, after the "Datewise" approach of news-tls (Gholipour Ghalandari & Ifrim 2020):
rank days by how often the articles refer to them, then for each chosen day summarise the
sentences that mention it or lead articles published on it, keeping those on the story's topic.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
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
# Written for both plain and tokenised text ("on Tuesday ,", "April 20 , 2010").
_EXPR = re.compile(
    rf"\b(?P<m1>{_MONTH})\s+(?P<d1>{_DAY})(?![\d:]){_YEAR.format('y1')}"
    rf"|\b(?P<d2>{_DAY})\s+(?:of\s+)?(?P<m2>{_MONTH})(?![a-z]){_YEAR.format('y2')}"
    rf"|\b(?:(?P<which>last|next|this)\s+)?(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
    r"|\b(?P<rel>yesterday|today|tonight|tomorrow|last night|this (?:morning|afternoon|evening))\b",
    re.IGNORECASE,
)
# A clock time right after a date marks a comment or posting stamp, not an event.
_STAMP_AFTER = re.compile(r"^\s*[,;]?\s*(?:(?:19|20)\d\d\s*[,;]?\s*)?(?:at\s+)?\d{1,2}\s*[:.]\s*\d\d")
_STAMP_BEFORE = re.compile(
    r"(?:updated|posted|published|last modified|GMT|HKT|EST|EDT|\||\d\s*[:.]\s*\d\d\s*(?:[ap]\.?m\.?)?\s*(?:on)?\s*)[^.]{0,40}$"
    r"|\d\s*[:.]\s*\d\d\s*(?:[ap]\.?m\.?)?\s*(?:on)?\s*$",
    re.IGNORECASE,
)
_FUTURE = re.compile(
    r"\b(?:will|wo|'ll|shall|expected|scheduled|due|plans?|planned|set to|to be held|next|until|by)\b[^.;]*$",
    re.IGNORECASE,
)
_ENTRY_AFTER = re.compile(r"\s*(?:-+|:|–|—)\s")
_RELATIVE = {"yesterday": -1, "last night": -1, "tomorrow": 1}
NEAREST_YEAR_DAYS = 183  # a day-month without year is the one within half a year of publication


def _with_year(month: int, day: int, year: str | None, ref: date) -> date | None:
    """The day named by a month and day number: the explicit year, else the one nearest publication."""
    years = [int(year)] if year else [ref.year - 1, ref.year, ref.year + 1]
    best = None
    for y in years:
        try:
            cand = date(y, month, day)
        except ValueError:
            continue
        if best is None or abs((cand - ref).days) < abs((best - ref).days):
            best = cand
    if best is None or (not year and abs((best - ref).days) > NEAREST_YEAR_DAYS):
        return None
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
    for m in _EXPR.finditer(sentence):
        g = m.groupdict()
        before = sentence[max(0, m.start() - 60) : m.start()]
        if g["m1"] or g["m2"]:
            if _STAMP_AFTER.match(sentence[m.end() :]) or _STAMP_BEFORE.search(before):
                continue
            month = _MONTHS[(g["m1"] or g["m2"])[:3].lower()]
            day = int(re.match(r"\d+", g["d1"] or g["d2"]).group())
            if g["m2"] and (g["m2"].lower() == "may" and not g["y2"]):
                continue  # "5 may" is more often a number and a verb than a date
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
            sentence = strip_dateline(sentence) if pos < 3 else sentence
            found = typed_mentions(sentence, published)
            days, kinds = tuple(d for d, _ in found), tuple(k for _, k in found)
            out.append(Sentence(sentence, i, pos, published, days, kinds, tuple(words(plain(sentence)))))
    return out


# --- date selection ---------------------------------------------------------------------------


KIND_WEIGHTS = {"entry": 1.0, "explicit": 1.0, "weekday": 1.0, "relative": 1.0}


def rank_days(sentences: Iterable[Sentence], span: tuple[date, date] | None, weights: dict[str, float] | None = None) -> list[tuple[date, float]]:
    """Days by how many articles refer to them, best first (an article counts once per day)."""
    weights = weights or KIND_WEIGHTS
    refs: dict[date, dict[int, float]] = defaultdict(dict)
    for s in sentences:
        for d, kind in zip(s.days, s.kinds):
            w = weights[kind]
            if w > refs[d].get(s.article, 0.0):
                refs[d][s.article] = w
    ranked = [(d, sum(a.values())) for d, a in refs.items() if span is None or span[0] <= d <= span[1]]
    return sorted(ranked, key=lambda dv: (-dv[1], dv[0]))


# --- per-day summaries ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineOptions:
    """How candidate sentences are gathered and chosen for each day."""

    lead: int = 2  # the first sentences of an article tell what happened on its publication day
    min_words: int = 5
    min_content: int = 4  # content words, so "-RRB- -LRB- BP ." fragments stay out
    first_max_words: int = 1000  # the first line of a page often runs headline, standfirst and lead together
    max_words: int = 60
    redundant: float = 0.5  # cosine above which a sentence repeats one already chosen
    keyword_share: float = 0.2  # a given keyword counts when this share of articles use it
    top_keywords: int = 3
    centroid: str = "mean"  # "mean" of candidates, or "pm": terms shared by mention and lead sentences
    explicit_bonus: float = 0.0
    relevance: float = 0.0  # weight of similarity to the whole story
    lead_bonus: float = 0.0
    quote_penalty: float = 0.0
    position_bonus: float = 0.0  # for sentences early in their article
    length_penalty: float = 0.0  # per word beyond 30
    weights: tuple[tuple[str, float], ...] = tuple(KIND_WEIGHTS.items())
    entry_bonus: float = 0.0
    strip_entry: bool = False


Vector = dict[str, float]


def _tfidf(tokens: Sequence[str], idf: dict[str, float]) -> Vector:
    """A unit tf-idf vector."""
    counts = Counter(tokens)
    vec = {w: c * idf.get(w, 0.0) for w, c in counts.items()}
    return _unit(vec)


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
    """Whether a sentence can stand in a timeline: full length, not a question."""
    n = len(s.text.split())
    if s.position == 0 and n > opt.first_max_words:
        return False
    if _COMMENT.search(s.text):
        return False
    return opt.min_words <= n <= opt.max_words and len(s.words) >= opt.min_content and not s.text.rstrip().endswith("?")


_COMMENT = re.compile(r"\bwrote\s*:|\bposted by\b|\breport abuse\b|\brecommend\b.{0,20}\bcomment", re.IGNORECASE)


def _on_topic(s: Sentence, keywords: Sequence[str]) -> bool:
    """Whether a sentence names one of the story's keywords."""
    low = s.text.lower()
    return any(k in low for k in keywords)


def _day_centroid(day: date, cands: Sequence[Sentence], vecs: Sequence[Vector], opt: TimelineOptions) -> Vector:
    """What the day's candidates share."""
    if opt.centroid != "pm":
        return _unit(_sum(vecs))
    ment = [v for s, v in zip(cands, vecs) if day in s.days]
    pub = [v for s, v in zip(cands, vecs) if day not in s.days]
    if not ment or not pub:
        return _unit(_sum(vecs))
    cm, cp = _sum(ment), _sum(pub)
    # news-tls PM-mean: only terms both kinds of evidence use, each side averaged.
    return _unit({w: cm[w] / len(ment) + cp[w] / len(pub) for w in cm.keys() & cp.keys()}) or _unit(_sum(vecs))


def summarize_day(day: date, cands: Sequence[Sentence], k: int, vec_of: Callable[[Sentence], Vector], story: Vector, opt: TimelineOptions) -> list[str]:
    """k sentences closest to what the day's candidates share, none repeating another."""
    vecs = [vec_of(s) for s in cands]
    cent = _day_centroid(day, cands, vecs, opt)
    scores = []
    for s, v in zip(cands, vecs):
        explicit = any(d == day and kind in ("explicit", "entry") for d, kind in zip(s.days, s.kinds))
        entry = any(d == day and kind == "entry" for d, kind in zip(s.days, s.kinds))
        lead = s.published == day and s.position < opt.lead
        quote = "``" in s.text or '"' in s.text or "''" in s.text
        extra = opt.position_bonus / (1 + s.position) - opt.quote_penalty * quote - opt.length_penalty * max(0, len(s.text.split()) - 30)
        scores.append(_cos(v, cent) + opt.explicit_bonus * explicit + opt.relevance * _cos(v, story) + opt.lead_bonus * lead + opt.entry_bonus * entry + extra)
    order = sorted(range(len(cands)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= k:
            break
        if any(cands[i].text == cands[j].text or _cos(vecs[i], vecs[j]) > opt.redundant for j in chosen):
            continue
        chosen.append(i)
    return [_entry_text(cands[i].text) if opt.strip_entry else cands[i].text for i in chosen]


_ENTRY_HEAD = re.compile(rf"^[-*•\s]*(?:{_MONTH}\s+{_DAY}|{_DAY}\s+{_MONTH})(?:\s*,?\s*\d{{4}})?\s*(?:-+|:|–|—)\s+(?=\S)")


def _entry_text(text: str) -> str:
    """A chronology line without its leading date: the timeline shows the day already."""
    return _ENTRY_HEAD.sub("", text, count=1)


def topic_keywords(sentences: Sequence[Sentence], keywords: Sequence[str] | None, opt: TimelineOptions = TimelineOptions()) -> list[str]:
    """The story's words: given keywords (and their camel-case parts) its articles use, and its most widespread words."""
    by_article: dict[int, list[str]] = defaultdict(list)
    for s in sentences:
        by_article[s.article].append(s.text.lower())
    texts = [" ".join(parts) for parts in by_article.values()]
    given = []
    for kw in keywords or []:
        given += [kw.lower()] + [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z0-9]+(?![a-z])", kw) if len(p) > 2]
    used = [k for k in dict.fromkeys(given) if texts and sum(k in t for t in texts) >= opt.keyword_share * len(texts)]
    df: Counter[str] = Counter()
    for ws in _article_words(sentences).values():
        df.update(ws)
    ranked = sorted(df, key=lambda w: (-df[w] * idf(w), w))
    return list(dict.fromkeys(used + ranked[: opt.top_keywords]))


def _article_words(sentences: Iterable[Sentence]) -> dict[int, set[str]]:
    """Each article's set of content words."""
    out: dict[int, set[str]] = defaultdict(set)
    for s in sentences:
        out[s.article].update(w.removesuffix("'s") for w in s.words)
    return out


def timeline_from(
    sentences: Sequence[Sentence],
    n_dates: int,
    sentences_per_date: int,
    keywords: Sequence[str] | None = None,
    span: tuple[date, date] | None = None,
    opt: TimelineOptions = TimelineOptions(),
) -> Timeline:
    """A timeline of n_dates days from prepared sentences, restricted to articles and days in the span."""
    if span:
        sentences = [s for s in sentences if span[0] <= s.published <= span[1]]
    if not sentences or n_dates <= 0:
        return []
    keys = topic_keywords(sentences, keywords, opt)
    df: Counter[str] = Counter()
    for s in sentences:
        df.update(set(s.words))
    idf_of = {w: math.log(len(sentences) / c) for w, c in df.items()}
    cache: dict[int, Vector] = {}

    def vec_of(s: Sentence) -> Vector:
        key = id(s)
        if key not in cache:
            cache[key] = _tfidf(s.words, idf_of)
        return cache[key]

    mentions: dict[date, list[Sentence]] = defaultdict(list)
    published: dict[date, list[Sentence]] = defaultdict(list)
    for s in sentences:
        if not (_usable(s, opt) and _on_topic(s, keys)):
            continue
        for d in s.days:
            mentions[d].append(s)
        if s.position < opt.lead and s.published not in s.days:
            published[s.published].append(s)
    story = _unit(_sum(vec_of(s) for s in sentences)) if opt.relevance else {}
    out: Timeline = []
    for day, _ in rank_days(sentences, span, dict(opt.weights)):
        if len(out) >= n_dates:
            break
        summary = summarize_day(day, mentions[day] + published[day], max(1, sentences_per_date), vec_of, story, opt)
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
