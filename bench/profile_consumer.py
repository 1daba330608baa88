"""Consumer throughput probe: kafkaio vs aiokafka on one topic, plus a cProfile of kafkaio.

Usage (broker from ``python -m kafkaio.testing start --detach --dir DIR``)::

    .venv/bin/python -m bench.profile_consumer produce --bootstrap HOST:PORT
    .venv/bin/python -m bench.profile_consumer compare --bootstrap HOST:PORT \\
        --peer-python /tmp/bench-venv/bin/python --runs 3
    .venv/bin/python -m bench.profile_consumer consume --bootstrap HOST:PORT --profile

``compare`` runs each client in its own process, interleaved, and prints the median
records/s (consume window: first ``getmany`` call to the last record) and the process CPU
seconds of that window. ``consume`` is the child mode; it only imports the client it runs,
so it also works under a peer interpreter that has aiokafka but not kafkaio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

TOPIC = "perf-consume"
PARTITIONS = 4
RECORDS = 500_000
VALUE_SIZE = 100


async def _produce(bootstrap: str, topic: str, records: int, value_size: int) -> None:
    from kafkaio.admin import Admin, NewTopic
    from kafkaio.producer import Producer

    admin = Admin(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = Producer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        value = b"x" * value_size
        for _ in range(records):
            await producer.send(topic, value)
        await producer.flush()
    finally:
        await producer.stop()


async def _consume_kafkaio(bootstrap: str, topic: str, records: int) -> tuple[int, float, float]:
    from kafkaio.consumer import Consumer, TopicPartition

    consumer = Consumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        return await _loop(consumer, records)
    finally:
        await consumer.stop()


async def _consume_aiokafka(bootstrap: str, topic: str, records: int) -> tuple[int, float, float]:
    import aiokafka

    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([aiokafka.TopicPartition(topic, p) for p in range(PARTITIONS)])
        return await _loop(consumer, records)
    finally:
        await consumer.stop()


async def _loop(consumer: Any, records: int) -> tuple[int, float, float]:
    seen = nbytes = 0
    t0 = c0 = 0.0
    while seen < records:
        batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
        if not t0:
            t0, c0 = time.perf_counter(), time.process_time()
        for recs in batch.values():
            seen += len(recs)
            for r in recs:
                nbytes += len(r.value)
    return seen, time.perf_counter() - t0, time.process_time() - c0


def _child(args: argparse.Namespace) -> None:
    run = _consume_kafkaio if args.client == "kafkaio" else _consume_aiokafka
    coro = run(args.bootstrap, args.topic, args.records)
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        seen, wall, cpu = asyncio.run(coro)
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    else:
        seen, wall, cpu = asyncio.run(coro)
    print(json.dumps({"records": seen, "wall": wall, "cpu": cpu, "rate": seen / wall}))


def _compare(args: argparse.Namespace) -> None:
    clients: list[tuple[str, str, dict[str, str]]] = [("kafkaio", sys.executable, {})]
    if args.peer_python:
        clients.append(("aiokafka", args.peer_python, {}))
        clients.append(("aiokafka-pure", args.peer_python, {"AIOKAFKA_NO_EXTENSIONS": "1"}))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in clients}
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for _ in range(args.runs):
        for name, python, extra in clients:
            env = {**os.environ, **extra}
            cmd = [python, os.path.abspath(__file__), "consume", "--bootstrap", args.bootstrap]
            cmd += ["--topic", args.topic, "--records", str(args.records)]
            cmd += ["--client", "kafkaio" if name == "kafkaio" else "aiokafka"]
            out = subprocess.run(cmd, env=env, cwd=here, capture_output=True, text=True, check=True)
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for name, runs in results.items():
        rate = statistics.median(r["rate"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        rates = ", ".join(f"{r['rate']:.0f}" for r in runs)
        print(f"{name:14s} median {rate:9.0f} rec/s  cpu {cpu:.2f} s   runs: {rates}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["produce", "consume", "compare"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--client", choices=["kafkaio", "aiokafka"], default="kafkaio")
    parser.add_argument("--profile", action="store_true", help="cProfile the consume (stderr)")
    parser.add_argument("--peer-python", help="interpreter with aiokafka installed")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.mode == "produce":
        asyncio.run(_produce(args.bootstrap, args.topic, args.records, VALUE_SIZE))
    elif args.mode == "consume":
        _child(args)
    else:
        _compare(args)


if __name__ == "__main__":
    main()
