"""SchemaRegistryClient and the serializers against a real registry (the ``schema_registry``
fixture: Apicurio Registry's Confluent-compatible API, or ``KAFKAIO_SCHEMA_REGISTRY_URL``)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("httpx")
pytest.importorskip("fastavro")
pytest.importorskip("jsonschema")
pytest.importorskip("google.protobuf")

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from kafkaio.schema_registry import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    Schema,
    SchemaNotCachedError,
    SchemaNotFoundError,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryConnectionError,
    SchemaRegistryError,
    SerializationError,
    SubjectNotFoundError,
    VersionNotFoundError,
    record_subject_name_strategy,
)
from kafkaio.schema_registry.avro import AvroDeserializer, AvroSerializer
from kafkaio.schema_registry.json_schema import JsonDeserializer, JsonSerializer
from kafkaio.schema_registry.protobuf import (
    ProtobufDeserializer,
    ProtobufSerializer,
)
from kafkaio.schema_registry.wire import unframe
from kafkaio.testing import free_ports

pytestmark = pytest.mark.kafka

USER_V1 = {
    "type": "record",
    "name": "User",
    "namespace": "it.avro",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}],
}
USER_V2 = {  # backward compatible: the new field has a default
    **USER_V1,
    "fields": [*USER_V1["fields"], {"name": "email", "type": ["null", "string"], "default": None}],
}
USER_BAD = {  # not backward compatible: a new field without a default
    **USER_V1,
    "fields": [*USER_V1["fields"], {"name": "score", "type": "long"}],
}


def avro(schema: dict[str, Any]) -> Schema:
    return Schema(json.dumps(schema), "AVRO")


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def registry(schema_registry: Any) -> AsyncIterator[SchemaRegistryClient]:
    async with SchemaRegistryClient(schema_registry.url, timeout_s=20) as client:
        yield client


async def test_register_lookup_get_versions(registry: SchemaRegistryClient) -> None:
    subject = unique("users-value")
    first = await registry.register_schema(subject, avro(USER_V1))
    registry.clear_caches()
    assert await registry.register_schema(subject, avro(USER_V1)) == first  # idempotent
    fetched = await registry.get_schema(first)
    assert json.loads(fetched.schema_str) == USER_V1
    assert fetched.schema_type == "AVRO"
    found = await registry.lookup_schema(subject, avro(USER_V1))
    assert (found.schema_id, found.subject, found.version) == (first, subject, 1)

    second = await registry.register_schema(subject, avro(USER_V2))
    assert second != first
    assert await registry.get_versions(subject) == [1, 2]
    v1 = await registry.get_version(subject, 1)
    assert (v1.schema_id, v1.version) == (first, 1)
    latest = await registry.get_latest_version(subject)
    assert (latest.schema_id, latest.version) == (second, 2)
    assert json.loads(latest.schema.schema_str) == USER_V2
    assert subject in await registry.get_subjects()


async def test_compatibility_levels_and_checks(registry: SchemaRegistryClient) -> None:
    subject = unique("compat-value")
    await registry.register_schema(subject, avro(USER_V1))
    assert await registry.set_compatibility("BACKWARD", subject) == "BACKWARD"
    assert await registry.get_compatibility(subject) == "BACKWARD"

    assert await registry.test_compatibility(subject, avro(USER_V2)) is True
    bad = await registry.check_compatibility(subject, avro(USER_BAD))
    assert bad.is_compatible is False
    with pytest.raises(IncompatibleSchemaError) as info:
        await registry.register_schema(subject, avro(USER_BAD))
    assert info.value.status == 409

    await registry.set_compatibility("NONE", subject)
    assert await registry.test_compatibility(subject, avro(USER_BAD), 1) is True
    await registry.delete_compatibility(subject)
    assert await registry.get_compatibility() in {"BACKWARD", "NONE", "FULL", "FORWARD"}


async def test_delete_version_and_subject(registry: SchemaRegistryClient) -> None:
    subject = unique("delete-value")
    await registry.register_schema(subject, avro(USER_V1))
    await registry.register_schema(subject, avro(USER_V2))
    assert await registry.delete_version(subject, 1) == 1
    assert await registry.get_versions(subject) == [2]
    assert await registry.get_versions(subject, deleted=True) == [1, 2]  # soft delete
    with pytest.raises(VersionNotFoundError) as info:
        await registry.get_version(subject, 1)
    assert (info.value.status, info.value.error_code) == (404, 40402)

    # A permanent delete removes the soft-deleted version 1 too.
    assert await registry.delete_subject(subject, permanent=True) == [1, 2]
    with pytest.raises(SubjectNotFoundError) as missing:
        await registry.get_versions(subject)
    assert (missing.value.status, missing.value.error_code) == (404, 40401)
    assert subject not in await registry.get_subjects()


async def test_errors_carry_status_and_registry_code(registry: SchemaRegistryClient) -> None:
    with pytest.raises(SchemaNotFoundError) as info:
        await registry.get_schema(987_654_321)
    assert (info.value.status, info.value.error_code) == (404, 40403)
    with pytest.raises(SchemaRegistryError) as bad:
        await registry.register_schema(unique("bad"), Schema('{"type": "recrd"}', "AVRO"))
    assert isinstance(bad.value, InvalidSchemaError) or bad.value.status in (400, 422)
    with pytest.raises(SubjectNotFoundError):
        await registry.lookup_schema(unique("nothing"), avro(USER_V1))


async def test_unreachable_registry_is_a_connection_error() -> None:
    (port,) = free_ports(1)
    async with SchemaRegistryClient(f"http://127.0.0.1:{port}", timeout_s=2) as client:
        with pytest.raises(SchemaRegistryConnectionError, match=str(port)):
            await client.get_subjects()


async def test_failover_to_the_next_url(schema_registry: Any) -> None:
    (port,) = free_ports(1)
    urls = [f"http://127.0.0.1:{port}", schema_registry.url]
    async with SchemaRegistryClient(urls, timeout_s=5) as client:
        assert isinstance(await client.get_subjects(), list)


# ------------------------------------------------------------------------------ serializers


async def test_avro_serializer_registers_and_round_trips(registry: SchemaRegistryClient) -> None:
    topic = unique("avro-topic")
    ser = AvroSerializer(registry, USER_V1)
    data = await ser.serialize(topic, {"name": "Ada", "age": 36})
    assert data is not None
    schema_id, _ = unframe(data)
    assert ser.schema is not None
    found = await registry.lookup_schema(f"{topic}-value", ser.schema)
    assert (found.schema_id, found.version) == (schema_id, 1)
    de = AvroDeserializer(registry)
    assert await de.deserialize(topic, data) == {"name": "Ada", "age": 36}
    # A reader schema resolves old data to the new shape.
    evolved = AvroDeserializer(registry, USER_V2)
    assert await evolved.deserialize(topic, data) == {"name": "Ada", "age": 36, "email": None}
    with pytest.raises(SerializationError, match="no value and no default for age"):
        await ser.serialize(topic, {"name": "Ada"})
    assert await ser.serialize(topic, None) is None


@dataclasses.dataclass
class User:
    name: str
    age: int


async def test_avro_object_hooks(registry: SchemaRegistryClient) -> None:
    topic = unique("avro-hooks")
    ser = AvroSerializer(registry, USER_V1, to_dict=dataclasses.asdict)
    data = await ser.serialize(topic, User("Linus", 54))
    de = AvroDeserializer(registry, from_dict=lambda d: User(**d))
    assert await de.deserialize(topic, data) == User("Linus", 54)


async def test_avro_lookup_only_and_latest_version(registry: SchemaRegistryClient) -> None:
    topic = unique("avro-latest")
    strict = AvroSerializer(registry, USER_V1, auto_register_schemas=False)
    with pytest.raises(SubjectNotFoundError):
        await strict.serialize(topic, {"name": "a", "age": 1})
    await registry.register_schema(f"{topic}-value", avro(USER_V2))
    latest = AvroSerializer(registry, None, auto_register_schemas=False, use_latest_version=True)
    bound = await latest.bind(topic)
    data = bound({"name": "b", "age": 2, "email": "b@example.com"})
    assert data is not None
    assert unframe(data)[0] == (await registry.get_latest_version(f"{topic}-value")).schema_id


async def test_avro_references_and_record_strategy(registry: SchemaRegistryClient) -> None:
    address = {
        "type": "record",
        "name": "Address",
        "namespace": "it.avro",
        "fields": [{"name": "city", "type": "string"}],
    }
    person = {
        "type": "record",
        "name": "Person",
        "namespace": "it.avro",
        "fields": [{"name": "name", "type": "string"}, {"name": "home", "type": "it.avro.Address"}],
    }
    ref_subject = unique("it.avro.Address")
    await registry.register_schema(ref_subject, avro(address))
    ref = SchemaReference("it.avro.Address", ref_subject, 1)
    schema = Schema(json.dumps(person), "AVRO", [ref])
    ser = AvroSerializer(registry, schema, subject_name_strategy=record_subject_name_strategy)
    assert ser.subject("any") == "it.avro.Person"
    value = {"name": "Grace", "home": {"city": "Arlington"}}
    data = await ser.serialize(unique("people"), value)
    registered = await registry.get_latest_version("it.avro.Person")
    assert registered.schema.references == (ref,)
    assert await AvroDeserializer(registry).deserialize("people", data) == value


async def test_json_serializer_validates_and_round_trips(registry: SchemaRegistryClient) -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Order",
        "type": "object",
        "properties": {"id": {"type": "integer"}, "item": {"type": "string"}},
        "required": ["id", "item"],
    }
    topic = unique("json-topic")
    ser = JsonSerializer(registry, schema)
    data = await ser.serialize(topic, {"id": 1, "item": "tea"})
    assert data is not None and data[5:] == b'{"id":1,"item":"tea"}'
    assert await JsonDeserializer(registry).deserialize(topic, data) == {"id": 1, "item": "tea"}
    with pytest.raises(SerializationError, match="id"):
        await ser.serialize(topic, {"id": "one", "item": "tea"})
    unchecked = JsonSerializer(registry, schema, validate=False)
    bad = await unchecked.serialize(topic, {"id": "one"})
    with pytest.raises(SerializationError, match="validation failed"):
        await JsonDeserializer(registry).deserialize(topic, bad)
    assert await JsonDeserializer(registry, validate=False).deserialize(topic, bad) == {"id": "one"}


def proto_files() -> dict[str, Any]:
    """Two runtime-built .proto files: shapes.proto imports common.proto (a reference)."""
    suffix = uuid.uuid4().hex[:8]
    common = descriptor_pb2.FileDescriptorProto(
        name=f"it{suffix}/common.proto", package=f"it{suffix}", syntax="proto3"
    )
    color = common.message_type.add(name="Color")
    color.field.add(name="rgb", number=1, type=13, label=1)  # uint32
    shapes = descriptor_pb2.FileDescriptorProto(
        name=f"it{suffix}/shapes.proto",
        package=f"it{suffix}",
        syntax="proto3",
        dependency=[common.name, "google/protobuf/timestamp.proto"],
    )
    shapes.message_type.add(name="Unused").field.add(name="n", number=1, type=5, label=1)
    shape = shapes.message_type.add(name="Shape")
    shape.field.add(name="name", number=1, type=9, label=1)
    shape.field.add(
        name="color", number=2, type=11, label=1, type_name=f".it{suffix}.Color"
    )  # message
    shape.field.add(name="at", number=3, type=11, label=1, type_name=".google.protobuf.Timestamp")
    from google.protobuf import timestamp_pb2

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(common)
    pool.Add(shapes)
    file = pool.FindFileByName(shapes.name)
    return {
        "Shape": message_factory.GetMessageClass(file.message_types_by_name["Shape"]),
        "common": common.name,
    }


async def test_protobuf_with_references_round_trips(registry: SchemaRegistryClient) -> None:
    files = proto_files()
    shape_cls = files["Shape"]
    topic = unique("proto-topic")
    ser = ProtobufSerializer(registry, shape_cls)
    msg = shape_cls(name="square")
    msg.color.rgb = 0xFF0000
    msg.at.seconds = 1_700_000_000
    data = await ser.serialize(topic, msg)
    assert data is not None and data[5:7] == b"\x02\x02"  # message index [1]
    registered = await registry.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "PROTOBUF"
    assert [r.name for r in registered.schema.references] == [files["common"]]
    assert await registry.get_versions(files["common"]) == [1]

    typed = await ProtobufDeserializer(registry, shape_cls).deserialize(topic, data)
    assert typed == msg
    dynamic = await ProtobufDeserializer(registry).deserialize(topic, data)
    assert dynamic.name == "square" and dynamic.color.rgb == 0xFF0000
    assert dynamic.at.seconds == 1_700_000_000
    with pytest.raises(SerializationError, match="Shape"):
        await ser.serialize(topic, {"name": "x"})


async def test_bound_deserializer_prefetches_subject(registry: SchemaRegistryClient) -> None:
    topic = unique("bound")
    data_v1 = await AvroSerializer(registry, USER_V1).serialize(topic, {"name": "a", "age": 1})
    de = AvroDeserializer(registry)
    bound = await de.bind(topic)
    assert bound(data_v1) == {"name": "a", "age": 1}
    data_v2 = await AvroSerializer(registry, USER_V2).serialize(
        topic, {"name": "b", "age": 2, "email": None}
    )
    with pytest.raises(SchemaNotCachedError):
        bound(data_v2)
    assert data_v2 is not None
    await de.prefetch(schema_ids=[unframe(data_v2)[0]])
    assert bound(data_v2) == {"name": "b", "age": 2, "email": None}
    with pytest.raises(SerializationError, match="not AVRO"):
        json_topic = unique("json")
        any_object = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
        json_data = await JsonSerializer(registry, any_object).serialize(json_topic, {})
        await de.deserialize(json_topic, json_data)


# ------------------------------------------------------------------------------------ TLS


def _tls(schema_registry: Any) -> Any:
    if getattr(schema_registry, "tls", None) is None:
        pytest.skip("the registry was started without HTTPS")
    return schema_registry.tls


async def test_https_with_the_registry_ca(schema_registry: Any) -> None:
    tls = _tls(schema_registry)
    async with SchemaRegistryClient(
        schema_registry.https_url, ca_location=str(tls.ca_file), timeout_s=10
    ) as client:
        subject = unique("tls-value")
        schema_id = await client.register_schema(subject, avro(USER_V1))
        assert (await client.lookup_schema(subject, avro(USER_V1))).schema_id == schema_id


async def test_https_rejects_an_untrusted_server(schema_registry: Any) -> None:
    tls = _tls(schema_registry)
    async with SchemaRegistryClient(
        schema_registry.https_url, ca_location=str(tls.untrusted_ca_file), timeout_s=10
    ) as client:
        with pytest.raises(SchemaRegistryConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get_subjects()
    async with SchemaRegistryClient(
        schema_registry.https_url, verify=False, timeout_s=10
    ) as insecure:
        assert isinstance(await insecure.get_subjects(), list)


async def test_concurrent_schema_fetches_share_one_request(schema_registry: Any) -> None:
    subject = unique("shared-value")
    async with SchemaRegistryClient(schema_registry.url) as writer:
        schema_id = await writer.register_schema(subject, avro(USER_V1))
    async with SchemaRegistryClient(schema_registry.url) as reader:
        calls = [asyncio.ensure_future(reader.get_schema(schema_id)) for _ in range(20)]
        await asyncio.sleep(0)
        calls[0].cancel()  # one impatient caller must not fail the others
        results = await asyncio.gather(*calls[1:])
        assert calls[0].cancelled()
        assert all(r == results[0] for r in results)
        assert json.loads(results[0].schema_str) == USER_V1
        assert await reader.get_schema(schema_id) is results[0]  # now cached
