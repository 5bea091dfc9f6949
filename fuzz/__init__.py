"""Fuzzing of the parsers that read what callers send: tokens, keys, identifiers, filters, page tokens,
requests, signed documents.

Each target takes raw bytes and may raise only the project's own errors (`exchange.errors.ExchangeError`,
which reach callers as a gRPC status with a plain message) or, for protobuf decoding, `DecodeError`.
Anything else is a crash: an INTERNAL answer or a traceback an attacker can provoke.

`make fuzz` runs every target under atheris for a bounded time; `tests/unit/test_fuzz_corpus.py` replays
every committed seed and every past crash in `make test`, so a crash found once stays fixed.
"""
