"""Share groups (KIP-932) against a real broker; the member is driven by hand."""

from __future__ import annotations

import uuid

import pytest
from admin_helpers import create_topic, eventually, produce

from kafkaio.admin import Admin, NewTopic, TopicPartition
from kafkaio.cluster import ConnectionGroup, CoordinationType
from kafkaio.errors import raise_for_code
from kafkaio.protocol.messages import ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse

pytestmark = pytest.mark.kafka


async def _heartbeat(admin: Admin, group: str, member_id: str, epoch: int, topic: str) -> int:
    client = admin.client
    coordinator = await client.coordinator_lookup(CoordinationType.GROUP, group)
    response = await client.send(
        coordinator,
        ShareGroupHeartbeatRequest(
            group_id=group,
            member_id=member_id,
            member_epoch=epoch,
            subscribed_topic_names=[topic] if epoch == 0 else None,
        ),
        group=ConnectionGroup.COORDINATION,
    )
    assert isinstance(response, ShareGroupHeartbeatResponse)
    raise_for_code(response.error_code, response.error_message)
    return response.member_epoch


async def test_share_group_describe_and_offsets(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    tp = TopicPartition(topic_name, 0)
    await produce(admin, tp, [b"a", b"b", b"c"])
    group = f"{topic_name}-share"
    member_id = uuid.uuid4().hex
    await _heartbeat(admin, group, member_id, 0, topic_name)

    async def has_member() -> None:
        described = (await admin.describe_share_groups([group]))[group]
        assert described.error is None
        assert [m.member_id for m in described.members] == [member_id]
        assert described.members[0].subscribed_topic_names == (topic_name,)

    await eventually(has_member)
    listed = {g.group_id: g for g in (await admin.list_groups(types=["share"])).groups}
    assert listed[group].type == "share"

    # Leave, so that the offsets may be changed.
    await _heartbeat(admin, group, member_id, -1, topic_name)

    async def empty() -> None:
        described = (await admin.describe_share_groups([group]))[group]
        assert described.state == "Empty" and described.members == ()

    await eventually(empty)
    altered = await admin.alter_share_group_offsets(group, {tp: 2})
    altered.raise_on_error()

    async def moved() -> None:
        offsets = (await admin.list_share_group_offsets({group: [tp]}))[group]
        assert offsets.error is None
        assert tp in offsets.offsets and offsets.offsets[tp].start_offset == 2

    await eventually(moved)
    deleted = await admin.delete_share_group_offsets(group, [topic_name])
    deleted.raise_on_error()

    async def forgotten() -> None:
        offsets = (await admin.list_share_group_offsets([group]))[group]
        assert tp not in offsets.offsets

    await eventually(forgotten)
