"""Topic operations against a real broker, each checked by an independent read."""

from __future__ import annotations

import uuid

import pytest
from admin_helpers import create_topic, eventually

from kafkaio.admin import AclOperation, Admin, ConfigResource, NewPartitions, NewTopic
from kafkaio.errors import (
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidReplicaAssignmentError,
    InvalidReplicationFactorError,
    InvalidTopicError,
    TopicAlreadyExistsError,
    UnknownTopicIdError,
    UnknownTopicOrPartitionError,
)
from kafkaio.testing import KafkaClusterBase

pytestmark = pytest.mark.kafka


async def test_create_topics_mixed_call_gives_per_item_results(
    admin: Admin, topic_name: str
) -> None:
    good1, good2 = f"{topic_name}-a", f"{topic_name}-b"
    results = await admin.create_topics(
        [
            NewTopic(good1, num_partitions=3, replication_factor=1),
            NewTopic("not a valid name!", num_partitions=1),
            NewTopic(good2, num_partitions=1, configs={"retention.ms": 60_000}),
        ]
    )
    assert list(results) == [good1, "not a valid name!", good2]
    assert results[good1].error is None and results[good2].error is None
    assert isinstance(results["not a valid name!"].error, InvalidTopicError)
    assert "not a valid name!" in str(results["not a valid name!"].error)
    assert set(results.errors) == {"not a valid name!"}
    assert results[good1].num_partitions == 3
    assert results[good1].topic_id is not None
    with pytest.raises(InvalidTopicError):
        results.raise_on_error()

    # Independent read: both good topics exist with the asked-for layout and config.
    async def created() -> None:
        listed = await admin.list_topics()
        assert good1 in listed and good2 in listed and "not a valid name!" not in listed
        described = await admin.describe_topics([good1, good2])
        assert len(described[good1].partitions) == 3
        assert described[good1].topic_id == results[good1].topic_id
        resource = ConfigResource.topic(good2)
        configs = await admin.describe_configs([resource], keys=["retention.ms"])
        assert configs[resource].value("retention.ms") == "60000"

    await eventually(created)


async def test_create_topics_broker_rejections_carry_broker_message(
    admin: Admin, topic_name: str
) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    results = await admin.create_topics(
        [
            NewTopic(topic_name, 1, 1),
            NewTopic(f"{topic_name}-rf", num_partitions=1, replication_factor=3),
        ]
    )
    exists = results[topic_name].error
    assert isinstance(exists, TopicAlreadyExistsError)
    assert "already exists" in str(exists)
    rf = results[f"{topic_name}-rf"].error
    assert isinstance(rf, InvalidReplicationFactorError)
    assert f"{topic_name}-rf" not in await admin.list_topics()


async def test_create_topics_client_side_validation(admin: Admin, topic_name: str) -> None:
    results = await admin.create_topics(
        [
            NewTopic(f"{topic_name}-p", num_partitions=0),
            NewTopic(f"{topic_name}-r", num_partitions=1, replication_factor=-2),
            NewTopic(
                f"{topic_name}-c",
                num_partitions=2,
                replication_factor=1,
                replica_assignment={0: [1], 1: [1]},
            ),
            NewTopic(f"{topic_name}-k", configs={"retention.msec": 1}),
            NewTopic("x" * 250),
            NewTopic(".."),
        ]
    )
    assert isinstance(results[f"{topic_name}-p"].error, InvalidPartitionsError)
    assert isinstance(results[f"{topic_name}-r"].error, InvalidReplicationFactorError)
    # Consistent counts and assignment are accepted...
    assert results[f"{topic_name}-c"].error is None
    assert isinstance(results[f"{topic_name}-k"].error, InvalidConfigError)
    assert "retention.msec" in str(results[f"{topic_name}-k"].error)
    assert isinstance(results["x" * 250].error, InvalidTopicError)
    assert isinstance(results[".."].error, InvalidTopicError)
    # ...contradicting ones are not.
    conflict = await admin.create_topics(
        [NewTopic(f"{topic_name}-x", replication_factor=2, replica_assignment={0: [1]})]
    )
    assert isinstance(conflict[f"{topic_name}-x"].error, InvalidReplicaAssignmentError)
    with pytest.raises(ValueError, match="more than once"):
        await admin.create_topics([NewTopic(topic_name), NewTopic(topic_name)])

    async def listed() -> None:
        topics = await admin.list_topics()
        assert f"{topic_name}-c" in topics
        assert not {f"{topic_name}-p", f"{topic_name}-r", f"{topic_name}-k"} & set(topics)

    await eventually(listed)


async def test_create_topics_validate_only_creates_nothing(admin: Admin, topic_name: str) -> None:
    results = await admin.create_topics([NewTopic(topic_name, 2, 1)], validate_only=True)
    assert results.ok
    assert topic_name not in await admin.list_topics()


async def test_create_topic_with_explicit_assignment(admin: Admin, topic_name: str) -> None:
    results = await admin.create_topics([NewTopic(topic_name, replica_assignment={0: [1], 1: [1]})])
    results.raise_on_error()

    async def described() -> None:
        description = (await admin.describe_topics([topic_name]))[topic_name]
        assert [p.replicas for p in description.partitions] == [(1,), (1,)]

    await eventually(described)


async def test_delete_topics_by_name_and_id(admin: Admin, topic_name: str) -> None:
    a, b = f"{topic_name}-a", f"{topic_name}-b"
    created = await admin.create_topics([NewTopic(a, 1, 1), NewTopic(b, 1, 1)])
    created.raise_on_error()
    await eventually(lambda: _listed(admin, a, b))
    b_id = created[b].topic_id
    assert b_id is not None
    missing = f"{topic_name}-missing"
    results = await admin.delete_topics([a, b_id, missing, uuid.uuid4()])
    assert results[a].error is None
    assert results[b_id].error is None and results[b_id].name == b
    assert isinstance(results[missing].error, UnknownTopicOrPartitionError)
    assert len(results.errors) == 2

    async def gone() -> None:
        listed = await admin.list_topics()
        assert a not in listed and b not in listed

    await eventually(gone)


async def _listed(admin: Admin, *names: str) -> None:
    listed = await admin.list_topics()
    assert set(names) <= set(listed)


async def test_list_topics_internal_flag(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    # Make sure __consumer_offsets exists.
    await admin.list_consumer_group_offsets([f"{topic_name}-group"])
    public = await admin.list_topics()
    everything = await admin.list_topics(include_internal=True)
    assert topic_name in public
    assert "__consumer_offsets" in everything and "__consumer_offsets" not in public
    assert everything["__consumer_offsets"].is_internal


async def test_describe_topics(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 2, 1))
    results = await admin.describe_topics(
        [topic_name, f"{topic_name}-nope", "bad/name"], include_authorized_operations=True
    )
    d = results[topic_name]
    assert d.error is None and not d.is_internal and d.topic_id is not None
    assert [p.partition for p in d.partitions] == [0, 1]
    for p in d.partitions:
        assert p.leader == 1 and p.replicas == (1,) and p.isr == (1,)
        assert p.offline_replicas == () and p.leader_epoch >= 0
    assert d.authorized_operations is not None
    assert AclOperation.DESCRIBE in d.authorized_operations
    assert isinstance(results[f"{topic_name}-nope"].error, UnknownTopicOrPartitionError)
    assert isinstance(results["bad/name"].error, InvalidTopicError)
    # By topic id.
    assert d.topic_id is not None
    missing_id = uuid.uuid4()
    by_id = await admin.describe_topics([d.topic_id, missing_id])
    assert by_id[d.topic_id].name == topic_name
    assert len(by_id[d.topic_id].partitions) == 2
    assert isinstance(by_id[missing_id].error, UnknownTopicIdError)


async def test_create_partitions(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    checked = await admin.create_partitions({topic_name: 3}, validate_only=True)
    assert checked.ok
    assert len((await admin.describe_topics([topic_name]))[topic_name].partitions) == 1
    results = await admin.create_partitions(
        {
            topic_name: NewPartitions(4, assignments=[[1], [1], [1]]),
            f"{topic_name}-nope": 2,
            "bad name": 2,
        }
    )
    assert results[topic_name].error is None
    assert isinstance(results[f"{topic_name}-nope"].error, UnknownTopicOrPartitionError)
    assert isinstance(results["bad name"].error, InvalidTopicError)

    async def grown() -> None:
        description = (await admin.describe_topics([topic_name]))[topic_name]
        assert len(description.partitions) == 4

    await eventually(grown)
    shrink = await admin.create_partitions({topic_name: 2})
    assert isinstance(shrink[topic_name].error, InvalidPartitionsError)


async def test_admin_bootstraps_on_first_use(kafka_cluster: KafkaClusterBase) -> None:
    admin = Admin(bootstrap_servers=kafka_cluster.bootstrap_servers)
    try:
        groups = await admin.list_groups()  # uses the broker list: bootstraps first
        assert groups.errors == {}
        assert isinstance(await admin.list_topics(), dict)
    finally:
        await admin.close()
