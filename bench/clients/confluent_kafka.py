"""confluent-kafka (PyPI wheel with its bundled librdkafka)."""

from __future__ import annotations

import importlib
import time
import uuid
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


def _ck() -> Any:
    try:
        return importlib.import_module("confluent_kafka")
    except ImportError as exc:
        raise Unavailable(f"confluent-kafka is not installed: {exc}") from exc


def _producer(mod: Any, spec: RunSpec, failures: list[str]) -> Any:
    w = spec.workload

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None and len(failures) < 10:
            failures.append(str(err))

    return mod.Producer(
        {
            # Delivery reports for failures only: no per-record callback on success.
            "delivery.report.only.error": True,
            "on_delivery": on_delivery,
            "bootstrap.servers": spec.bootstrap_servers,
            "acks": "all" if w.acks == "all" else "1",
            "enable.idempotence": w.acks == "all",
            "compression.type": w.compression,
            "linger.ms": spec.linger_ms,
            "batch.size": spec.batch_size,
        }
    )


def _consumer(mod: Any, spec: RunSpec, reset: str) -> tuple[Any, list[Any]]:
    consumer = mod.Consumer(
        {
            "bootstrap.servers": spec.bootstrap_servers,
            # librdkafka needs a group id even for assign(); nothing is committed.
            "group.id": f"bench-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "auto.offset.reset": reset,
            # Once queued.min.messages (100,000) are buffered, librdkafka's default waits a
            # full second before fetching again; with small records that, not the client,
            # would set the pace.
            "fetch.queue.backoff.ms": 10,
        }
    )
    offset = mod.OFFSET_BEGINNING if reset == "earliest" else mod.OFFSET_END
    parts = [mod.TopicPartition(spec.topic, p, offset) for p in range(spec.workload.partitions)]
    return consumer, parts


def _produce(spec: RunSpec) -> dict[str, Any]:
    mod = _ck()
    w = spec.workload
    failures: list[str] = []
    producer = _producer(mod, spec, failures)

    vals = values(w.value_size)
    k = len(vals)
    n = w.records
    topic = spec.topic
    started = time.monotonic()
    producer.list_topics(topic, timeout=10)  # metadata outside the measured window
    window = Window()
    produce = producer.produce
    poll = producer.poll
    for i in range(n):
        while True:
            try:
                produce(topic, vals[i % k])
                break
            except BufferError:
                poll(0.005)  # the local queue is full: serve delivery reports
                check_deadline(started, spec, "produce")
        if i % 1000 == 0:
            poll(0)
            if i % 20_000 == 0:
                check_deadline(started, spec, "produce")
    remaining = producer.flush(spec.deadline_s)
    window.stop()
    if remaining:
        raise TimeoutError(f"{remaining} records still unacknowledged after flush()")
    if failures:
        raise RuntimeError(f"delivery failed: {failures}")
    return throughput_result(n, n * w.value_size, window)


def _consume(spec: RunSpec) -> dict[str, Any]:
    mod = _ck()
    w = spec.workload
    consumer, parts = _consumer(mod, spec, "earliest")
    started = time.monotonic()
    try:
        consumer.assign(parts)
        meter = ConsumeMeter(w.records)
        consume = consumer.consume
        while not meter.done:
            check_deadline(started, spec, "consume")
            count = nbytes = 0
            for msg in consume(num_messages=meter.next_batch(), timeout=1.0):
                if msg.error() is None:
                    count += 1
                    nbytes += len(msg.value())
            meter.add(count, nbytes)
        return meter.result()
    finally:
        consumer.close()


def _latency(spec: RunSpec) -> dict[str, Any]:
    mod = _ck()
    failures: list[str] = []
    producer = _producer(mod, spec, failures)
    consumer, parts = _consumer(mod, spec, "latest")
    try:
        consumer.assign(parts)
        topic = spec.topic
        produce = producer.produce

        def send(value: bytes) -> None:
            while True:
                try:
                    produce(topic, value)
                    return
                except BufferError:
                    producer.poll(0.005)

        def poll() -> list[bytes | None]:
            # consume(n, timeout) waits for n records or the timeout; poll() returns as
            # soon as one record is there, which is what a latency measurement needs.
            msg = consumer.poll(POLL_TIMEOUT_S)
            if msg is None or msg.error() is not None:
                return []
            return [msg.value()]

        result = latency_threaded(spec, send, poll, service=lambda: producer.poll(0))
        if failures:
            raise RuntimeError(f"delivery failed: {failures}")
        return result
    finally:
        producer.flush(10)
        consumer.close()


def run(spec: RunSpec) -> dict[str, Any]:
    kind = spec.workload.kind
    result = {"produce": _produce, "consume": _consume, "latency": _latency}[kind](spec)
    mod = _ck()
    result["version"] = f"{mod.version()[0]} (librdkafka {mod.libversion()[0]})"
    return result
