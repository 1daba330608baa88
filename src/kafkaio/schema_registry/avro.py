"""Avro serializer and deserializer in the Confluent wire format (needs ``fastavro``).

::

    registry = SchemaRegistryClient("http://localhost:8081")
    serializer = AvroSerializer(registry, USER_SCHEMA)            # Avro schema text or dict
    producer = Producer(value_serializer=await serializer.bind("users"))
    await producer.send_and_wait("users", {"name": "Ada", "age": 36})

    deserializer = AvroDeserializer(registry)
    consumer = Consumer(value_deserializer=await deserializer.bind("users"), ...)

Referenced schemas (``Schema(..., references=[SchemaReference(...)])``) are fetched from the
registry and parsed before the schema that names them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import fastavro
from fastavro.types import NamedSchemas

from kafkaio.schema_registry.client import SchemaRegistryClient
from kafkaio.schema_registry.errors import SerializationError
from kafkaio.schema_registry.schema import Schema
from kafkaio.schema_registry.serde import (
    Decoder,
    Deserializer,
    Encoder,
    Serializer,
    resolve_references,
)
from kafkaio.schema_registry.strategies import SubjectNameStrategy, topic_subject_name_strategy

__all__ = ["AvroDeserializer", "AvroSerializer", "avro_record_name"]

AvroSchemaLike = str | Mapping[str, Any] | Sequence[Any] | Schema


def _as_schema(schema: AvroSchemaLike) -> Schema:
    if isinstance(schema, Schema):
        if schema.schema_type != "AVRO":
            raise ValueError(f"an Avro serializer needs an AVRO schema, got {schema.schema_type}")
        return schema
    if isinstance(schema, str):
        text = schema
        try:
            json.loads(text)
        except ValueError:
            # A bare primitive name such as "string" is valid Avro too.
            text = json.dumps(schema)
        return Schema(text, "AVRO")
    if isinstance(schema, Mapping | Sequence):
        return Schema(json.dumps(schema, separators=(",", ":")), "AVRO")
    raise TypeError(f"schema must be Avro schema text, a dict or a Schema, got {schema!r}")


def avro_record_name(schema_str: str) -> str | None:
    """The fully qualified name of a named Avro schema (record, enum, fixed), else None."""
    try:
        parsed = json.loads(schema_str)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("name"), str):
        return None
    name: str = parsed["name"]
    namespace = parsed.get("namespace")
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


async def _parse(client: SchemaRegistryClient, schema: Schema) -> Any:
    named: NamedSchemas = {}
    for ref_name, ref_schema in await resolve_references(client, schema):
        try:
            fastavro.parse_schema(json.loads(ref_schema.schema_str), named_schemas=named)
        except Exception as exc:
            raise SerializationError(
                f"referenced Avro schema {ref_name!r} is invalid: {exc}"
            ) from exc
    try:
        return fastavro.parse_schema(json.loads(schema.schema_str), named_schemas=named)
    except Exception as exc:
        raise SerializationError(f"invalid Avro schema: {exc}") from exc


class AvroSerializer(Serializer[Any]):
    """Encodes objects with an Avro schema (fastavro's ``schemaless_writer``).

    :param schema: Avro schema text, its parsed form, or a :class:`Schema` (for references);
        may be None with ``use_latest_version=True``.
    :param to_dict: turns an application object into what the schema describes (dicts for
        records); default: objects are passed as they are.

    The other options are :class:`~kafkaio.schema_registry.serde.Serializer`'s.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        schema: AvroSchemaLike | None,
        *,
        to_dict: Callable[[Any], Any] | None = None,
        auto_register_schemas: bool = True,
        use_latest_version: bool = False,
        normalize_schemas: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        own = None if schema is None else _as_schema(schema)
        super().__init__(
            client,
            own,
            auto_register_schemas=auto_register_schemas,
            use_latest_version=use_latest_version,
            normalize_schemas=normalize_schemas,
            subject_name_strategy=subject_name_strategy,
        )
        if own is not None:
            # Fail at construction, not at first send, on a schema fastavro cannot parse.
            try:
                if not own.references:
                    fastavro.parse_schema(json.loads(own.schema_str))
            except Exception as exc:
                raise ValueError(f"invalid Avro schema: {exc}") from exc
        if to_dict is not None and not callable(to_dict):
            raise TypeError(f"to_dict must be callable, got {to_dict!r}")
        self._to_dict = to_dict

    def record_name(self) -> str | None:
        return None if self._schema is None else avro_record_name(self._schema.schema_str)

    async def _prepare(self, schema: Schema) -> Any:
        return await _parse(self._client, schema)

    def _encoder(self, writer: Any) -> Encoder:
        to_dict = self._to_dict

        def encode(obj: Any) -> bytes:
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, writer, to_dict(obj) if to_dict else obj)
            return buf.getvalue()

        return encode


class AvroDeserializer(Deserializer[Any]):
    """Decodes Avro records written with any schema id (fastavro's ``schemaless_reader``).

    :param reader_schema: resolve every writer schema to this one (Avro schema evolution);
        default: the writer's schema.
    :param from_dict: turns the decoded value (dicts for records) into an application object.
    :param return_record_name: for unions, return ``(record name, value)`` pairs.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        reader_schema: str | Mapping[str, Any] | None = None,
        *,
        from_dict: Callable[[Any], Any] | None = None,
        return_record_name: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        super().__init__(client, subject_name_strategy=subject_name_strategy)
        self._reader: Any = None
        if reader_schema is not None:
            try:
                self._reader = fastavro.parse_schema(
                    json.loads(_as_schema(reader_schema).schema_str)
                )
            except Exception as exc:
                raise ValueError(f"invalid Avro reader schema: {exc}") from exc
        if from_dict is not None and not callable(from_dict):
            raise TypeError(f"from_dict must be callable, got {from_dict!r}")
        self._from_dict = from_dict
        self._return_record_name = return_record_name

    def _check_type(self, schema: Schema, schema_id: int) -> None:
        if schema.schema_type != "AVRO":
            raise SerializationError(
                f"schema id {schema_id} is a {schema.schema_type} schema, not AVRO"
            )

    async def _prepare(self, schema: Schema) -> Any:
        return await _parse(self._client, schema)

    def _decoder(self, reader: Any) -> Decoder:
        target = self._reader
        from_dict = self._from_dict
        record_name = self._return_record_name

        def decode(data: bytes, offset: int) -> Any:
            stream = io.BytesIO(memoryview(data)[offset:])
            value = fastavro.schemaless_reader(
                stream, reader, target, return_record_name=record_name
            )
            return from_dict(value) if from_dict else value

        return decode
