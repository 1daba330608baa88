"""Choosing a partition for a record.

* Keyed records: ``toPositive(murmur2(key)) % partition_count`` over *all* partitions, the
  Java client's rule, so kafkaio and Java producers put the same key on the same partition.
* Keyless records: the Java client's built-in "uniform sticky" behaviour (KIP-480,
  KIP-794): stay on one partition, chosen at random among the partitions that have a
  leader, until about ``batch_size`` bytes were produced to it, then switch.
* ``"round_robin"``: every record (keyed or not) goes to the next available partition.
* A user callable ``(topic, key_bytes, all_partitions, available_partitions) -> int``.
"""

from __future__ import annotations

import abc
import random
import struct
from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = [
    "BuiltInPartitioner",
    "Partitioner",
    "PartitionerCallable",
    "RoundRobinPartitioner",
    "UserPartitioner",
    "murmur2",
    "partition_for_key",
    "to_positive",
]

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF

PartitionerCallable = Callable[[str, bytes | None, Sequence[int], Sequence[int]], int]
"""``(topic, serialized key or None, all partitions, available partitions) -> partition``."""


def murmur2(data: bytes | bytearray | memoryview) -> int:
    """The 32-bit murmur2 hash of ``data`` as the Java client computes it (a signed int)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    n4 = length >> 2
    if n4:
        for k in struct.unpack_from(f"<{n4}I", data):
            k = (k * _M) & _MASK
            k ^= k >> 24
            k = (k * _M) & _MASK
            h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        base = n4 << 2
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h ^= data[base]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - 0x100000000 if h & 0x80000000 else h


def to_positive(number: int) -> int:
    """Java's ``Utils.toPositive``: clear the sign bit of a 32-bit int."""
    return number & 0x7FFFFFFF


def partition_for_key(key: bytes | bytearray | memoryview, num_partitions: int) -> int:
    """The Java client's partition for a serialized key."""
    return (murmur2(key) & 0x7FFFFFFF) % num_partitions


class Partitioner(Protocol):
    """What the producer asks to choose a partition."""

    def partition(
        self, topic: str, key: bytes | None, num_partitions: int, available: Sequence[int]
    ) -> int:
        """The partition for a record of ``topic`` (``available``: partitions with a leader)."""
        ...

    def on_append(self, topic: str, partition: int, size: int) -> None:
        """Told after a record of ``size`` bytes was appended to ``partition``."""
        ...

    def place(
        self,
        topic: str,
        key: bytes | None,
        num_partitions: int,
        available: Sequence[int],
        size: int,
    ) -> int:
        """:meth:`partition` and :meth:`on_append` in one call (``send``'s per-record path)."""
        ...


QueueSizes = Callable[[str, Sequence[int]], Sequence[int]]
"""``(topic, partitions) -> batches queued per partition`` (adaptive partitioning's input)."""


class BuiltInPartitioner:
    """The Java client's default: murmur2 for keys, uniform sticky for keyless records.

    With ``queue_sizes`` (the Java client's ``partitioner.adaptive.partitioning.enable``),
    a new sticky partition is drawn with weights favouring partitions with fewer batches
    waiting, so slower brokers get less; with equal queues the draw is uniform.
    ``ignore_keys`` treats keyed records like keyless ones (``partitioner.ignore.keys``).
    """

    __slots__ = ("_batch_size", "_ignore_keys", "_queue_sizes", "_rng", "_sticky")

    def __init__(
        self,
        batch_size: int,
        rng: random.Random | None = None,
        *,
        queue_sizes: QueueSizes | None = None,
        ignore_keys: bool = False,
    ) -> None:
        self._batch_size = max(1, batch_size)
        self._rng = rng or random.Random()
        self._queue_sizes = queue_sizes
        self._ignore_keys = ignore_keys
        # topic -> [sticky partition, bytes produced to it since it was chosen]
        self._sticky: dict[str, list[int]] = {}

    @property
    def sticky_table(self) -> dict[str, list[int]]:
        """``topic -> [sticky partition, bytes since chosen]``, shared with the native send
        path, which follows :meth:`place`'s keyless branch on it."""
        return self._sticky

    @property
    def batch_size(self) -> int:
        """Bytes after which the sticky partition changes."""
        return self._batch_size

    def partition(
        self, topic: str, key: bytes | None, num_partitions: int, available: Sequence[int]
    ) -> int:
        if key is not None and not self._ignore_keys:
            return (murmur2(key) & 0x7FFFFFFF) % num_partitions
        state = self._sticky.get(topic)
        if state is None or state[0] >= num_partitions:
            state = self._sticky[topic] = [self._choose(topic, num_partitions, available), 0]
        return state[0]

    def on_append(self, topic: str, partition: int, size: int) -> None:
        state = self._sticky.get(topic)
        if state is None or state[0] != partition:
            return
        state[1] += size
        if state[1] >= self._batch_size:
            # The Java client switches once a batch's worth went to the sticky partition; the
            # next keyless record of this topic picks a new one (with knowledge of leaders).
            del self._sticky[topic]

    def place(
        self,
        topic: str,
        key: bytes | None,
        num_partitions: int,
        available: Sequence[int],
        size: int,
    ) -> int:
        if key is not None and not self._ignore_keys:
            return (murmur2(key) & 0x7FFFFFFF) % num_partitions
        state = self._sticky.get(topic)
        if state is None or state[0] >= num_partitions:
            state = self._sticky[topic] = [self._choose(topic, num_partitions, available), 0]
        part = state[0]
        state[1] += size
        if state[1] >= self._batch_size:
            del self._sticky[topic]
        return part

    def _choose(self, topic: str, num_partitions: int, available: Sequence[int]) -> int:
        if not available:
            return self._rng.randrange(num_partitions)
        if self._queue_sizes is not None and len(available) > 1:
            sizes = self._queue_sizes(topic, available)
            if min(sizes) != max(sizes):
                # Weight max+1-size: the emptiest queues are the likeliest (KIP-794).
                top = max(sizes) + 1
                weights = [top - size for size in sizes]
                return self._rng.choices(available, weights)[0]
        return available[self._rng.randrange(len(available))]


class _Stateless(abc.ABC):
    """For partitioners that keep no account of what was appended: ``place`` is ``partition``."""

    __slots__ = ()

    @abc.abstractmethod
    def partition(
        self, topic: str, key: bytes | None, num_partitions: int, available: Sequence[int]
    ) -> int:
        """The partition for a record of ``topic``."""

    def on_append(self, topic: str, partition: int, size: int) -> None:
        return None

    def place(
        self,
        topic: str,
        key: bytes | None,
        num_partitions: int,
        available: Sequence[int],
        size: int,
    ) -> int:
        return self.partition(topic, key, num_partitions, available)


class RoundRobinPartitioner(_Stateless):
    """Every record goes to the next available partition of its topic (keys are ignored)."""

    __slots__ = ("_counters",)

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def partition(
        self, topic: str, key: bytes | None, num_partitions: int, available: Sequence[int]
    ) -> int:
        n = self._counters.get(topic, 0)
        self._counters[topic] = n + 1
        if available:
            return available[n % len(available)]
        return n % num_partitions


class UserPartitioner(_Stateless):
    """Adapts a user callable; its answer is checked against the topic's partitions."""

    __slots__ = ("_func",)

    def __init__(self, func: PartitionerCallable) -> None:
        self._func = func

    def partition(
        self, topic: str, key: bytes | None, num_partitions: int, available: Sequence[int]
    ) -> int:
        chosen = self._func(topic, key, list(range(num_partitions)), list(available))
        if isinstance(chosen, bool) or not isinstance(chosen, int):
            raise TypeError(
                f"partitioner {self._func!r} returned {chosen!r} for topic {topic!r}; expected an int"
            )
        if not 0 <= chosen < num_partitions:
            raise ValueError(
                f"partitioner {self._func!r} returned partition {chosen} for topic {topic!r},"
                f" which has {num_partitions} partitions"
            )
        return chosen
