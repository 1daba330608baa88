"""Enumerations shared by the admin operations (codes as Apache Kafka puts them on the wire)."""

from __future__ import annotations

import enum

__all__ = [
    "AclOperation",
    "AclPermissionType",
    "AlterConfigOpType",
    "ConfigResourceType",
    "ConfigSource",
    "ConfigType",
    "IsolationLevel",
    "PatternType",
    "ResourceType",
    "authorized_operations",
]

_NOT_REQUESTED = -(2**31)
"""``authorized_operations`` value meaning "not requested" (Java's Integer.MIN_VALUE)."""


class AclOperation(enum.IntEnum):
    """An operation an ACL allows or denies (also used for authorized-operations sets)."""

    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14
    TWO_PHASE_COMMIT = 15


class AclPermissionType(enum.IntEnum):
    """Whether an ACL allows or denies."""

    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


class ResourceType(enum.IntEnum):
    """The kind of resource an ACL protects."""

    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(enum.IntEnum):
    """How an ACL's resource name matches (``MATCH`` and ``ANY`` only in filters)."""

    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class ConfigResourceType(enum.IntEnum):
    """The kind of resource a configuration belongs to."""

    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


class ConfigSource(enum.IntEnum):
    """Where a configuration value comes from."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8

    @classmethod
    def _missing_(cls, value: object) -> ConfigSource:
        return cls.UNKNOWN


class ConfigType(enum.IntEnum):
    """The type of a configuration value (DescribeConfigs v3+)."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9

    @classmethod
    def _missing_(cls, value: object) -> ConfigType:
        return cls.UNKNOWN


class AlterConfigOpType(enum.IntEnum):
    """What an incremental config change does."""

    SET = 0
    DELETE = 1
    APPEND = 2
    """Add to a list-valued config."""
    SUBTRACT = 3
    """Remove from a list-valued config."""


class IsolationLevel(enum.IntEnum):
    """Which offsets ListOffsets considers: all, or only committed transactions'."""

    READ_UNCOMMITTED = 0
    READ_COMMITTED = 1


def authorized_operations(bits: int) -> frozenset[AclOperation] | None:
    """Decode an ``authorized_operations`` bit field (``None``: not requested/reported)."""
    if bits == _NOT_REQUESTED:
        return None
    known = {op.value for op in AclOperation}
    return frozenset(AclOperation(i) for i in range(32) if bits & (1 << i) and i in known)
