"""Avro records with a Schema Registry: kafkaio's Producer and Consumer.

Run against a local broker and a local registry (both started by kafkaio's test harness)::

    python -m kafkaio.testing start --detach           # prints bootstrap=127.0.0.1:<port>
    python -m kafkaio.testing.schema_registry &        # prints url=http://127.0.0.1:<p>/apis/ccompat/v7
    python examples/schema_registry_avro.py 127.0.0.1:<port> http://127.0.0.1:<p>/apis/ccompat/v7
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.producer import Producer
from kafkaio.schema_registry import SchemaRegistryClient
from kafkaio.schema_registry.avro import AvroDeserializer, AvroSerializer

USER_SCHEMA = """
{
  "type": "record", "name": "User", "namespace": "example",
  "fields": [
    {"name": "name", "type": "string"},
    {"name": "favorite_number", "type": ["null", "int"], "default": null}
  ]
}
"""


async def main(bootstrap: str, registry_url: str) -> None:
    topic = f"users-{uuid.uuid4().hex[:6]}"
    async with SchemaRegistryClient(registry_url) as registry:
        # bind() registers the schema under "<topic>-value" once and returns a plain
        # obj -> bytes callable, which is what Producer(value_serializer=...) expects.
        serializer = AvroSerializer(registry, USER_SCHEMA)
        async with Producer(
            bootstrap_servers=bootstrap,
            key_serializer=str.encode,
            value_serializer=await serializer.bind(topic),
        ) as producer:
            for i, name in enumerate(["Ada", "Grace", "Barbara"]):
                await producer.send(topic, {"name": name, "favorite_number": i}, key=name)
            await producer.flush()
        print(f"subject {topic}-value versions: {await registry.get_versions(f'{topic}-value')}")

        # The bound deserializer decodes with the schemas fetched by bind(); for ids it has
        # not seen, await deserializer.deserialize(topic, raw_bytes) fetches them.
        deserializer = AvroDeserializer(registry)
        consumer = Consumer(
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            value_deserializer=await deserializer.bind(topic),
        )
        consumer.assign([TopicPartition(topic, 0)])
        async with consumer:
            seen = 0
            while seen < 3:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for record in records:
                        print(f"offset {record.offset}: {record.value}")
                        seen += 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
