"""Storyline: follow developing news stories across outlets and months."""

__version__ = "0.1.0"
