"""The admin client, producer and consumer over secured listeners (they share the cluster
client's security options)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from security_helpers import SecureBroker

from kafkaio.admin import Admin, NewTopic
from kafkaio.consumer import Consumer
from kafkaio.producer import Producer

pytestmark = pytest.mark.kafka


def _options(b: SecureBroker, case: str) -> tuple[str, dict[str, Any]]:
    if case == "mtls":
        return b.servers("MTLS"), {
            "security_protocol": "SSL",
            **b.tls_options(),
            "ssl_certfile": str(b.tls.client_cert_file),
            "ssl_keyfile": str(b.tls.client_key_file),
            "ssl_password": b.tls.client_key_password,
        }
    return b.servers("SASL_SSL"), {
        "security_protocol": "SASL_SSL",
        **b.tls_options(),
        **b.scram_options("SCRAM-SHA-512"),
    }


@pytest.mark.parametrize("case", ["mtls", "sasl_ssl-SCRAM-SHA-512"])
async def test_admin_producer_consumer_round_trip(secure_broker: SecureBroker, case: str) -> None:
    servers, options = _options(secure_broker, case)
    topic = f"sec-clients-{uuid.uuid4().hex[:8]}"
    async with Admin(bootstrap_servers=servers, **options) as admin:
        created = await admin.create_topics(
            [NewTopic(topic, num_partitions=2, replication_factor=1)]
        )
        assert created[topic].error is None
        for _ in range(50):
            description = (await admin.describe_topics([topic]))[topic]
            if description.error is None and all(
                p.leader is not None for p in description.partitions
            ):
                break
            await asyncio.sleep(0.1)
    sent = {f"{case}-{i}".encode() for i in range(10)}
    async with Producer(bootstrap_servers=servers, **options) as producer:
        for value in sent:
            await producer.send(topic, value)
        await producer.flush()
    received: set[bytes] = set()
    async with Consumer(
        bootstrap_servers=servers,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
        **options,
    ) as consumer:
        consumer.subscribe([topic])
        deadline = asyncio.get_running_loop().time() + 30
        while received != sent and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=1_000)
            for records in batch.values():
                received.update(r.value for r in records if r.value is not None)
        await consumer.commit()
    assert received == sent
