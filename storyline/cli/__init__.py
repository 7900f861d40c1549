"""The `storyline` command: a thin layer over the library, one module per group of commands."""

from . import commands  # noqa: F401 - registers the commands on the app
from . import feeds  # noqa: F401 - registers feeds, watch and history
from . import publish  # noqa: F401 - registers export/import
from . import web  # noqa: F401 - registers `serve`
from .base import app


def main() -> None:
    """Entry point of the `storyline` command."""
    app()
