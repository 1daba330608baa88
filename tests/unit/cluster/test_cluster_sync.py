"""The background metadata synchronizer."""

from __future__ import annotations

import asyncio

import pytest

from kafkaio.cluster.sync import MetadataSynchronizer
from kafkaio.errors import KafkaConnectionError


class Updates:
    def __init__(self, results: list[bool] | None = None, delay: float = 0.0) -> None:
        self.calls = 0
        self.results = results or []
        self.delay = delay
        self.topics_version = 0
        self.bump_on_call: int | None = None
        self.starts: list[float] = []

    async def __call__(self) -> bool:
        self.calls += 1
        self.starts.append(asyncio.get_running_loop().time())
        if self.bump_on_call == self.calls:
            self.topics_version += 1
        await asyncio.sleep(self.delay)
        return self.results.pop(0) if self.results else True


def make(updates: Updates, max_age_ms: int = 60_000, backoff_ms: int = 10) -> MetadataSynchronizer:
    return MetadataSynchronizer(
        updates,
        lambda: updates.topics_version,
        max_age_ms=max_age_ms,
        retry_backoff_ms=backoff_ms,
        retry_backoff_max_ms=backoff_ms * 4,
    )


async def test_force_resolves_after_a_refresh() -> None:
    updates = Updates()
    sync = make(updates)
    sync.start()
    try:
        assert await asyncio.wait_for(sync.force(), 1) is True
        assert updates.calls == 1
        # Two forces before the task runs share one refresh.
        f1, f2 = sync.force(), sync.force()
        assert list(await asyncio.gather(f1, f2)) == [True, True]
        assert updates.calls == 2
    finally:
        await sync.stop()


async def test_periodic_refresh_every_max_age() -> None:
    updates = Updates()
    sync = make(updates, max_age_ms=30)
    sync.start()
    await asyncio.sleep(0.3)
    await sync.stop()
    assert 2 <= updates.calls <= 12


async def test_force_during_refresh_waits_for_a_fresh_one() -> None:
    updates = Updates(delay=0.05)
    sync = make(updates)
    sync.start()
    try:
        first = sync.force()
        await asyncio.sleep(0.02)  # the first refresh is now in flight
        forced_at = asyncio.get_running_loop().time()
        second = sync.force()
        assert await asyncio.wait_for(first, 1) is True
        assert await asyncio.wait_for(second, 1) is True
        assert updates.calls == 2
        assert updates.starts[0] < forced_at <= updates.starts[1]
    finally:
        await sync.stop()


async def test_topics_changed_mid_refresh_refreshes_again_before_resolving() -> None:
    updates = Updates(delay=0.01)
    updates.bump_on_call = 1
    sync = make(updates)
    sync.start()
    try:
        assert await asyncio.wait_for(sync.force(), 1) is True
        assert updates.calls == 2
    finally:
        await sync.stop()


async def test_failures_are_retried_with_backoff_and_reported() -> None:
    updates = Updates(results=[False, False, False])
    sync = make(updates, max_age_ms=60_000, backoff_ms=10)
    sync.start()
    try:
        assert await asyncio.wait_for(sync.force(), 1) is False
        # Retries happen after the back-off, not after max_age.
        await asyncio.sleep(0.15)
        assert updates.calls >= 4
    finally:
        await sync.stop()


async def test_stop_fails_waiters() -> None:
    updates = Updates(delay=10)
    sync = make(updates)
    sync.start()
    fut = sync.force()
    await asyncio.sleep(0.01)
    await sync.stop()
    with pytest.raises(KafkaConnectionError):
        await fut
