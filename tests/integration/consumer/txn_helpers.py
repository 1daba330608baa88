"""A minimal transactional writer over raw requests (the producer has no transactions yet):
writes one transaction of records to a partition and commits or aborts it."""

from __future__ import annotations

import asyncio

from kafkaio.cluster import ClusterClient, ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.errors import RetriableError, raise_for_code
from kafkaio.protocol.messages import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
)
from kafkaio.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnTopic
from kafkaio.protocol.messages.produce import PartitionProduceData, TopicProduceData
from kafkaio.records import RecordBatchBuilder

# Transaction protocol v1 (explicit AddPartitionsToTxn): versions below KIP-890's.
ADD_PARTITIONS_VERSION = 3
END_TXN_VERSION = 4
PRODUCE_VERSION = 11


class TransactionalWriter:
    """One transactional id; each :meth:`transaction` is a whole transaction on ``tp``."""

    def __init__(self, client: ClusterClient, transactional_id: str) -> None:
        self.client = client
        self.transactional_id = transactional_id
        self.producer_id = -1
        self.epoch = -1
        self.sequences: dict[TopicPartition, int] = {}

    async def _coordinator_send(self, request: object, version: int | None = None) -> object:
        for _ in range(200):
            try:
                node = await self.client.coordinator_lookup(
                    CoordinationType.TRANSACTION, self.transactional_id
                )
                break
            except RetriableError:  # the transaction state topic is still being created
                self.client.invalidate_coordinator(
                    CoordinationType.TRANSACTION, self.transactional_id
                )
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("no transaction coordinator")
        return await self.client.send(
            node,
            request,
            group=ConnectionGroup.COORDINATION,
            version=version,  # type: ignore[arg-type]
        )

    async def init(self) -> None:
        for _ in range(100):
            response = await self._coordinator_send(
                InitProducerIdRequest(
                    transactional_id=self.transactional_id, transaction_timeout_ms=60_000
                ),
                version=4,
            )
            assert isinstance(response, InitProducerIdResponse)
            if response.error_code in (14, 15, 16, 51):  # loading / moved / concurrent txns
                await asyncio.sleep(0.2)
                continue
            raise_for_code(response.error_code)
            self.producer_id, self.epoch = response.producer_id, response.producer_epoch
            return
        raise AssertionError("InitProducerId kept failing")

    async def transaction(self, tp: TopicPartition, values: list[bytes], *, commit: bool) -> None:
        add = AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=self.transactional_id,
            v3_and_below_producer_id=self.producer_id,
            v3_and_below_producer_epoch=self.epoch,
            v3_and_below_topics=[AddPartitionsToTxnTopic(name=tp.topic, partitions=[tp.partition])],
        )
        for _ in range(100):
            response = await self._coordinator_send(add, ADD_PARTITIONS_VERSION)
            assert isinstance(response, AddPartitionsToTxnResponse)
            codes = [
                r.partition_error_code
                for t in response.results_by_topic_v3_and_below
                for r in t.results_by_partition
            ]
            if any(c in (51, 14) for c in codes):  # CONCURRENT_TRANSACTIONS: previous ending
                await asyncio.sleep(0.05)
                continue
            for code in codes:
                raise_for_code(code)
            break
        sequence = self.sequences.get(tp, 0)
        builder = RecordBatchBuilder(
            producer_id=self.producer_id,
            producer_epoch=self.epoch,
            base_sequence=sequence,
            is_transactional=True,
        )
        for value in values:
            builder.append(None, None, value)
        self.sequences[tp] = sequence + len(values)
        leader = self.client.leader_for(tp)
        assert leader is not None
        produced = await self.client.send(
            leader,
            ProduceRequest(
                transactional_id=self.transactional_id,
                acks=-1,
                timeout_ms=10_000,
                topic_data=[
                    TopicProduceData(
                        name=tp.topic,
                        partition_data=[
                            PartitionProduceData(index=tp.partition, records=builder.build())
                        ],
                    )
                ],
            ),
            version=PRODUCE_VERSION,
        )
        assert isinstance(produced, ProduceResponse)
        raise_for_code(produced.responses[0].partition_responses[0].error_code)
        end = await self._coordinator_send(
            EndTxnRequest(
                transactional_id=self.transactional_id,
                producer_id=self.producer_id,
                producer_epoch=self.epoch,
                committed=commit,
            ),
            END_TXN_VERSION,
        )
        assert isinstance(end, EndTxnResponse)
        raise_for_code(end.error_code)
