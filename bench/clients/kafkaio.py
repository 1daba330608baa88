"""kafkaio (from this repository's ``src``): per-record ``send`` and the batch call."""

from __future__ import annotations

import asyncio
import importlib
import time
from typing import Any

from bench.clients import (
    POLL_TIMEOUT_S,
    ConsumeMeter,
    Unavailable,
    Window,
    check_deadline,
    latency_async,
    throughput_result,
)
from bench.payload import values
from bench.workloads import RunSpec

BATCH_CALL_RECORDS = 1000
"""Records per ``send_batch`` call."""


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Unavailable(f"{name} cannot be imported: {exc}") from exc


def version() -> str:
    return str(getattr(_module("kafkaio"), "__version__", "src"))


def _producer(spec: RunSpec) -> Any:
    mod = _module("kafkaio.producer")
    cls = getattr(mod, "Producer", None)
    if cls is None:
        raise Unavailable("kafkaio.producer has no Producer yet")
    w = spec.workload
    return cls(
        bootstrap_servers=spec.bootstrap_servers,
        acks="all" if w.acks == "all" else 1,
        enable_idempotence=w.acks == "all",
        compression_type=w.compression,
        linger_ms=spec.linger_ms,
        batch_size=spec.batch_size,
    )


def _consumer(spec: RunSpec, reset: str) -> tuple[Any, list[Any]]:
    mod = _module("kafkaio.consumer")
    cls = getattr(mod, "Consumer", None)
    tp_cls = getattr(mod, "TopicPartition", None)
    if cls is None or tp_cls is None:
        raise Unavailable("kafkaio.consumer has no Consumer/TopicPartition yet")
    consumer = cls(bootstrap_servers=spec.bootstrap_servers, auto_offset_reset=reset)
    parts = [tp_cls(spec.topic, p) for p in range(spec.workload.partitions)]
    return consumer, parts


async def _produce(spec: RunSpec) -> dict[str, Any]:
    w = spec.workload
    batch = spec.client == "kafkaio-batch"
    producer = _producer(spec)
    if batch and not hasattr(producer, "send_batch"):
        raise Unavailable("kafkaio's Producer has no send_batch yet")
    vals = values(w.value_size)
    k = len(vals)
    n = w.records
    started = time.monotonic()
    await producer.start()
    try:
        if hasattr(producer, "partitions_for"):
            await producer.partitions_for(spec.topic)  # metadata outside the measured window
        window = Window()
        if batch:
            chunk = [vals[i % k] for i in range(BATCH_CALL_RECORDS)]
            futures = []
            send_batch = producer.send_batch
            for start in range(0, n, BATCH_CALL_RECORDS):
                part = chunk if start + BATCH_CALL_RECORDS <= n else chunk[: n - start]
                futures.append(await send_batch(spec.topic, part))
                if len(futures) % 20 == 0:
                    check_deadline(started, spec, "produce")
            await asyncio.wait_for(producer.flush(), spec.deadline_s)
            window.stop()
            await asyncio.gather(*futures)
        else:
            send = producer.send
            topic = spec.topic
            last = None
            for i in range(n):
                last = await send(topic, vals[i % k])
                if i % 20_000 == 0:
                    check_deadline(started, spec, "produce")
            await asyncio.wait_for(producer.flush(), spec.deadline_s)
            window.stop()
            if last is not None:
                await last
        metrics = producer.metrics() if hasattr(producer, "metrics") else {}
        acked = int(metrics.get("records_sent", n))
        if acked < n or metrics.get("record_errors", 0):
            raise RuntimeError(f"only {acked} of {n} records acknowledged: {metrics}")
        return throughput_result(
            n,
            n * w.value_size,
            window,
            records_per_batch=metrics.get("records_per_batch_avg"),
        )
    finally:
        await producer.stop()


async def _consume(spec: RunSpec) -> dict[str, Any]:
    w = spec.workload
    consumer, parts = _consumer(spec, "earliest")
    started = time.monotonic()
    await consumer.start()
    try:
        consumer.assign(parts)
        meter = ConsumeMeter(w.records)
        while not meter.done:
            check_deadline(started, spec, "consume")
            batch = await consumer.getmany(timeout_ms=1000, max_records=meter.next_batch())
            count = nbytes = 0
            for records in batch.values():
                count += len(records)
                for r in records:
                    nbytes += len(r.value)
            meter.add(count, nbytes)
        return meter.result()
    finally:
        await consumer.stop()


async def _latency(spec: RunSpec) -> dict[str, Any]:
    producer = _producer(spec)
    consumer, parts = _consumer(spec, "latest")
    await producer.start()
    try:
        await consumer.start()
        try:
            consumer.assign(parts)
            topic = spec.topic
            send = producer.send
            timeout_ms = int(POLL_TIMEOUT_S * 1000)

            async def poll() -> list[bytes | None]:
                batch = await consumer.getmany(timeout_ms=timeout_ms)
                return [r.value for recs in batch.values() for r in recs]

            async def send_one(value: bytes) -> object:
                return await send(topic, value)

            return await latency_async(spec, send_one, poll)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()


def run(spec: RunSpec) -> dict[str, Any]:
    """Run one workload; raises :class:`Unavailable` if kafkaio lacks the API it needs."""
    kind = spec.workload.kind
    if spec.client == "kafkaio-batch" and kind != "produce":
        raise Unavailable("the batch call is a producer API")
    coro = {"produce": _produce, "consume": _consume, "latency": _latency}[kind](spec)
    result = asyncio.run(coro)
    result["version"] = version()
    return result
