"""Event dates: when a reported happening took place, read from the text against the publication date."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from dateutil.easter import easter

from .models import EventDate
from .summarize import QUOTATION

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_MONTH_RE = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DAY_RE = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR_RE = r"(?:,?\s+(?P<year>(?:19|20)\d\d))?"
_WEEKDAY_RE = r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?:'s)?"

# Month-day, day-month, ISO, weekday (optionally with an explicit date in brackets), relative words.
_EXPRESSIONS = re.compile(
    rf"\b(?:{_WEEKDAY_RE}\s*,?\s*(?:\(\s*)?)?(?:{_MONTH_RE}\s+{_DAY_RE}(?!\d){_YEAR_RE}|{_DAY_RE.replace('day>', 'day2>')}\s+(?:of\s+)?{_MONTH_RE.replace('month>', 'month2>')}{_YEAR_RE.replace('year>', 'year2>')})\b"
    rf"|\b(?P<iso>(?:19|20)\d\d-[01]\d-[0-3]\d)\b"
    rf"|\b(?P<lone>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?:'s)?\b"
    r"|\b(?P<rel>yesterday|the previous day|the day before|a day earlier|a day before|today|this morning|"
    r"earlier today|tonight|last night|on the same day)\b"
    # Capitalised only where a sentence opens with one ("Yesterday, ..."): elsewhere it is a name ("USA Today").
    r"|\A(?P<relcap>Yesterday|The previous day|The day before|A day earlier|A day before|Today|This morning|"
    r"Earlier today|Tonight|Last night|On the same day)\b",
)
_REPORT = re.compile(
    r"\b(reported|reports|report|said|says|according to|state media|media|told|published|quoted|"
    r"announced|statement|news agency|kcna)\W*(?:\w+\W+){0,3}$",
    re.IGNORECASE,
)
# Words that put what follows in the future ("will meet on Friday", "Biden to visit Kyiv on Friday",
# "voting begins Friday"), within the clause that holds the date: "The storm, expected on Sunday,
# made landfall on Monday" keeps its Monday.
_FUTURE = re.compile(
    r"\b(will|scheduled|schedule|planned|plans?|upcoming|next|expected|set to|set for|due to|would|is to|are to|"
    r"ahead of|begins|starts|opens|goes on sale|to (?:meet|visit|hold|host|attend|travel|announce|sign|vote|decide|"
    r"launch|open|start|begin|resume|reopen|return|appear|speak|testify))\b[^;,]*$",  # sentences are split already
    re.IGNORECASE,
)
# A lead sentence does not end at an abbreviation: "Zelensky will meet U.S. President Donald Trump".
_ABBREVIATED = re.compile(
    r"(?:\b(?:[A-Z]\.)+|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|Sgt|Capt|Prof|Jr|Sr|Inc|Corp|Co|No|Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)[\"'”’)]?$"
)
# A weekday within a holiday's name is that holiday's date ("Easter Sunday", "Black Friday"), which
# may lie far from the latest such weekday: "Black Friday deals are here" a fortnight before it. A
# newspaper's name holds none ("The Sunday Times"), nor does a day of history ("Bloody Sunday").
_HOLIDAY_BEFORE = re.compile(r"\b(Black|Cyber|Giving|Good|Ash|Holy|Easter|Palm|Maundy|Whit|Bloody)\s+$")
_FROM_EASTER = {
    ("ash", "wednesday"): -46, ("palm", "sunday"): -7, ("maundy", "thursday"): -3, ("good", "friday"): -2,
    ("holy", "saturday"): -1, ("easter", "sunday"): 0, ("easter", "monday"): 1, ("whit", "sunday"): 49, ("whit", "monday"): 50,
}
_FROM_THANKSGIVING = {("black", "friday"): 1, ("cyber", "monday"): 4, ("giving", "tuesday"): 5}  # the US one
_NO_DAY = {("bloody", "sunday")}
_NEWSPAPER_AFTER = re.compile(r"(?:'s)?\s+(?:Times|Telegraph|Express|Mirror|Herald|Mail|Post|Independent|People|Sport)\b")


def _holiday(name: str, weekday: str, ref: date) -> date | None:
    """The date of the holiday named "<name> <weekday>" nearest before (or just after) the reference; None for another name."""
    key = (name.lower(), weekday.lower())
    for year in (ref.year, ref.year - 1):
        if key in _FROM_EASTER:
            day = easter(year) + timedelta(days=_FROM_EASTER[key])
        elif key in _FROM_THANKSGIVING:
            november = date(year, 11, 1)
            thanksgiving = november + timedelta(days=(3 - november.weekday()) % 7 + 21)  # the fourth Thursday
            day = thanksgiving + timedelta(days=_FROM_THANKSGIVING[key])
        else:
            return None
        if day <= ref + timedelta(days=FUTURE_DAYS):
            return day
    return None


_SENTENCE = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[A-Z\"“‘'(])")
LEAD_SENTENCES = 8
PAST_DAYS = 14  # older dates in a lead are background, not the reported happening
FUTURE_DAYS = 1


@dataclass
class Mention:
    """One resolved date expression."""

    day: date
    context: str  # event | report
    evidence: str
    position: int


def parse_day(value: str | None) -> date | None:
    """A stored YYYY-MM-DD (or ISO datetime) as a date."""
    return date.fromisoformat(value[:10]) if value else None


def _year_for(month: int, day: int, ref: date) -> date | None:
    """The date with this month and day nearest before (or just after) the reference."""
    best = None
    for year in (ref.year - 1, ref.year, ref.year + 1):
        try:
            cand = date(year, month, day)
        except ValueError:
            continue
        if best is None or abs((cand - ref).days) < abs((best - ref).days):
            best = cand
    return best


def _weekday_before(weekday: int, ref: date) -> date:
    """The latest day on or before `ref` falling on `weekday`."""
    return ref - timedelta(days=(ref.weekday() - weekday) % 7)


def _resolve(m: re.Match[str], ref: date) -> date | None:
    """The calendar day one matched expression refers to."""
    g = m.groupdict()
    month = g.get("month") or g.get("month2")
    if month:
        day = int(g.get("day") or g.get("day2"))
        year = g.get("year") or g.get("year2")
        mon = _MONTHS[month.lower().rstrip(".")]
        if year:
            try:
                return date(int(year), mon, day)
            except ValueError:
                return None
        return _year_for(mon, day, ref)
    if g.get("iso"):
        try:
            return date.fromisoformat(g["iso"])
        except ValueError:
            return None
    if g.get("lone"):
        return _weekday_before(_WEEKDAYS[g["lone"].lower()], ref)
    rel = (g.get("rel") or g.get("relcap") or "").lower()
    if rel in {"yesterday", "the previous day", "the day before", "a day earlier", "a day before", "last night"}:
        return ref - timedelta(days=1)
    if rel in {"today", "this morning", "earlier today", "tonight"}:
        return ref
    return None


def split_lead(text: str, limit: int = LEAD_SENTENCES) -> list[str]:
    """The first sentences of a text, where the reported happening is told."""
    sentences: list[str] = []
    for para in text.split("\n"):
        para = para.strip()
        if not para:
            continue
        merged: list[str] = []
        for piece in (s.strip() for s in _SENTENCE.split(para) if s.strip()):
            if merged and _ABBREVIATED.search(merged[-1]):
                merged[-1] += " " + piece
            else:
                merged.append(piece)
        sentences.extend(merged)
        if len(sentences) >= limit:
            break
    return sentences[:limit]


def mentions(text: str, published: date, title: str | None = None) -> list[Mention]:
    """Date expressions in the title and lead, resolved against the publication day."""
    found: list[Mention] = []
    sentences = ([title] if title else []) + split_lead(text)
    position = 0
    for sentence in sentences:
        quoted = [q.span() for q in QUOTATION.finditer(sentence)]
        for m in _EXPRESSIONS.finditer(sentence):
            position += 1
            if (m.group("rel") or m.group("relcap") or "").lower() == "on the same day":
                continue
            if any(a < m.start() < b for a, b in quoted):
                continue  # someone's words: "until 3 a.m. on Sunday," the senator said
            before = sentence[: m.start()]
            if _FUTURE.search(before):
                continue
            day = _resolve(m, published)
            if m.group("lone"):
                if _NEWSPAPER_AFTER.match(sentence, m.end()):
                    continue
                if named := _HOLIDAY_BEFORE.search(before):
                    if (named.group(1).lower(), m.group("lone").lower()) in _NO_DAY:
                        continue
                    day = _holiday(named.group(1), m.group("lone"), published) or day
            if day is None or not (
                published - timedelta(days=PAST_DAYS) <= day <= published + timedelta(days=FUTURE_DAYS)
            ):
                continue
            context = "report" if _REPORT.search(before[-60:]) else "event"
            found.append(Mention(day, context, sentence.strip()[:300], position))
    return found


_DATELINE = re.compile(
    rf"(?:{_MONTH_RE}\s+{_DAY_RE}(?!\d)\s*,?\s*(?P<year>(?:19|20)\d\d)"
    rf"|{_DAY_RE.replace('day>', 'day2>')}\s+{_MONTH_RE.replace('month>', 'month2>')}\s*,?\s*(?P<year2>(?:19|20)\d\d)"
    rf"|(?P<iso>(?:19|20)\d\d\s*-\s*[01]\d\s*-\s*[0-3]\d))",
    re.IGNORECASE,
)
DATELINE_LINES = 6


def find_dateline(text: str) -> date | None:
    """A full date (with year) standing in the first lines of scraped text: the publication date."""
    for line in text.strip().splitlines()[:DATELINE_LINES]:
        if len(line) > 120:
            continue
        m = _DATELINE.search(line)
        if not m:
            continue
        if m.group("iso"):
            try:
                return date.fromisoformat(re.sub(r"\s", "", m.group("iso")))
            except ValueError:
                continue
        month = (m.group("month") or m.group("month2")).lower().rstrip(".")
        try:
            return date(int(m.group("year") or m.group("year2")), _MONTHS[month], int(m.group("day") or m.group("day2")))
        except (ValueError, KeyError):
            continue
    return None


def resolve_event_date(text: str, published: date | None, title: str | None = None) -> EventDate | None:
    """When the happening an article reports took place, with the evidence; None without any date."""
    if published is None:
        return None
    found = mentions(text, published, title)
    for context in ("event", "report"):
        chosen = [m for m in found if m.context == context]
        if chosen:
            first = min(chosen, key=lambda m: m.position)
            return EventDate(first.day, "text", first.evidence)
    return EventDate(published, "published", "no date in the text: publication date")


def combine(dates: Iterable[EventDate]) -> EventDate | None:
    """An event's date from its articles' readings: the most attested text date, else the earliest publication."""
    dates = list(dates)
    from_text = [d for d in dates if d.method == "text"]
    if from_text:
        votes = Counter(d.day for d in from_text)
        top = max(votes.values())
        day = min(d for d, n in votes.items() if n == top)
        evidence = next(d.evidence for d in from_text if d.day == day)
        return EventDate(day, "text", evidence)
    published = [d for d in dates if d.method == "published"]
    if published:
        first = min(published, key=lambda d: d.day)
        return EventDate(first.day, "published", "no date in the text: earliest publication date")
    return None
