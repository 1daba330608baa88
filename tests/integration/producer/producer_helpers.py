"""Reading a topic back without the consumer: raw Fetch requests through the cluster client."""

from __future__ import annotations

import asyncio

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.protocol.messages import FetchRequest, FetchResponse
from kafkaio.protocol.messages.fetch import FetchPartition, FetchTopic
from kafkaio.records import CompressionType, Record, iter_batches


async def read_partition(
    client: ClusterClient,
    topic: str,
    partition: int,
    expected: int,
    timeout: float = 30.0,
    codecs: set[CompressionType] | None = None,
) -> list[Record]:
    """Every record of ``topic``/``partition`` from offset 0 up to the high watermark, reading
    until at least ``expected`` were seen (the batches' codecs are added to ``codecs``)."""
    await client.partitions_for(topic)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    records: list[Record] = []
    offset = 0
    tp = TopicPartition(topic, partition)
    high_watermark = -1
    while len(records) < expected or offset < high_watermark:
        if loop.time() > deadline:
            raise AssertionError(f"read {len(records)} of {expected} records from {tp}")
        leader = client.leader_for(tp)
        if leader is None:
            await client.force_metadata_update()
            continue
        request = FetchRequest(
            max_wait_ms=200,
            min_bytes=1,
            max_bytes=64 * 1024 * 1024,
            topics=[
                FetchTopic(
                    topic=topic,
                    topic_id=client.cluster.topic_id(topic) or FetchTopic().topic_id,
                    partitions=[
                        FetchPartition(
                            partition=partition, fetch_offset=offset, partition_max_bytes=16 << 20
                        )
                    ],
                )
            ],
        )
        try:
            response = await client.send(leader, request)
        except Exception:
            await asyncio.sleep(0.2)
            await client.force_metadata_update()
            continue
        assert isinstance(response, FetchResponse)
        for topic_response in response.responses:
            for part in topic_response.partitions:
                if part.error_code:
                    await asyncio.sleep(0.1)
                    await client.force_metadata_update()
                    continue
                high_watermark = part.high_watermark
                for batch in iter_batches(part.records or b"", topic=topic, partition=partition):
                    if codecs is not None:
                        codecs.add(batch.compression)
                    if batch.is_control:
                        offset = batch.next_offset
                        continue
                    for record in batch.records():
                        if record.offset >= offset:
                            records.append(record)
                    offset = batch.next_offset
    return records
