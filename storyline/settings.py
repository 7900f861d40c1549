"""One settings table, read from defaults < storyline.toml < STORYLINE_* env < flags."""

from __future__ import annotations

import difflib
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    default: Any
    help: str


TABLE: tuple[Setting, ...] = (
    Setting("db", "storyline.db", "SQLite database file."),
    Setting("shared", "", "Folder of shared evaluation data (default: ../shared beside the checkout)."),
    Setting("max_file_mb", 20, "Inputs larger than this many MB are refused."),
    Setting("ner", "auto", "Entity recognition: spacy (best), fast (lexicon only) or auto (spacy on new names)."),
    Setting("enrich_chars", 4000, "Entities, keywords and quotes are read from this many leading characters of a text."),
    Setting("workers", 2, "Processes that parse and prepare inputs ahead of the one that stores them (0: none)."),
    Setting("ingest_cache_mb", 64, "SQLite page cache of the process that stores articles, in MB (its indexes grow with the archive)."),
    Setting("ingest_checkpoint_s", 2.0, "Seconds the storing process lets commits gather before a thread copies them from SQLite's log into the database file (0: SQLite does it inside commits)."),
    Setting("event_threshold", 0.25, "Similarity at which an article joins an existing event."),
    Setting("event_headline_threshold", 0.175, "Similarity at which a headline-only item (no text) joins an existing event."),
    Setting("event_merge_threshold", 0.25, "Signature similarity at which two events an article matches are merged."),
    Setting("event_window_days", 3, "How far apart in days two reports of one event may be."),
    Setting("event_max_days", 7, "Longest stretch of days one event covers, first report to last: coverage that goes on day after day becomes several events of one story."),
    Setting("story_threshold", 0.22, "Similarity at which an event joins an existing story."),
    Setting("story_window_days", 240, "How long a story stays open to new events, in days."),
    Setting("near_dup_threshold", 0.8, "Jaccard similarity (MinHash) above which texts are near duplicates."),
    Setting("summary_sentences", 3, "Sentences in an event summary."),
    Setting("log_level", "WARNING", "Log level of the structured log on stderr."),
    Setting("poll_every", "15m", "Poll interval of a new subscription (`feeds add --every` overrides)."),
    Setting("host_delay_s", 2.0, "Seconds from the end of one request to a host to the start of the next (plus jitter)."),
    Setting("host_concurrency", 1, "Requests in flight to one host at a time."),
    Setting("fetch_workers", 8, "Requests in flight over all hosts."),
    Setting("fetch_timeout_s", 20.0, "Connect/read timeout of one request, in seconds."),
    Setting("max_fetch_mb", 20, "Responses larger than this (after decompression) are refused."),
    Setting("user_agent", "", "User-Agent for feeds and pages (empty: Storyline/VERSION with a contact URL)."),
    Setting("fetch_pages", True, "Fetch and extract the article page of each new feed item."),
    Setting("max_backoff_s", 21600, "A failing feed is retried at least this often, in seconds."),
    Setting("allowed_hosts", "", "Host names the web UI answers to besides loopback and the address it is bound to, comma-separated (`serve --allowed-host`); others are refused, against DNS rebinding."),
)

_BY_NAME = {s.name: s for s in TABLE}

log = logging.getLogger("storyline.settings")


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with `load`."""

    db: str = "storyline.db"
    shared: str = ""
    max_file_mb: int = 20
    ner: str = "auto"
    enrich_chars: int = 4000
    workers: int = 2
    ingest_cache_mb: int = 64
    ingest_checkpoint_s: float = 2.0
    event_threshold: float = 0.25
    event_merge_threshold: float = 0.25
    event_headline_threshold: float = 0.175
    event_window_days: int = 3
    event_max_days: int = 7
    story_threshold: float = 0.22
    story_window_days: int = 240
    near_dup_threshold: float = 0.8
    summary_sentences: int = 3
    log_level: str = "WARNING"
    poll_every: str = "15m"
    host_delay_s: float = 2.0
    host_concurrency: int = 1
    fetch_workers: int = 8
    fetch_timeout_s: float = 20.0
    max_fetch_mb: int = 20
    user_agent: str = ""
    fetch_pages: bool = True
    max_backoff_s: int = 21600
    allowed_hosts: str = ""

    def shared_path(self) -> Path:
        """Where the shared evaluation data lives."""
        if self.shared:
            return Path(self.shared)
        return Path(__file__).resolve().parent.parent.parent / "shared"


class SettingsError(ValueError):
    """A setting that cannot be used, named with where it was set."""


# Settings that take one of a few words (checked here, rather than failing on every input later).
CHOICES = {"ner": ("spacy", "fast", "auto"), "log_level": ("NOTSET", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}  # Python's logging takes these too
# The range each number may take, checked once here: a negative size or a NaN threshold used to pass,
# and then every input failed with an internal error of its own.
_FRACTION = (0.0, 1.0)
RANGES: dict[str, tuple[float, float | None]] = {
    "max_file_mb": (0.0, None), "enrich_chars": (1, None), "workers": (0, None), "ingest_cache_mb": (0, None),
    "ingest_checkpoint_s": (0.0, None), "event_threshold": _FRACTION, "event_headline_threshold": _FRACTION,
    "event_merge_threshold": _FRACTION, "event_window_days": (0, None), "event_max_days": (0, None),
    "story_threshold": _FRACTION, "story_window_days": (0, None), "near_dup_threshold": _FRACTION,
    "summary_sentences": (1, None), "host_delay_s": (0.0, None), "host_concurrency": (1, None),
    "fetch_workers": (1, None), "fetch_timeout_s": (0.0, None), "max_fetch_mb": (0.0, None), "max_backoff_s": (1, None),
}
CLEARABLE = frozenset({"user_agent", "allowed_hosts", "shared"})  # settings where empty is a value (the default)
FLAGS = {"host_delay_s": "--delay", "fetch_pages": "--pages"}  # settings whose flag is not their name
_ABOVE_ZERO = {"max_file_mb", "fetch_timeout_s", "max_fetch_mb"}  # 0 would refuse everything or never wait


_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_INTERVAL_S = 30 * 86400  # as the API's schema says; a larger one would put the next poll past the calendar


def parse_interval(text: str) -> int:
    """Seconds in an interval like '900', '15m', '1h30m' or '1d'."""
    cleaned = (text or "").strip().lower().replace(" ", "")
    parts = _INTERVAL.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"not an interval: {text!r} (use e.g. 90s, 15m, 2h, 1d)")
    seconds = int(sum(float(n) * _UNITS[u] for n, u in parts))
    if seconds < 60:
        raise ValueError(f"interval too short: {text!r} (at least 1m, to be polite)")
    if seconds > MAX_INTERVAL_S:
        raise ValueError(f"interval too long: {text!r} (at most 30d)")
    return seconds


def _check_range(name: str, value: float, place: str) -> None:
    """SettingsError unless a number is finite and within its setting's range."""
    if not math.isfinite(value):
        raise SettingsError(f"{place}setting {name}: {value!r} is not a finite number")
    low, high = RANGES.get(name, (None, None))
    if name in _ABOVE_ZERO and value <= 0:
        raise SettingsError(f"{place}setting {name}: {value!r} must be more than 0")
    if low is not None and value < low:
        raise SettingsError(f"{place}setting {name}: {value!r} must be at least {low:g}")
    if high is not None and value > high:
        raise SettingsError(f"{place}setting {name}: {value!r} must be at most {high:g}")


def _coerce(name: str, value: Any, where: str = "") -> Any:
    """Convert a value from storyline.toml, env or flags to the default's type; SettingsError naming `where` if it cannot be."""
    default = _BY_NAME[name].default
    place = f"{where}: " if where else ""
    if isinstance(value, str) and isinstance(default, bool):
        if value.strip().lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise SettingsError(f"{place}setting {name}: {value!r} is not true or false")
        return value.strip().lower() in {"1", "true", "yes", "on"}
    kind = type(default)
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        noun = "a whole number" if kind is int else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SettingsError(f"{place}setting {name}: {value!r} is not {noun}")
        if isinstance(value, str):
            try:
                value = float(value) if kind is float or not value.strip().lstrip("+-").isdigit() else int(value)
            except ValueError:
                raise SettingsError(f"{place}setting {name}: {value!r} is not {noun}") from None
        if kind is int and isinstance(value, float):
            if value.is_integer():
                value = int(value)
            elif not name.endswith("_mb"):  # a size in MB may be a fraction (max_file_mb = 0.5); a count may not
                raise SettingsError(f"{place}setting {name}: {value!r} is not {noun}")
        _check_range(name, value, place)
    elif not isinstance(value, kind):
        raise SettingsError(f"{place}setting {name}: {value!r} is not {'true or false' if kind is bool else 'text'}")
    if name in CHOICES:
        typed = value
        value = value.strip().upper() if name == "log_level" else value.strip().lower()
        value = _LEVEL_ALIASES.get(value, value) if name == "log_level" else value
        if value not in CHOICES[name]:
            raise SettingsError(f"{place}setting {name}: {typed!r} is not one of {', '.join(CHOICES[name])}")
    if name == "db" and not value.strip():
        # SQLite opens "" as a private temporary database: everything ingested into it was lost
        raise SettingsError(f"{place}setting db: the database path is empty")
    if name == "poll_every":
        try:
            parse_interval(value)
        except ValueError as exc:
            raise SettingsError(f"{place}setting poll_every: {exc}") from None
    return value


def _read_config(path: Path) -> dict[str, Any]:
    """The [storyline] table of a storyline.toml (or its top level), unknown names refused."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:  # tomllib's own error for bytes that are not UTF-8
        raise SettingsError(f"{path}: not valid TOML (not UTF-8 text)") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if "storyline" not in data:  # settings at the top level, beside other tools' tables: only ours are read
        for key in data:
            if key not in _BY_NAME and (near := difflib.get_close_matches(key, list(_BY_NAME), n=1, cutoff=0.8)):
                log.warning("%s: %r is not a setting and is ignored (did you mean %r?)", path, key, near[0])
        return {key: _coerce(key, value, str(path)) for key, value in data.items() if key in _BY_NAME}
    table = data["storyline"]
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [storyline] must be a table of settings")
    if outside := sorted(key for key in data if key in _BY_NAME):
        # read as one or the other, the file would mean something its author did not see
        raise SettingsError(f"{path}: {', '.join(outside)} outside the [storyline] table; move it into the table")
    for key in table:
        if key not in _BY_NAME:
            near = difflib.get_close_matches(key, list(_BY_NAME), n=1)
            raise SettingsError(f"{path}: unknown setting {key!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    return {key: _coerce(key, value, str(path)) for key, value in table.items()}


def load(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config: Path | None = None,
) -> Settings:
    """Resolve settings from defaults, storyline.toml, STORYLINE_* variables and flags."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {s.name: s.default for s in TABLE}
    named = Path(env["STORYLINE_CONFIG"]) if env.get("STORYLINE_CONFIG") else None
    path = config or named or Path("storyline.toml")
    if config is None and named is not None and not named.is_file():  # the user named it: its absence is news
        raise SettingsError(f"{named}: no such settings file (STORYLINE_CONFIG)")
    if path.is_file():
        values.update(_read_config(path))
    for s in TABLE:
        var = f"STORYLINE_{s.name.upper()}"
        # An empty variable clears a free-text setting the file set (user_agent, allowed_hosts, shared);
        # for any other it means unset, as shells leave exported names empty.
        if var in env and (env[var] or s.name in CLEARABLE):
            values[s.name] = _coerce(s.name, env[var], var)
    for key, value in (flags or {}).items():
        if value is not None and key in _BY_NAME:
            values[key] = _coerce(key, value, FLAGS.get(key, f"--{key.replace('_', '-')}"))
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})
