"""Record values every client sends, and the latency records' header."""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Sequence

DISTINCT_VALUES = 256
_LATENCY = struct.Struct(">QqQ")  # nonce, sequence, scheduled send time (perf_counter_ns)
LATENCY_HEADER = _LATENCY.size
PROBE_SEQ = -1
"""Sequence number of the warm-up probes sent until the consumer is known to be reading."""


def values(size: int, count: int = DISTINCT_VALUES) -> list[bytes]:
    """``count`` deterministic, mildly compressible values of ``size`` bytes (JSON-ish words).

    Printable ASCII without newlines, so the Java perf tool can read them from a file.
    """
    rng = random.Random(size)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        for _ in range(200)
    ]
    out: list[bytes] = []
    for _ in range(count):
        text = " ".join(rng.choice(words) for _ in range(size // 4 + 2))
        out.append(text.encode()[:size].ljust(size, b"."))
    return out


def write_payload_file(path: str, size: int) -> None:
    """The same values, newline-separated, for ``ProducerPerformance --payload-file``."""
    with open(path, "wb") as fh:
        fh.write(b"\n".join(values(size)))


def latency_value(nonce: int, seq: int, scheduled_ns: int, pad: bytes) -> bytes:
    """A latency record: header then ``pad`` (so the value has the workload's size)."""
    return _LATENCY.pack(nonce, seq, scheduled_ns) + pad


def parse_latency_value(value: bytes | None) -> tuple[int, int, int] | None:
    """``(nonce, seq, scheduled_ns)`` or ``None`` for a record that is not ours."""
    if value is None or len(value) < LATENCY_HEADER:
        return None
    nonce, seq, sent = _LATENCY.unpack_from(value)
    return int(nonce), int(seq), int(sent)


def percentiles(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50/p99/p99.9/max in milliseconds (nearest-rank)."""
    if not samples_ns:
        return {}
    ordered = sorted(samples_ns)
    n = len(ordered)

    def rank(q: float) -> float:
        idx = min(n - 1, max(0, int(q * n + 0.999999) - 1))
        return ordered[idx] / 1e6

    return {
        "p50": rank(0.50),
        "p99": rank(0.99),
        "p99.9": rank(0.999),
        "max": ordered[-1] / 1e6,
        "mean": sum(ordered) / n / 1e6,
    }


class Pacer:
    """Schedules ``total`` sends at ``rate``/s; sleeps between bursts, never spins.

    ``due()`` says how many records should have been sent by now; ``pause()`` is how long
    to sleep before the next one is due (at least ``min_sleep`` so a lagging caller still
    yields the GIL/event loop to the consuming side).
    """

    def __init__(self, rate: int, total: int, min_sleep: float = 0.001) -> None:
        self.interval_ns = 1_000_000_000 // rate
        self.total = total
        self.min_sleep = min_sleep
        self.start_ns = time.perf_counter_ns()

    def scheduled_ns(self, seq: int) -> int:
        return self.start_ns + seq * self.interval_ns

    def due(self) -> int:
        elapsed = time.perf_counter_ns() - self.start_ns
        return min(self.total, elapsed // self.interval_ns + 1)

    def pause(self, sent: int) -> float:
        wait_ns = self.scheduled_ns(sent) - time.perf_counter_ns()
        return max(self.min_sleep, wait_ns / 1e9)
