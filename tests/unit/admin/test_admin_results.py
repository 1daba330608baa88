"""ResultMap and the per-item retry loop (no broker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

import pytest

from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, final, rejected
from kafkaio.cluster import ClusterClient
from kafkaio.errors import (
    InvalidTopicError,
    KafkaConnectionError,
    KafkaError,
    NotControllerError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
    UnsupportedVersionError,
)


@dataclass(frozen=True)
class Item:
    name: str
    error: KafkaError | None = None


def test_result_map_views_and_raise() -> None:
    ok = Item("a")
    bad1 = Item("b", broker_error(36, "Topic 'b' already exists.", "topic 'b'"))
    bad2 = Item("c", rejected(InvalidTopicError, "topic 'c'", "bad name"))
    results = ResultMap([("a", ok), ("b", bad1), ("c", bad2)])
    assert not results.ok
    assert list(results.errors) == ["b", "c"]
    assert results.succeeded == {"a": ok}
    with pytest.raises(
        TopicAlreadyExistsError, match="topic 'b': Topic 'b' already exists"
    ) as info:
        results.raise_on_error()
    assert any("1 more item(s) failed" in note for note in getattr(info.value, "__notes__", []))
    assert "rejected by the client" in str(bad2.error)
    clean = ResultMap([("a", ok)])
    assert clean.raise_on_error() is clean and clean.ok


def test_broker_error_uses_default_message_and_none_for_zero() -> None:
    assert broker_error(0, None, "x") is None
    error = broker_error(3, None, "partition t-0", missing_is_final=False)
    assert isinstance(error, UnknownTopicOrPartitionError)
    assert "partition t-0: This server does not host" in str(error)
    assert error.retriable  # a leader may not know a new topic yet
    assert final(error) is error and not error.retriable
    assert UnknownTopicOrPartitionError.retriable  # the class is untouched
    missing = broker_error(3, "No such topic", "topic 't'")
    assert missing is not None and not missing.retriable  # named topic is missing: final
    moved = broker_error(16, None, "group 'g'")
    assert moved is not None and moved.retriable  # NOT_COORDINATOR stays retriable


class _FakeMetadata:
    def brokers(self) -> list[str]:
        return ["a broker"]  # already bootstrapped


class _FakeClient:
    def __init__(self) -> None:
        self.refreshes = 0
        self.cluster = _FakeMetadata()

    def force_metadata_update(self) -> asyncio.Future[bool]:
        self.refreshes += 1
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        fut.set_result(True)
        return fut


def _core(client: _FakeClient) -> AdminCore:
    return AdminCore(
        cast(ClusterClient, client),
        owns_client=False,
        default_api_timeout_ms=2_000,
        retry_backoff_ms=1,
        retry_backoff_max_ms=5,
        check_topic_config_keys=True,
    )


async def test_run_items_retries_only_retriable_items() -> None:
    client = _FakeClient()
    core = _core(client)
    calls: list[list[str]] = []

    async def attempt(pending: list[str]) -> dict[str, Item]:
        calls.append(list(pending))
        out = {}
        for name in pending:
            if name == "flaky" and len(calls) < 3:
                out[name] = Item(name, NotControllerError("moving"))
            elif name == "broken":
                out[name] = Item(name, TopicAlreadyExistsError("exists"))
            else:
                out[name] = Item(name)
        return out

    results = await core._run_items(
        ["ok", "flaky", "broken"], attempt, lambda k, e: Item(k, e), core._deadline(None)
    )
    assert calls == [["ok", "flaky", "broken"], ["flaky"], ["flaky"]]
    assert list(results) == ["ok", "flaky", "broken"]
    assert results["flaky"].error is None
    assert isinstance(results["broken"].error, TopicAlreadyExistsError)


async def test_run_items_gives_up_at_the_deadline_with_the_last_error() -> None:
    client = _FakeClient()
    core = _core(client)
    attempts = 0

    async def attempt(pending: list[str]) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        raise KafkaConnectionError("broker down")

    deadline = core._deadline(100)
    results = await core._run_items(["a"], attempt, lambda k, e: Item(k, e), deadline)
    assert isinstance(results["a"].error, KafkaConnectionError)
    assert attempts > 1
    assert client.refreshes >= 1  # connection errors refresh metadata before retrying
    assert asyncio.get_running_loop().time() <= deadline + 0.05


async def test_run_items_propagates_unsupported_versions() -> None:
    core = _core(_FakeClient())

    async def attempt(pending: list[str]) -> dict[str, Any]:
        raise UnsupportedVersionError("deleting topics by id needs DeleteTopics v6+")

    with pytest.raises(UnsupportedVersionError, match="by id"):
        await core._run_items(["a"], attempt, lambda k, e: Item(k, e), core._deadline(None))


def test_timeouts_are_validated() -> None:
    with pytest.raises(ValueError, match="retry_backoff_ms"):
        AdminCore(
            cast(ClusterClient, _FakeClient()),
            owns_client=False,
            default_api_timeout_ms=1,
            retry_backoff_ms=0,
            retry_backoff_max_ms=1,
            check_topic_config_keys=True,
        )


async def test_invalid_items_are_rejected_without_any_request() -> None:
    from kafkaio.admin import Admin, AlterConfigOp, ConfigResource, NewTopic

    # Never bootstrapped: any request would fail, so these results prove nothing was sent.
    admin = Admin(bootstrap_servers="127.0.0.1:1")
    results = await admin.create_topics(
        [NewTopic("bad name"), NewTopic("t", num_partitions=0), NewTopic("u", configs={"x.y": 1})]
    )
    assert [type(r.error).__name__ for r in results.values()] == [
        "InvalidTopicError",
        "InvalidPartitionsError",
        "InvalidConfigError",
    ]
    altered = await admin.incremental_alter_configs(
        {ConfigResource.topic("t"): [AlterConfigOp("retention.ms", None)]}
    )
    assert type(altered[ConfigResource.topic("t")].error).__name__ == "InvalidConfigError"
    with pytest.raises(TypeError, match="NewTopic"):
        await admin.create_topics(["t"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="cannot be combined"):
        Admin(client=cast(ClusterClient, _FakeClient()), request_timeout_ms=5)
    await admin.close()
