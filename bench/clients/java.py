"""The Java client's perf tools (``ProducerPerformance`` / ``ConsumerPerformance`` from
``org.apache.kafka:kafka-tools`` at the pinned release): what the broker can take here.

Not run by :mod:`bench.worker`: the runner starts the JVM itself from :func:`command` and
reads its figures with :func:`parse`. The JVM reports no CPU time of its measured phase;
the runner's whole-process CPU time (JVM start-up included) stands in.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from bench.workloads import RunSpec

PRODUCER = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER = "org.apache.kafka.tools.ConsumerPerformance"
JVM_ARGS = ("-Xmx512m",)

_STEADY_SUMMARY = re.compile(r"(\d+) steady state records sent, ([\d.]+) records/sec")
_PRODUCER_SUMMARY = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency"
)


def main_class_and_args(spec: RunSpec) -> tuple[str, list[str]]:
    """The tool and its arguments for ``spec`` (no latency mode: see workloads.clients)."""
    w = spec.workload
    if w.kind == "produce":
        if not spec.payload_file:
            raise ValueError("the Java producer needs spec.payload_file")
        props = {
            "acks": "all" if w.acks == "all" else "1",
            "enable.idempotence": "true" if w.acks == "all" else "false",
            "compression.type": w.compression,
            "linger.ms": str(spec.linger_ms),
            "batch.size": str(spec.batch_size),
        }
        return PRODUCER, [
            "--bootstrap-server",
            spec.bootstrap_servers,
            "--topic",
            spec.topic,
            "--num-records",
            str(w.records),
            "--throughput",
            "-1",
            "--payload-file",
            spec.payload_file,
            "--reporting-interval",
            "600000",
            # The JVM's JIT needs a moment; the steady-state figures leave this part out.
            "--warmup-records",
            str(w.records // 3),
            "--command-property",
            *(f"{k}={v}" for k, v in props.items()),
        ]
    if w.kind == "consume":
        return CONSUMER, [
            "--bootstrap-server",
            spec.bootstrap_servers,
            "--topic",
            spec.topic,
            "--num-records",
            str(w.records),
            "--group",
            f"bench-{uuid.uuid4().hex[:12]}",
            "--timeout",
            "20000",
        ]
    raise ValueError(f"the Java perf tools have no {w.kind!r} workload")


def parse(spec: RunSpec, stdout: str) -> dict[str, Any]:
    """Figures from the tool's summary output (raises ``ValueError`` if there is none)."""
    w = spec.workload
    if w.kind == "produce":
        steady = _STEADY_SUMMARY.findall(stdout)
        matches = steady or _PRODUCER_SUMMARY.findall(stdout)
        if not matches:
            raise ValueError(f"no ProducerPerformance summary in: {stdout[-500:]!r}")
        records, rate = matches[-1][:2]
        n = int(records)
        wall = n / float(rate) if float(rate) > 0 else 0.0
        return {
            "records": n,
            "bytes": n * w.value_size,
            "wall_s": wall,
            "cpu_s": None,
            "records_per_s": float(rate),
            "mb_per_s": float(rate) * w.value_size / 1e6,
            "steady_state": bool(steady),
        }
    # ConsumerPerformance: a CSV header, then one line of figures.
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            header = [h.strip() for h in line.split(",")]
            row = dict(zip(header, (c.strip() for c in lines[i + 1].split(",")), strict=False))
            n = int(row["data.consumed.in.nMsg"])
            fetch_ms = float(row.get("fetch.time.ms", "0"))
            rate = float(row["fetch.nMsg.sec"])
            return {
                "records": n,
                "bytes": int(float(row["data.consumed.in.MB"]) * 1024 * 1024),
                "wall_s": fetch_ms / 1000,
                "cpu_s": None,
                "records_per_s": rate,
                "mb_per_s": float(row["fetch.MB.sec"]) * 1.048576,
            }
    raise ValueError(f"no ConsumerPerformance figures in: {stdout[-500:]!r}")
