"""Options of :class:`~kafkaio.consumer.Consumer`, validated at construction.

Names are the snake_case of the Java consumer's configuration names; defaults are the Java
client's. Cluster options (``bootstrap_servers``, ``client_id``, ``security_protocol``...) are
passed through to :class:`~kafkaio.cluster.options.ClusterOptions`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafkaio.cluster.options import ClusterOptions
from kafkaio.config import check_bool, check_int, check_optional_str, reject_unknown_options
from kafkaio.consumer.group.assignors import ASSIGNORS, PartitionAssignor
from kafkaio.errors import ConfigurationError

__all__ = ["ConsumerOptions", "Deserializer"]

Deserializer = Callable[[bytes | None], Any]
AsyncDeserializer = Callable[[str, bytes | None], Awaitable[Any]]
"""``(topic, data) -> awaitable value``: a deserializer that may do I/O (a Schema Registry
lookup), awaited by ``getmany``/``getone``/iteration."""

_INT32_MAX = 2**31 - 1
_CLUSTER_FIELDS = ClusterOptions.field_names()
_RESETS = ("earliest", "latest", "none")
_ISOLATION = {"read_uncommitted": 0, "read_committed": 1}
_GROUP_PROTOCOLS = ("classic", "consumer")
# Java rejects these with group.protocol=consumer: the broker owns timeouts and assignment.
_CLASSIC_ONLY = ("partition_assignment_strategy", "session_timeout_ms", "heartbeat_interval_ms")


@dataclass(frozen=True, kw_only=True)
class ConsumerOptions:
    """Validated consumer options (see the field docs)."""

    group_id: str | None = None
    """Consumer group; ``None``: no group (only :meth:`~Consumer.assign`, no commits)."""
    group_protocol: str = "classic"
    """``classic`` (JoinGroup/SyncGroup, client-side assignors) or ``consumer`` (KIP-848:
    ConsumerGroupHeartbeat, the broker assigns partitions incrementally; Kafka 4.0+). With
    ``consumer``, ``partition_assignment_strategy``, ``session_timeout_ms`` and
    ``heartbeat_interval_ms`` must not be set (the broker's group configuration rules)."""
    group_remote_assignor: str | None = None
    """``consumer`` protocol only: the broker-side assignor (``uniform``, ``range``...);
    ``None`` lets the broker pick its default."""
    group_instance_id: str | None = None
    """Static membership (KIP-345): a restarted member with the same id keeps its partitions
    without a rebalance if it returns within ``session_timeout_ms``."""
    client_rack: str = ""
    """The consumer's rack: with a broker ``replica.selector.class``, fetch from the closest
    replica (KIP-392)."""
    auto_offset_reset: str = "latest"
    """Where to start without a committed offset or after OFFSET_OUT_OF_RANGE: ``earliest``,
    ``latest`` or ``none`` (raise :class:`~kafkaio.errors.NoOffsetForPartitionError`)."""
    enable_auto_commit: bool = True
    """Commit positions every ``auto_commit_interval_ms`` and before partitions are revoked
    (only with a ``group_id``)."""
    auto_commit_interval_ms: int = 5_000
    """Period of automatic commits."""
    fetch_min_bytes: int = 1
    """The broker answers a fetch once this many bytes are available (or after
    ``fetch_max_wait_ms``)."""
    fetch_max_wait_ms: int = 500
    """How long the broker may hold a fetch waiting for ``fetch_min_bytes``."""
    fetch_max_bytes: int = 52_428_800
    """Upper bound of one fetch response (per broker); bounds prefetched memory."""
    max_partition_fetch_bytes: int = 1_048_576
    """Upper bound of the data returned per partition in one fetch."""
    max_poll_records: int = 500
    """Most records one :meth:`~Consumer.getmany` returns (when ``max_records`` is not given)."""
    max_poll_interval_ms: int = 300_000
    """A group member that does not ask for records for this long leaves the group."""
    session_timeout_ms: int = 45_000
    """The coordinator evicts a member whose heartbeats stop for this long."""
    heartbeat_interval_ms: int = 3_000
    """Period of heartbeats (below a third of ``session_timeout_ms``)."""
    rebalance_timeout_ms: int | None = None
    """How long the coordinator waits for members to rejoin (default ``max_poll_interval_ms``)."""
    isolation_level: str = "read_uncommitted"
    """``read_committed`` returns only committed transactional records (up to the last
    stable offset); ``read_uncommitted`` returns everything up to the high watermark."""
    partition_assignment_strategy: Sequence[str | PartitionAssignor] = (
        "range",
        "cooperative-sticky",
    )
    """Assignors offered to the group, by preference: names (``range``, ``roundrobin``,
    ``sticky``, ``cooperative-sticky``) or :class:`PartitionAssignor` objects."""
    check_crcs: bool = True
    """Verify each fetched batch's CRC32C."""
    exclude_internal_topics: bool = True
    """Pattern subscriptions never match internal topics (``__consumer_offsets``...)."""
    key_deserializer: Deserializer | None = None
    """Turns key bytes into the record's key (errors name the record's coordinates)."""
    value_deserializer: Deserializer | None = None
    """Turns value bytes into the record's value."""
    async_key_deserializer: AsyncDeserializer | None = None
    """Like ``key_deserializer``, but ``(topic, data)`` and awaited; not with it."""
    async_value_deserializer: AsyncDeserializer | None = None
    """Like ``value_deserializer``, but ``(topic, data)`` and awaited; not with it."""
    retry_backoff_ms: int = 100
    """Pause before retrying a failed request."""
    request_timeout_ms: int = 30_000
    """How long to wait for a broker's response (offset lookups, commits...)."""
    cluster: ClusterOptions = dataclasses.field(default_factory=ClusterOptions)
    """Connection and metadata options (filled from the cluster keywords)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.group_id is not None:
            check_optional_str("group_id", self.group_id)
            if not self.group_id:
                raise ValueError("option 'group_id' must not be empty (use None for no group)")
        set_(
            self,
            "group_protocol",
            _choice("group_protocol", self.group_protocol, _GROUP_PROTOCOLS),
        )
        self._check_remote_assignor()
        check_optional_str("group_instance_id", self.group_instance_id)
        if self.group_instance_id is not None and self.group_id is None:
            raise ConfigurationError("option 'group_instance_id' requires a 'group_id'")
        if self.group_instance_id == "":
            raise ValueError("option 'group_instance_id' must not be empty")
        check_optional_str("client_rack", self.client_rack)
        set_(
            self, "auto_offset_reset", _choice("auto_offset_reset", self.auto_offset_reset, _RESETS)
        )
        check_bool("enable_auto_commit", self.enable_auto_commit)
        check_int("auto_commit_interval_ms", self.auto_commit_interval_ms, minimum=1)
        check_int("fetch_min_bytes", self.fetch_min_bytes, minimum=0, maximum=_INT32_MAX)
        check_int("fetch_max_wait_ms", self.fetch_max_wait_ms, minimum=0, maximum=_INT32_MAX)
        check_int("fetch_max_bytes", self.fetch_max_bytes, minimum=1, maximum=_INT32_MAX)
        check_int(
            "max_partition_fetch_bytes",
            self.max_partition_fetch_bytes,
            minimum=1,
            maximum=_INT32_MAX,
        )
        check_int("max_poll_records", self.max_poll_records, minimum=1)
        check_int("max_poll_interval_ms", self.max_poll_interval_ms, minimum=1, maximum=_INT32_MAX)
        check_int("session_timeout_ms", self.session_timeout_ms, minimum=1, maximum=_INT32_MAX)
        check_int("heartbeat_interval_ms", self.heartbeat_interval_ms, minimum=1)
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ConfigurationError(
                f"option 'heartbeat_interval_ms' ({self.heartbeat_interval_ms}) must be below"
                f" 'session_timeout_ms' ({self.session_timeout_ms})"
            )
        if self.rebalance_timeout_ms is None:
            set_(self, "rebalance_timeout_ms", self.max_poll_interval_ms)
        check_int("rebalance_timeout_ms", self.rebalance_timeout_ms, minimum=1, maximum=_INT32_MAX)
        set_(
            self,
            "isolation_level",
            _choice("isolation_level", self.isolation_level, tuple(_ISOLATION)),
        )
        set_(
            self,
            "partition_assignment_strategy",
            tuple(_assignor_names(self.partition_assignment_strategy)),
        )
        if self.group_protocol == "consumer":
            for name in _CLASSIC_ONLY:
                if getattr(self, name) != _DEFAULTS[name]:
                    raise _classic_only(name)
        check_bool("check_crcs", self.check_crcs)
        check_bool("exclude_internal_topics", self.exclude_internal_topics)
        for name in (
            "key_deserializer",
            "value_deserializer",
            "async_key_deserializer",
            "async_value_deserializer",
        ):
            func = getattr(self, name)
            if func is not None and not callable(func):
                raise TypeError(
                    f"option {name!r} must be a callable or None, got {type(func).__name__} {func!r}"
                )
        for part in ("key", "value"):
            if getattr(self, f"{part}_deserializer") and getattr(
                self, f"async_{part}_deserializer"
            ):
                raise ConfigurationError(
                    f"give {part}_deserializer or async_{part}_deserializer, not both"
                )
        check_int("retry_backoff_ms", self.retry_backoff_ms, minimum=0)
        check_int("request_timeout_ms", self.request_timeout_ms, minimum=1, maximum=_INT32_MAX)
        if not isinstance(self.cluster, ClusterOptions):
            raise TypeError(
                f"option 'cluster' must be a ClusterOptions, got {type(self.cluster).__name__}"
            )

    def _check_remote_assignor(self) -> None:
        value = check_optional_str("group_remote_assignor", self.group_remote_assignor)
        if value is None:
            return
        if not value.strip():
            raise ValueError("option 'group_remote_assignor' must not be empty (use None)")
        if self.group_protocol != "consumer":
            raise ConfigurationError(
                f"option 'group_remote_assignor' ({value!r}) needs group_protocol='consumer'"
            )
        object.__setattr__(self, "group_remote_assignor", value.strip())

    # ---- construction

    @classmethod
    def from_kwargs(cls, options: Mapping[str, Any]) -> ConsumerOptions:
        """Split consumer and cluster keywords; unknown names raise :class:`TypeError`."""
        own = cls.field_names() - {"cluster"}
        reject_unknown_options("Consumer", options, own | _CLUSTER_FIELDS)
        consumer_kw = {k: v for k, v in options.items() if k in own}
        protocol = consumer_kw.get("group_protocol")
        if isinstance(protocol, str) and protocol.strip().lower() == "consumer":
            # Like Java: setting these at all (even to their defaults) is an error.
            for name in _CLASSIC_ONLY:
                if name in consumer_kw:
                    raise _classic_only(name)
        cluster_kw = {k: v for k, v in options.items() if k in _CLUSTER_FIELDS and k not in own}
        # Requests the consumer makes honour its own timeout and back-off, as in Java.
        for shared in ("request_timeout_ms", "retry_backoff_ms"):
            cluster_kw[shared] = options.get(shared, _DEFAULTS[shared])
        # Long-polling fetches wait up to fetch_max_wait_ms on the broker: leave room for it.
        wait = options.get("fetch_max_wait_ms", _DEFAULTS["fetch_max_wait_ms"])
        if isinstance(wait, int) and not isinstance(wait, bool):
            timeout = cluster_kw["request_timeout_ms"]
            if isinstance(timeout, int) and not isinstance(timeout, bool):
                cluster_kw["request_timeout_ms"] = max(timeout, wait + 5_000)
        return cls(cluster=ClusterOptions(**cluster_kw), **consumer_kw)

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Every consumer option name (without the cluster ones)."""
        return frozenset(f.name for f in dataclasses.fields(cls))

    # ---- derived values

    @property
    def isolation(self) -> int:
        """``isolation_level`` as sent on the wire (0 or 1)."""
        return _ISOLATION[self.isolation_level]

    @property
    def rebalance_timeout(self) -> int:
        """``rebalance_timeout_ms`` resolved (never ``None``)."""
        assert self.rebalance_timeout_ms is not None
        return self.rebalance_timeout_ms

    def make_assignors(self) -> list[PartitionAssignor]:
        """The assignor objects, in preference order."""
        result: list[PartitionAssignor] = []
        for item in self.partition_assignment_strategy:
            result.append(ASSIGNORS[item]() if isinstance(item, str) else item)
        return result


_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in dataclasses.fields(ConsumerOptions)
    if f.default is not dataclasses.MISSING
}


def _classic_only(name: str) -> ConfigurationError:
    return ConfigurationError(
        f"option {name!r} is not supported with group_protocol='consumer' (the broker manages"
        " it; remove the option or use group_protocol='classic')"
    )


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"option {name!r} must be a str, got {type(value).__name__} {value!r}")
    text = value.strip().lower()
    if text not in choices:
        raise ValueError(f"option {name!r} must be one of {', '.join(choices)}; got {value!r}")
    return text


def _assignor_names(value: Any) -> list[str | PartitionAssignor]:
    name = "partition_assignment_strategy"
    if isinstance(value, (str, PartitionAssignor)):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise TypeError(f"option {name!r} must be a non-empty list of assignors, got {value!r}")
    result: list[str | PartitionAssignor] = []
    for item in value:
        if isinstance(item, PartitionAssignor):
            result.append(item)
        elif isinstance(item, str):
            key = item.strip().lower()
            if key not in ASSIGNORS:
                raise ValueError(
                    f"option {name!r}: unknown assignor {item!r}"
                    f" (known: {', '.join(sorted(ASSIGNORS))})"
                )
            result.append(key)
        else:
            raise TypeError(
                f"option {name!r} items must be assignor names or PartitionAssignor objects,"
                f" got {type(item).__name__} {item!r}"
            )
    return result
