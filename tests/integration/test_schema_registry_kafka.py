"""Schema-registry serializers through a real Kafka topic with kafkaio's Producer and Consumer,
and wire interop with confluent-kafka's serializers (both directions, through Kafka)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

pytest.importorskip("httpx")
pytest.importorskip("fastavro")
pytest.importorskip("jsonschema")
pytest.importorskip("google.protobuf")

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.producer import Producer
from kafkaio.schema_registry import SchemaRegistryClient
from kafkaio.schema_registry.avro import AvroDeserializer, AvroSerializer
from kafkaio.schema_registry.json_schema import JsonDeserializer, JsonSerializer
from kafkaio.schema_registry.protobuf import (
    ProtobufDeserializer,
    ProtobufSerializer,
)

pytestmark = pytest.mark.kafka

ORDER_AVRO = {
    "type": "record",
    "name": "Order",
    "namespace": "it.kafka",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "item", "type": "string"},
        {"name": "price", "type": "double"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
ORDER_KEY_AVRO = "string"
ORDER_JSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "item": {"type": "string"},
        "price": {"type": "number"},
    },
    "required": ["id", "item", "price"],
    "additionalProperties": False,
}


def order_message_class() -> Any:
    """An ``Order`` message built at run time (file name unique per call)."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name=f"itk{uuid.uuid4().hex[:8]}/order.proto", package="itk", syntax="proto3"
    )
    msg = fdp.message_type.add(name="Order")
    msg.field.add(name="id", number=1, type=3, label=1)  # int64
    msg.field.add(name="item", number=2, type=9, label=1)  # string
    msg.field.add(name="price", number=3, type=1, label=1)  # double
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    file = pool.FindFileByName(fdp.name)
    return message_factory.GetMessageClass(file.message_types_by_name["Order"])


ORDER_PB = order_message_class()


def orders(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "item": f"item-{i}", "price": i * 1.5} for i in range(n)]


def as_avro(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, "note": None}


def as_pb(order: dict[str, Any]) -> Any:
    return ORDER_PB(**order)


def from_pb(msg: Any) -> dict[str, Any]:
    return {"id": msg.id, "item": msg.item, "price": msg.price}


FORMATS: dict[str, dict[str, Any]] = {
    "avro": {
        "ser": lambda reg: AvroSerializer(reg, ORDER_AVRO),
        "de": lambda reg: AvroDeserializer(reg),
        "to": as_avro,
        "back": lambda v: {k: v[k] for k in ("id", "item", "price")},
    },
    "json": {
        "ser": lambda reg: JsonSerializer(reg, ORDER_JSON),
        "de": lambda reg: JsonDeserializer(reg),
        "to": lambda o: o,
        "back": lambda v: v,
    },
    "protobuf": {
        "ser": lambda reg: ProtobufSerializer(reg, ORDER_PB),
        "de": lambda reg: ProtobufDeserializer(reg, ORDER_PB),
        "to": as_pb,
        "back": from_pb,
    },
}


@pytest.fixture
async def registry(schema_registry: Any) -> AsyncIterator[SchemaRegistryClient]:
    async with SchemaRegistryClient(schema_registry.url, timeout_s=20) as client:
        yield client


async def consume(
    bootstrap: str,
    topic: str,
    n: int,
    *,
    value_deserializer: Callable[[bytes | None], Any] | None = None,
    key_deserializer: Callable[[bytes | None], Any] | None = None,
) -> list[Any]:
    """The first ``n`` records of partition 0 of ``topic`` (no consumer group)."""
    options: dict[str, Any] = {"bootstrap_servers": bootstrap, "auto_offset_reset": "earliest"}
    if value_deserializer is not None:
        options["value_deserializer"] = value_deserializer
    if key_deserializer is not None:
        options["key_deserializer"] = key_deserializer
    consumer = Consumer(**options)
    consumer.assign([TopicPartition(topic, 0)])
    await consumer.start()
    records: list[Any] = []

    async def fill() -> None:
        while len(records) < n:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)

    try:
        await asyncio.wait_for(fill(), 30)
    finally:
        await consumer.stop()
    return records[:n]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_round_trip_through_kafka(
    kafka_cluster: Any, make_topic: Any, registry: SchemaRegistryClient, fmt: str
) -> None:
    spec = FORMATS[fmt]
    topic = make_topic()
    key_ser = AvroSerializer(registry, ORDER_KEY_AVRO)
    value_ser = spec["ser"](registry)
    async with Producer(
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        key_serializer=await key_ser.bind(topic, is_key=True),
        value_serializer=await value_ser.bind(topic),
    ) as producer:
        for order in orders(20):
            await producer.send(topic, spec["to"](order), key=f"k{order['id']}")
        await producer.send(topic, None, key="tombstone")
        await producer.flush()

    key_de = AvroDeserializer(registry)
    value_de = spec["de"](registry)
    records = await consume(
        kafka_cluster.bootstrap_servers,
        topic,
        21,
        key_deserializer=await key_de.bind(topic, is_key=True),
        value_deserializer=await value_de.bind(topic),
    )
    assert [r.key for r in records] == [f"k{i}" for i in range(20)] + ["tombstone"]
    assert [spec["back"](r.value) for r in records[:20]] == orders(20)
    assert records[20].value is None
    assert await registry.get_versions(f"{topic}-key") == [1]


async def test_awaited_deserialize_of_raw_records(
    kafka_cluster: Any, make_topic: Any, registry: SchemaRegistryClient
) -> None:
    topic = make_topic()
    ser = AvroSerializer(registry, ORDER_AVRO)
    async with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers) as producer:
        for order in orders(3):
            await producer.send(topic, await ser.serialize(topic, as_avro(order)))
        await producer.flush()
    de = AvroDeserializer(registry)  # nothing prefetched: deserialize() fetches the schema
    records = await consume(kafka_cluster.bootstrap_servers, topic, 3)
    values = [await de.deserialize(topic, r.value) for r in records]
    assert values == [as_avro(o) for o in orders(3)]


# ------------------------------------------------------------------- confluent-kafka interop


def confluent_serde(fmt: str, url: str) -> tuple[Any, Any]:
    """confluent-kafka's (serializer, deserializer) for ``fmt``."""
    from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentRegistry

    client = ConfluentRegistry({"url": url})
    if fmt == "avro":
        from confluent_kafka.schema_registry.avro import AvroDeserializer as CAvroDe
        from confluent_kafka.schema_registry.avro import AvroSerializer as CAvroSer

        return CAvroSer(client, json.dumps(ORDER_AVRO)), CAvroDe(client)
    if fmt == "json":
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

        text = json.dumps(ORDER_JSON)
        return JSONSerializer(text, client), JSONDeserializer(text, schema_registry_client=client)
    from confluent_kafka.schema_registry.protobuf import (
        ProtobufDeserializer as CProtoDe,
    )
    from confluent_kafka.schema_registry.protobuf import (
        ProtobufSerializer as CProtoSer,
    )

    return CProtoSer(ORDER_PB, client), CProtoDe(ORDER_PB)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_confluent_produces_kafkaio_consumes(
    kafka_cluster: Any,
    make_topic: Any,
    schema_registry: Any,
    registry: SchemaRegistryClient,
    fmt: str,
) -> None:
    from confluent_kafka import Producer as ConfluentProducer
    from confluent_kafka.serialization import MessageField, SerializationContext

    spec = FORMATS[fmt]
    topic = make_topic()
    c_ser, _ = confluent_serde(fmt, schema_registry.url)
    ctx = SerializationContext(topic, MessageField.VALUE)
    producer = ConfluentProducer({"bootstrap.servers": kafka_cluster.bootstrap_servers})
    for order in orders(5):
        producer.produce(topic, value=c_ser(spec["to"](order), ctx))
    assert producer.flush(30) == 0

    de = spec["de"](registry)
    records = await consume(
        kafka_cluster.bootstrap_servers, topic, 5, value_deserializer=await de.bind(topic)
    )
    assert [spec["back"](r.value) for r in records] == orders(5)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_kafkaio_produces_confluent_consumes(
    kafka_cluster: Any,
    make_topic: Any,
    schema_registry: Any,
    registry: SchemaRegistryClient,
    fmt: str,
) -> None:
    from confluent_kafka import Consumer as ConfluentConsumer
    from confluent_kafka import TopicPartition as ConfluentTopicPartition
    from confluent_kafka.serialization import MessageField, SerializationContext

    spec = FORMATS[fmt]
    topic = make_topic()
    ser = spec["ser"](registry)
    async with Producer(
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        value_serializer=await ser.bind(topic),
    ) as producer:
        for order in orders(5):
            await producer.send(topic, spec["to"](order))
        await producer.flush()

    _, c_de = confluent_serde(fmt, schema_registry.url)
    ctx = SerializationContext(topic, MessageField.VALUE)

    def read() -> list[Any]:
        consumer = ConfluentConsumer(
            {
                "bootstrap.servers": kafka_cluster.bootstrap_servers,
                "group.id": f"{topic}-g",
                "enable.auto.commit": False,
            }
        )
        try:
            consumer.assign([ConfluentTopicPartition(topic, 0, 0)])
            out: list[Any] = []
            for _ in range(60):
                if len(out) == 5:
                    break
                msg = consumer.poll(0.5)
                if msg is not None and msg.error() is None:
                    out.append(c_de(msg.value(), ctx))
            return out
        finally:
            consumer.close()

    values = await asyncio.to_thread(read)
    assert [spec["back"](v) for v in values] == orders(5)
