"""Strip site boilerplate from already-scraped article text and read its header metadata."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from itertools import islice

from storyline.models import UNSPACED, TextMeta

# Zero-width characters are not matched by \s but break line comparisons.
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_BULLET = re.compile(r"^[•·▪●◦‣∙*–-]\s*")
_DATE_LINE = re.compile(r"^date\s+(\d{4})-(\d{2})-(\d{2})\b\s*(.*)$", re.I)
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_TERMINAL = re.compile(r"[.!?…。！？؟۔][\"'”’)\]]*$")
_STATEMENT = re.compile(r"[.…。][\"'”’)\]]*$")

NAV_WORDS = frozenset(
    """home menu left right main live tv print dictionary share facebook twitter x linkedin
    quora youtube rss instagram whatsapp telegram reddit pinterest tiktok email mail search
    login log logout in out sign signin signup up register subscribe subscription newsletter
    newsletters skip to content navigation nav close open more next previous prev back top
    advertisement ad ads sponsored opinion opinions blog blogs interview interviews sectors
    sector editions edition other links link products connect follow us on our comments
    comment video videos photos photo gallery watch listen audio podcast podcasts trending
    latest breaking news world national politics business sports sport entertainment
    lifestyle tech technology science health markets economy weather epaper shorts web
    stories feedback give contact about careers privacy policy terms of use cookie cookies
    settings disclaimer sitemap archive archives app apps download toggle view all and
    english icon lock help continue reading read also related article articles""".split()
)
_NAV_PHRASES = frozenset(
    {"story highlights", "highlights", "key points", "key takeaways", "in brief", "summary",
     "at a glance", "quick read", "listen to this article", "follow us"}
)
_AD_WORDS = frozenset({"advertisement", "ad", "ads", "sponsored", "continue", "reading"})

# Headers that introduce a list of other stories or site sections.
_TRIGGER = re.compile(
    r"^(?:related(?: \w+){0,2}|more (?:in|from|on|about|stories|news|videos|like this)\b.*"
    r"|(?:also|must|further) read|read (?:more|also|next)|see also|latest(?: news| stories"
    r"| videos| updates| headlines)?|trending(?: now| news| stories| topics)?"
    r"|top (?:stories|news|headlines)|most (?:read|popular|viewed|shared|watched)"
    r"|recommended(?: for you| stories| reading)?|you (?:may|might) (?:also )?like"
    r"|editor'?s? picks?|popular (?:now|stories|news|posts)|don'?t miss|up next"
    r"|in case you missed it|what to read next)$"
)
_LABEL = re.compile(r"^[A-Z][^\W\d_]*(?: [A-Z][^\W\d_]*){0,2}:$")
_BREADCRUMB = re.compile(r"^(?:home|homepage)\s*[>»›/]|\s[>»›]\s.*\s[>»›]\s", re.I)
_CRUMB_CHARS = frozenset(">»›/")

# Boilerplate even when it reads like a sentence. Split by anchoring, and the unanchored
# part gated by cheap keyword tests, because one big alternation costs ~25 µs a line.
_JUNK_START = re.compile(
    r"this (?:image|picture|photo|illustration) is (?:ai|computer)[- ]generated"
    r"|(?:file )?(?:photo|image|picture)\s*[:|]|follow us\b|\(?\s*with inputs? from\b"
    r"|(?:e-?mail|phone|tel|telephone|fax|mobile|contact)\s*(?:us)?\s*[:.]"
    r"|copyright\s*(?:©|\d{4})"
    # A link to another story, its headline on the same line: "Also read: Five ways to ..."
    r"|(?:also read|read also|read more|related(?: stories| articles| coverage)?|see also|more on this|watch)\s*:"
)
_JUNK_END = re.compile(
    r"(?i:\((?:image|photo|picture|pic|video)\s*(?:source|credit|courtesy)?\s*:[^)]*\)"
    r"|\([^()]{0,40}\b(?:photo|image|picture)\b[^()]{0,60}\)"
    r"|\b(?:getty images|shutterstock|istock)\s*\)?)\s*$"
    r"|\b(?:[Pp]hotograph|[Pp]hoto|[Ii]mage|[Pp]icture|[Pp]ic)s?\s*(?:[Cc]redit)?\s*:"
    r"\s*\(?[A-Z][\w .,&/'-]{0,40}?\w\)?\s*$"
    r"|\[[A-Z][A-Z0-9 .,'&/-]{1,40}\]\s*$"
)
_JUNK_KEYS = ("log", "sign", "comment", "subscribe", "connect", "feedback", "cookie",
              "download", "syndicated", "rights", "©")
_JUNK_MID = re.compile(
    r"log ?in\b.{0,40}\b(?:twitter|facebook|google|account)"
    r"|(?:log|sign) ?in to (?:comment|write|post|continue|read)"
    r"|to (?:write|post|leave) (?:a )?comments?\b.{0,20}\blog ?in"
    r"|subscribe to (?:our|the)\b.{0,20}\bnewsletter|sign up (?:for|to) (?:our|the)\b"
    r"|connect (?:with )?us on\b|give feedback\b|(?:we|this (?:site|website)) uses? cookies\b"
    r"|accept (?:all )?cookies\b|cookie (?:policy|settings|preferences|consent)\b"
    r"|download (?:the|our) app\b|auto-generated from a syndicated feed|all rights reserved|©"
)
# Boilerplate only when not prose: tags, bylines, date cues, wire credits.
_SHORT_START = re.compile(
    r"tags?\b\s*:?\s|(?:topics?|keywords?|filed under)\s*:"
    r"|(?:by|written by|reported by|edited by|published by|posted by|compiled by"
    r"|authors?|reporter|editor)\b\s*[:\-]?\s*(?!the\b|a\b|an\b)\S"
    r"|(?:first published|published|updated|posted|created|modified"
    r"|last (?:updated|modified))\b(?:\s+(?:on|at))?\s*[:\-]?\s*\S"
    r"|(?:yonhap|reuters|afp|ap|ani|pti|ians|xinhua|kcna|bloomberg|efe|dpa|tass)"
    r"(?: news(?: agency)?)?$"
)
_SHORT_MID = re.compile(
    r" \| |\bdesk\s*(?:[|/,]|$)|\b(?:updated|published|posted|created)\s*(?:on|at)?\s*:|\blast updated at\b"
    r"|\b(?:terms of (?:use|service)|privacy policy)\b"
)
_DATE_TOKENS = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"|\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
    r"|\b(?:am|pm|a\.m\.|p\.m\.|at|on|ist|gmt|utc|kst|jst|est|edt|pst|pdt|cst|cdt|bst|cet|cest)\b"
    r"|\d+|[\s,.:/+\-–|()]",
    re.I,
)


def _norm(line: str) -> str:
    """One line with odd spaces collapsed and ends trimmed."""
    return _SPACES.sub(" ", line).strip()


# A page address, also in the tokenised form some corpora use ("http : / / www . site . com / ...").
_URL_LINE = re.compile(r"\s*(?:https?\s*:\s*/\s*/|www\s*\.)", re.IGNORECASE)


def _is_prose(line: str) -> bool:
    """True for a sentence-like line: enough words, mostly lowercase, ending a sentence."""
    if _URL_LINE.match(line):  # a page's address, however many words a tokenised one spells, is no sentence
        return False
    words = _WORD.findall(line, 0, 300)  # the opening words decide; long lines are costly
    if len(words) < 4:
        return len(UNSPACED.findall(line)) >= 15 and bool(_TERMINAL.search(line))  # Chinese, Japanese: no spaces
    # Scripts without case (Hebrew, Arabic) count as lower case: their prose would otherwise never be prose.
    lower = sum(1 for w in words if w[0].isalpha() and not w[0].isupper())
    if lower * 10 < len(words) * 3:
        return False
    return bool(_TERMINAL.search(line)) or len(words) >= 20


def _tokens(line: str) -> list[str]:
    """Lowercase word tokens of a line."""
    return _TOKEN.findall(line.lower())


def _is_nav(line: str) -> bool:
    """True for a menu-like line: only navigation words, or a breadcrumb."""
    bare = _BULLET.sub("", line).strip(" :|")
    if bare.lower() in _NAV_PHRASES or (
        not _CRUMB_CHARS.isdisjoint(bare) and _BREADCRUMB.search(bare)
    ):
        return True
    toks = _tokens(bare)
    return 0 < len(toks) <= 8 and all(t in NAV_WORDS for t in toks)


def _is_date_only(line: str) -> bool:
    """True for a line holding nothing but a date and time."""
    return len(line) <= 60 and any(c.isdigit() for c in line) and not _DATE_TOKENS.sub("", line)


def _is_junk(line: str, prose: bool) -> bool:
    """True for a caption, byline, date, prompt or footer line."""
    low = line.lower()
    if _DATE_LINE.match(line) or (len(line) < 400 and _is_boiler(line, low)):
        return True
    return not prose and (_is_meta(line) or _is_date_only(line) or _is_nav(line))


def _is_boiler(line: str, low: str) -> bool:
    """True for a caption, credit, prompt or footer line, whatever its shape."""
    if _JUNK_START.match(_BULLET.sub("", low)) or _JUNK_END.search(line[-100:]):
        return True
    return any(k in low for k in _JUNK_KEYS) and bool(_JUNK_MID.search(low))


def _is_meta(line: str) -> bool:
    """True for a short tag, byline, date-cue, desk, wire-credit or footer-link line."""
    low = _BULLET.sub("", line.lower())
    return bool(_SHORT_START.match(low) or _SHORT_MID.search(low))


def _is_trigger(line: str, prose: bool) -> bool:
    """True for a header whose following short lines are a list of links."""
    if prose:
        return False
    bare = _BULLET.sub("", line).strip()
    if _LABEL.match(bare):
        return True
    key = " ".join(re.sub(r"[^\w' ]+", " ", bare.lower().replace("’", "'")).split())
    if key.count(" ") < 8 and _TRIGGER.match(key):
        return True
    # An upper-case menu header (SECTORS, OPINION / BLOG) heads a list; an ad slot does not.
    return (
        bare.isupper()
        and _is_nav(bare)
        and not _BREADCRUMB.search(bare)
        and not all(t in _AD_WORDS for t in _tokens(bare))
    )


def clean_text(text: str) -> str:
    """Article body paragraphs of scraped text, boilerplate removed, joined by blank lines."""
    lines = [line for line in map(_norm, text.splitlines()) if line]
    seen: set[str] = set()
    kept: list[tuple[int, bool]] = []
    in_block = False
    for i, line in enumerate(lines):
        key = line.casefold()
        if key in seen:
            continue
        seen.add(key)
        prose = _is_prose(line)
        # Link lists hold question headlines too; only a statement or long line ends one.
        if in_block and not (prose and (_STATEMENT.search(line) or line.count(" ") >= 11)):
            continue
        if _is_trigger(line, prose):
            in_block = True
        elif not _is_junk(line, prose):
            in_block = False
            kept.append((i, prose))
    marks = [n for n, (_, prose) in enumerate(kept) if prose]
    if marks:
        kept = kept[marks[0] : marks[-1] + 1]
        if _is_question_headline(lines, kept[0][0]):
            kept = kept[1:]
    return "\n\n".join(lines[i] for i, _ in kept)


def _is_question_headline(lines: list[str], i: int) -> bool:
    """True when a sentence-like first line is a headline: '?' or '!' with a byline under it."""
    return bool(re.search(r"[?!][\"'”’]?$", lines[i])) and any(
        _is_meta(line) for line in lines[i + 1 : i + 4]
    )


# --- metadata -------------------------------------------------------------------------

_HEAD_LINES = 40
_MONTH_NAMES = (
    "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august"
    "|sep sept september|oct october|nov november|dec december"
)
_MONTHS = {m: i for i, names in enumerate(_MONTH_NAMES.split("|"), 1) for m in names.split()}
_ZONES = {
    "utc": 0, "gmt": 0, "z": 0, "ist": 330, "kst": 540, "jst": 540, "hkt": 480, "sgt": 480,
    "pkt": 300, "msk": 180, "bst": 60, "cet": 60, "cest": 120, "eet": 120, "eest": 180,
    "wat": 60, "cat": 120, "eat": 180, "sast": 120, "aest": 600, "aedt": 660, "nzst": 720,
    "nzdt": 780, "est": -300, "edt": -240, "et": -300, "cst": -360, "cdt": -300,
    "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "pt": -480, "wib": 420,
}
_MONTH_RE = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_CLOCK_RE = (
    r"(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ap>[ap]\.?m\.?)?"
    r"(?:\s*\(?\s*(?P<tz>(?:gmt|utc)\s*[+-]\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|"
    + "|".join(sorted(_ZONES, key=len, reverse=True))
    + r")\b)?"
)
# A zone only counts after a clock time, so "2026 et ..." in French is not Eastern Time.
_TIME_RE = r"(?:,?\s*(?:at\s+)?" + _CLOCK_RE + ")?"
_CLOCK = re.compile(_CLOCK_RE, re.I)
_DATE_RES = tuple(
    re.compile(p + _TIME_RE, re.I)
    for p in (
        r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:T|\b)",
        r"\b(?P<d>\d{1,2})(?P<sep>[-./])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})\b",
        r"\b" + _MONTH_RE + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})\b",
        r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_RE + r",?\s+(?P<y>\d{4})\b",
    )
)
_PUB_CUE = re.compile(
    r"\b(?P<cue>first published|published|posted|created|last updated|updated|modified)\b"
    r"(?:\s+(?:on|at))?\s*[:\-–]?\s*(?P<rest>[^|]{4,60})",
    re.I,
)
_BYLINE = re.compile(
    r"^(?P<cue>by|written by|reported by|words by|authors?|published by|posted by|edited by)"
    r"\s*[:\-–]?\s+(?P<name>.+)$",
    re.I,
)
_BYLINE_RANK = {"published by": 1, "posted by": 1, "edited by": 3}
_BYLINE_END = re.compile(
    r"\s+[|•·]\s+|\s+[-–—]\s+|,\s*(?=\d|updated|published|posted)|\s+(?:on|at)\s+\d"
    r"|\s+(?:updated|published|posted)\b",
    re.I,
)
_NAME_TOKEN = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]*)*")
_PARTICLES = frozenset("van von der den de da di del la le bin al".split())
OUTLET_WORDS = frozenset(
    """Daily Times News Post Herald Journal Tribune Agency Gazette Chronicle Telegraph
    Guardian Express Observer Standard Mirror Mail Review Press Insider Today Wire Media
    Network Broadcasting Radio Television Magazine Weekly Star Sun Globe Monitor Courier
    Register Dispatch Bulletin Independent Examiner Inquirer Sentinel Statesman Economist
    Hindu Nation""".split()
)
_GENERIC_DESK = frozenset({"web", "news", "digital", "online", "editorial", "our", "staff"})
_DESK = re.compile(
    r"^(?P<name>[A-Z][\w&.'’-]*(?: [A-Z][\w&.'’-]*){0,3}) (?:News|Web|Digital|Online) Desk\b"
)
_YEARS = r"\d{4}(?:\s*[-–]\s*\d{4})?"
# "© 2024 Name" or "Copyright 2024 Name"; a bare "Copyright Office" names no outlet.
_COPYRIGHT = re.compile(
    r"(?:©\s*(?i:copyright\s*)?(?:" + _YEARS + r")?|(?i:copyright)\s*©?\s*" + _YEARS + r")"
    r"[,.]?[ \t]*(?P<name>[A-Z][\w&'’-]*(?:[ \t]+[A-Z&][\w&'’-]*){0,4})"
)
_CONNECT = re.compile(
    r"(?i:connect\s+with\s+(?:the\s+)?)(?P<name>[A-Z][\w&'’-]*(?:[ \t]+[A-Z][\w&'’-]*){0,4})"
)
_ABBREV = re.compile(
    r"(?:\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Lt|Col|Prof|No|vs|etc"
    r"|Jan|Feb|Aug|Sept|Oct|Nov|Dec)\.)$"
)
# A sentence ends before a capital, a digit, or a letter of a script without case (Hebrew, Arabic).
_SENTENCE_END = re.compile(r"[.!?؟۔][\"'”’)]*(?=\s+[\"'“‘(]?[A-Z0-9\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff])")


def _to_utc(year: int, month: int, day: int, clock: re.Match[str] | None) -> datetime | None:
    """A UTC datetime from a date and a match holding clock time and zone, or None."""
    t = clock.groupdict() if clock and clock["h"] else {}
    try:
        hour = int(t.get("h") or 0)
        if t.get("ap"):
            hour = hour % 12 + (12 if t["ap"][0].lower() == "p" else 0)
        local = datetime(year, month, day, hour, int(t.get("mi") or 0), int(t.get("s") or 0))
    except ValueError:
        return None
    return (local - timedelta(minutes=_zone_minutes(t.get("tz")))).replace(tzinfo=timezone.utc)


def _zone_minutes(tz: str | None) -> int:
    """Offset from UTC in minutes for a zone name or numeric offset (unknown: 0)."""
    if not tz:
        return 0
    tz = tz.lower().replace(" ", "")
    if tz in _ZONES:
        return _ZONES[tz]
    num = re.search(r"([+-])(\d{1,2}):?(\d{2})?$", tz)
    minutes = int(num[2]) * 60 + int(num[3] or 0) if num else 0
    return -minutes if num and num[1] == "-" else minutes


def _ymd(m: re.Match[str]) -> tuple[int, int, int]:
    """Year, month and day of a date match; numeric dates are day-first unless impossible."""
    groups = m.groupdict()
    year, day = int(m["y"]), int(m["d"])
    if groups.get("mon"):
        return year, _MONTHS[groups["mon"].lower()], day
    month = int(m["m"])
    # Slashed dates are usually US month-first; dashes and dots day-first.
    if groups.get("sep") and (month > 12 or (groups["sep"] == "/" and day <= 12)):
        day, month = month, day
    return year, month, day


def _regex_datetime(text: str) -> datetime | None:
    """The earliest date (with time and zone when given) in text, read by regex."""
    best: tuple[int, datetime] | None = None
    for pattern in _DATE_RES:
        m = pattern.search(text)
        if not m or (best and m.start() >= best[0]):
            continue
        # "10:05 AM EST, Sat January 10, 2026": the clock can come first.
        clock = m if m["h"] else _CLOCK.search(text, 0, m.start())
        when = _to_utc(*_ymd(m), clock)
        if when:
            best = (m.start(), when)
    return best[1] if best else None


def _parse_datetime(text: str) -> datetime | None:
    """A UTC datetime from free text: regexes first, dateparser as a slow fallback."""
    found = _regex_datetime(text)
    if found or not any(c.isdigit() for c in text):
        return found
    try:
        import dateparser  # deferred: importing it costs about a second
    except ImportError:
        return None
    # Absolute dates only: "3 hours ago" would make the result depend on today.
    settings = {"PARSERS": ["absolute-time"], "REQUIRE_PARTS": ["day", "month", "year"],
                "TIMEZONE": "UTC", "TO_TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": True}
    parsed = dateparser.parse(text, settings=settings)
    return parsed.astimezone(timezone.utc) if parsed else None


def _find_published(lines: list[str]) -> datetime | None:
    """Publication time from 'Published:' style cues, else a date on a header line."""
    found: list[tuple[int, datetime]] = []
    for line in lines:
        if _is_prose(line):
            continue  # "was published on ..." in the body is not this page's date
        for m in _PUB_CUE.finditer(line):
            when = _parse_datetime(m["rest"])
            if when:
                rank = 1 if m["cue"].lower() in ("updated", "last updated", "modified") else 0
                found.append((rank, when))
        # No cue: a bare date line, or a date riding on a byline ("By X | 10 May 2025").
        if not found and (_is_date_only(line) or _is_meta(line)):
            when = _regex_datetime(line)
            if when:
                found.append((2, when))
    return min(found, key=lambda f: f[0])[1] if found else None


def _is_name(text: str) -> bool:
    """True for a short person-like name: two to five capitalised words."""
    toks = text.split()
    return (
        2 <= len(toks) <= 5
        and toks[0][0].isupper()
        and all(_NAME_TOKEN.fullmatch(t) for t in toks)
        and all(t[0].isupper() or t in _PARTICLES for t in toks)
        and not any(t.lower().strip(".") in NAV_WORDS or t in OUTLET_WORDS for t in toks)
    )


def _byline_name(raw: str) -> str | None:
    """The name part of a byline cue's remainder, or None if it is not a name."""
    name = _BYLINE_END.split(raw, maxsplit=1)[0].strip(" ,;:")
    kept: list[str] = []
    for part in re.split(r",\s*", name):
        # "Jane Doe, Reuters": keep the people, stop at the first non-name.
        people = [p for p in re.split(r"\s+and\s+|\s*&\s*", part) if p]
        if not people or not all(_is_name(p) for p in people):
            break
        kept.append(part)
    return ", ".join(kept) or None


def _lone_name(lines: list[str]) -> str | None:
    """A bare author name near the top, confirmed by a byline or date line just below it."""
    for i, line in enumerate(lines[:3]):
        below = lines[i + 1 : i + 3]
        if _is_name(line) and any(_is_meta(b) for b in below):
            return line
    return None


def _find_byline(lines: list[str]) -> str | None:
    """Author from byline cues, preferring 'By X' over publisher and editor credits."""
    found: list[tuple[int, str]] = []
    for line in lines:
        m = _BYLINE.match(_BULLET.sub("", line))
        if m and not _is_prose(line):
            name = _byline_name(m["name"])
            if name:
                found.append((_BYLINE_RANK.get(m["cue"].lower(), 0), name))
    lone = _lone_name(lines)
    if lone:
        found.append((2, lone))
    return min(found, key=lambda f: f[0])[1] if found else None


def _is_outlet_line(line: str) -> bool:
    """True for a short Title-Case line naming a publication, e.g. 'Korea JoongAng Daily'."""
    toks = line.split()
    if not 2 <= len(toks) <= 5 or _TERMINAL.search(line):
        return False
    if not all(t[0].isupper() or t in ("of", "the", "and", "&") for t in toks):
        return False
    # The masthead word ends the name ("Financial Times") or opens a short one ("Daily Mail").
    if toks[-1] not in OUTLET_WORDS and not (len(toks) <= 3 and toks[0] in OUTLET_WORDS):
        return False
    return any(t.lower() not in NAV_WORDS and t not in OUTLET_WORDS for t in toks)


def _clean_outlet(name: str) -> str | None:
    """An outlet name trimmed of trailing boilerplate, or None if nothing name-like is left."""
    name = re.split(r"\s+All\s+Rights\b", name, flags=re.I)[0].strip(" .,;|")
    toks = _tokens(name)
    if not toks or all(t in NAV_WORDS or t in _MONTHS or t == "copyright" for t in toks):
        return None
    return name


def _find_outlet(head: list[str], text: str, title: str | None) -> str | None:
    """Outlet named by the text itself: a news desk, a masthead line, © or 'connect with'."""
    for line in head:
        m = _DESK.match(line)
        if m and m["name"].lower() not in _GENERIC_DESK:
            return m["name"]
    for line in head[:8]:
        if line != title and _is_outlet_line(line):
            return line
    names = [m["name"] for m in _COPYRIGHT.finditer(text)]
    # "connect with the X" also fits "connect with Twitter"; demand a masthead word.
    names += [m["name"] for m in _CONNECT.finditer(text) if set(m["name"].split()) & OUTLET_WORDS]
    return next(filter(None, map(_clean_outlet, names)), None)


def _is_headline(line: str) -> bool:
    """True for a line that can be a headline: a few words, no sentence period, not a menu."""
    words = _WORD.findall(line)
    if not 3 <= len(words) <= 30 or len(line) > 300 or re.search(r"\.[\"'”’]?$", line):
        return False
    if _is_nav(line) or _is_outlet_line(line) or _URL_LINE.match(line):
        return False
    prose = _is_prose(line)
    return not (_is_junk(line, prose) or _is_trigger(line, prose))


def _find_headline(lines: list[str]) -> str | None:
    """The first headline-like line before the body's first sentence."""
    author = _lone_name(lines)
    for line in lines:
        if line != author and _is_headline(line):
            return line
        if _is_prose(line) and not _is_junk(line, True):
            return None
    return None


def _first_sentence(line: str, limit: int = 250) -> str:
    """The first sentence of a paragraph, cut at a word boundary if very long."""
    for m in _SENTENCE_END.finditer(line):
        if not _ABBREV.search(line, 0, m.start() + 1):
            line = line[: m.end()]
            break
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return line


def _infer_title(lines: list[str]) -> str | None:
    """A title taken from the first sentence-like line that is not a byline, date or caption."""
    for line in lines:
        if _is_prose(line) and not _is_junk(line, True):
            return _first_sentence(line)
    return None


def text_metadata(text: str) -> TextMeta:
    """Title, outlet, byline and publication time read from the header of scraped text."""
    head = list(islice(filter(None, map(_norm, text.splitlines())), _HEAD_LINES))
    meta = TextMeta()
    first = _DATE_LINE.match(head[0]) if head else None
    if first:
        y, m, d, rest = first.groups()
        try:
            meta.published = datetime(int(y), int(m), int(d), tzinfo=timezone.utc)
        except ValueError:
            pass
        if rest and _is_headline(rest):
            meta.title = rest
        head = head[1:]
    meta.title = meta.title or _find_headline(head)
    if meta.title is None:
        meta.title = _infer_title(head)
        meta.title_inferred = meta.title is not None
    meta.byline = _find_byline(head)
    meta.outlet = _find_outlet(head, text, meta.title)
    if meta.published is None:
        meta.published = _find_published(head)
    return meta
