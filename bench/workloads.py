"""What is measured: workloads, the quick and full matrices, and the spec a worker receives."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["produce", "consume", "latency"]
KINDS: tuple[Kind, ...] = ("produce", "consume", "latency")
ACKS = ("1", "all")
COMPRESSIONS = ("none", "lz4", "zstd")

# Every client gets the same batching settings so the comparison is of the clients, not of
# their defaults (confluent-kafka batches up to 1 MB by default, aiokafka lingers 0 ms).
LINGER_MS = 5
BATCH_SIZE = 131_072

CLIENTS = ("kafkaio", "kafkaio-batch", "aiokafka", "confluent-kafka", "kafka-python", "java")
"""Every client variant; ``kafkaio-batch`` is kafkaio's batch call (producer workloads only)."""
REFERENCE = "confluent-kafka"


@dataclass(frozen=True)
class Workload:
    """One measured situation; every client runs it the same way."""

    kind: Kind
    value_size: int = 100
    partitions: int = 1
    acks: str = "1"
    """``"1"`` or ``"all"`` (``"all"`` also turns idempotence on)."""
    compression: str = "none"
    records: int = 100_000
    """Records per run (produce, consume)."""
    rate: int = 10_000
    """Offered records/s (latency)."""
    duration_s: float = 5.0
    """Length of the paced phase (latency)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown workload kind {self.kind!r}; expected one of {KINDS}")
        if self.acks not in ACKS:
            raise ValueError(f"acks must be one of {ACKS}, got {self.acks!r}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, got {self.compression!r}")
        if self.value_size < 24:
            # A latency record carries a 24-byte header (nonce, sequence, send time).
            raise ValueError(f"value_size must be >= 24, got {self.value_size}")
        if self.partitions < 1 or self.records < 1 or self.rate < 1 or self.duration_s <= 0:
            raise ValueError(f"partitions, records, rate and duration_s must be positive: {self}")

    @property
    def id(self) -> str:
        """Short stable identifier (used in topic names and the JSON)."""
        size = f"{self.value_size // 1024}k" if self.value_size >= 1024 else f"{self.value_size}b"
        base = f"{self.kind}-{size}-p{self.partitions}-acks{self.acks}-{self.compression}"
        return f"{base}-r{self.rate}" if self.kind == "latency" else base

    @property
    def label(self) -> str:
        """Human-readable description for tables and charts."""
        size = (
            f"{self.value_size // 1024} KiB" if self.value_size >= 1024 else f"{self.value_size} B"
        )
        acks = "acks=all idempotent" if self.acks == "all" else "acks=1"
        parts = f"{self.partitions} partition" + ("s" if self.partitions > 1 else "")
        if self.kind == "consume":
            text = f"{size}, {parts}, {self.compression}"
        else:
            text = f"{size}, {parts}, {acks}, {self.compression}"
        if self.kind == "latency":
            text += f", {self.rate:,} rec/s for {self.duration_s:g} s"
        return text

    def timeout_s(self) -> float:
        """Wall-clock bound for one run of one client (process start to exit)."""
        if self.kind == "latency":
            return self.duration_s + 60.0
        # Generous: 5k records/s is far below the slowest client, plus start-up.
        return 60.0 + self.records / 5_000 * max(1.0, self.value_size / 1024)

    def scaled(self, factor: float) -> Workload:
        """The same workload with ``factor`` times the records (or paced duration)."""
        if factor <= 0:
            raise ValueError(f"scale must be positive, got {factor!r}")
        return dataclasses.replace(
            self,
            # Below ~20k records the first consumer batch (left out) is much of the run.
            records=max(20_000, int(self.records * factor)),
            duration_s=max(1.0, self.duration_s * factor),
        )

    def clients(self, wanted: tuple[str, ...]) -> list[str]:
        """The client variants that apply to this workload, in run order."""
        out = [c for c in wanted if c in CLIENTS]
        if self.kind != "produce":
            out = [c for c in out if c != "kafkaio-batch"]
        if self.kind == "latency":
            # The Java perf tools have no paced end-to-end mode.
            out = [c for c in out if c != "java"]
        return out


def _records_for(size: int, scale: int) -> int:
    per_size = {100: 200_000, 1024: 60_000, 10240: 8_000}
    return per_size.get(size, 50_000) * scale


def quick_matrix() -> list[Workload]:
    """A few minutes: the headline case both ways, 1 KiB, and latency."""
    return [
        Workload("produce", 100, records=250_000),
        Workload("produce", 1024, records=60_000),
        Workload("consume", 100, records=500_000),
        Workload("consume", 1024, records=100_000),
        Workload("latency", 100, rate=5_000, duration_s=4.0),
    ]


def full_matrix() -> list[Workload]:
    """One factor at a time around 100 B / 1 partition / acks=1 / no compression."""
    out: list[Workload] = []
    for kind in ("produce", "consume"):
        k: Kind = "produce" if kind == "produce" else "consume"
        # Consumers are fast for everyone: more records keep their windows long enough.
        scale = 2 if k == "produce" else 4
        for size in (100, 1024, 10240):
            out.append(Workload(k, size, records=_records_for(size, scale)))
        out.append(Workload(k, 100, partitions=6, records=_records_for(100, scale)))
        if k == "produce":
            out.append(Workload(k, 100, acks="all", records=_records_for(100, 2)))
            out.append(Workload(k, 1024, partitions=6, acks="all", records=_records_for(1024, 2)))
        for codec in ("lz4", "zstd"):
            out.append(Workload(k, 1024, compression=codec, records=_records_for(1024, scale)))
    out.append(Workload("latency", 100, rate=10_000, duration_s=10.0))
    out.append(Workload("latency", 1024, acks="all", rate=10_000, duration_s=10.0))
    return out


def cartesian_matrix() -> list[Workload]:
    """Every combination of size, partitions, acks and codec (long: hours on 2 cores)."""
    out: list[Workload] = []
    for size in (100, 1024, 10240):
        for parts in (1, 6):
            for codec in COMPRESSIONS:
                for acks in ACKS:
                    out.append(Workload("produce", size, parts, acks, codec, _records_for(size, 2)))
                out.append(Workload("consume", size, parts, "1", codec, _records_for(size, 2)))
    for acks in ACKS:
        out.append(Workload("latency", 100, acks=acks, rate=10_000, duration_s=10.0))
    return out


MATRICES = {"quick": quick_matrix, "full": full_matrix, "cartesian": cartesian_matrix}


@dataclass(frozen=True)
class RunSpec:
    """Everything one worker process needs for one run (passed as JSON)."""

    client: str
    workload: Workload
    topic: str
    bootstrap_servers: str
    run_id: str
    deadline_s: float
    """The worker stops its own loops after this many seconds (the parent kills later)."""
    linger_ms: int = LINGER_MS
    batch_size: int = BATCH_SIZE
    payload_file: str = ""
    """Java only: file of newline-separated payloads (the same values the others send)."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        raw: dict[str, Any] = json.loads(text)
        raw["workload"] = Workload(**raw["workload"])
        return cls(**raw)
