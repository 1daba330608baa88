"""kafka-python (PyPI), pure Python with its own I/O thread."""

from __future__ import annotations

import importlib
import time
from typing import Any

from bench.clients import (
    POLL_TIMEOUT_S,
    ConsumeMeter,
    Unavailable,
    Window,
    check_deadline,
    latency_threaded,
    throughput_result,
)
from bench.payload import values
from bench.workloads import RunSpec


def _kafka() -> Any:
    try:
        return importlib.import_module("kafka")
    except ImportError as exc:
        raise Unavailable(f"kafka-python is not installed: {exc}") from exc


def _producer(mod: Any, spec: RunSpec) -> Any:
    w = spec.workload
    return mod.KafkaProducer(
        bootstrap_servers=spec.bootstrap_servers,
        acks="all" if w.acks == "all" else 1,
        enable_idempotence=w.acks == "all",
        compression_type=None if w.compression == "none" else w.compression,
        linger_ms=spec.linger_ms,
        batch_size=spec.batch_size,
    )


def _consumer(mod: Any, spec: RunSpec, reset: str) -> tuple[Any, list[Any]]:
    consumer = mod.KafkaConsumer(
        bootstrap_servers=spec.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset=reset,
    )
    parts = [mod.TopicPartition(spec.topic, p) for p in range(spec.workload.partitions)]
    return consumer, parts


def _produce(spec: RunSpec) -> dict[str, Any]:
    mod = _kafka()
    w = spec.workload
    producer = _producer(mod, spec)
    vals = values(w.value_size)
    k = len(vals)
    n = w.records
    topic = spec.topic
    started = time.monotonic()
    try:
        producer.partitions_for(topic)
        window = Window()
        send = producer.send
        last = None
        for i in range(n):
            last = send(topic, vals[i % k])
            if i % 20_000 == 0:
                check_deadline(started, spec, "produce")
        producer.flush(timeout=spec.deadline_s)
        window.stop()
        if last is not None:
            last.get(timeout=10)
        return throughput_result(n, n * w.value_size, window)
    finally:
        producer.close(timeout=10)


def _consume(spec: RunSpec) -> dict[str, Any]:
    mod = _kafka()
    w = spec.workload
    consumer, parts = _consumer(mod, spec, "earliest")
    started = time.monotonic()
    try:
        consumer.assign(parts)
        meter = ConsumeMeter(w.records)
        while not meter.done:
            check_deadline(started, spec, "consume")
            batch = consumer.poll(timeout_ms=1000, max_records=meter.next_batch())
            count = nbytes = 0
            for records in batch.values():
                count += len(records)
                for r in records:
                    nbytes += len(r.value)
            meter.add(count, nbytes)
        return meter.result()
    finally:
        consumer.close()


def _latency(spec: RunSpec) -> dict[str, Any]:
    mod = _kafka()
    producer = _producer(mod, spec)
    consumer, parts = _consumer(mod, spec, "latest")
    try:
        consumer.assign(parts)
        topic = spec.topic
        send = producer.send
        timeout_ms = int(POLL_TIMEOUT_S * 1000)

        def poll() -> list[bytes | None]:
            batch = consumer.poll(timeout_ms=timeout_ms)
            return [r.value for recs in batch.values() for r in recs]

        return latency_threaded(spec, lambda v: send(topic, v), poll)
    finally:
        producer.close(timeout=10)
        consumer.close()


def run(spec: RunSpec) -> dict[str, Any]:
    kind = spec.workload.kind
    result = {"produce": _produce, "consume": _consume, "latency": _latency}[kind](spec)
    result["version"] = str(_kafka().__version__)
    return result
