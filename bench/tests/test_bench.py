"""Tests of the suite's own logic (no broker): ``.venv/bin/pytest bench/tests``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench import env as bench_env
from bench.clients import ConsumeMeter, LatencyCollector, Window, java, throughput_result
from bench.payload import (
    LATENCY_HEADER,
    PROBE_SEQ,
    Pacer,
    latency_value,
    parse_latency_value,
    percentiles,
    values,
)
from bench.report import EARLIER_TARGETS, TARGETS, render, summarize, targets_table
from bench.runner import _worker_result, run_process
from bench.worker import EXIT_UNAVAILABLE, MARKER
from bench.workloads import MATRICES, RunSpec, Workload

REPO = bench_env.REPO


def test_workload_validation_names_the_bad_value() -> None:
    with pytest.raises(ValueError, match="acks"):
        Workload("produce", acks="2")
    with pytest.raises(ValueError, match="compression"):
        Workload("produce", compression="brotli")
    with pytest.raises(ValueError, match="kind"):
        Workload("scan")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="value_size"):
        Workload("produce", value_size=10)


def test_matrices_have_unique_ids_and_the_headline_case() -> None:
    for name, build in MATRICES.items():
        ids = [w.id for w in build()]
        assert len(ids) == len(set(ids)), name
        assert "produce-100b-p1-acks1-none" in ids, name
        assert "consume-100b-p1-acks1-none" in ids, name


def test_clients_per_kind() -> None:
    every = ("kafkaio", "kafkaio-batch", "confluent-kafka", "java")
    assert Workload("produce").clients(every) == list(every)
    assert Workload("consume").clients(every) == ["kafkaio", "confluent-kafka", "java"]
    assert Workload("latency").clients(every) == ["kafkaio", "confluent-kafka"]


def test_spec_round_trips_through_json() -> None:
    spec = RunSpec("aiokafka", Workload("latency", 1024, 6, "all", "zstd"), "t", "h:1", "r", 9.0)
    assert RunSpec.from_json(spec.to_json()) == spec


def test_values_are_sized_printable_and_compressible() -> None:
    for size in (100, 1024, 10240):
        vals = values(size)
        assert {len(v) for v in vals} == {size}
        assert not any(b"\n" in v for v in vals)
        assert len(set(vals)) > 200
    assert values(100) == values(100)


def test_latency_values_round_trip_and_collector_ignores_other_runs() -> None:
    col = LatencyCollector()
    pad = bytes(100 - LATENCY_HEADER)
    sent = time.perf_counter_ns() - 5_000_000
    col.on_values(
        [
            latency_value(col.nonce, PROBE_SEQ, sent, pad),
            latency_value(col.nonce, 0, sent, pad),
            latency_value(col.nonce ^ 1, 1, sent, pad),
            None,
            b"short",
        ]
    )
    assert parse_latency_value(latency_value(7, 3, 11, pad)) == (7, 3, 11)
    assert col.probe_seen
    assert len(col.samples) == 1 and col.samples[0] >= 5_000_000
    assert col.foreign == 3


def test_percentiles_nearest_rank() -> None:
    p = percentiles([i * 1_000_000 for i in range(1, 1001)])
    assert (p["p50"], p["p99"], p["p99.9"], p["max"]) == (500.0, 990.0, 999.0, 1000.0)
    assert percentiles([]) == {}


def test_pacer_sleeps_at_least_the_minimum() -> None:
    pacer = Pacer(rate=1_000_000, total=10)
    time.sleep(0.001)
    assert pacer.due() == 10  # far behind: everything is due at once
    assert pacer.pause(10) >= pacer.min_sleep  # still yields instead of spinning
    slow = Pacer(rate=10, total=5)
    assert slow.due() == 1
    assert 0.05 < slow.pause(1) <= 0.1


def test_consume_meter_leaves_the_first_batch_out() -> None:
    meter = ConsumeMeter(100)
    meter.add(0, 0)
    meter.add(40, 4000)
    assert not meter.done
    meter.add(60, 6000)
    assert meter.done
    result = meter.result()
    assert result["records"] == 60 and result["bytes"] == 6000
    assert result["first_batch_records"] == 40


def _spec(kind: str) -> RunSpec:
    return RunSpec("java", Workload(kind, 100, records=300), "t", "h:1", "r", 9.0, payload_file="p")  # type: ignore[arg-type]


def test_java_producer_output_prefers_the_steady_state_line() -> None:
    out = (
        "300 records sent, 100.0 records/sec (0.01 MB/sec), 3.0 ms avg latency, 9.0 ms max\n"
        "200 steady state records sent, 250.5 records/sec (0.02 MB/sec), 2.0 ms avg latency\n"
    )
    result = java.parse(_spec("produce"), out)
    assert result["records"] == 200 and result["records_per_s"] == 250.5
    assert result["steady_state"] is True
    with pytest.raises(ValueError, match="no ProducerPerformance summary"):
        java.parse(_spec("produce"), "Exception in thread main")


def test_java_consumer_output() -> None:
    out = (
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
        "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
        "2026-01-01 00:00:00:000, 2026-01-01 00:00:01:000, 28.6102, 28.6, 300000, 300000.0, "
        "300, 700, 40.8717, 428571.4286\n"
    )
    result = java.parse(_spec("consume"), out)
    assert result["records"] == 300000
    assert result["records_per_s"] == pytest.approx(428571.4286)
    assert result["wall_s"] == pytest.approx(0.7)
    cls, args = java.main_class_and_args(_spec("consume"))
    assert cls == java.CONSUMER and "--num-records" in args


def _entry(kind: str, runs: list[dict[str, Any]], clients: list[str]) -> dict[str, Any]:
    return {"id": "x", "label": "x", "kind": kind, "clients": clients, "runs": runs}


def test_summary_medians_ratios_and_failures() -> None:
    runs = [
        {"client": "confluent-kafka", "round": r, "status": "ok", "records_per_s": v,
         "mb_per_s": v / 1e4, "cpu_s": 1.0, "wall_s": 2.0}
        for r, v in ((1, 100.0), (2, 300.0), (3, 200.0))
    ] + [
        {"client": "kafkaio", "round": r, "status": "ok", "records_per_s": v,
         "mb_per_s": v / 1e4, "cpu_s": 1.0, "wall_s": 2.0}
        for r, v in ((1, 400.0), (2, 500.0), (3, 450.0))
    ] + [
        {"client": "kafka-python", "round": 1, "status": "timeout", "error": "killed after 9s"},
        {"client": "kafka-python", "round": 2, "status": "skipped", "error": "timeout in round 1"},
    ]  # fmt: skip
    clients = ["kafkaio", "confluent-kafka", "kafka-python", "aiokafka"]
    sums = {s.client: s for s in summarize(_entry("produce", runs, clients), "confluent-kafka")}
    assert sums["kafkaio"].rate is not None and sums["kafkaio"].rate.median == 450.0
    assert (sums["kafkaio"].rate.low, sums["kafkaio"].rate.high) == (400.0, 500.0)
    assert sums["kafkaio"].ratio == pytest.approx(2.25)
    assert sums["kafka-python"].status == "timeout" and sums["kafka-python"].ratio is None
    assert sums["aiokafka"].status == "not run"
    md = render({"meta": {"mode": "test"}, "workloads": [_entry("produce", runs, clients)]})
    assert "| x | kafkaio | 450 (400\u2013500) |" in md
    assert "2.25\u00d7" in md
    assert "**timeout**: killed after 9s" in md


def test_latency_summary_ratio() -> None:
    def run(client: str, p50: float) -> dict[str, Any]:
        lat = {"p50": p50, "p99": p50 * 10, "p99.9": p50 * 20}
        return {"client": client, "round": 1, "status": "ok", "latency_ms": lat,
                "offered_per_s": 5000.0, "lost": 0, "cpu_s": 1.0, "wall_s": 4.0}  # fmt: skip

    entry = _entry(
        "latency",
        [run("confluent-kafka", 4.0), run("kafkaio", 2.0)],
        ["kafkaio", "confluent-kafka"],
    )
    sums = {s.client: s for s in summarize(entry, "confluent-kafka")}
    assert sums["kafkaio"].latency_ratio == {"p50": 0.5, "p99": 0.5, "p99.9": 0.5}
    assert "0.50\u00d7 / 0.50\u00d7" in render({"workloads": [entry]})


def test_run_process_kills_a_hanging_child_at_its_bound() -> None:
    started = time.monotonic()
    outcome = run_process(
        [sys.executable, "-c", "import time; print('x', flush=True); time.sleep(60)"],
        "",
        {},
        1.0,
        REPO,
    )
    assert outcome.returncode is None
    assert time.monotonic() - started < 15
    assert outcome.stdout.startswith("x")


def test_worker_reports_an_unavailable_api(tmp_path: Path) -> None:
    spec = RunSpec("kafkaio-batch", Workload("consume"), "t", "127.0.0.1:1", "r", 5.0)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker"],
        input=spec.to_json(),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=bench_env.BenchEnv(python=Path(sys.executable)).worker_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == EXIT_UNAVAILABLE, proc.stderr
    result = _worker_result(proc.stdout)
    assert result is not None and result["status"] == "unavailable"
    assert "batch call" in result["error"]
    assert _worker_result(f"noise\n{MARKER}{json.dumps({'status': 'ok'})}\n") == {"status": "ok"}
    assert _worker_result("no marker") is None


def test_targets_are_reported_not_asserted() -> None:
    def run(client: str, rate: float) -> dict[str, Any]:
        return {"client": client, "round": 1, "status": "ok", "records_per_s": rate}

    entry = _entry(
        "produce",
        [run("kafkaio", 300.0), run("aiokafka", 100.0), run("confluent-kafka", 400.0)],
        [],
    )
    entry["id"] = "produce-100b-p1-acks1-none"
    entry["clients"] = ["kafkaio", "aiokafka", "confluent-kafka"]
    lines = targets_table([entry])
    assert any("send() >= 2x aiokafka" in ln and "3.00\u00d7 | yes" in ln for ln in lines)
    assert any(
        "send() >= 1.2x confluent" in ln and "kafkaio 300 rec/s" in ln and "0.75\u00d7 | no" in ln
        for ln in lines
    )
    # Workloads the run did not have are named, not dropped.
    assert any("| 10 KiB, 1 partition, none |" in ln and "not in this run" in ln for ln in lines)
    assert any(ln.startswith("| latency p99") and "not in this run" in ln for ln in lines)


def test_latency_target_compares_p99_and_reports_every_percentile() -> None:
    def run(client: str, p50: float, p99: float) -> dict[str, Any]:
        return {
            "client": client,
            "round": 1,
            "status": "ok",
            "latency_ms": {"p50": p50, "p99": p99, "p99.9": p99 * 2},
            "offered_per_s": 10_000.0,
        }

    entry = _entry("latency", [run("kafkaio", 4.0, 6.0), run("confluent-kafka", 4.5, 8.0)], [])
    entry["id"] = "latency-100b-p1-acks1-none-r10000"
    entry["kind"] = "latency"
    entry["clients"] = ["kafkaio", "confluent-kafka"]
    row = next(ln for ln in targets_table([entry]) if ln.startswith("| latency p99"))
    assert "kafkaio 4.00 / 6.00 / 12.00 ms" in row and "confluent-kafka 4.50 / 8.00" in row
    assert row.endswith("0.75\u00d7 | yes |")


def test_peak_rss_is_reported_and_old_results_render_without_it() -> None:
    def run(client: str, rss: float | None) -> dict[str, Any]:
        r: dict[str, Any] = {"client": client, "round": 1, "status": "ok", "records_per_s": 10.0}
        if rss is not None:
            r["peak_rss_mib"] = rss
            r["rss_start_mib"] = rss - 30
        return r

    entry = _entry(
        "produce",
        [run("kafkaio", 80.0), run("confluent-kafka", None)],
        ["kafkaio", "confluent-kafka"],
    )
    sums = {s.client: s for s in summarize(entry, "confluent-kafka")}
    assert sums["kafkaio"].peak_rss is not None and sums["kafkaio"].peak_rss.median == 80.0
    assert sums["confluent-kafka"].peak_rss is None
    text = render({"meta": {}, "workloads": [entry]})
    assert "peak RSS MiB" in text
    assert "| 80 (+30) |" in text
    # The run without the fields (an older latest.json) gets a dash in that column.
    row = next(ln for ln in text.splitlines() if ln.startswith("| x | confluent-kafka |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[7] == "\u2013"


def _rate_run(client: str, rate: float, round_no: int = 1) -> dict[str, Any]:
    return {"client": client, "round": round_no, "status": "ok", "records_per_s": rate}


def _targets_entry(wid: str, kind: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    clients = list(dict.fromkeys(r["client"] for r in runs))
    return {"id": wid, "label": wid, "kind": kind, "clients": clients, "runs": runs}


def test_targets_table_has_issue_12_rows_and_names_missing_workloads() -> None:
    entries = [
        _targets_entry(
            "produce-100b-p1-acks1-none",
            "produce",
            [_rate_run("kafkaio", 1_300_000.0), _rate_run("confluent-kafka", 1_000_000.0)],
        ),
        _targets_entry(
            "produce-1k-p1-acks1-none",
            "produce",
            [_rate_run("kafkaio", 110_000.0), _rate_run("confluent-kafka", 100_000.0)],
        ),
        _targets_entry(
            "consume-100b-p1-acks1-none",
            "consume",
            [_rate_run("kafkaio", 1_000_000.0), _rate_run("confluent-kafka", 1_000_000.0)],
        ),
        # confluent-kafka failed here: nothing to compare with.
        _targets_entry(
            "consume-1k-p1-acks1-none",
            "consume",
            [
                _rate_run("kafkaio", 500_000.0),
                {"client": "confluent-kafka", "round": 1, "status": "failed", "error": "boom"},
            ],
        ),
    ]
    table = targets_table(entries)
    # Issue 12's rows first, the earlier targets last.
    assert [ln.split("|")[1].strip() for ln in table[2:]] == [
        "send() >= 1.2x confluent",
        "send() >= 1.2x confluent",
        "consume >= 1.2x confluent",
        "consume >= 1.2x confluent",
        "consume stays ahead",
        "latency p99 <= confluent (p50 / p99 / p99.9)",
        "send_batch() >= 1.2x confluent",
        "send() >= 2x aiokafka",
    ]
    rows: dict[str, list[list[str]]] = {}
    for ln in table[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        assert len(cells) == 6, ln
        rows.setdefault(cells[1], []).append(cells)

    (send_100,) = [c for c in rows["produce-100b-p1-acks1-none"] if c[2].startswith("kafkaio ")]
    assert send_100 == [
        "send() >= 1.2x confluent",
        "produce-100b-p1-acks1-none",
        "kafkaio 1,300k rec/s",
        "confluent-kafka 1,000k rec/s",
        "1.30\u00d7",
        "yes",
    ]
    (send_1k,) = rows["produce-1k-p1-acks1-none"]
    assert send_1k[4:] == ["1.10\u00d7", "no"]
    # 100 B consume only has to stay ahead: an equal rate meets it.
    (consume_100,) = rows["consume-100b-p1-acks1-none"]
    assert consume_100[0] == "consume stays ahead" and consume_100[4:] == ["1.00\u00d7", "yes"]
    (consume_1k,) = rows["consume-1k-p1-acks1-none"]
    assert consume_1k[5] == "not measured"
    # The quick matrix has no 10 KiB workload and this run no latency one.
    (consume_10k,) = rows["10 KiB, 1 partition, none"]
    assert consume_10k[0] == "consume >= 1.2x confluent" and consume_10k[5] == "not in this run"
    (latency,) = rows["latency"]
    assert latency[5] == "not in this run"


def test_target_workloads_are_in_the_matrices() -> None:
    quick = {w.id for w in MATRICES["quick"]()}
    full = {w.id for w in MATRICES["full"]()}
    wanted = {t.workload.id for t in TARGETS + EARLIER_TARGETS}
    assert wanted <= full
    assert wanted - quick == {"consume-10k-p1-acks1-none"}
    assert any(w.kind == "latency" for w in MATRICES["quick"]())


def test_latency_target_not_met_when_p99_is_above_confluent() -> None:
    def run(client: str, p99: float) -> dict[str, Any]:
        lat = {"p50": 1.0, "p99": p99, "p99.9": p99 * 2}
        return {"client": client, "round": 1, "status": "ok", "latency_ms": lat}

    entry = _targets_entry(
        "latency-100b-p1-acks1-none-r10000",
        "latency",
        [run("kafkaio", 9.0), run("confluent-kafka", 7.5)],
    )
    (row,) = [ln for ln in targets_table([entry]) if ln.startswith("| latency p99")]
    assert row.endswith("| 1.20\u00d7 | no |")


def test_rss_growth_is_the_median_of_each_rounds_growth_and_java_has_no_start() -> None:
    def run(client: str, round_no: int, peak: float, start: float | None) -> dict[str, Any]:
        r = _rate_run(client, 10.0, round_no) | {"peak_rss_mib": peak}
        if start is not None:
            r["rss_start_mib"] = start
        return r

    entry = _entry(
        "produce",
        [
            run("kafkaio", 1, 100.0, 90.0),
            run("kafkaio", 2, 120.0, 60.0),
            run("kafkaio", 3, 110.0, 90.0),
            run("java", 1, 300.4, None),
        ],
        ["kafkaio", "java"],
    )
    sums = {s.client: s for s in summarize(entry, "confluent-kafka")}
    assert sums["kafkaio"].rss_growth is not None and sums["kafkaio"].rss_growth.median == 20.0
    text = render({"meta": {}, "workloads": [entry]})
    assert "| 110 (+20) |" in text
    assert "| 300 |" in text


def test_window_results_carry_the_rss_at_the_window_start() -> None:
    window = Window().stop()
    assert throughput_result(1, 1, window)["rss_start_mib"] == window.rss_start_mib
    assert LatencyCollector().result(0, 1.0, window)["rss_start_mib"] == window.rss_start_mib
    if Path("/proc/self/statm").exists():
        assert window.rss_start_mib is not None and window.rss_start_mib > 1


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_run_process_watches_a_childs_peak_rss_when_asked() -> None:
    # The child touches 64 MiB, frees it and lingers: the high-water mark keeps the peak.
    code = "import time; b = bytearray(64 << 20); del b; time.sleep(0.5)"
    outcome = run_process([sys.executable, "-c", code], "", {}, 30.0, REPO, watch_rss=True)
    assert outcome.returncode == 0
    assert outcome.peak_rss_mib is not None and outcome.peak_rss_mib >= 60
    plain = run_process([sys.executable, "-c", "pass"], "", {}, 30.0, REPO)
    assert plain.peak_rss_mib is None
