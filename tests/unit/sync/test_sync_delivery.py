"""Delivery callbacks of the sync producer: order, thread, errors, barrier, stop."""

from __future__ import annotations

import logging
import threading

import pytest

from kafkaio.producer import RecordMetadata
from kafkaio.records import TimestampType
from kafkaio.sync.delivery import DeliveryThread


def metadata(offset: int) -> RecordMetadata:
    return RecordMetadata("t", 0, offset, 0, TimestampType.CREATE_TIME, -1, 1)


def test_callbacks_run_in_order_on_their_own_thread(caplog: pytest.LogCaptureFixture) -> None:
    delivery = DeliveryThread("test-delivery")
    seen: list[tuple[int | None, str | None, str]] = []

    def callback(md: RecordMetadata | None, error: BaseException | None) -> None:
        seen.append(
            (
                md.offset if md is not None else None,
                str(error) if error is not None else None,
                threading.current_thread().name,
            )
        )
        if md is not None and md.offset == 1:
            raise RuntimeError("callback bug")

    with caplog.at_level(logging.ERROR, logger="kafkaio.sync.delivery"):
        for i in range(5):
            delivery.post(callback, metadata(i), None)
        delivery.post(callback, None, ValueError("failed"))
        assert delivery.barrier(5)
    assert seen == [(i, None, "test-delivery") for i in range(5)] + [
        (None, "failed", "test-delivery")
    ]
    assert "callback bug" in caplog.text  # logged, and the later callbacks still ran
    delivery.stop(5)
    assert not any(t.name == "test-delivery" for t in threading.enumerate())


def test_no_thread_until_the_first_callback_and_barrier_from_a_callback() -> None:
    delivery = DeliveryThread("lazy-delivery")
    assert delivery.barrier(0)  # nothing queued, no thread
    assert not any(t.name == "lazy-delivery" for t in threading.enumerate())
    results: list[bool] = []

    def callback(md: RecordMetadata | None, error: BaseException | None) -> None:
        results.append(delivery.barrier(1))  # must not wait for itself

    delivery.post(callback, metadata(0), None)
    assert delivery.barrier(5)
    assert results == [True]
    delivery.stop(5)
    delivery.stop(5)  # idempotent


def test_stop_runs_what_was_queued() -> None:
    delivery = DeliveryThread("draining-delivery")
    gate = threading.Event()
    seen: list[int] = []

    def slow(md: RecordMetadata | None, error: BaseException | None) -> None:
        gate.wait(5)
        assert md is not None
        seen.append(md.offset)

    for i in range(3):
        delivery.post(slow, metadata(i), None)
    gate.set()
    delivery.stop(5)
    assert seen == [0, 1, 2]
