"""aiokafka (PyPI), with its C extensions as installed."""

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


def _aiokafka() -> Any:
    try:
        return importlib.import_module("aiokafka")
    except ImportError as exc:
        raise Unavailable(f"aiokafka is not installed: {exc}") from exc


def _producer(mod: Any, spec: RunSpec) -> Any:
    w = spec.workload
    return mod.AIOKafkaProducer(
        bootstrap_servers=spec.bootstrap_servers,
        acks="all" if w.acks == "all" else 1,
        enable_idempotence=w.acks == "all",
        compression_type=None if w.compression == "none" else w.compression,
        linger_ms=spec.linger_ms,
        max_batch_size=spec.batch_size,
    )


def _consumer(mod: Any, spec: RunSpec, reset: str) -> tuple[Any, list[Any]]:
    consumer = mod.AIOKafkaConsumer(
        bootstrap_servers=spec.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset=reset,
    )
    parts = [mod.TopicPartition(spec.topic, p) for p in range(spec.workload.partitions)]
    return consumer, parts


async def _produce(spec: RunSpec) -> dict[str, Any]:
    mod = _aiokafka()
    w = spec.workload
    producer = _producer(mod, spec)
    vals = values(w.value_size)
    k = len(vals)
    n = w.records
    started = time.monotonic()
    await producer.start()
    try:
        await producer.partitions_for(spec.topic)
        window = Window()
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
        return throughput_result(n, n * w.value_size, window)
    finally:
        await producer.stop()


async def _consume(spec: RunSpec) -> dict[str, Any]:
    mod = _aiokafka()
    w = spec.workload
    consumer, parts = _consumer(mod, spec, "earliest")
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
    mod = _aiokafka()
    producer = _producer(mod, spec)
    consumer, parts = _consumer(mod, spec, "latest")
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
    kind = spec.workload.kind
    coro = {"produce": _produce, "consume": _consume, "latency": _latency}[kind](spec)
    result = asyncio.run(coro)
    result["version"] = str(_aiokafka().__version__)
    return result
