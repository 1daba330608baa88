"""Schema Registry support: an asyncio REST client and wire-format serializers.

Install with ``pip install kafkaio[schema-registry]``. ::

    from kafkaio.schema_registry import SchemaRegistryClient
    from kafkaio.schema_registry.avro import AvroSerializer, AvroDeserializer

Modules: :mod:`.client` (the REST client), :mod:`.schema` (value types), :mod:`.errors`,
:mod:`.strategies` (subject names), :mod:`.wire` (framing), :mod:`.serde` (shared
serializer logic), :mod:`.avro`, :mod:`.json_schema`, :mod:`.protobuf` (format-specific,
imported on first use so a missing optional library only matters to its own format).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kafkaio.schema_registry.client import (
    COMPATIBILITY_LEVELS,
    CompatibilityResult,
    SchemaRegistryClient,
)
from kafkaio.schema_registry.errors import (
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    InvalidSchemaError,
    InvalidVersionError,
    SchemaNotCachedError,
    SchemaNotFoundError,
    SchemaRegistryConnectionError,
    SchemaRegistryError,
    SerializationError,
    SubjectNotFoundError,
    VersionNotFoundError,
)
from kafkaio.schema_registry.schema import RegisteredSchema, Schema, SchemaReference
from kafkaio.schema_registry.serde import BoundDeserializer, BoundSerializer
from kafkaio.schema_registry.strategies import (
    SubjectNameStrategy,
    record_subject_name_strategy,
    topic_record_subject_name_strategy,
    topic_subject_name_strategy,
)

if TYPE_CHECKING:
    from kafkaio.schema_registry.avro import AvroDeserializer, AvroSerializer
    from kafkaio.schema_registry.json_schema import JsonDeserializer, JsonSerializer
    from kafkaio.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

_LAZY = {
    "AvroSerializer": "kafkaio.schema_registry.avro",
    "AvroDeserializer": "kafkaio.schema_registry.avro",
    "JsonSerializer": "kafkaio.schema_registry.json_schema",
    "JsonDeserializer": "kafkaio.schema_registry.json_schema",
    "ProtobufSerializer": "kafkaio.schema_registry.protobuf",
    "ProtobufDeserializer": "kafkaio.schema_registry.protobuf",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kafkaio.schema_registry' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "COMPATIBILITY_LEVELS",
    "AvroDeserializer",
    "AvroSerializer",
    "BoundDeserializer",
    "BoundSerializer",
    "CompatibilityResult",
    "IncompatibleSchemaError",
    "InvalidCompatibilityLevelError",
    "InvalidSchemaError",
    "InvalidVersionError",
    "JsonDeserializer",
    "JsonSerializer",
    "ProtobufDeserializer",
    "ProtobufSerializer",
    "RegisteredSchema",
    "Schema",
    "SchemaNotCachedError",
    "SchemaNotFoundError",
    "SchemaReference",
    "SchemaRegistryClient",
    "SchemaRegistryConnectionError",
    "SchemaRegistryError",
    "SerializationError",
    "SubjectNameStrategy",
    "SubjectNotFoundError",
    "VersionNotFoundError",
    "record_subject_name_strategy",
    "topic_record_subject_name_strategy",
    "topic_subject_name_strategy",
]
