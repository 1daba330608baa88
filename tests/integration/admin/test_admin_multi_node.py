"""Operations where replicas matter, on the session's 3-node cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from admin_helpers import create_topic, eventually

from kafkaio.admin import Admin, NewTopic, TopicPartition
from kafkaio.errors import BrokerIdNotRegisteredError, UnknownTopicOrPartitionError
from kafkaio.testing import KafkaCluster

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
async def admin3(kafka_cluster_3: KafkaCluster) -> AsyncIterator[Admin]:
    async with Admin(
        bootstrap_servers=kafka_cluster_3.bootstrap_servers,
        request_timeout_ms=15_000,
        default_api_timeout_ms=30_000,
        retry_backoff_ms=50,
    ) as client:
        yield client


async def test_three_brokers_described(admin3: Admin, topic_name: str) -> None:
    await create_topic(admin3, NewTopic(topic_name, 3, 3))
    cluster = await admin3.describe_cluster()
    assert [b.node_id for b in cluster.brokers] == [1, 2, 3]
    described = (await admin3.describe_topics([topic_name]))[topic_name]
    for p in described.partitions:
        assert sorted(p.replicas) == [1, 2, 3] and p.leader in (1, 2, 3)
    quorum = await admin3.describe_metadata_quorum()
    assert sorted(v.replica_id for v in quorum.voters) == [1, 2, 3]

    async def on_every_broker() -> None:
        dirs = await admin3.describe_log_dirs()
        assert sorted(dirs) == [1, 2, 3]
        for broker in dirs.values():
            assert broker.error is None
            replicas = {tp for d in broker.log_dirs.values() for tp in d.replicas}
            assert TopicPartition(topic_name, 0) in replicas

    await eventually(on_every_broker)


async def test_reassign_then_elect_preferred_leader(admin3: Admin, topic_name: str) -> None:
    await create_topic(admin3, NewTopic(topic_name, replica_assignment={0: [1, 2]}))
    tp = TopicPartition(topic_name, 0)

    async def leader_is(node: int) -> None:
        p = (await admin3.describe_topics([topic_name]))[topic_name].partitions[0]
        assert p.leader == node and sorted(p.isr) == sorted(p.replicas)

    await eventually(lambda: leader_is(1))

    # Move the partition to brokers 2 and 3 (2 preferred) and check by describing.
    missing = TopicPartition(f"{topic_name}-nope", 0)
    results = await admin3.alter_partition_reassignments({tp: [2, 3], missing: [1]})
    assert results[tp].error is None
    assert isinstance(results[missing].error, UnknownTopicOrPartitionError)

    async def moved() -> None:
        p = (await admin3.describe_topics([topic_name]))[topic_name].partitions[0]
        assert p.replicas == (2, 3) and sorted(p.isr) == [2, 3]
        assert tp not in await admin3.list_partition_reassignments([tp])

    await eventually(moved, timeout=30)

    # Reorder so 3 is preferred, then elect it.
    (await admin3.alter_partition_reassignments({tp: [3, 2]})).raise_on_error()

    async def reordered() -> None:
        p = (await admin3.describe_topics([topic_name]))[topic_name].partitions[0]
        assert p.replicas == (3, 2)

    await eventually(reordered, timeout=30)
    p = (await admin3.describe_topics([topic_name]))[topic_name].partitions[0]
    if p.leader != 3:
        elected = await admin3.elect_leaders([tp])
        elected.raise_on_error()
    await eventually(lambda: leader_is(3), timeout=30)


async def test_unregister_stopped_broker(admin3: Admin, kafka_cluster_3: KafkaCluster) -> None:
    with pytest.raises(BrokerIdNotRegisteredError):
        await admin3.unregister_broker(99)
    await asyncio.to_thread(kafka_cluster_3.stop_node, 3)
    try:

        async def fenced() -> None:
            cluster = await admin3.describe_cluster(include_fenced_brokers=True)
            assert {b.node_id: b.is_fenced for b in cluster.brokers}.get(3) is True

        await eventually(fenced, timeout=30)
        await admin3.unregister_broker(3)

        async def unregistered() -> None:
            cluster = await admin3.describe_cluster(include_fenced_brokers=True)
            assert [b.node_id for b in cluster.brokers] == [1, 2]

        await eventually(unregistered)
    finally:
        # Leave the shared cluster as it was: the node registers again on start.
        await asyncio.to_thread(kafka_cluster_3.start_node, 3)
        await asyncio.to_thread(kafka_cluster_3.wait_for_brokers, 3)

    async def back() -> None:
        cluster = await admin3.describe_cluster()
        assert [b.node_id for b in cluster.brokers] == [1, 2, 3]

    await eventually(back, timeout=30)
