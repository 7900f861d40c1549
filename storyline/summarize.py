"""Extractive text analysis: sentences, event summaries, article keywords and direct quotations."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from wordfreq import get_frequency_dict, zipf_frequency

from storyline.models import Quote

STOPWORDS = frozenset(
    """a about above across after afterwards again against all almost alone along already also
    although always am among amongst an and another any anyhow anyone anything anyway anywhere are
    around as at back be became because become becomes been before beforehand behind being below
    beside besides between beyond both but by can cannot could did do does doing done down due
    during each either else elsewhere enough even ever every everyone everything everywhere except
    few for former formerly from further had has have having he hence her here hereby herein hers
    herself him himself his how however i if in indeed into is it its itself just last latter
    least less many may me meanwhile might mine more moreover most mostly much must my myself
    namely neither never nevertheless next no nobody none nor not nothing now nowhere of off often
    on once one only onto or other others otherwise our ours ourselves out over own per perhaps
    please put rather same several she should since so some somehow someone something sometime
    sometimes somewhere still such than that the their theirs them themselves then thence there
    thereafter thereby therefore therein these they this those though through throughout thus to
    together too toward towards under until up upon us very via was we well were what whatever when
    whenever where whereas whether which while who whoever whole whom whose why will with within
    without would yet you your yours yourself yourselves said says say saying told tell tells
    added adds according also mr mrs ms dr new like get got make made take took use used including
    year years day days week weeks month months time times way ways people thing things lot lots
    want wants going go goes went come came comes see seen know known think told asked already
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow tonight
    january february march april june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec s t don didn doesn isn wasn aren weren won
    can't cannot isn't don't didn't won't it's he's she's that's there's they're we're i'm""".split()
)

# Abbreviations whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st sr jr gen lt col maj capt sgt cpl adm cmdr rep sen gov pres rev hon
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    inc corp ltd co bros dept univ no nos vs etc approx est fig vol ed eds al op cf e.g i.e
    a.m p.m u.s u.k u.n e.u d.c n.y l.a mt ft ave blvd rd""".split()
)

# Words that start a sentence often enough that an acronym's period before them ends one.
STARTERS = frozenset(
    "the a an he she it they we i but and in on at this that these those there his her its their "
    "after before when while if as however meanwhile yet so".split()
)

_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)(?=[\"'“‘(\[]?[A-Z0-9])")
# Words of two letters or more: a lone letter is never a content word, and a letter matched alone
# is always followed by a non-letter, so the longer words found are the same either way.
_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]")
_CAPTION = re.compile(
    r"\b(?:photograph|photo|image|picture|credit|file photo|getty images|pictured|reuters/|afp/|"
    r"ap photo|image source|click here|read more|subscribe|sign up|sign in|log in|newsletter|"
    r"all rights reserved|cookies?|comments?|"
    r"published|updated|edited by|written by|follow us|copyright)\b|^by\s+[A-Z]|©|@|https?://|"
    r"\[[A-Z][A-Z .]+\]\s*$|\((?:AFP|AP|Reuters|Getty|EPA|Yonhap)[^)]*\)\s*$|"
    r",\s*(?:left|right|centre|center|second (?:left|right)|front|rear)\s*,|\((?:[LRC]|left|right)\)",
    re.IGNORECASE,
)
# Every branch of _CAPTION needs one of these in the lower-cased sentence (or a sentence starting "by"):
# an ASCII sentence with none of them cannot match, and most sentences are spared the slow
# case-insensitive search. Non-ASCII sentences always get the search (© and Unicode case folding).
_CAPTION_CUES = (
    "photo", "image", "picture", "credit", "reuters/", "afp/", "click here", "read more", "subscribe", "sign up",
    "sign in", "log in", "newsletter", "all rights reserved", "cookie", "comment", "published", "updated",
    "edited by", "written by", "follow us", "copyright", "@", "http", "[", "(", "left", "right", "centre",
    "center", "front", "rear",
)
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Za-z.'/ -]{1,40},?\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2},?\s*)?)?"
    r"\((?:Reuters|AP|AFP|CNN|Yonhap|BBC|UPI|Xinhua|dpa|Bloomberg)\)\s*[-–—:]+\s*"
)
_OUTLET_SUFFIX = re.compile(r"\s+[-–—|:]\s+([^-–—|:]{2,40})$")
_SMALL_WORDS = set("a an and at de del der die du el for in la le of on the to y & und".split())


_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")
_NEXT_WORD = re.compile(r"[\"'“‘(\[]?([A-Za-z]+)")


def _word_before(text: str, end: int) -> str:
    """The run of ASCII letters and periods that ends at `end` (empty when there is none)."""
    # Walking back from the period costs the word's length; copying or searching the text before it
    # cost the whole paragraph for every period, quadratic in a long one-line article.
    start = end
    while start > 0 and text[start - 1] in _WORD_CHARS:
        start -= 1
    return text[start:end]


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Whether a period/?/! match really ends a sentence, given abbreviations before it."""
    if match.group(1) != ".":
        return True
    word = _word_before(text, match.start(1))
    if not word:
        return True
    token = word.lower().rstrip(".")
    following = _NEXT_WORD.match(text, match.end())  # from that position: no copy of the rest
    nxt = following.group(1).lower() if following else ""
    if len(token) == 1:
        return False  # an initial, as in "George W. Bush"
    if token in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token):
        # "the U.S. The next day" ends a sentence; "U.S. President" does not.
        return "." in token and nxt in STARTERS and token not in {"mr", "mrs", "ms", "dr"}
    return True


def _split_line(line: str) -> list[str]:
    """Split one paragraph line into sentences."""
    out, start = [], 0
    for match in _BOUNDARY.finditer(line):
        if _is_boundary(line, match):
            end = match.end(2)
            piece = line[start:end].strip()
            if piece:
                out.append(piece)
            start = match.end()
    rest = line[start:].strip()
    if rest:
        out.append(rest)
    return out


def _lines(text: str) -> list[str]:
    """Paragraph lines, re-joining hard-wrapped lines that continue a sentence."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            lines.append("")
            continue
        prev = lines[-1] if lines else ""
        if prev and prev[-1] not in ".!?:\"'”’)" and line[0].islower():
            lines[-1] = prev + " " + line
        else:
            lines.append(line)
    return [line for line in lines if line]


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences, keeping abbreviations like "Jan.", "U.S." and "Mr." whole."""
    return [sentence for line in _lines(text) for sentence in _split_line(line)]


def words(text: str) -> list[str]:
    """Lowercase content words of a text (no stopwords, numbers or single letters)."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def outlet_like(text: str) -> bool:
    """Whether a headline suffix reads like an outlet name: short, capitalised, no sentence end."""
    words = text.split()
    if not 1 <= len(words) <= 6 or len(text) > 60 or text[-1] in ".?!:;,\"'”’":
        return False
    if not any(ch.isalpha() for ch in text):
        return False  # a number or date, not a name
    for word in words:
        first = word.lstrip("(\"'“‘")[:1]
        if word.lower() in _SMALL_WORDS or "." in word or not first:
            continue
        if first.isalpha() and first.lower() == first and first.upper() != first:
            return False  # a lower-case Latin/Cyrillic word: the tail is part of the sentence
    return True


_PAGE_MARK = re.compile(r"\s*[(（]\d{1,3}/\d{1,3}[)）]$")  # "(1/9)": the first page of a gallery or a long read
# Columns are one writer's view: an event's summary tells what happened, from the reports.
_OPINION = re.compile(r"(?:opinion|analysis|commentary|editorial|column|op-ed|letters?)\s*[:|]", re.I)


def clean_title(title: str) -> str:
    """A headline without its trailing " - Outlet" or " | Site" part (or page mark)."""
    title = _PAGE_MARK.sub("", " ".join(title.split()))
    # Only a tail that reads like a name goes: "... as U.S. - China trade talks stall" is the headline.
    found = _OUTLET_SUFFIX.search(title)
    if found is None or not outlet_like(found.group(1).rstrip(" .…")):  # an aggregator cut it: "WDRB 41 ..."
        return title
    stripped = title[: found.start()]
    # Three words are a headline; Chinese and Japanese write theirs without spaces between words.
    return stripped if len(stripped.split()) >= 3 or (len(stripped) >= 8 and not stripped.isascii()) else title


@dataclass
class _Candidate:
    """One sentence that may go into a summary."""

    text: str
    doc: int
    position: int
    vector: dict[str, float]
    score: float = 0.0


# The arguments wordfreq passes itself (zipf_frequency's fallback below): its cache is keyed by them,
# and other arguments would build a second 320,000-word table (about 28 MB) in every process.
WORDLIST = ("en", "best")


def word_table() -> dict[str, float]:
    """wordfreq's English frequency table, as wordfreq itself caches it."""
    return get_frequency_dict(*WORDLIST)


@lru_cache(maxsize=1 << 18)
def zipf(word: str) -> float:
    """English zipf frequency of a word; wordfreq's table is read directly as its tokenizer is slow."""
    freq = word_table().get(word) if word.isalpha() else None
    return round(math.log10(freq) + 9, 2) if freq else zipf_frequency(word, *WORDLIST)


def _idf(word: str) -> float:
    """Background rarity of a word from its zipf frequency (common words weigh little)."""
    return max(0.3, 7.0 - zipf(word))


_IDF: dict[str, float] = {}  # _idf's cache, by word: a dict look-up is cheaper than an lru_cache call
_IDF_MAX = 1 << 18


def _vector(tokens: list[str]) -> dict[str, float]:
    """A unit-length tf-idf vector."""
    # Written out rather than as comprehensions over _idf: every sentence of every summary source
    # makes one, and the sums run in the same order, so the figures are the same to the last bit.
    idf, log = _IDF, math.log
    vec: dict[str, float] = {}
    square = 0.0
    for w, c in Counter(tokens).items():
        weight = idf.get(w)
        if weight is None:
            if len(idf) >= _IDF_MAX:
                idf.clear()
            weight = idf[w] = _idf(w)
        v = weight if c == 1 else (1.0 + log(c)) * weight  # most words come once: (1 + log 1) * w is w
        vec[w] = v
        square += v * v
    norm = math.sqrt(square) or 1.0
    return {w: v / norm for w, v in vec.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Dot product of two unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    total = 0.0
    get = b.get
    for w, v in a.items():
        total += v * get(w, 0.0)
    return total


def _usable(sentence: str) -> bool:
    """Whether a sentence can stand alone in a summary (no captions, bylines, questions, stubs)."""
    n_words = len(sentence.split())
    if n_words < 6 or n_words > 60 or len(sentence) > 350:
        return False
    if sentence.endswith("?") or sentence[-1] not in ".!\"'”’)":
        return False
    if not (sentence[0].isupper() or sentence[0] in "\"“‘'"):
        return False
    if sentence.count('"') % 2 or sentence.count("“") != sentence.count("”"):
        return False  # a fragment of a quotation split across sentences
    return not _is_caption(sentence)


def _is_caption(sentence: str) -> bool:
    """Whether a sentence reads as a caption, credit, byline or site chrome (_CAPTION, cue-checked first)."""
    if sentence.isascii():
        lower = sentence.lower()
        if not lower.startswith("by"):
            for cue in _CAPTION_CUES:  # a plain loop: a quarter cheaper than any() over a generator
                if cue in lower:
                    break
            else:
                return False
    return _CAPTION.search(sentence) is not None


# A summary is drawn from each report's opening: news puts what happened first, and the lead bonus
# in summarize already all but rules out later sentences. Reading whole texts made the end-of-ingest
# summaries about a fifth of the worker processes' time.
OPENING_CHARS = 3000


def opening_sentences(text: str, chars: int = OPENING_CHARS) -> list[str]:
    """The sentences of a text's opening: those wholly within its first `chars` characters (the first one at least)."""
    if len(text) <= chars:
        return split_sentences(text)
    sentences = split_sentences(text[:chars])
    return sentences[:-1] or sentences  # the last may be cut short


def _candidates(docs: list[tuple[str, str]]) -> list[_Candidate]:
    """Usable sentences of every document's opening, with their position in it."""
    out = []
    for d, (_title, text) in enumerate(docs):
        seen = 0
        for sentence in opening_sentences(text or ""):
            if "(" in sentence:  # every dateline names its agency in brackets
                sentence = _DATELINE.sub("", sentence)
            if not sentence or not _usable(sentence):
                continue
            tokens = words(sentence)
            if len(tokens) < 3:
                continue
            out.append(_Candidate(sentence, d, seen, _vector(tokens)))
            seen += 1
    return out


def _centroid(docs: list[tuple[str, str]], cands: list[_Candidate]) -> dict[str, float]:
    """What the event is about: documents weigh equally, titles count double."""
    total: dict[str, float] = {}  # a plain dict: Counter's missing keys cost a Python call each
    get = total.get
    by_doc: dict[int, list[dict[str, float]]] = {}
    for cand in cands:
        by_doc.setdefault(cand.doc, []).append(cand.vector)
    for d, (title, _text) in enumerate(docs):
        vecs = by_doc.get(d, [])
        n = len(vecs)
        for vec in vecs:
            for w, v in vec.items():
                total[w] = get(w, 0.0) + v / n
        for w, v in _vector(words(title or "")).items():
            total[w] = get(w, 0.0) + 2.0 * v
    norm = math.sqrt(sum(v * v for v in total.values())) or 1.0
    return {w: v / norm for w, v in total.items()}


def _select(cands: list[_Candidate], k: int, max_chars: int) -> list[_Candidate]:
    """Maximal marginal relevance: good sentences that do not repeat each other and fit max_chars."""
    chosen: list[_Candidate] = []
    used = 0
    # Only the best sentences compete: an event with hundreds of articles stays cheap.
    pool = sorted(cands, key=lambda c: -c.score)[: 20 * k]
    while pool and len(chosen) < k:
        room = max_chars - used - (1 if chosen else 0)
        best, best_value = None, -1e9
        for cand in pool:
            if len(cand.text) > room:
                continue
            overlap = max((_cosine(cand.vector, c.vector) for c in chosen), default=0.0)
            if overlap > 0.5:
                continue  # the same fact again, often a wire copy
            value = 0.7 * cand.score - 0.3 * overlap
            if value > best_value:
                best, best_value = cand, value
        if best is None:
            break
        pool.remove(best)
        chosen.append(best)
        used += len(best.text) + (1 if len(chosen) > 1 else 0)
    return chosen


def _best_title(docs: list[tuple[str, str]]) -> str:
    """The headline closest to what all headlines share."""
    titles = [clean_title(t) for t, _ in docs if t and t.strip()]
    titles = [t for t in titles if not _OPINION.match(t)] or titles
    if not titles:
        return ""
    vecs = [_vector(words(t)) for t in titles]
    scores = [sum(_cosine(v, o) for o in vecs) for v in vecs]
    return titles[max(range(len(titles)), key=lambda i: (scores[i], -abs(len(titles[i]) - 80)))]


def _truncate(text: str, max_chars: int) -> str:
    """Cut text at a word boundary to fit max_chars, marking the cut."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


_PRONOUN_START = re.compile(r"(?:He|She|It|They|This|That|But|And)\b")


def summarize(docs: list[tuple[str, str]], max_sentences: int = 3, max_chars: int = 400) -> str:
    """An extractive summary (1-3 sentences) of one event from its (title, text) articles."""
    cands = _candidates(docs)
    if not cands:
        return _truncate(_best_title(docs), max_chars)
    centroid = _centroid(docs, cands)
    for cand in cands:
        lead = 0.25 / (1.0 + cand.position)  # news puts the gist first
        pronoun = 0.1 if _PRONOUN_START.match(cand.text) else 0.0
        cand.score = _cosine(cand.vector, centroid) + lead - pronoun
    chosen = _select(cands, max(1, max_sentences), max_chars)
    if not chosen:
        best = max(cands, key=lambda c: c.score)
        return _truncate(best.text, max_chars)
    chosen.sort(key=lambda c: (c.position, c.doc))
    return " ".join(c.text for c in chosen)


# ---- keywords --------------------------------------------------------------------------------

_VERB_BASES = """accept add agree allow announce appear argue arrive ask become begin believe bring buy
come confirm consider continue decide declare deepen deny describe expect explain fail fall find
follow give go grow happen help hold hope include insist join keep know launch lead leave let lose
make meet move need offer pay pledge prepare promise provide push put raise reach receive refuse
reject remain remove require respond rise run say see seek seem send set show sign speak spend stand
start stay stop strengthen suggest take tell think threaten try turn urge voice vow want warn win"""
_IRREGULAR = """took taken held gave given made kept knew known led left lost met paid ran said saw seen
sought sent showed shown spoke spoken spent stood told thought tried won went gone came became began
begun brought bought found grew grown rose risen fell fallen"""


def _verb_forms() -> frozenset[str]:
    """Inflected forms of common verbs, which make poor keywords and poor phrase heads."""
    forms = set(_IRREGULAR.split())
    for base in _VERB_BASES.split():
        stem = base[:-1] if base.endswith("e") else base
        forms |= {base, base + "s", base + "es", stem + "ed", stem + "ing", base + "d"}
    return frozenset(forms)


VERB_FORMS = _verb_forms()
# Punctuation and digits become spaces: str.translate + split is several times faster than a regex,
# and a phrase split by punctuation rarely repeats often enough to matter.
_KW_BLANKS = str.maketrans({c: " " for c in ".,;:!?()[]{}|/\\\"“”‘’'—–-…*#@$%&+=<>_~^0123456789"})


@dataclass(frozen=True)
class WordCounts:
    """What `keywords` reads of an article's own words, counted before its names are known."""

    title_words: frozenset[str]
    uni: dict[str, int]  # lowercase words that may be keywords, with their counts
    pairs: dict[tuple[str, str], int]  # adjacent pairs of such words (verb forms never stand in one)


def word_counts(title: str, text: str) -> WordCounts:
    """An article's word and phrase counts for `keywords`: order-free, so the prepare workers count them."""
    # Only words written in lowercase count: capitalised ones are names, handled as entities.
    tokens = (title + "\n" + text).translate(_KW_BLANKS).split()
    title_words = {w for w in title.translate(_KW_BLANKS).split() if w[:1].islower() and w not in STOPWORDS}
    counts = Counter(tokens)
    for word, n in list(counts.items()):
        if word[:1].isupper():
            lower = word.lower()
            if counts.get(lower, 0) >= n:  # "Crews worked" starts a sentence
                counts[lower] += n
    uni = {
        w: n + (w in title_words)
        for w, n in counts.items()
        if (n > 1 or w in title_words) and len(w) > 2 and w[0].islower() and w not in STOPWORDS and not w.endswith("ly")
    }
    heads = {w for w in uni if w not in VERB_FORMS}  # words that may stand in a phrase
    marked = [w if w in heads else None for w in tokens]
    pairs = Counter([(a, b) for a, b in zip(marked, marked[1:]) if a is not None and b is not None])
    return WordCounts(frozenset(title_words), uni, dict(pairs))


def keywords(
    title: str, text: str, names: list[tuple[str, int]], k: int = 10, counted: WordCounts | None = None
) -> list[str]:
    """5-10 salient lowercase terms of an article: tf x background rarity, phrases, a few (name, count)s.

    `counted`: word_counts(title, text), if counted ahead.
    """
    if counted is None:
        counted = word_counts(title, text)
    title_words = counted.title_words
    # Names stand as whole names, not as loose words: their words leave the counts and every pair
    # they are in (the same counts, in the same order, as when they were left out before counting).
    parts = {part for name, _n in names for part in name.lower().split()}
    uni: Counter[str] = Counter({w: n for w, n in counted.uni.items() if w not in parts})
    pairs = {ab: n for ab, n in counted.pairs.items() if ab[0] not in parts and ab[1] not in parts}
    bi = {f"{a} {b}": n for (a, b), n in pairs.items() if n > 1 and not b.endswith("ed")}
    for word in list(uni):
        if word in uni and word.endswith("s") and word[:-1] in uni:  # fold plurals into the commoner form
            keep, drop = (word, word[:-1]) if uni[word] >= uni[word[:-1]] else (word[:-1], word)
            uni[keep] += uni.pop(drop)
    for pair, n in bi.items():  # words inside a repeated phrase count for the phrase only
        for word in pair.split():
            if word in uni:
                uni[word] = max(0, uni[word] - n)
    scores: dict[str, float] = {}
    for word, n in uni.items():
        if n >= 2 or word in title_words:
            scores[word] = n * max(0.0, 7.5 - zipf(word)) * (0.4 if word in VERB_FORMS else 1.0)
    for pair, n in bi.items():
        if n >= 2:
            a, b = pair.split()
            scores[pair] = 1.5 * n * (max(0.0, 7.5 - zipf(a)) + max(0.0, 7.5 - zipf(b))) / 2
    for name, n in names[:3]:  # names are listed as entities already: a few suffice here
        scores[name.lower()] = n * 2.0
    chosen: list[str] = []
    for term, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(chosen) >= k or (len(chosen) >= 5 and score < 0.15 * scores[chosen[0]]):
            break
        if any(term in c.split() or c in term.split() for c in chosen):
            continue  # a bigram already covers this word, or the reverse
        chosen.append(term)
    return chosen


# ---- quotations ------------------------------------------------------------------------------

SAY = (
    r"(?:said|says|say|wrote|writes|told|tells|added|adds|stated|declared|announced|explained|"
    r"noted|insisted|warned|argued|replied|continued|stressed|claimed|posted|tweeted|recalled|"
    r"acknowledged|remarked|urged|vowed|pledged|asserted|admitted|cautioned|concluded)"
)
_CAPSEQ = r"[A-Z][\w.'’-]*(?:\s+(?:of\s+|al-)?[A-Z][\w.'’-]*){0,5}"
# A role between an organisation and a person names the person: "General Motors spokesman Tom Wilkinson".
_ROLE = (
    r"(?:spokes(?:man|woman|person)|chief\s+executive|executive|chairman|chairwoman|president|director|"
    r"minister|secretary|official|analyst|economist|lawyer|attorney|aide|adviser|advisor|manager|chief|head)"
)
_SPK = rf"(?:(?:the|The)\s+)?(?:{_CAPSEQ}(?:['’]s)?\s+{_ROLE}\s+)?{_CAPSEQ}|\b(?:he|she|it|they|He|She|It|They)\b"
_AFTER = (
    re.compile(rf"^[,.!?]?\s*(?P<spk>{_SPK})(?:\s*,[^,\"“”]{{1,100}},)?\s+(?:also\s+|later\s+)?{SAY}\b"),
    re.compile(rf"^[,.!?]?\s*{SAY}\s+(?P<spk>{_SPK})"),
    re.compile(rf"^[,.!?]?\s*according\s+to\s+(?P<spk>{_SPK})"),
)
_BEFORE = (
    re.compile(rf"(?P<spk>{_SPK})(?:\s*,[^,]{{1,100}},)?\s+(?:\w+\s+){{0,2}}?{SAY}\b[^.!?\"“”]{{0,80}}$"),
    re.compile(rf"[Aa]ccording\s+to\s+(?P<spk>{_SPK})\s*,?\s*$"),
    re.compile(rf"^\s*(?P<spk>{_CAPSEQ})\s*$"),
)
# The first _BEFORE ends in a verb of saying and at most 80 more characters: text with none of those
# near its end is passed over, where the search tried a speaker at each of its positions first
# (find_quotes over 4,002 T17 texts: 0.41 s against 0.49, the same quotes). The reach: the longest
# verb (12 characters) and the 80.
_SAID_NEAR_END = re.compile(rf"{SAY}\b[^.!?\"“”]{{0,80}}$")
_SAID_REACH = 100
_INVERTED = re.compile(rf"(?:he|she|they|it|we)\s+{SAY}\b")  # text between two quotations
QUOTATION = re.compile(r"“([^”\n]+)”?|\"([^\"\n]+)\"?|‘([^’\n]+?)’(?![a-z])|``([^'\n]+)''")


def _clause_start(text: str, lo: int, hi: int) -> int:
    """Start of the sentence that position `hi` is in, not before `lo`; "Mr." and "U.S." do not end one."""
    pos = hi
    while True:
        cut = max(text.rfind(". ", lo, pos), text.rfind("? ", lo, pos), text.rfind("! ", lo, pos))
        if cut < 0:
            return lo
        word = text[max(lo, cut - 8) : cut + 1].split()[-1:]
        if word and (word[0].lower().rstrip(".") in _ABBREVIATIONS or re.fullmatch(r"(?:[A-Z]\.)+", word[0])):
            pos = cut
            continue
        return cut + 2


def _attribution(before: str, after: str) -> str | None:
    """Who a quotation is attributed to, as written: '..." Kim wrote', 'he said: "...', 'according to X'."""
    for pattern in _AFTER:
        hit = pattern.match(after)
        if hit:
            return hit.group("spk")
    said = _SAID_NEAR_END.search(before, max(0, len(before) - _SAID_REACH))
    for pattern in _BEFORE if said else _BEFORE[1:]:
        hit = pattern.search(before)
        if hit:
            return hit.group("spk")
    return None


def find_quotes(text: str, speaker_of: Callable[[str, int, list[tuple[int, int]]], str | None]) -> list[Quote]:
    """Direct quotations of six words or more; `speaker_of(raw attribution, offset, quote spans)` names who."""
    found = [(m.start(), m.end(), next(g for g in m.groups() if g is not None)) for m in QUOTATION.finditer(text)]
    spans = [(s, e) for s, e, _ in found]
    out: list[Quote] = []
    last_end, last_speaker = -1, None
    for s, e, inner in found:
        body = inner.strip().rstrip(",").strip()
        if len(body.split()) < 6 or _INVERTED.match(body):
            continue  # scare quotes ("permanent"), or the words between two quotations
        para_start = text.rfind("\n\n", 0, s) + 1
        before = text[_clause_start(text, max(para_start, last_end), s) : s]
        after = re.split(r"(?<=[.!?])\s|[\"“”\n]", text[e : e + 160], maxsplit=1)[0]
        raw = _attribution(before, after)
        if raw is not None:
            speaker = speaker_of(raw, s, spans)
        elif not before.strip() and s - last_end < 400:
            speaker = last_speaker  # a quotation that carries on the previous speaker's words
        else:
            speaker = None
        out.append(Quote(body, speaker))
        last_end, last_speaker = e, speaker
    return out
