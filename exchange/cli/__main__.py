"""`python -m exchange.cli` runs the `exchange` command."""

from exchange.cli import main

main()
