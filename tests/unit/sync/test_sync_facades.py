"""The sync facades without a broker: bad options, failed bootstrap, no leaked threads,
and the generated admin wrappers matching the asyncio Admin."""

from __future__ import annotations

import inspect
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import kafkaio
from kafkaio.errors import KafkaConnectionError
from kafkaio.sync import Admin, Consumer, ConsumerRebalanceListener, Producer
from kafkaio.sync.admin_base import AdminBase

REPO = Path(__file__).resolve().parents[3]
UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1: connection refused at once


def sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("kafkaio-sync")]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Any:
    before = set(sync_threads())
    yield
    assert set(sync_threads()) <= before


@pytest.mark.parametrize("cls", [Producer, Consumer, Admin])
def test_failed_bootstrap_raises_and_stops_the_thread(cls: Any) -> None:
    with pytest.raises(KafkaConnectionError, match=r"127\.0\.0\.1:1"):
        cls(bootstrap_servers=UNREACHABLE)


def test_bad_options_raise_at_construction() -> None:
    with pytest.raises(ValueError, match="linger_ms"):
        Producer(bootstrap_servers=UNREACHABLE, linger_ms=-1)
    with pytest.raises(TypeError, match="bogus"):
        Consumer(bootstrap_servers=UNREACHABLE, bogus=1)
    with pytest.raises(ValueError, match="max_pending_sends"):
        Producer(bootstrap_servers=UNREACHABLE, max_pending_sends=0)
    with pytest.raises(TypeError, match="value_serializer"):
        Producer(bootstrap_servers=UNREACHABLE, value_serializer="json")


def test_the_sync_listener_defaults_lost_to_revoked() -> None:
    seen: list[frozenset[kafkaio.TopicPartition]] = []

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked: frozenset[kafkaio.TopicPartition]) -> None:
            seen.append(revoked)

    lost = frozenset({kafkaio.TopicPartition("t", 0)})
    Listener().on_partitions_lost(lost)
    assert seen == [lost]


def test_sync_admin_has_every_async_operation_with_its_parameters() -> None:
    async_ops = {
        name
        for name, fn in inspect.getmembers(kafkaio.Admin, inspect.iscoroutinefunction)
        if not name.startswith("_")
    } - {"start", "close"}
    sync_ops = {
        name
        for name, fn in inspect.getmembers(Admin, inspect.isfunction)
        if not name.startswith("_") and name not in vars(AdminBase)
    }
    assert async_ops == sync_ops
    assert len(sync_ops) > 40
    for name in sorted(async_ops):
        async_params = list(inspect.signature(getattr(kafkaio.Admin, name)).parameters.values())
        sync_params = list(inspect.signature(getattr(Admin, name)).parameters.values())
        assert sync_params[-1].name == "timeout", name
        assert sync_params[-1].kind is inspect.Parameter.KEYWORD_ONLY
        assert sync_params[:-1] == async_params, name
        assert inspect.signature(getattr(Admin, name)).return_annotation == (
            inspect.signature(getattr(kafkaio.Admin, name)).return_annotation
        )


def test_generated_admin_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "generate_sync_admin.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
