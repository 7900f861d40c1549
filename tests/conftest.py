"""Shared fixtures: the path to ../shared and temporary stores."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared data folder beside the checkout (or $STORYLINE_SHARED)."""
    return Path(os.environ.get("STORYLINE_SHARED") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def seeds(shared: Path) -> Path:
    return shared / "seeds"


def store_at_version(path: Path, last: int) -> sqlite3.Connection:
    """A database with the migration scripts up to `last` applied, as an older Storyline left it.

    Scripts only: from 13 on, a migration may have a second half in Python (CoreStore._MIGRATION_STEPS).
    """
    from storyline.store import migrations

    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, script in migrations():
        if version <= last:
            db.executescript(f"BEGIN;\n{script}\nINSERT INTO schema_migrations VALUES ({version}, '2026-01-01');\nCOMMIT;")
    return db


def wait_for_count(proc, db: Path, sql: str, at_least: int, poll_s: float = 0.1, limit_s: float = 300) -> int:
    """Wait while `proc` runs until `sql` (a COUNT) on `db` reaches `at_least`; return the last count seen."""
    import sqlite3
    import time

    deadline = time.time() + limit_s
    seen = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(poll_s)
        try:
            with sqlite3.connect(db, timeout=1) as con:
                seen = con.execute(sql).fetchone()[0]
        except sqlite3.Error:
            continue
        if seen >= at_least:
            break
    return seen


def kill_when(proc, db: Path, sql: str, at_least: int, poll_s: float = 0.1, limit_s: float = 300) -> int:
    """SIGKILL `proc` once `sql` (a COUNT) on `db` reaches `at_least`; return the last count seen.

    The caller asserts the process was still running when it was killed.
    """
    import signal

    seen = wait_for_count(proc, db, sql, at_least, poll_s, limit_s)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return seen if running else -1
