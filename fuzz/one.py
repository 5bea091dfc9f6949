"""Run one fuzz target under atheris (libFuzzer): `python -m fuzz.one TARGET [libFuzzer args...]`."""

from __future__ import annotations

import sys

import atheris

# Only the project's own code is instrumented: coverage of it guides the search, and start-up stays quick.
with atheris.instrument_imports(include=["exchange", "catalog", "adapters", "fuzz"]):
    from fuzz import targets


def main() -> None:
    name = sys.argv[1]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], lambda data: targets.run(name, data))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
