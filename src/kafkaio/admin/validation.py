"""Client-side checks of admin input, so bad items are refused before anything is sent.

Item-level problems (an invalid topic name, a non-positive partition count, a
replication factor that contradicts an explicit assignment, an unknown topic config key)
are returned as that item's error; call-level misuse (wrong types, the same item twice)
raises :class:`TypeError` / :class:`ValueError` naming the value.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence

from kafkaio.cluster import TopicPartition

__all__ = [
    "TOPIC_CONFIG_KEYS",
    "assignment_problem",
    "check_int",
    "check_topic_partition",
    "config_value",
    "no_duplicates",
    "topic_name_problem",
]

MAX_TOPIC_NAME_LENGTH = 249
_LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]+")

# Topic-level config keys of the pinned Apache Kafka release (its TopicConfig class plus the
# replication-throttle keys); Admin(check_topic_config_keys=False) skips the check for newer ones.
TOPIC_CONFIG_KEYS: frozenset[str] = frozenset(
    {
        "cleanup.policy",
        "compression.gzip.level",
        "compression.lz4.level",
        "compression.type",
        "compression.zstd.level",
        "delete.retention.ms",
        "file.delete.delay.ms",
        "flush.messages",
        "flush.ms",
        "follower.replication.throttled.replicas",
        "index.interval.bytes",
        "leader.replication.throttled.replicas",
        "local.retention.bytes",
        "local.retention.ms",
        "max.compaction.lag.ms",
        "max.message.bytes",
        "message.downconversion.enable",
        "message.timestamp.after.max.ms",
        "message.timestamp.before.max.ms",
        "message.timestamp.type",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "min.insync.replicas",
        "preallocate",
        "remote.log.copy.disable",
        "remote.log.delete.on.disable",
        "remote.storage.enable",
        "retention.bytes",
        "retention.ms",
        "segment.bytes",
        "segment.index.bytes",
        "segment.jitter.ms",
        "segment.ms",
        "unclean.leader.election.enable",
    }
)


def topic_name_problem(name: object) -> str | None:
    """Why ``name`` is not a legal Kafka topic name, or ``None`` when it is."""
    if not isinstance(name, str):
        raise TypeError(f"a topic name must be a str, got {name!r}")
    if not name:
        return "the topic name is empty"
    if name in (".", ".."):
        return f"{name!r} is not a legal topic name"
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        return f"the topic name is {len(name)} characters long (max {MAX_TOPIC_NAME_LENGTH})"
    if not _LEGAL_TOPIC.fullmatch(name):
        bad = sorted({c for c in name if not _LEGAL_TOPIC.fullmatch(c)})
        return f"the topic name contains illegal characters {bad} (legal: a-z A-Z 0-9 . _ -)"
    return None


def check_int(value: object, what: str) -> int:
    """``value`` as an int; :class:`TypeError` naming ``what`` otherwise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {value!r}")
    return value


def check_topic_partition(tp: object) -> TopicPartition:
    """``tp`` as a :class:`TopicPartition` (a ``(topic, partition)`` pair is accepted)."""
    if isinstance(tp, tuple) and len(tp) == 2:
        topic, partition = tp
        if isinstance(topic, str):
            partition = check_int(partition, f"the partition of {tp!r}")
            if partition < 0:
                raise ValueError(f"partition numbers are >= 0, got {tp!r}")
            return TopicPartition(topic, partition)
    raise TypeError(f"expected a TopicPartition(topic, partition), got {tp!r}")


def no_duplicates(items: Iterable[Hashable], what: str) -> None:
    """:class:`ValueError` naming the first item that appears twice."""
    seen: set[Hashable] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"{what} {item!r} appears more than once in one call")
        seen.add(item)


def config_value(key: str, value: object) -> str | None:
    """A config value as the wire carries it (bools lower-case, numbers as decimal)."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"a config key must be a non-empty str, got {key!r}")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Sequence):
        return ",".join(str(v) for v in value)
    raise TypeError(f"config {key!r}: unsupported value {value!r}")


def assignment_problem(
    assignment: Mapping[int, Sequence[int]],
    num_partitions: int | None,
    replication_factor: int | None,
) -> str | None:
    """Why an explicit replica assignment is unusable (or contradicts the counts)."""
    if not assignment:
        return "the replica assignment is empty"
    partitions = sorted(assignment)
    for p in partitions:
        check_int(p, "a partition number in replica_assignment")
    if partitions != list(range(len(partitions))):
        return f"assigned partitions must be 0..{len(partitions) - 1}, got {partitions}"
    sizes = set()
    for p in partitions:
        brokers = list(assignment[p])
        for b in brokers:
            check_int(b, f"a broker id of partition {p}")
        if not brokers:
            return f"partition {p} is assigned no broker"
        if len(set(brokers)) != len(brokers):
            return f"partition {p} lists a broker twice: {brokers}"
        sizes.add(len(brokers))
    if len(sizes) > 1:
        return "every partition must have the same number of replicas"
    if num_partitions is not None and num_partitions != len(partitions):
        return (
            f"num_partitions={num_partitions} conflicts with the replica assignment of"
            f" {len(partitions)} partitions"
        )
    if replication_factor is not None and {replication_factor} != sizes:
        return (
            f"replication_factor={replication_factor} conflicts with the replica assignment"
            f" of {sizes.pop()} replicas per partition"
        )
    return None
