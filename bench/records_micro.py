#!/usr/bin/env python3
"""Micro-benchmark: build and read one 1,000-record batch (100-byte values), per codec.

Compares kafkaio's pure-Python record classes with aiokafka's (pure-Python and, for
context, its Cython extension). aiokafka must live in a separate virtualenv; the script runs
itself there as a worker::

    .venv/bin/python bench/records_micro.py --peer-python /tmp/peers-venv/bin/python

Each figure is the median of ``--runs`` runs; a run times as many repetitions as fit in
about ``--min-time`` seconds and reports the time per batch. Time is the process's CPU time
(``time.process_time``), so other load on the machine disturbs the figures less. "read" splits the bytes into
batches, verifies the CRC and decodes every record (key, value, headers, offset, timestamp),
as a consumer does.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
TS = 1_700_000_000_000


def _workload(n: int, value_size: int) -> list[tuple[bytes, bytes]]:
    """Deterministic keys and mildly compressible values (like JSON-ish payloads)."""
    rng = random.Random(42)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(6)) for _ in range(64)]
    out = []
    for i in range(n):
        value = b" ".join(rng.choice(words) for _ in range(value_size // 6 + 1))[:value_size]
        out.append((b"key-%06d" % i, value))
    return out


def _measure(fn: Callable[[], object], runs: int, min_time: float) -> float:
    """Median seconds per call over ``runs`` runs."""
    fn()
    number = 1
    while True:
        start = time.process_time()
        for _ in range(number):
            fn()
        elapsed = time.process_time() - start
        if elapsed >= min_time:
            break
        number *= 2
    samples = [elapsed / number]
    for _ in range(runs - 1):
        start = time.process_time()
        for _ in range(number):
            fn()
        samples.append((time.process_time() - start) / number)
    return statistics.median(samples)


def _kafkaio_case(
    codec: int, records: list[tuple[bytes, bytes]]
) -> tuple[Callable[[], object], Callable[[], object]]:
    from kafkaio.records import RecordBatchBuilder, iter_batches

    def build() -> bytes:
        b = RecordBatchBuilder(compression=codec, max_bytes=1 << 24)
        append = b.append
        ts = TS
        for key, value in records:
            append(ts, key, value)
        return b.build()

    data = build()

    def read() -> int:
        total = 0
        for batch in iter_batches(data):
            for r in batch.records():
                total += len(r.value or b"")
        return total

    return build, read


def _aiokafka_case(
    codec: int, records: list[tuple[bytes, bytes]], pure: bool
) -> tuple[Callable[[], object], Callable[[], object]]:
    # Imported by name: aiokafka lives in another virtualenv.
    default_records = importlib.import_module("aiokafka.record.default_records")
    memory_records = importlib.import_module("aiokafka.record.memory_records")
    if pure:
        builder_cls = default_records._DefaultRecordBatchBuilderPy
        memory_records_cls = memory_records._MemoryRecordsPy
    else:
        builder_cls = default_records.DefaultRecordBatchBuilder
        memory_records_cls = memory_records.MemoryRecords

    def build() -> bytes:
        b = builder_cls(2, codec, 0, -1, -1, -1, 1 << 24)
        append = b.append
        ts = TS
        for offset, (key, value) in enumerate(records):
            append(offset, ts, key, value, [])
        return bytes(b.build())

    data = build()

    def read() -> int:
        total = 0
        mr = memory_records_cls(data)
        while True:
            batch = mr.next_batch()
            if batch is None:
                break
            if not batch.validate_crc():
                raise RuntimeError("crc")
            for r in batch:
                total += len(r.value)
        return total

    return build, read


def worker(impl: str, args: argparse.Namespace) -> dict[str, Any]:
    records = _workload(args.records, args.value_size)
    results: dict[str, Any] = {}
    for name, codec in CODECS.items():
        if impl == "kafkaio":
            build, read = _kafkaio_case(codec, records)
        else:
            build, read = _aiokafka_case(codec, records, pure=impl == "aiokafka-pure")
        results[name] = {
            "build_us": _measure(build, args.runs, args.min_time) * 1e6,
            "read_us": _measure(read, args.runs, args.min_time) * 1e6,
        }
    return results


def _run_worker(
    python: str, impl: str, args: argparse.Namespace, env: dict[str, str]
) -> dict[str, Any]:
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        impl,
        "--runs",
        str(args.runs),
        "--min-time",
        str(args.min_time),
        "--records",
        str(args.records),
        "--value-size",
        str(args.value_size),
    ]
    full_env = {**os.environ, **env}
    src = str(Path(__file__).resolve().parents[1] / "src")
    full_env["PYTHONPATH"] = src + os.pathsep + full_env.get("PYTHONPATH", "")
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--peer-python", help="python of a virtualenv with aiokafka installed")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print raw JSON")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return 0

    columns: dict[str, dict[str, Any]] = {}
    me = sys.executable
    columns["kafkaio"] = _run_worker(me, "kafkaio", args, {"KAFKAIO_NO_EXTENSIONS": ""})
    columns["kafkaio (no ext)"] = _run_worker(me, "kafkaio", args, {"KAFKAIO_NO_EXTENSIONS": "1"})
    if args.peer_python:
        columns["aiokafka pure"] = _run_worker(
            args.peer_python, "aiokafka-pure", args, {"AIOKAFKA_NO_EXTENSIONS": "1"}
        )
        columns["aiokafka cython"] = _run_worker(args.peer_python, "aiokafka-ext", args, {})
    if args.json:
        print(json.dumps(columns, indent=1))
        return 0
    names = list(columns)
    print(
        f"{args.records} records x {args.value_size} B values; median of {args.runs} runs; "
        "microseconds per batch (lower is better)"
    )
    print("kafkaio: pure-Python records + compiled crc32c; 'no ext': KAFKAIO_NO_EXTENSIONS=1")
    for op in ("build_us", "read_us"):
        print()
        print(f"{op[:-3]:<8}" + "".join(f"{n:>18}" for n in names))
        for codec in CODECS:
            print(f"{codec:<8}" + "".join(f"{columns[n][codec][op]:>18.0f}" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
