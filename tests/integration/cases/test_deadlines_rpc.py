"""Statutory deadlines on the working-day calendar, the correction pause, and the overdue lists (RPC and CLI)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from exchange.clock import from_datetime
from tests.integration.cases.conftest import ITEM, PermitWorld

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int = 10) -> int:
    return from_datetime(datetime(2026, month, day, hour, tzinfo=SHANGHAI))


def end_of(month: int, day: int) -> int:
    return from_datetime(datetime(2026, month, day, 23, 59, 59, 999999, tzinfo=SHANGHAI))


async def test_deadline_crosses_holiday_weekend_makeup_day_and_correction_pause(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    world.desk.clock = lambda: at(4, 29)  # Wednesday before the Labour Day holiday (1-5 May)
    case = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    case = await samr.transition_case(case.id, "accept", case.version)
    # 10 working days: 30 Apr, 6, 7, 8, 9 (Saturday make-up day), 11, 12, 13, 14, 15 May.
    assert case.deadline_us == end_of(5, 15)
    world.desk.clock = lambda: at(5, 7)
    case = await samr.transition_case(case.id, "request_correction", case.version, reasons=["kitchen floor plan"])
    world.desk.clock = lambda: at(5, 12)
    paused = await samr.get_case(case.id)
    assert paused.deadline_state == "paused" and paused.deadline_us == end_of(5, 15)
    world.desk.clock = lambda: at(5, 11)
    case = await samr.transition_case(case.id, "submit_correction", case.version)
    # Paused 7 May 10:00 to 11 May 10:00: 3 working days (7 from 10:00, 8, the make-up 9th, 11 until 10:00).
    assert case.deadline_us == end_of(5, 20)
    assert case.state == "accepted" and case.deadline_state == "on_time"
    world.desk.clock = lambda: at(5, 20)
    nearly = await samr.list_overdue_cases("SAMR")
    assert [c.id for c in nearly] == [case.id] and nearly[0].deadline_state == "nearly_overdue"
    assert await samr.list_overdue_cases("SAMR", include_nearly_overdue=False) == []
    world.desk.clock = lambda: at(5, 21)
    late = await samr.list_overdue_cases("SAMR", include_nearly_overdue=False)
    assert [c.deadline_state for c in late] == ["overdue"]
    assert [c.id for c in await samr.list_cases(overdue_only=True)] == [case.id]
    assert await world.officer("FIRE").list_overdue_cases("FIRE") == late
    assert await world.officer("PSB").list_overdue_cases("PSB") == []


async def test_cli_lists_overdue_cases_of_a_department(world: PermitWorld, tmp_path: Path) -> None:
    samr = world.officer("SAMR")
    world.desk.clock = lambda: at(4, 29)
    case = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    await samr.transition_case(case.id, "accept", case.version)
    world.desk.clock = lambda: at(5, 18)
    identity = ["--profile", str(world.hub.write_profile("FIRE", tmp_path / "fire"))]
    out = await exchange_cli("cases", "overdue", *identity)
    assert case.id in out and "overdue" in out
    shown = await exchange_cli("cases", "show", case.id, *identity)
    assert "accept" in shown and "deadline" in shown and "saved:" in shown


async def exchange_cli(*args: str) -> str:
    """Run the `exchange` command; its output (the test fails with its error output if it fails)."""
    exe = str(Path(sys.executable).parent / "exchange")
    proc = await asyncio.create_subprocess_exec(
        exe,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "EXCHANGE_PROFILE": ""},
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()
