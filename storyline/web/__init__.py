"""The local web application and JSON API (`storyline serve`)."""

from .app import WebOptions, create_app

__all__ = ["WebOptions", "create_app"]
