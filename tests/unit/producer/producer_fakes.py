"""An in-memory stand-in for the cluster client with brokers that check idempotence the way
Kafka does (per producer id, epoch and sequence), and hooks to inject failures."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafkaio.cluster import PartitionMetadata, TopicMetadata, TopicPartition
from kafkaio.errors import KafkaError
from kafkaio.producer import Producer
from kafkaio.producer.sender import Sender
from kafkaio.protocol.messages import (
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
)
from kafkaio.protocol.messages.produce import PartitionProduceResponse, TopicProduceResponse
from kafkaio.records import iter_batches

NONE, OUT_OF_ORDER, DUPLICATE, INVALID_EPOCH = 0, 45, 46, 47


@dataclass
class PartitionLog:
    records: list[tuple[bytes | None, bytes | None]] = field(default_factory=list)
    producer_epoch: int = -1
    producer_id: int = -1
    next_seq: int = 0
    recent: list[tuple[int, int, int]] = field(default_factory=list)  # (seq, count, offset)


# A fault: (node, tp, request) -> error code to answer instead of appending, an exception
# to raise for the whole request, "append+timeout" (written, then the request times out),
# or None for normal handling.
Fault = Callable[[int, TopicPartition, ProduceRequest], Any]


class FakeMetadata:
    def __init__(self, owner: FakeCluster) -> None:
        self._owner = owner

    def topic(self, name: str) -> TopicMetadata | None:
        count = self._owner.topics.get(name)
        if count is None:
            return None
        cached = self._owner.topic_meta.get(name)
        if cached is None or len(cached.partitions) != count:
            parts = {
                p: PartitionMetadata(
                    name, p, self._owner.leaders.get(TopicPartition(name, p)), 0, (), ()
                )
                for p in range(count)
            }
            cached = self._owner.topic_meta[name] = TopicMetadata(name, None, False, parts)
        return cached

    def topic_id(self, name: str) -> None:
        return None

    def topic_name(self, topic_id: object) -> None:
        return None

    unauthorized_topics = frozenset[str]()
    invalid_topics = frozenset[str]()


class FakeCluster:
    def __init__(self, topics: dict[str, int], nodes: int = 1, acks: int = -1) -> None:
        self.topics = topics
        self.topic_meta: dict[str, TopicMetadata] = {}
        self.leaders = {
            TopicPartition(t, p): p % nodes + 1 for t, n in topics.items() for p in range(n)
        }
        self.logs: dict[TopicPartition, PartitionLog] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[int, ProduceRequest]] = []
        self.metadata_updates = 0
        self.producer_ids = itertools.count(1000)
        self.cluster = FakeMetadata(self)
        self.delay = 0.0
        self.max_message_bytes: int | None = None

    def leader_for(self, tp: TopicPartition) -> int | None:
        return self.leaders.get(tp)

    async def api_version_for(self, node: int, request_type: type) -> int:
        return 12

    def force_metadata_update(self) -> asyncio.Future[bool]:
        self.metadata_updates += 1
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        fut.set_result(True)
        return fut

    def add_topic(self, topic: str) -> asyncio.Future[bool]:
        return self.force_metadata_update()

    def least_loaded_node(self) -> int:
        return 1

    async def close(self) -> None:
        return None

    async def send(self, node: int, request: Any, *, version: int | None = None) -> Any:
        if isinstance(request, InitProducerIdRequest):
            return InitProducerIdResponse(producer_id=next(self.producer_ids), producer_epoch=0)
        assert isinstance(request, ProduceRequest)
        self.requests.append((node, request))
        if self.delay:
            await asyncio.sleep(self.delay)
        else:
            await asyncio.sleep(0)
        raise_after: BaseException | None = None
        topics = []
        for topic in request.topic_data:
            parts = []
            for pdata in topic.partition_data:
                tp = TopicPartition(topic.name, pdata.index)
                action = None
                for fault in self.faults:
                    action = fault(node, tp, request)
                    if action is not None:
                        break
                if isinstance(action, BaseException):
                    raise action
                if action == "append+timeout":
                    self._append(tp, pdata.records or b"")
                    raise_after = KafkaError("simulated: response lost after the append")
                    continue
                if self.leaders.get(tp) != node:
                    code, offset = 6, -1  # NOT_LEADER_OR_FOLLOWER
                elif isinstance(action, int):
                    code, offset = action, -1
                elif (
                    self.max_message_bytes is not None
                    and len(pdata.records or b"") > self.max_message_bytes
                ):
                    code, offset = 10, -1  # MESSAGE_TOO_LARGE
                else:
                    code, offset = self._append(tp, pdata.records or b"")
                parts.append(
                    PartitionProduceResponse(index=pdata.index, error_code=code, base_offset=offset)
                )
            topics.append(TopicProduceResponse(name=topic.name, partition_responses=parts))
        if raise_after is not None:
            from kafkaio.errors import RequestTimedOutError

            raise RequestTimedOutError("simulated timeout")
        if request.acks == 0:
            return None
        return ProduceResponse(responses=topics)

    def _append(self, tp: TopicPartition, data: bytes) -> tuple[int, int]:
        log = self.logs.setdefault(tp, PartitionLog())
        batch = next(iter(iter_batches(data)))
        records = [(r.key, r.value) for r in batch.records()]
        pid, epoch, seq = batch.producer_id, batch.producer_epoch, batch.base_sequence
        if pid >= 0:
            if pid == log.producer_id and epoch < log.producer_epoch:
                return INVALID_EPOCH, -1
            if pid != log.producer_id:
                # Like Kafka: a producer the partition holds no state for may start at any
                # sequence (its state may have been removed with old segments).
                log.producer_id, log.producer_epoch, log.next_seq, log.recent = pid, epoch, seq, []
            elif epoch > log.producer_epoch:
                if seq != 0:
                    return OUT_OF_ORDER, -1
                log.producer_epoch, log.next_seq, log.recent = epoch, 0, []
            for rseq, count, offset in log.recent:
                if rseq == seq and count == len(records):
                    return NONE, offset  # a duplicate of a recent batch: its original offset
            if seq != log.next_seq:
                return OUT_OF_ORDER, -1
            log.next_seq = seq + len(records)
            log.recent = [*log.recent[-4:], (seq, len(records), len(log.records))]
        offset = len(log.records)
        log.records.extend(records)
        return NONE, offset


def attach(producer: Producer, fake: FakeCluster) -> Producer:
    """Point a not-yet-started producer at ``fake`` and start its sender."""
    producer._cluster = fake  # type: ignore[assignment]
    producer._sender = Sender(fake, producer._accumulator, producer._options, producer._metrics)  # type: ignore[arg-type]
    producer._sender.start()
    producer._started = True
    producer._usable = True
    producer._loop = asyncio.get_running_loop()
    return producer
