"""The benchmark harness runs end to end at tiny sizes: real processes, a real hub, JSON with the machine."""

from __future__ import annotations

from pathlib import Path

from tests.integration.bench.harness import run_bench


def test_log_benchmark_appends_verifies_exports_and_queries(tmp_path: Path) -> None:
    body = run_bench(tmp_path, "log", "--entries", "600", "--appenders", "16", "--duration", "5")
    assert body["figures"]["appended"] == 600
    assert body["figures"]["db_bytes_per_entry"] > 0
    assert [row[0] for row in body["rows"]] == [
        "append (group commit)",
        "verify whole log",
        "export to Parquet",
        "one subject's report (median ms)",
    ]


TARGETS = ("echo", "adapter direct", "proxy", "hub fetch")


def test_fetch_benchmark_drives_echo_adapter_proxy_and_hub_over_mtls_and_plain_text_without_errors(
    tmp_path: Path,
) -> None:
    # --insecure adds the plain-text path as extra rows beside the secure one, at each concurrency.
    body = run_bench(tmp_path, "fetch", "--duration", "0.3", "--concurrency", "1,2", "--rows", "300", "--insecure")
    runs = body["figures"]["runs"]
    assert {(r["transport"], r["target"], r["concurrency"]) for r in runs} == {
        (m, t, c) for m in ("mTLS", "plain") for t in TARGETS for c in (1, 2)
    }
    assert all(r["requests"] > 0 and r["errors"] == 0 for r in runs), runs
    assert "c2 hub/echo throughput >= 0.4" in body["targets"]
    assert body["figures"]["c2"]["hub_cpu_over_proxy_cpu"] > 0
    assert body["figures"]["c1"]["secure_over_plain_hub_throughput"] > 0
    assert "c1 plain" in body["figures"]


def test_bulk_benchmark_streams_the_whole_table_over_flight_the_adapter_and_the_hub(tmp_path: Path) -> None:
    # The secure paths (mTLS to the hub and to Flight, TLS to the adapter), and with --insecure the same in plain text.
    body = run_bench(tmp_path, "bulk", "--rows", "20000", "--duration", "10", "--repeat", "1", "--insecure")
    figures = body["figures"]
    for path in ("flight do_get", "adapter scan direct", "hub scan"):
        for name in (path, f"{path} (plain)"):
            assert (figures[name]["rows"], figures[name]["error"]) == (20000, ""), name
    assert figures["hub scan"]["server_rss_peak_mb"] > 0


def test_profile_writes_the_hub_profile(tmp_path: Path) -> None:
    run_bench(tmp_path, "profile", "--duration", "0.4", "--concurrency", "2")
    (text,) = tmp_path.glob("profile-fetch-*.txt")
    assert "Fetcher.fetch" in text.read_text()
    assert list(tmp_path.glob("profile-fetch-*.html"))


def test_annotated_benchmark_makes_signed_copies_and_reports_cpu_and_peak_memory(tmp_path: Path) -> None:
    body = run_bench(tmp_path, "annotated", "--copies", "3")
    assert [row[:2] for row in body["rows"]] == [["first (loads the font)", 1], ["each further copy", 2]]
    assert len(body["figures"]["cpu_ms"]) == 3 and all(ms > 0 for ms in body["figures"]["cpu_ms"])
    assert body["figures"]["peak_rss_mb"] >= body["figures"]["rss_before_first_copy_mb"] > 0
    assert body["figures"]["pdf_bytes_mean"] > 10_000
