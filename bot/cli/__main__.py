"""`python -m bot.cli`: the `newsbot` command line."""

from bot.cli import main

main()
