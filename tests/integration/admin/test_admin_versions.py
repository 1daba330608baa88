"""Older protocol versions (capped per API): features they lack fail naming the feature,
the rest keeps working through the older request layouts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from admin_helpers import create_topic, eventually

from kafkaio.admin import Admin, NewTopic, OffsetSpec, TopicPartition
from kafkaio.admin.configs import ConfigResource
from kafkaio.errors import UnsupportedVersionError
from kafkaio.testing import KafkaClusterBase

pytestmark = pytest.mark.kafka

CAPS = {
    "ListGroups": 3,
    "DeleteTopics": 5,
    "DescribeConfigs": 2,
    "ListOffsets": 6,
    "DescribeCluster": 1,
    "OffsetFetch": 7,
    "OffsetCommit": 9,
}


@pytest.fixture
async def old_admin(kafka_cluster: KafkaClusterBase) -> AsyncIterator[Admin]:
    async with Admin(
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        api_version_caps=CAPS,
        default_api_timeout_ms=30_000,
        retry_backoff_ms=50,
    ) as client:
        yield client


async def test_missing_features_name_themselves(old_admin: Admin, topic_name: str) -> None:
    await create_topic(old_admin, NewTopic(topic_name, 1, 1))
    tp = TopicPartition(topic_name, 0)
    with pytest.raises(UnsupportedVersionError, match="filtering groups by state"):
        await old_admin.list_groups(states=["Empty"])
    with pytest.raises(UnsupportedVersionError, match="deleting topics by id"):
        await old_admin.delete_topics([uuid.uuid4()])
    with pytest.raises(UnsupportedVersionError, match="config documentation"):
        await old_admin.describe_configs(
            [ConfigResource.topic(topic_name)], include_documentation=True
        )
    with pytest.raises(UnsupportedVersionError, match="max-timestamp"):
        await old_admin.list_offsets({tp: OffsetSpec.max_timestamp()})
    with pytest.raises(UnsupportedVersionError, match="fenced brokers"):
        await old_admin.describe_cluster(include_fenced_brokers=True)
    # Nothing was changed by the refused calls.
    assert topic_name in await old_admin.list_topics()


async def test_older_layouts_still_work(old_admin: Admin, topic_name: str) -> None:
    await create_topic(old_admin, NewTopic(topic_name, 1, 1))
    tp = TopicPartition(topic_name, 0)
    g1, g2 = f"{topic_name}-a", f"{topic_name}-b"
    # OffsetCommit v9 / OffsetFetch v7: topics by name, one group per request.
    (await old_admin.alter_consumer_group_offsets(g1, {tp: 0})).raise_on_error()
    (await old_admin.alter_consumer_group_offsets(g2, {tp: 0})).raise_on_error()
    offsets = await old_admin.list_consumer_group_offsets([g1, g2])
    assert offsets[g1].offsets[tp] is not None and offsets[g2].offsets[tp] is not None
    listed = {g.group_id for g in (await old_admin.list_groups()).groups}
    assert {g1, g2} <= listed
    described = await old_admin.describe_configs([ConfigResource.topic(topic_name)])
    assert described[ConfigResource.topic(topic_name)].entries["retention.ms"].is_default
    assert (await old_admin.list_offsets({tp: OffsetSpec.latest()}))[tp].offset == 0
    # DeleteTopics v5: by name through the old topic_names field.
    (await old_admin.delete_topics([topic_name])).raise_on_error()

    async def gone() -> None:
        assert topic_name not in await old_admin.list_topics()

    await eventually(gone)
