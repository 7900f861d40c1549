"""`python -m storyline` runs the command line."""

from .cli import main

main()
