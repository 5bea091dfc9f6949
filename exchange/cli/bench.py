"""`exchange bench NAME`: the performance harness in bench/ (fetch, bulk, log, profile, all)."""

from __future__ import annotations

from bench.cli import bench

__all__ = ["bench"]
