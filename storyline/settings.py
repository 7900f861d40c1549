"""One settings table, read from defaults < storyline.toml < STORYLINE_* env < flags."""

from __future__ import annotations

import difflib
import os
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
    elif not isinstance(value, kind):
        raise SettingsError(f"{place}setting {name}: {value!r} is not {'true or false' if kind is bool else 'text'}")
    if name in CHOICES:
        value = value.upper() if name == "log_level" else value.lower()
        value = _LEVEL_ALIASES.get(value, value) if name == "log_level" else value
        if value not in CHOICES[name]:
            raise SettingsError(f"{place}setting {name}: {value!r} is not one of {', '.join(CHOICES[name])}")
    return value


def _read_config(path: Path) -> dict[str, Any]:
    """The [storyline] table of a storyline.toml (or its top level), unknown names refused."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    if "storyline" not in data:  # settings at the top level, beside other tools' tables: only ours are read
        return {key: _coerce(key, value, str(path)) for key, value in data.items() if key in _BY_NAME}
    table = data["storyline"]
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [storyline] must be a table of settings")
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
    path = config or Path(env.get("STORYLINE_CONFIG", "storyline.toml"))
    if path.is_file():
        values.update(_read_config(path))
    for s in TABLE:
        var = f"STORYLINE_{s.name.upper()}"
        if env.get(var):
            values[s.name] = _coerce(s.name, env[var], var)
    for key, value in (flags or {}).items():
        if value is not None and key in _BY_NAME:
            values[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})
