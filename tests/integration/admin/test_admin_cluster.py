"""Cluster-level operations against a real broker."""

from __future__ import annotations

import pytest
from admin_helpers import create_topic, eventually

from kafkaio.admin import (
    Admin,
    ElectionType,
    FeatureUpdate,
    NewTopic,
    TopicPartition,
    TopicPartitionReplica,
    UpgradeType,
    VersionRange,
)
from kafkaio.errors import (
    BrokerNotAvailableError,
    ElectionNotNeededError,
    UnknownTopicOrPartitionError,
)
from kafkaio.testing import KafkaClusterBase

pytestmark = pytest.mark.kafka


async def test_describe_cluster(admin: Admin, kafka_cluster: KafkaClusterBase) -> None:
    cluster = await admin.describe_cluster(
        include_authorized_operations=True, include_fenced_brokers=True
    )
    metadata = admin.client.cluster
    assert cluster.cluster_id == metadata.cluster_id
    assert cluster.controller_id == metadata.controller_id
    assert [b.node_id for b in cluster.brokers] == [b.node_id for b in metadata.brokers()]
    host, port = kafka_cluster.addresses()[0]
    assert (cluster.brokers[0].host, cluster.brokers[0].port) == (host, port)
    assert not cluster.brokers[0].is_fenced
    assert cluster.authorized_operations is not None


async def test_describe_features(admin: Admin) -> None:
    features = await admin.describe_features()
    assert "metadata.version" in features.finalized
    assert "metadata.version" in features.supported
    level = features.finalized["metadata.version"].max
    supported = features.supported["metadata.version"]
    assert supported.min <= level <= supported.max
    assert features.finalized_epoch is not None


async def test_update_features_validate_only(admin: Admin) -> None:
    features = await admin.describe_features()
    name = "group.version"
    current = features.finalized[name].max
    results = await admin.update_features({name: FeatureUpdate(current)}, validate_only=True)
    results.raise_on_error()
    too_high = features.supported[name].max + 5
    bad = await admin.update_features({name: FeatureUpdate(too_high)}, validate_only=True)
    assert bad[name].error is not None
    assert (await admin.describe_features()).finalized[name].max == current


async def test_describe_log_dirs(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 2, 1))

    async def listed() -> None:
        results = await admin.describe_log_dirs()
        assert list(results) == [1]
        broker = results[1]
        assert broker.error is None
        (log_dir,) = broker.log_dirs.values()
        assert log_dir.error is None
        assert TopicPartition(topic_name, 0) in log_dir.replicas
        assert TopicPartition(topic_name, 1) in log_dir.replicas
        assert log_dir.total_bytes is not None and log_dir.total_bytes > 0

    await eventually(listed)
    unknown = await admin.describe_log_dirs([1, 42])
    assert unknown[1].error is None
    assert isinstance(unknown[42].error, BrokerNotAvailableError)


async def test_elect_leaders(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    tp = TopicPartition(topic_name, 0)
    missing = TopicPartition(f"{topic_name}-nope", 0)
    # The broker holds the answer until its timeout when no election is needed.
    results = await admin.elect_leaders(
        [tp, missing], election_type=ElectionType.PREFERRED, timeout_ms=2_000
    )
    # Single replica: it already leads, so no election is needed.
    assert isinstance(results[tp].error, ElectionNotNeededError)
    assert isinstance(results[missing].error, UnknownTopicOrPartitionError)
    description = (await admin.describe_topics([topic_name]))[topic_name]
    assert description.partitions[0].leader == 1


async def test_describe_metadata_quorum(admin: Admin) -> None:
    quorum = await admin.describe_metadata_quorum()
    cluster = await admin.describe_cluster()
    assert quorum.leader_id == 1
    assert [v.replica_id for v in quorum.voters] == [1]
    assert quorum.high_watermark > 0
    assert quorum.voters[0].log_end_offset >= quorum.high_watermark
    assert cluster.controller_id is not None


async def test_list_partition_reassignments_empty(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    assert await admin.list_partition_reassignments() == {}
    assert await admin.list_partition_reassignments([TopicPartition(topic_name, 0)]) == {}


async def test_alter_replica_log_dirs(extra_admin: Admin, topic_name: str) -> None:
    await create_topic(extra_admin, NewTopic(topic_name, 1, 1))
    tp = TopicPartition(topic_name, 0)

    async def current_dir() -> str:
        dirs = (await extra_admin.describe_log_dirs([1]))[1].log_dirs
        assert len(dirs) == 2
        holding = [p for p, d in dirs.items() if tp in d.replicas and not d.replicas[tp].is_future]
        assert len(holding) == 1, holding
        return holding[0]

    source = await eventually(current_dir)
    dirs = (await extra_admin.describe_log_dirs([1]))[1].log_dirs
    (target,) = [p for p in dirs if p != source]
    replica = TopicPartitionReplica(topic_name, 0, 1)
    results = await extra_admin.alter_replica_log_dirs(
        {replica: target, TopicPartitionReplica(topic_name, 0, 99): target}
    )
    assert results[replica].error is None
    unknown = results[TopicPartitionReplica(topic_name, 0, 99)].error
    assert isinstance(unknown, BrokerNotAvailableError)

    async def moved() -> None:
        assert await current_dir() == target

    await eventually(moved, timeout=30)


async def test_update_features_downgrade_and_upgrade(extra_admin: Admin) -> None:
    # On the admin tests' own cluster: nothing else depends on its streams feature.
    name = "streams.version"
    before = await extra_admin.describe_features()
    level = before.finalized[name].max
    assert level >= 1
    down = await extra_admin.update_features(
        {name: FeatureUpdate(level - 1, UpgradeType.SAFE_DOWNGRADE)}
    )
    down.raise_on_error()

    async def lowered() -> None:
        finalized = (await extra_admin.describe_features()).finalized
        assert finalized.get(name, VersionRange(0, 0)).max == level - 1

    await eventually(lowered)
    (await extra_admin.update_features({name: FeatureUpdate(level)})).raise_on_error()

    async def restored() -> None:
        finalized = (await extra_admin.describe_features()).finalized
        assert finalized.get(name, VersionRange(0, 0)).max == level

    await eventually(restored)
