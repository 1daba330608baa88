"""Pure parts of kafkaio.schema_registry: framing, message indexes, strategies, value types,
caches, error mapping, argument checks and the format codecs' offline behaviour."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("httpx")
fastavro = pytest.importorskip("fastavro")
pytest.importorskip("jsonschema")
pytest.importorskip("google.protobuf")

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

from kafkaio.schema_registry import (  # noqa: E402
    IncompatibleSchemaError,
    Schema,
    SchemaNotCachedError,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
    SerializationError,
    SubjectNotFoundError,
    VersionNotFoundError,
    record_subject_name_strategy,
    topic_record_subject_name_strategy,
    topic_subject_name_strategy,
)
from kafkaio.schema_registry.avro import AvroDeserializer, AvroSerializer, avro_record_name  # noqa: E402
from kafkaio.schema_registry.cache import LruCache  # noqa: E402
from kafkaio.schema_registry.errors import error_for  # noqa: E402
from kafkaio.schema_registry.json_schema import JsonSerializer  # noqa: E402
from kafkaio.schema_registry.protobuf import (  # noqa: E402
    ProtobufSerializer,
    file_descriptor_schema,
    message_indexes,
)
from kafkaio.schema_registry.wire import (  # noqa: E402
    decode_message_indexes,
    encode_message_indexes,
    frame,
    unframe,
)

USER_AVRO = {
    "type": "record",
    "name": "User",
    "namespace": "example.avro",
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "int"}],
}


def runtime_messages() -> dict[str, Any]:
    """Message classes built at run time from a FileDescriptorProto (no protoc needed)."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="unit/shapes.proto", package="unit", syntax="proto3"
    )
    point = fdp.message_type.add(name="Point")
    point.field.add(name="x", number=1, type=5, label=1)  # int32
    shape = fdp.message_type.add(name="Shape")
    shape.field.add(name="name", number=1, type=9, label=1)  # string
    corner = shape.nested_type.add(name="Corner")
    corner.field.add(name="label", number=1, type=9, label=1)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    file = pool.FindFileByName(fdp.name)
    return {
        "Point": message_factory.GetMessageClass(file.message_types_by_name["Point"]),
        "Shape": message_factory.GetMessageClass(file.message_types_by_name["Shape"]),
        "Corner": message_factory.GetMessageClass(
            file.message_types_by_name["Shape"].nested_types_by_name["Corner"]
        ),
    }


# ------------------------------------------------------------------------------------ wire


def test_frame_layout() -> None:
    assert frame(0x01020304, b"payload") == b"\x00\x01\x02\x03\x04payload"
    assert frame(7, b"p", b"\x00") == b"\x00\x00\x00\x00\x07\x00p"


def test_unframe_reads_id_and_offset() -> None:
    assert unframe(b"\x00\x00\x00\x01\x00rest") == (256, 5)


def test_unframe_rejects_bad_magic_and_short_data() -> None:
    with pytest.raises(SerializationError, match="magic byte 1"):
        unframe(b"\x01\x00\x00\x00\x01x")
    with pytest.raises(SerializationError, match="3 bytes"):
        unframe(b"\x00\x00\x00")


def test_message_indexes_first_message_is_a_single_zero() -> None:
    assert encode_message_indexes([0]) == b"\x00"
    assert decode_message_indexes(b"\x00", 0) == ([0], 1)
    assert encode_message_indexes([1]) == b"\x02\x02"
    assert encode_message_indexes([1, 0]) == b"\x04\x02\x00"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**31), min_size=1, max_size=6))
def test_message_indexes_round_trip(indexes: list[int]) -> None:
    data = b"junk" + encode_message_indexes(indexes) + b"tail"
    decoded, pos = decode_message_indexes(data, 4)
    assert decoded == indexes
    assert data[pos:] == b"tail"


def test_message_indexes_match_confluent_encoding() -> None:
    from confluent_kafka.schema_registry._async.protobuf import AsyncProtobufSerializer

    for indexes in ([0], [1], [3, 2, 1], [0, 0], [300]):
        buf = io.BytesIO()
        AsyncProtobufSerializer._encode_varints(buf, indexes, zigzag=True)
        assert encode_message_indexes(indexes) == buf.getvalue(), indexes


def test_truncated_message_indexes_raise() -> None:
    with pytest.raises(SerializationError, match="truncated"):
        decode_message_indexes(b"\x04\x02", 0)


def test_descriptor_indexes_match_confluent() -> None:
    from confluent_kafka.schema_registry.common.protobuf import _create_index_array

    classes = runtime_messages()
    for name, expected in (("Point", [0]), ("Shape", [1]), ("Corner", [1, 0])):
        desc = classes[name].DESCRIPTOR
        assert message_indexes(desc) == expected
        assert _create_index_array(desc) == expected


def test_protobuf_schema_is_base64_descriptor_like_confluent() -> None:
    from confluent_kafka.schema_registry.common.protobuf import _schema_to_str

    file = runtime_messages()["Point"].DESCRIPTOR.file
    assert file_descriptor_schema(file).schema_str == _schema_to_str(file)
    assert file_descriptor_schema(file).schema_type == "PROTOBUF"


# ------------------------------------------------------------------------------ strategies


def test_subject_name_strategies() -> None:
    assert topic_subject_name_strategy("orders", False, None) == "orders-value"
    assert topic_subject_name_strategy("orders", True, "x.Y") == "orders-key"
    assert record_subject_name_strategy("orders", False, "example.User") == "example.User"
    assert topic_record_subject_name_strategy("orders", False, "a.B") == "orders-a.B"


def test_record_strategies_need_a_record_name() -> None:
    with pytest.raises(SerializationError, match="record_subject_name_strategy"):
        record_subject_name_strategy("t", False, None)
    with pytest.raises(SerializationError, match="topic_record"):
        topic_record_subject_name_strategy("t", True, "")


def test_avro_record_name() -> None:
    assert avro_record_name(json.dumps(USER_AVRO)) == "example.avro.User"
    assert (
        avro_record_name('{"type":"record","name":"a.b.C","namespace":"x","fields":[]}') == "a.b.C"
    )
    assert avro_record_name('"string"') is None


# ----------------------------------------------------------------------------- value types


def test_schema_json_round_trip_with_references() -> None:
    ref = SchemaReference("example.Address", "address-value", 2)
    schema = Schema('{"type":"string"}', "avro", [ref])
    assert schema.schema_type == "AVRO"
    body = schema.to_json()
    assert body == {"schema": '{"type":"string"}', "references": [ref.to_json()]}
    assert Schema.from_json(body) == schema
    assert hash(schema) == hash(Schema.from_json(body))


def test_schema_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="XML"):
        Schema("{}", "XML")
    with pytest.raises(ValueError, match="schema_str"):
        Schema("")
    with pytest.raises(TypeError, match="SchemaReference"):
        Schema("{}", "JSON", [("a", "b", 1)])  # type: ignore[list-item]


def test_lru_cache_is_bounded() -> None:
    cache: LruCache[int, str] = LruCache(2)
    cache.put(1, "a")
    cache.put(2, "b")
    assert cache.get(1) == "a"  # 1 is now the most recent
    cache.put(3, "c")
    assert len(cache) == 2
    assert cache.get(2) is None
    assert cache.get(1) == "a" and cache.get(3) == "c"
    cache.discard_where(lambda k: k != 1)
    assert 1 not in cache and 3 in cache
    with pytest.raises(ValueError, match="0"):
        LruCache(0)


def test_error_for_picks_the_class_by_error_code() -> None:
    err = error_for(404, 40401, "Subject 'x' not found.")
    assert isinstance(err, SubjectNotFoundError)
    assert (err.status, err.error_code, err.message) == (404, 40401, "Subject 'x' not found.")
    assert "40401" in str(err) and "404" in str(err)
    assert isinstance(error_for(404, 40402, "v"), VersionNotFoundError)
    assert isinstance(error_for(409, -1, "incompatible"), IncompatibleSchemaError)
    plain = error_for(500, 50001, "store error")
    assert type(plain) is SchemaRegistryError


# --------------------------------------------------------------------------------- client


async def test_client_strips_credentials_from_url_and_hides_them() -> None:
    client = SchemaRegistryClient("http://alice:s3cret@127.0.0.1:8081/apis/ccompat/v7/")
    try:
        assert client.urls == ["http://127.0.0.1:8081/apis/ccompat/v7"]
        assert "s3cret" not in repr(client) and "***" in repr(client)
    finally:
        await client.close()


async def test_client_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="ftp"):
        SchemaRegistryClient("ftp://host")
    with pytest.raises(ValueError, match="at least one"):
        SchemaRegistryClient([])
    with pytest.raises(ValueError, match="user:password") as info:
        SchemaRegistryClient("http://h:1", basic_auth="nocolon")
    assert "nocolon" not in str(info.value)
    with pytest.raises(ValueError, match="timeout_s"):
        SchemaRegistryClient("http://h:1", timeout_s=0)
    client = SchemaRegistryClient("http://127.0.0.1:1")
    try:
        with pytest.raises(ValueError, match="subject"):
            await client.get_versions("")
        with pytest.raises(ValueError, match="'newest'"):
            await client.get_version("s", "newest")
        with pytest.raises(ValueError, match="SIDEWAYS"):
            await client.set_compatibility("SIDEWAYS")
        with pytest.raises(TypeError, match="Schema"):
            await client.register_schema("s", '{"type":"string"}')  # type: ignore[arg-type]
    finally:
        await client.close()


# ---------------------------------------------------------------------- serializer options


async def test_serializer_option_conflicts_and_bad_schemas() -> None:
    client = SchemaRegistryClient("http://127.0.0.1:1")
    try:
        with pytest.raises(ValueError, match="use_latest_version"):
            AvroSerializer(client, USER_AVRO, use_latest_version=True)
        with pytest.raises(ValueError, match="invalid Avro schema"):
            AvroSerializer(client, {"type": "record", "name": "X", "fields": [{"name": "a"}]})
        with pytest.raises(ValueError, match="schema is needed"):
            AvroSerializer(client, None)
        with pytest.raises(TypeError, match="protobuf message class"):
            ProtobufSerializer(client, dict)  # type: ignore[arg-type]
        ser = JsonSerializer(client, {"title": "Order", "type": "object"})
        assert ser.record_name() == "Order"
        assert ser.subject("orders", is_key=True) == "orders-key"
    finally:
        await client.close()


async def test_bound_deserializer_needs_cached_schema() -> None:
    client = SchemaRegistryClient("http://127.0.0.1:1")
    try:
        de = AvroDeserializer(client)
        assert de.deserialize_cached(None) is None
        with pytest.raises(SchemaNotCachedError, match="schema id 42"):
            de.deserialize_cached(frame(42, b"\x02"))
    finally:
        await client.close()


async def _one_shot_http(status: int, body: bytes, seen: list[bytes]) -> tuple[Any, int]:
    """A loopback listener answering every request with ``status`` and ``body``, recording
    the raw request heads (to check what goes on the wire, e.g. the Authorization header)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        reason = b"OK" if status == 200 else b"Unauthorized"
        writer.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


async def test_basic_auth_goes_on_the_wire_and_never_into_errors() -> None:
    seen: list[bytes] = []
    server, port = await _one_shot_http(200, b'["a"]', seen)
    async with (
        server,
        SchemaRegistryClient(f"http://127.0.0.1:{port}", basic_auth=("alice", "s3cret")) as client,
    ):
        assert await client.get_subjects() == ["a"]
    assert _header(seen[0], b"authorization") == b"Basic " + base64.b64encode(b"alice:s3cret")
    seen.clear()
    body = b'{"error_code": 401, "message": "Unauthorized"}'
    server, port = await _one_shot_http(401, body, seen)
    async with server, SchemaRegistryClient(f"http://alice:s3cret@127.0.0.1:{port}") as client:
        with pytest.raises(SchemaRegistryError) as info:
            await client.get_subjects()
    assert info.value.status == 401 and "basic_auth" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert _header(seen[0], b"authorization") == b"Basic " + base64.b64encode(b"alice:s3cret")
