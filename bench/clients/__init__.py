"""One adapter module per client; each runs a :class:`~bench.workloads.RunSpec` in-process.

Python adapters expose ``run(spec) -> dict`` and are executed by :mod:`bench.worker` in a
process of their own (inside the peers' virtualenv); the Java adapter builds a perf-tool
command line instead. An adapter raises :class:`Unavailable` when its client is missing.
Shared measurement code (time windows, the latency driver) lives here so every client is
timed by the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench.payload import (
    LATENCY_HEADER,
    PROBE_SEQ,
    Pacer,
    latency_value,
    parse_latency_value,
    percentiles,
)
from bench.workloads import RunSpec

ADAPTERS = {
    "kafkaio": "bench.clients.kafkaio",
    "kafkaio-batch": "bench.clients.kafkaio",
    "aiokafka": "bench.clients.aiokafka",
    "confluent-kafka": "bench.clients.confluent_kafka",
    "kafka-python": "bench.clients.kafka_python",
    "java": "bench.clients.java",
}

WARMUP_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 10.0
POLL_TIMEOUT_S = 0.1


class Unavailable(Exception):
    """The client (or the API a workload needs) is not installed or not implemented."""


def current_rss_mib() -> float | None:
    """This process' resident set size now (Linux ``/proc``), or None where unknown."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Window:
    """Wall and CPU time (all threads of this process) over a measured phase, and the
    resident memory when it started (the worker adds the process' peak at the end)."""

    def __init__(self) -> None:
        self.rss_start_mib = current_rss_mib()
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()
        self.wall = 0.0
        self.cpu = 0.0

    def stop(self) -> Window:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        return self


def throughput_result(records: int, nbytes: int, window: Window, **extra: Any) -> dict[str, Any]:
    """The figures a throughput run reports (records and value bytes over the window)."""
    wall = max(window.wall, 1e-9)
    return {
        "records": records,
        "bytes": nbytes,
        "wall_s": window.wall,
        "cpu_s": window.cpu,
        "records_per_s": records / wall,
        "mb_per_s": nbytes / wall / 1e6,
        "rss_start_mib": window.rss_start_mib,
        **extra,
    }


class ConsumeMeter:
    """Consumer throughput from the end of the first non-empty batch to the last record.

    The first batch is left out (its records and the time to reach it): it holds
    connection set-up and the offset lookup, which would otherwise dominate short runs.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.created = time.perf_counter()
        self.window: Window | None = None
        self.first_batch = 0
        self.first_after_s = 0.0
        self.count = 0
        self.nbytes = 0

    @property
    def done(self) -> bool:
        return self.first_batch + self.count >= self.target

    def next_batch(self, limit: int = 10_000) -> int:
        """Records to ask for next: never more than remain (confluent-kafka's consume()
        would otherwise wait out its timeout for records that will not come)."""
        return max(1, min(limit, self.target - self.first_batch - self.count))

    def add(self, count: int, nbytes: int) -> None:
        if count == 0:
            return
        if self.window is None:
            self.window = Window()
            self.first_batch = count
            self.first_after_s = time.perf_counter() - self.created
        else:
            self.count += count
            self.nbytes += nbytes

    def result(self) -> dict[str, Any]:
        window = (self.window or Window()).stop()
        return throughput_result(
            self.count,
            self.nbytes,
            window,
            first_batch_records=self.first_batch,
            first_batch_after_s=self.first_after_s,
        )


def check_deadline(start: float, spec: RunSpec, what: str) -> None:
    """Bounded loops: give up (with a clear error) once the run's own deadline passed."""
    if time.monotonic() - start > spec.deadline_s:
        raise TimeoutError(f"{what} did not finish within {spec.deadline_s:.0f}s")


class LatencyCollector:
    """Collects end-to-end latencies of this run's records (other runs' are ignored)."""

    def __init__(self) -> None:
        self.nonce = random.getrandbits(63)
        self.samples: list[int] = []
        self.probe_seen = False
        self.foreign = 0

    def on_values(self, values: Sequence[bytes | None]) -> None:
        now = time.perf_counter_ns()
        nonce = self.nonce
        for value in values:
            parsed = parse_latency_value(value)
            if parsed is None or parsed[0] != nonce:
                self.foreign += 1
                continue
            if parsed[1] == PROBE_SEQ:
                self.probe_seen = True
            else:
                self.samples.append(now - parsed[2])

    def result(self, sent: int, send_wall_s: float, window: Window) -> dict[str, Any]:
        received = len(self.samples)
        return {
            "records": sent,
            "received": received,
            "lost": max(0, sent - received),
            "offered_per_s": sent / max(send_wall_s, 1e-9),
            "wall_s": window.wall,
            "cpu_s": window.cpu,
            "latency_ms": percentiles(self.samples),
            "rss_start_mib": window.rss_start_mib,
        }


async def latency_async(
    spec: RunSpec,
    send: Callable[[bytes], Awaitable[object]],
    poll: Callable[[], Awaitable[Sequence[bytes | None]]],
) -> dict[str, Any]:
    """Paced produce → consume in one event loop; ``poll`` returns within ~100 ms."""
    w = spec.workload
    col = LatencyCollector()
    pad = bytes(w.value_size - LATENCY_HEADER)
    stopping = False

    async def consume() -> None:
        while not stopping:
            col.on_values(await poll())

    task = asyncio.create_task(consume())
    try:
        started = time.monotonic()
        while not col.probe_seen:
            if task.done():
                task.result()
            if time.monotonic() - started > WARMUP_TIMEOUT_S:
                raise TimeoutError("the consumer saw no warm-up record within 30s")
            await send(latency_value(col.nonce, PROBE_SEQ, time.perf_counter_ns(), pad))
            await asyncio.sleep(0.05)
        total = int(w.rate * w.duration_s)
        window = Window()
        pacer = Pacer(w.rate, total)
        sent = 0
        while sent < total and time.monotonic() - started < spec.deadline_s:
            due = pacer.due()
            while sent < due:
                await send(latency_value(col.nonce, sent, pacer.scheduled_ns(sent), pad))
                sent += 1
            if sent < total:
                await asyncio.sleep(pacer.pause(sent))
        send_wall = (time.perf_counter_ns() - pacer.start_ns) / 1e9
        for _ in range(int(DRAIN_TIMEOUT_S / 0.01)):  # bounded wait for the stragglers
            if len(col.samples) >= sent or task.done():
                break
            await asyncio.sleep(0.01)
        window.stop()
    finally:
        stopping = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, 5.0)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise RuntimeError("consumer task failed") from task.exception()
    return col.result(sent, send_wall, window)


def latency_threaded(
    spec: RunSpec,
    send: Callable[[bytes], object],
    poll: Callable[[], Sequence[bytes | None]],
    service: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Paced produce (this thread, sleeping) → consume (a second thread).

    ``poll`` blocks for at most ~100 ms; ``service`` (e.g. confluent-kafka's ``poll(0)``) is
    called between bursts.
    """
    w = spec.workload
    col = LatencyCollector()
    pad = bytes(w.value_size - LATENCY_HEADER)
    stop = threading.Event()
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            while not stop.is_set():
                col.on_values(poll())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=consume, name="bench-consumer", daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        while not col.probe_seen:
            if failure:
                raise RuntimeError("consumer thread failed") from failure[0]
            if time.monotonic() - started > WARMUP_TIMEOUT_S:
                raise TimeoutError("the consumer saw no warm-up record within 30s")
            send(latency_value(col.nonce, PROBE_SEQ, time.perf_counter_ns(), pad))
            if service is not None:
                service()
            time.sleep(0.05)
        total = int(w.rate * w.duration_s)
        window = Window()
        pacer = Pacer(w.rate, total)
        sent = 0
        while sent < total and time.monotonic() - started < spec.deadline_s:
            due = pacer.due()
            while sent < due:
                send(latency_value(col.nonce, sent, pacer.scheduled_ns(sent), pad))
                sent += 1
            if service is not None:
                service()
            if sent < total:
                time.sleep(pacer.pause(sent))
        send_wall = (time.perf_counter_ns() - pacer.start_ns) / 1e9
        drain_until = time.monotonic() + DRAIN_TIMEOUT_S
        while len(col.samples) < sent and time.monotonic() < drain_until and not failure:
            if service is not None:
                service()
            time.sleep(0.01)
        window.stop()
    finally:
        stop.set()
        thread.join(5.0)
    if failure:
        raise RuntimeError("consumer thread failed") from failure[0]
    return col.result(sent, send_wall, window)
