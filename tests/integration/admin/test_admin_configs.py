"""Config operations against a real broker, each checked by describing again."""

from __future__ import annotations

import pytest
from admin_helpers import create_topic, eventually

from kafkaio.admin import (
    Admin,
    AlterConfigOp,
    ConfigResource,
    ConfigResourceType,
    ConfigSource,
    ConfigType,
    NewTopic,
)
from kafkaio.errors import (
    InvalidConfigError,
    InvalidRequestError,
    InvalidTopicError,
    UnknownTopicOrPartitionError,
)

pytestmark = pytest.mark.kafka


async def test_describe_configs_synonyms_documentation_source(
    admin: Admin, topic_name: str
) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1, configs={"retention.ms": 7_200_000}))
    topic = ConfigResource.topic(topic_name)
    broker = ConfigResource.broker(1)
    results = await admin.describe_configs(
        [topic, broker, ConfigResource.topic(f"{topic_name}-nope")],
        include_synonyms=True,
        include_documentation=True,
    )
    entry = results[topic].entries["retention.ms"]
    assert entry.value == "7200000"
    assert entry.source is ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert entry.config_type is ConfigType.LONG
    assert entry.documentation
    assert entry.synonyms[0].source is ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert results[topic].entries["cleanup.policy"].is_default
    assert "log.retention.hours" in results[broker].entries
    assert isinstance(
        results[ConfigResource.topic(f"{topic_name}-nope")].error, UnknownTopicOrPartitionError
    )
    # Only selected keys.
    some = await admin.describe_configs([topic], keys=["retention.ms", "segment.ms"])
    assert set(some[topic].entries) == {"retention.ms", "segment.ms"}


async def test_describe_configs_sensitive_broker_config(admin: Admin) -> None:
    broker = ConfigResource.broker(1)
    entries = (await admin.describe_configs([broker]))[broker].entries
    sensitive = [e for e in entries.values() if e.sensitive]
    assert "ssl.key.password" in {e.name for e in sensitive}
    assert all(e.value is None for e in sensitive)


async def test_incremental_alter_topic_configs(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1, configs={"retention.ms": 1_000_000}))
    topic = ConfigResource.topic(topic_name)
    results = await admin.incremental_alter_configs(
        {
            topic: [
                AlterConfigOp.set("max.message.bytes", 200_000),
                AlterConfigOp.delete("retention.ms"),
                AlterConfigOp.append("cleanup.policy", "compact"),
            ]
        }
    )
    results.raise_on_error()

    async def changed() -> None:
        after = (await admin.describe_configs([topic]))[topic]
        assert after.value("max.message.bytes") == "200000"
        assert after.entries["retention.ms"].is_default
        assert set((after.value("cleanup.policy") or "").split(",")) == {"delete", "compact"}

    await eventually(changed)

    (
        await admin.incremental_alter_configs(
            {topic: [AlterConfigOp.subtract("cleanup.policy", "delete")]}
        )
    ).raise_on_error()

    async def subtracted() -> None:
        after = (await admin.describe_configs([topic]))[topic]
        assert after.value("cleanup.policy") == "compact"

    await eventually(subtracted)


async def test_incremental_alter_validate_only_changes_nothing(
    admin: Admin, topic_name: str
) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    topic = ConfigResource.topic(topic_name)
    results = await admin.incremental_alter_configs(
        {topic: [AlterConfigOp.set("retention.ms", 1234)]}, validate_only=True
    )
    assert results.ok
    assert (await admin.describe_configs([topic]))[topic].entries["retention.ms"].is_default


async def test_incremental_alter_bad_items_are_per_resource(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    good = ConfigResource.topic(topic_name)
    results = await admin.incremental_alter_configs(
        {
            good: [AlterConfigOp.set("retention.ms", 4321)],
            ConfigResource.topic("bad name"): [AlterConfigOp.set("retention.ms", 1)],
            ConfigResource.topic(f"{topic_name}-x"): [AlterConfigOp.set("retention.msx", 1)],
            ConfigResource.topic(f"{topic_name}-y"): [AlterConfigOp("retention.ms", None)],
            ConfigResource.topic(f"{topic_name}-z"): [
                AlterConfigOp.set("retention.ms", 1),
                AlterConfigOp.delete("retention.ms"),
            ],
            ConfigResource.topic(f"{topic_name}-nope"): [AlterConfigOp.set("retention.ms", 1)],
            ConfigResource.topic(topic_name + "-v"): [
                AlterConfigOp.set("min.insync.replicas", "x")
            ],
        }
    )
    assert results[good].error is None
    assert isinstance(results[ConfigResource.topic("bad name")].error, InvalidTopicError)
    assert isinstance(results[ConfigResource.topic(f"{topic_name}-x")].error, InvalidConfigError)
    assert isinstance(results[ConfigResource.topic(f"{topic_name}-y")].error, InvalidConfigError)
    assert isinstance(results[ConfigResource.topic(f"{topic_name}-z")].error, InvalidRequestError)
    assert isinstance(
        results[ConfigResource.topic(f"{topic_name}-nope")].error, UnknownTopicOrPartitionError
    )
    assert results[ConfigResource.topic(topic_name + "-v")].error is not None

    async def changed() -> None:
        assert (await admin.describe_configs([good]))[good].value("retention.ms") == "4321"

    await eventually(changed)


async def test_incremental_alter_broker_config_goes_to_that_broker(admin: Admin) -> None:
    broker = ConfigResource.broker(1)
    key = "log.cleaner.threads"
    results = await admin.incremental_alter_configs({broker: [AlterConfigOp.set(key, 2)]})
    results.raise_on_error()
    try:

        async def changed() -> None:
            described = await admin.describe_configs([broker], keys=[key], include_synonyms=True)
            entry = described[broker].entries[key]
            assert entry.value == "2"
            assert entry.source is ConfigSource.DYNAMIC_BROKER_CONFIG
            # Synonyms in precedence order: the per-broker value, then the default.
            assert [s.source for s in entry.synonyms] == [
                ConfigSource.DYNAMIC_BROKER_CONFIG,
                ConfigSource.DEFAULT_CONFIG,
            ]

        await eventually(changed)
    finally:
        reverted = await admin.incremental_alter_configs({broker: [AlterConfigOp.delete(key)]})
        reverted.raise_on_error()

    async def restored() -> None:
        entry = (await admin.describe_configs([broker], keys=[key]))[broker].entries[key]
        assert entry.source is not ConfigSource.DYNAMIC_BROKER_CONFIG

    await eventually(restored)
    with pytest.raises(ValueError, match="broker id"):
        await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "one")])


async def test_cluster_default_broker_config(admin: Admin) -> None:
    default = ConfigResource.broker()
    one = ConfigResource.broker(1)
    key = "message.max.bytes"
    (
        await admin.incremental_alter_configs({default: [AlterConfigOp.set(key, 1_048_600)]})
    ).raise_on_error()
    try:

        async def changed() -> None:
            entry = (await admin.describe_configs([one], keys=[key]))[one].entries[key]
            assert entry.value == "1048600"
            assert entry.source is ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG

        await eventually(changed)
    finally:
        await admin.incremental_alter_configs({default: [AlterConfigOp.delete(key)]})


async def test_alter_configs_replaces_dynamic_configs(admin: Admin, topic_name: str) -> None:
    configs = {"retention.ms": 500_000, "segment.ms": 600_000}
    await create_topic(admin, NewTopic(topic_name, 1, 1, configs=configs))
    topic = ConfigResource.topic(topic_name)
    results = await admin.alter_configs({topic: {"retention.ms": 700_000}})
    results.raise_on_error()

    async def replaced() -> None:
        after = (await admin.describe_configs([topic]))[topic]
        assert after.value("retention.ms") == "700000"
        assert after.entries["segment.ms"].is_default  # not listed: reverted

    await eventually(replaced)
    bad = await admin.alter_configs({topic: {"no.such.config": 1}})
    assert isinstance(bad[topic].error, InvalidConfigError)


async def test_group_config(admin: Admin, topic_name: str) -> None:
    group = ConfigResource.group(f"{topic_name}-group")
    results = await admin.incremental_alter_configs(
        {group: [AlterConfigOp.set("consumer.session.timeout.ms", 50_000)]}
    )
    results.raise_on_error()

    async def changed() -> None:
        described = (await admin.describe_configs([group]))[group]
        assert described.value("consumer.session.timeout.ms") == "50000"

    await eventually(changed)


async def test_broker_logger_levels(admin: Admin) -> None:
    logger = ConfigResource.broker_logger(1)
    name = "kafka.server.ReplicaFetcherManager"
    before = (await admin.describe_configs([logger]))[logger]
    assert before.error is None and before.entries  # every logger and its level
    results = await admin.incremental_alter_configs({logger: [AlterConfigOp.set(name, "DEBUG")]})
    results.raise_on_error()
    try:

        async def changed() -> None:
            assert (await admin.describe_configs([logger]))[logger].value(name) == "DEBUG"

        await eventually(changed)
    finally:
        await admin.incremental_alter_configs({logger: [AlterConfigOp.delete(name)]})


async def test_client_metrics_subscription(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    subscription = ConfigResource.client_metrics(f"{topic_name}-sub")
    results = await admin.incremental_alter_configs(
        {
            subscription: [
                AlterConfigOp.set("metrics", "org.apache.kafka.producer."),
                AlterConfigOp.set("interval.ms", 30_000),
            ]
        }
    )
    results.raise_on_error()

    async def created() -> None:
        described = (await admin.describe_configs([subscription]))[subscription]
        assert described.value("interval.ms") == "30000"
        assert described.value("metrics") == "org.apache.kafka.producer."
        metrics = await admin.list_config_resources([ConfigResourceType.CLIENT_METRICS])
        assert subscription in metrics
        assert all(r.type is ConfigResourceType.CLIENT_METRICS for r in metrics)

    await eventually(created)
    everything = await admin.list_config_resources()
    assert subscription in everything
    kinds = {r.type for r in everything}
    assert {ConfigResourceType.TOPIC, ConfigResourceType.CLIENT_METRICS} <= kinds
