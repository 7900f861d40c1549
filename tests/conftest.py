"""Shared fixtures: the path to ../shared and temporary stores."""

from __future__ import annotations

import os
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
