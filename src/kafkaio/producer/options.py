"""Options of :class:`~kafkaio.producer.Producer`, validated at construction.

Names are the snake_case of the Java producer's configuration names. Cluster options
(``bootstrap_servers``, ``client_id``, ``security_protocol``...) are passed through to
:class:`~kafkaio.cluster.options.ClusterOptions`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kafkaio.cluster.options import ClusterOptions
from kafkaio.config import check_bool, check_int, reject_unknown_options
from kafkaio.errors import ConfigurationError
from kafkaio.producer.partitioner import (
    BuiltInPartitioner,
    Partitioner,
    QueueSizes,
    RoundRobinPartitioner,
    UserPartitioner,
)
from kafkaio.records import CompressionType

__all__ = ["AsyncSerializer", "ProducerOptions", "Serializer", "parse_acks", "parse_compression"]

log = logging.getLogger("kafkaio.producer")

Serializer = Callable[[Any], bytes | None]
AsyncSerializer = Callable[[str, Any], Awaitable[bytes | None]]
"""``(topic, value) -> awaitable bytes``: a serializer that may do I/O (e.g. a Schema Registry
lookup), awaited by ``send()``."""

_INT32_MAX = 2**31 - 1
_MAX_IDEMPOTENT_IN_FLIGHT = 5  # the broker caches the last 5 batches per producer+partition
_CLUSTER_FIELDS = ClusterOptions.field_names()


def parse_acks(value: Any) -> int:
    """``0``, ``1``, ``-1``/``"all"`` (also as strings) -> the wire value 0, 1 or -1."""
    if isinstance(value, bool):
        raise TypeError(f"option 'acks' must be 0, 1 or 'all', got bool {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "all":
            return -1
        if text in ("0", "1", "-1"):
            return int(text)
        raise ValueError(f"option 'acks' must be 0, 1 or 'all', got {value!r}")
    if isinstance(value, int):
        if value in (0, 1, -1):
            return value
        raise ValueError(f"option 'acks' must be 0, 1 or 'all', got {value!r}")
    raise TypeError(f"option 'acks' must be 0, 1 or 'all', got {type(value).__name__} {value!r}")


def parse_compression(value: Any) -> CompressionType:
    """``"none"``, ``"gzip"``, ``"snappy"``, ``"lz4"``, ``"zstd"`` (or ``None``) -> the codec."""
    if value is None:
        return CompressionType.NONE
    if isinstance(value, CompressionType):
        return value
    if not isinstance(value, str):
        raise TypeError(
            "option 'compression_type' must be one of none, gzip, snappy, lz4, zstd,"
            f" got {type(value).__name__} {value!r}"
        )
    try:
        return CompressionType[value.strip().upper()]
    except KeyError:
        raise ValueError(
            f"option 'compression_type' must be one of none, gzip, snappy, lz4, zstd, got {value!r}"
        ) from None


@dataclass(frozen=True, kw_only=True)
class ProducerOptions:
    """Validated producer options (see the field docs; defaults are the Java client's)."""

    acks: int | str = "all"
    """``0`` (no acknowledgement), ``1`` (leader) or ``"all"`` (every in-sync replica)."""
    compression_type: str | None = "none"
    """``none``, ``gzip``, ``snappy``, ``lz4`` or ``zstd``, applied per batch."""
    compression_gzip_level: int | None = None
    """gzip level 1-9 (``None`` or -1: zlib's default, 6), as the Java client's (KIP-390).
    lz4 has no level option here: batches use lz4's fast mode."""
    compression_zstd_level: int | None = None
    """zstd level -131072 to 22 (``None``: 3, zstd's default), as the Java client's."""
    batch_size: int = 16_384
    """Upper bound of a batch's uncompressed bytes (a larger record gets a batch of its own)."""
    linger_ms: int = 5
    """How long a partition's batch may wait for more records before it is sent."""
    buffer_memory: int = 33_554_432
    """Bytes of records waiting to be sent or acknowledged before ``send`` blocks."""
    max_block_ms: int = 60_000
    """How long ``send`` may wait for buffer space or for a topic's metadata."""
    max_request_size: int = 1_048_576
    """Largest produce request; also the largest record ``send`` accepts."""
    request_timeout_ms: int = 30_000
    """How long to wait for a broker's response to a produce request."""
    delivery_timeout_ms: int = 120_000
    """Upper bound from ``send`` until the record is acknowledged or failed (retries included).
    Must be at least ``linger_ms + request_timeout_ms``."""
    retries: int = _INT32_MAX
    """Attempts after a retriable failure (bounded in time by ``delivery_timeout_ms``)."""
    retry_backoff_ms: int = 100
    """First pause before retrying a batch; doubles per attempt, with jitter."""
    retry_backoff_max_ms: int = 1_000
    """Cap of the retry back-off."""
    max_in_flight_requests_per_connection: int = 5
    """Produce requests pipelined per broker. Without idempotence, a retried batch may land
    after a later one of the same partition when this is above 1; with idempotence ordering
    is kept and the value must be at most 5."""
    enable_idempotence: bool | None = None
    """Exactly-once delivery per partition (producer id + sequence numbers). ``None`` (the
    default) enables it unless ``acks``, ``retries`` or ``max_in_flight_requests_per_connection``
    conflict, as the Java client does; ``True`` with a conflicting option is an error."""
    partitioner: str | Callable[..., int] = "default"
    """``"default"`` (murmur2 for keys, uniform sticky otherwise), ``"round_robin"``, or a
    callable ``(topic, key_bytes, all_partitions, available_partitions) -> int``."""
    partitioner_adaptive_partitioning_enable: bool = True
    """With the default partitioner, keyless records favour partitions whose queues are
    shorter (slower brokers get less), as in the Java client."""
    partitioner_ignore_keys: bool = False
    """With the default partitioner, place keyed records like keyless ones (sticky)."""
    key_serializer: Serializer | None = None
    """Turns a key into bytes; without one keys must be bytes (or None)."""
    value_serializer: Serializer | None = None
    """Turns a value into bytes; without one values must be bytes (or None)."""
    async_key_serializer: AsyncSerializer | None = None
    """Like ``key_serializer``, but ``(topic, key)`` and awaited (for serializers doing I/O,
    e.g. ``kafkaio.schema_registry``); not together with ``key_serializer``."""
    async_value_serializer: AsyncSerializer | None = None
    """Like ``value_serializer``, but ``(topic, value)`` and awaited; not together with
    ``value_serializer``."""
    transactional_id: str | None = None
    """Enables transactions (``init_transactions``, ``begin_transaction``...); identifies the
    producer across restarts so that a new instance fences the old one. Needs idempotence."""
    transaction_timeout_ms: int = 60_000
    """How long the coordinator lets a transaction stay open before aborting it."""
    cluster: ClusterOptions = dataclasses.field(default_factory=ClusterOptions)
    """Connection and metadata options (filled from the cluster keywords)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "acks", parse_acks(self.acks))
        set_(self, "compression_type", parse_compression(self.compression_type).name.lower())
        if self.compression_gzip_level == -1:
            set_(self, "compression_gzip_level", None)
        for name, low, high in (
            ("compression_gzip_level", 1, 9),
            ("compression_zstd_level", -131072, 22),
        ):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=low, maximum=high)
        check_int("batch_size", self.batch_size, minimum=0, maximum=_INT32_MAX)
        check_int("linger_ms", self.linger_ms, minimum=0)
        check_int("buffer_memory", self.buffer_memory, minimum=1)
        check_int("max_block_ms", self.max_block_ms, minimum=0)
        check_int("max_request_size", self.max_request_size, minimum=1, maximum=_INT32_MAX)
        check_int("request_timeout_ms", self.request_timeout_ms, minimum=1, maximum=_INT32_MAX)
        check_int("delivery_timeout_ms", self.delivery_timeout_ms, minimum=1)
        check_int("retries", self.retries, minimum=0, maximum=_INT32_MAX)
        check_int("retry_backoff_ms", self.retry_backoff_ms, minimum=0)
        check_int("retry_backoff_max_ms", self.retry_backoff_max_ms, minimum=0)
        check_int(
            "max_in_flight_requests_per_connection",
            self.max_in_flight_requests_per_connection,
            minimum=1,
        )
        if self.enable_idempotence is not None:
            check_bool("enable_idempotence", self.enable_idempotence)
        if self.transactional_id is not None and (
            not isinstance(self.transactional_id, str) or not self.transactional_id
        ):
            raise TypeError(
                "option 'transactional_id' must be a non-empty str or None,"
                f" got {self.transactional_id!r}"
            )
        check_int(
            "transaction_timeout_ms", self.transaction_timeout_ms, minimum=1, maximum=_INT32_MAX
        )
        if self.delivery_timeout_ms < self.linger_ms + self.request_timeout_ms:
            raise ConfigurationError(
                f"option 'delivery_timeout_ms' ({self.delivery_timeout_ms}) must be at least"
                f" linger_ms + request_timeout_ms ({self.linger_ms + self.request_timeout_ms})"
            )
        if isinstance(self.partitioner, str):
            if self.partitioner not in ("default", "round_robin"):
                raise ValueError(
                    "option 'partitioner' must be 'default', 'round_robin' or a callable,"
                    f" got {self.partitioner!r}"
                )
        elif not callable(self.partitioner):
            raise TypeError(
                "option 'partitioner' must be 'default', 'round_robin' or a callable,"
                f" got {type(self.partitioner).__name__} {self.partitioner!r}"
            )
        check_bool(
            "partitioner_adaptive_partitioning_enable",
            self.partitioner_adaptive_partitioning_enable,
        )
        check_bool("partitioner_ignore_keys", self.partitioner_ignore_keys)
        for name in (
            "key_serializer",
            "value_serializer",
            "async_key_serializer",
            "async_value_serializer",
        ):
            func = getattr(self, name)
            if func is not None and not callable(func):
                raise TypeError(
                    f"option {name!r} must be a callable or None, got {type(func).__name__} {func!r}"
                )
        for part in ("key", "value"):
            if getattr(self, f"{part}_serializer") and getattr(self, f"async_{part}_serializer"):
                raise ConfigurationError(
                    f"give {part}_serializer or async_{part}_serializer, not both"
                )
        if not isinstance(self.cluster, ClusterOptions):
            raise TypeError(
                f"option 'cluster' must be a ClusterOptions, got {type(self.cluster).__name__}"
            )
        set_(self, "enable_idempotence", self._resolve_idempotence())

    def _resolve_idempotence(self) -> bool:
        conflicts = []
        if self.acks != -1:
            conflicts.append(f"acks must be 'all' (got {self.acks})")
        if self.retries == 0:
            conflicts.append("retries must be above 0")
        if self.max_in_flight_requests_per_connection > _MAX_IDEMPOTENT_IN_FLIGHT:
            conflicts.append(
                "max_in_flight_requests_per_connection must be at most"
                f" {_MAX_IDEMPOTENT_IN_FLIGHT} (got {self.max_in_flight_requests_per_connection})"
            )
        if self.transactional_id is not None:
            if self.enable_idempotence is False:
                raise ConfigurationError(
                    f"option 'transactional_id' ({self.transactional_id!r}) requires idempotence,"
                    " but enable_idempotence is False"
                )
            if conflicts:
                raise ConfigurationError(
                    f"option 'transactional_id' ({self.transactional_id!r}) requires idempotence,"
                    " but " + "; ".join(conflicts)
                )
        if self.enable_idempotence is True and conflicts:
            raise ConfigurationError(
                "option 'enable_idempotence' is True but " + "; ".join(conflicts)
            )
        if self.enable_idempotence is None and conflicts:
            log.info("idempotence disabled because %s", "; ".join(conflicts))
            return False
        return self.enable_idempotence is not False

    # ---- construction

    @classmethod
    def from_kwargs(cls, options: Mapping[str, Any]) -> ProducerOptions:
        """Split producer and cluster keywords; unknown names raise :class:`TypeError`."""
        own = cls.field_names() - {"cluster"}
        reject_unknown_options("Producer", options, own | _CLUSTER_FIELDS)
        producer_kw = {k: v for k, v in options.items() if k in own}
        cluster_kw = {k: v for k, v in options.items() if k in _CLUSTER_FIELDS and k not in own}
        # The producer's own request timeout, retry back-off and in-flight cap also govern the
        # cluster client's requests, as in the Java producer.
        for shared in (
            "request_timeout_ms",
            "retry_backoff_ms",
            "retry_backoff_max_ms",
            "max_in_flight_requests_per_connection",
        ):
            if shared in _CLUSTER_FIELDS:
                cluster_kw[shared] = options.get(shared, _defaults()[shared])
        cluster_kw.setdefault("client_id", _default_client_id())
        return cls(cluster=ClusterOptions(**cluster_kw), **producer_kw)

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Every producer option name (without the cluster ones)."""
        return frozenset(f.name for f in dataclasses.fields(cls))

    # ---- derived values

    @property
    def acks_value(self) -> int:
        """``acks`` as sent on the wire (0, 1 or -1)."""
        assert isinstance(self.acks, int)
        return self.acks

    @property
    def compression(self) -> CompressionType:
        """``compression_type`` as a codec id."""
        return parse_compression(self.compression_type)

    @property
    def compression_level(self) -> int | None:
        """The level option of the configured codec (``None``: the codec's default)."""
        return {
            CompressionType.GZIP: self.compression_gzip_level,
            CompressionType.ZSTD: self.compression_zstd_level,
        }.get(self.compression)

    @property
    def transactional(self) -> bool:
        """Whether ``transactional_id`` is set."""
        return self.transactional_id is not None

    @property
    def idempotent(self) -> bool:
        """Whether idempotence is on (after resolving the ``None`` default)."""
        return bool(self.enable_idempotence)

    def make_partitioner(self, queue_sizes: QueueSizes | None = None) -> Partitioner:
        """A fresh partitioner as configured (``queue_sizes`` feeds adaptive partitioning)."""
        if self.partitioner == "default":
            return BuiltInPartitioner(
                self.batch_size,
                queue_sizes=queue_sizes if self.partitioner_adaptive_partitioning_enable else None,
                ignore_keys=self.partitioner_ignore_keys,
            )
        if self.partitioner == "round_robin":
            return RoundRobinPartitioner()
        assert callable(self.partitioner)
        return UserPartitioner(self.partitioner)


_client_counter = 0


def _default_client_id() -> str:
    global _client_counter
    _client_counter += 1
    return f"kafkaio-producer-{_client_counter}"


def _defaults() -> dict[str, Any]:
    return {
        f.name: f.default
        for f in dataclasses.fields(ProducerOptions)
        if f.default is not dataclasses.MISSING
    }
