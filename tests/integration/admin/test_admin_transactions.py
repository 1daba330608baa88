"""Transactions and producers against a real broker (a transaction opened by hand)."""

from __future__ import annotations

import re

import pytest
from admin_helpers import create_topic, eventually, open_transaction, produce

from kafkaio.admin import AbortTransactionSpec, Admin, NewTopic, OffsetSpec, TopicPartition
from kafkaio.admin.types import IsolationLevel
from kafkaio.errors import TransactionalIdNotFoundError, UnknownTopicOrPartitionError

pytestmark = pytest.mark.kafka


async def test_list_describe_and_fence_transactions(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    tp = TopicPartition(topic_name, 0)
    await produce(admin, tp, [b"before"])
    tid = f"{topic_name}-txn"
    pid, epoch = await open_transaction(admin, tid, tp)

    listed = await admin.list_transactions(states=["Ongoing"])
    assert listed.errors == {}
    assert any(t.transactional_id == tid and t.producer_id == pid for t in listed.transactions)
    by_pid = await admin.list_transactions(producer_ids=[pid])
    assert [t.transactional_id for t in by_pid.transactions] == [tid]
    by_pattern = await admin.list_transactions(
        transactional_id_pattern=re.escape(topic_name) + "-t.*"
    )
    assert [t.transactional_id for t in by_pattern.transactions] == [tid]

    described = await admin.describe_transactions([tid, f"{topic_name}-unknown"])
    d = described[tid]
    assert d.error is None
    assert d.state == "Ongoing" and d.producer_id == pid and d.producer_epoch == epoch
    assert d.partitions == (tp,) and d.start_time_ms is not None and d.timeout_ms == 60_000
    assert isinstance(described[f"{topic_name}-unknown"].error, TransactionalIdNotFoundError)

    producers = await admin.describe_producers([tp, TopicPartition(f"{topic_name}-nope", 0)])
    (state,) = [s for s in producers[tp].producers if s.producer_id == pid]
    assert state.current_txn_start_offset == 1 and state.producer_epoch == epoch
    assert isinstance(
        producers[TopicPartition(f"{topic_name}-nope", 0)].error, UnknownTopicOrPartitionError
    )
    stable = await admin.list_offsets(
        {tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED
    )
    assert stable[tp].offset == 1  # the open transaction holds the last stable offset

    fenced = await admin.fence_producers([tid])
    assert fenced[tid].error is None
    new_epoch = fenced[tid].producer_epoch
    assert fenced[tid].producer_id == pid and new_epoch is not None and new_epoch > epoch

    async def aborted() -> None:
        after = (await admin.describe_transactions([tid]))[tid]
        assert after.state in ("CompleteAbort", "Empty")
        assert after.producer_epoch > epoch
        lso = await admin.list_offsets(
            {tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED
        )
        offset = lso[tp].offset
        assert offset is not None and offset >= 2

    await eventually(aborted)


async def test_abort_hanging_transaction(admin: Admin, topic_name: str) -> None:
    await create_topic(admin, NewTopic(topic_name, 1, 1))
    tp = TopicPartition(topic_name, 0)
    tid = f"{topic_name}-txn"
    pid, epoch = await open_transaction(admin, tid, tp)
    (state,) = [
        s for s in (await admin.describe_producers([tp]))[tp].producers if s.producer_id == pid
    ]
    assert state.current_txn_start_offset == 0
    spec = AbortTransactionSpec(tp, pid, epoch, state.coordinator_epoch or 0)
    result = await admin.abort_transaction(spec)
    result.raise_on_error()

    async def closed() -> None:
        (after,) = [
            s for s in (await admin.describe_producers([tp]))[tp].producers if s.producer_id == pid
        ]
        assert after.current_txn_start_offset is None
        lso = await admin.list_offsets(
            {tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED
        )
        assert lso[tp].offset == 2  # the record and the abort marker

    await eventually(closed)
