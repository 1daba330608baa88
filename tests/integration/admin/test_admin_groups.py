"""Group operations against a real broker, each checked by an independent read."""

from __future__ import annotations

import uuid

import pytest
from admin_helpers import create_topic, eventually, join_static_member, produce

from kafkaio.admin import Admin, NewTopic, OffsetAndMetadata, TopicPartition
from kafkaio.cluster import CoordinationType
from kafkaio.errors import (
    GroupIdNotFoundError,
    InvalidGroupIdError,
    UnknownMemberIdError,
    raise_for_code,
)
from kafkaio.protocol.messages import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
)

pytestmark = pytest.mark.kafka


async def test_group_offsets_lifecycle(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 2, 1))
    tp0, tp1 = TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)
    await produce(admin, tp0, [b"%d" % i for i in range(5)])
    g1, g2 = f"{topic_name}-g1", f"{topic_name}-g2"

    # alter (commit as an admin) -> read back with list_consumer_group_offsets
    altered = await admin.alter_consumer_group_offsets(
        g1, {tp0: OffsetAndMetadata(2, "meta", leader_epoch=0), tp1: 0}
    )
    altered.raise_on_error()
    (await admin.alter_consumer_group_offsets(g2, {tp0: 4})).raise_on_error()
    offsets = await admin.list_consumer_group_offsets({g1: None, g2: [tp0, tp1], "": None})
    assert offsets[g1].error is None
    assert offsets[g1].offsets[tp0] == OffsetAndMetadata(2, "meta", 0)
    assert offsets[g1].offsets[tp1] is not None and offsets[g1].offsets[tp1].offset == 0  # type: ignore[union-attr]
    assert offsets[g2].offsets[tp0] is not None and offsets[g2].offsets[tp0].offset == 4  # type: ignore[union-attr]
    assert offsets[g2].offsets[tp1] is None  # nothing committed
    assert isinstance(offsets[""].error, InvalidGroupIdError)

    # lag = end offset - committed offset
    lag = await admin.consumer_group_lag(g1)
    assert lag[tp0].committed == 2 and lag[tp0].end_offset == 5 and lag[tp0].lag == 3
    assert lag[tp1].lag == 0

    # list / describe the (memberless, classic) groups
    listed = await admin.list_groups()
    assert listed.errors == {}
    by_id = {g.group_id: g for g in listed.groups}
    assert by_id[g1].state == "Empty" and by_id[g1].type == "classic"
    empty = {g.group_id for g in (await admin.list_groups(states=["Empty"])).groups}
    stable = {g.group_id for g in (await admin.list_groups(states=["Stable"])).groups}
    classic = {g.group_id for g in (await admin.list_groups(types=["classic"])).groups}
    assert {g1, g2} <= empty and {g1, g2} <= classic and not {g1, g2} & stable
    described = await admin.describe_groups([g1, g2], include_authorized_operations=True)
    assert described[g1].state == "Empty" and described[g1].members == ()
    assert described[g1].coordinator == 1

    # delete one partition's offset -> it is gone, the other stays
    deleted = await admin.delete_consumer_group_offsets(g1, [tp0])
    deleted.raise_on_error()
    after = (await admin.list_consumer_group_offsets([g1]))[g1]
    assert tp0 not in after.offsets or after.offsets[tp0] is None
    assert after.offsets[tp1] is not None

    # delete the groups -> no longer listed
    results = await admin.delete_groups([g1, g2, f"{topic_name}-never"])
    assert results[g1].error is None and results[g2].error is None
    assert isinstance(results[f"{topic_name}-never"].error, GroupIdNotFoundError)

    async def gone() -> None:
        remaining = {g.group_id for g in (await admin.list_groups()).groups}
        assert not {g1, g2} & remaining

    await eventually(gone)


async def test_describe_consumer_group_kip848(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 2, 1))
    group = f"{topic_name}-cg"
    member_id = uuid.uuid4().hex
    client = admin.client
    coordinator = await client.coordinator_lookup(CoordinationType.GROUP, group)
    # Join as a KIP-848 consumer by hand: one heartbeat with epoch 0 subscribes.
    response = await client.send(
        coordinator,
        ConsumerGroupHeartbeatRequest(
            group_id=group,
            member_id=member_id,
            member_epoch=0,
            rebalance_timeout_ms=30_000,
            subscribed_topic_names=[topic_name],
            topic_partitions=[],
        ),
    )
    assert isinstance(response, ConsumerGroupHeartbeatResponse)
    raise_for_code(response.error_code, response.error_message)

    results = await admin.describe_consumer_groups([group, f"{topic_name}-none"])
    described = results[group]
    assert described.error is None
    assert described.group_epoch >= 1
    assert [m.member_id for m in described.members] == [member_id]
    assert described.members[0].subscribed_topic_names == (topic_name,)
    assert isinstance(results[f"{topic_name}-none"].error, GroupIdNotFoundError)
    listed = {g.group_id: g for g in (await admin.list_groups(types=["consumer"])).groups}
    assert listed[group].type == "consumer"


async def test_describe_and_remove_static_member(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 2, 1))
    group = f"{topic_name}-static"
    tps = [TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)]
    member_id = await join_static_member(admin, group, "instance-1", tps)

    described = (await admin.describe_groups([group]))[group]
    assert described.error is None
    assert described.state == "Stable" and described.protocol_type == "consumer"
    assert described.protocol == "range"
    (member,) = described.members
    assert member.member_id == member_id and member.group_instance_id == "instance-1"
    assert member.assignment == tuple(tps)
    stable = {g.group_id for g in (await admin.list_groups(states=["Stable"])).groups}
    assert group in stable

    removed = await admin.remove_members_from_consumer_group(
        group, ["instance-1", "instance-unknown"], reason="admin test"
    )
    assert removed["instance-1"].error is None
    assert isinstance(removed["instance-unknown"].error, UnknownMemberIdError)

    async def emptied() -> None:
        after = (await admin.describe_groups([group]))[group]
        assert after.state == "Empty" and after.members == ()

    await eventually(emptied)
