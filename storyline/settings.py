"""One settings table, read from defaults < storyline.toml < STORYLINE_* env < flags."""

from __future__ import annotations

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

    def shared_path(self) -> Path:
        """Where the shared evaluation data lives."""
        if self.shared:
            return Path(self.shared)
        return Path(__file__).resolve().parent.parent.parent / "shared"


def _coerce(name: str, value: Any) -> Any:
    """Convert a string from env or flags to the default's type."""
    default = _BY_NAME[name].default
    if isinstance(value, str) and isinstance(default, bool):
        if value.strip().lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"setting {name}: {value!r} is not true or false")
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(value, str) and not isinstance(default, str):
        return type(default)(value)
    return value


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
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, value in data.get("storyline", data).items():
            if key in _BY_NAME:
                values[key] = _coerce(key, value)
    for s in TABLE:
        var = f"STORYLINE_{s.name.upper()}"
        if env.get(var):
            values[s.name] = _coerce(s.name, env[var])
    for key, value in (flags or {}).items():
        if value is not None and key in _BY_NAME:
            values[key] = _coerce(key, value)
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})
