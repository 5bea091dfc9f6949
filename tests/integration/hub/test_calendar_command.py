"""`exchange calendar` and `serve --check` on the holiday data deadlines are counted with."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner

from exchange.cli import cli
from exchange.config import Settings
from exchange.preflight import _calendar


def test_show_lists_national_day_in_chinese() -> None:
    done = CliRunner().invoke(cli, ["--lang", "zh-CN", "calendar", "show", "--year", "2026"])
    assert done.exit_code == 0, done.output
    assert "2026-10-01 周四  放假" in done.output
    assert "2026-10-10 周六  调休上班" in done.output
    assert "2025-" not in done.output
    assert "依据：国办发明电〔2024〕12号; 国办发明电〔2025〕7号" in done.output


def test_check_reads_next_years_notice_and_names_what_is_wrong(tmp_path: Path) -> None:
    good, bad = tmp_path / "cn-2027.yaml", tmp_path / "bad.yaml"
    good.write_text("years: [2027]\nholidays: [2027-01-01]\nmakeup_workdays: [2027-01-02]\n")
    bad.write_text("years: [2027]\nholidays: [2027-02-30]\nmakeup_workdays: [2027-01-04]\n")
    done = CliRunner().invoke(cli, ["--lang", "en", "calendar", "check", str(good)])
    assert done.exit_code == 0, done.output
    assert "is valid: 1 holidays, 1 make-up working days in 2027" in done.output
    refused = CliRunner().invoke(cli, ["--lang", "en", "calendar", "check", str(bad)])
    assert refused.exit_code == 2
    assert "holidays[0]: line 2: expected a date such as 2026-01-15, found '2027-02-30'" in refused.output
    assert "makeup_workdays: line 3: 2027-01-04 is a Monday, already a working day" in refused.output


def test_serve_check_warns_of_a_year_without_holidays_and_refuses_a_broken_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    (finding,) = _calendar(settings, today=date(2026, 12, 2))
    assert finding.ok and "none for 2027 yet" in finding.text
    (finding,) = _calendar(settings, today=date(2026, 6, 1))
    assert finding.ok and finding.text == "calendar: holidays known for 2025, 2026"
    (tmp_path / "broken.yaml").write_text("holidays: [not-a-date]\n")
    (finding,) = _calendar(Settings(data_dir=tmp_path, calendar_file="broken.yaml"), today=date(2026, 6, 1))
    assert not finding.ok and finding.text.startswith("calendar_file: ")
    assert "holidays[0]: line 1: expected a date such as 2026-01-15, found 'not-a-date'" in finding.text
