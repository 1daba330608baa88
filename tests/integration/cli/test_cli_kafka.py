"""The ``kafkaio`` command-line tool against a real broker, run as ``python -m kafkaio.cli``."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from kafkaio.testing.pytest_plugin import TopicFactory, unique_topic_name

pytestmark = pytest.mark.kafka


def cli(
    cluster: Any, *argv: str, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KAFKAIO_BOOTSTRAP_SERVERS": cluster.bootstrap_servers}
    return subprocess.run(
        [sys.executable, "-m", "kafkaio.cli", *argv],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=timeout,
    )


def ok(done: subprocess.CompletedProcess[bytes]) -> str:
    assert done.returncode == 0, (done.returncode, done.stderr.decode())
    return done.stdout.decode()


def test_produce_1000_lines_and_consume_them_back(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    lines = b"".join(f"key-{i}\tvalue-{i}\n".encode() for i in range(1000))
    done = cli(
        kafka_cluster, "produce", topic, "-K", "\\t", "-H", "source=cli", "-z", "lz4", stdin=lines
    )
    ok(done)
    assert "% 1000 record(s) delivered (" in done.stderr.decode()
    assert "FAILED" not in done.stderr.decode()

    text = ok(
        cli(
            kafka_cluster,
            "consume",
            topic,
            "--from-beginning",
            "--count",
            "1000",
            "--format",
            "%p|%o|%k|%s|%h\\n",
        )
    )
    rows = [line.split("|") for line in text.splitlines()]
    assert len(rows) == 1000
    assert sorted((k, v) for _p, _o, k, v, _h in rows) == sorted(
        (f"key-{i}", f"value-{i}") for i in range(1000)
    )
    assert {h for *_, h in rows} == {"source=cli"}
    # Keyed records: one partition per key, offsets dense from 0 in each partition.
    by_partition: dict[str, list[int]] = {}
    for p, o, *_ in rows:
        by_partition.setdefault(p, []).append(int(o))
    assert len(by_partition) > 1
    for offsets in by_partition.values():
        assert sorted(offsets) == list(range(len(offsets)))

    text = ok(cli(kafka_cluster, "consume", topic, "--from-beginning", "-c", "1000", "--json"))
    docs = [json.loads(line) for line in text.splitlines()]
    assert len(docs) == 1000
    assert {(d["key"], d["value"]) for d in docs} == {
        (f"key-{i}", f"value-{i}") for i in range(1000)
    }
    assert all(d["topic"] == topic and d["headers"] == [["source", "cli"]] for d in docs)
    assert all(d["timestamp_type"] == "CREATE_TIME" and d["timestamp"] > 0 for d in docs)

    text = ok(
        cli(
            kafka_cluster,
            "consume",
            topic,
            "-p",
            "0",
            "-o",
            "-2",
            "--json",
            "--base64",
            "--exit-at-end",
        )
    )
    tail = [json.loads(line) for line in text.splitlines()]
    assert len(tail) == min(2, len(by_partition.get("0", [])))
    assert all(d["partition"] == 0 for d in tail)


def test_binary_values_with_a_custom_delimiter_round_trip(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    values = [bytes([i, 0, 255, 10, i]) for i in range(40, 90)]  # no 0x1e inside
    ok(
        cli(
            kafka_cluster,
            "produce",
            topic,
            "-D",
            "\\x1e",
            "-p",
            "0",
            stdin=b"\x1e".join(values) + b"\x1e",
        )
    )
    text = ok(
        cli(kafka_cluster, "consume", topic, "--from-beginning", "-c", "50", "--json", "--base64")
    )
    assert [base64.b64decode(json.loads(line)["value"]) for line in text.splitlines()] == values


def test_topics_create_describe_alter_delete_round_trip(kafka_cluster: Any) -> None:
    topic = unique_topic_name("cli-topics")
    out = ok(
        cli(
            kafka_cluster,
            "topics",
            "create",
            topic,
            "-P",
            "4",
            "-R",
            "1",
            "--config",
            "retention.ms=3600000",
        )
    )
    assert f"created topic '{topic}' (4 partition(s)" in out
    again = cli(kafka_cluster, "topics", "create", topic, "-P", "4")
    assert again.returncode == 1
    assert again.stderr.decode().startswith("TopicAlreadyExistsError: ")
    ok(cli(kafka_cluster, "topics", "create", topic, "--if-not-exists"))

    ok(cli(kafka_cluster, "topics", "alter-config", topic, "--set", "cleanup.policy=compact"))
    doc = json.loads(ok(cli(kafka_cluster, "topics", "describe", topic, "--configs", "--json")))
    assert doc[0]["name"] == topic
    assert [p["partition"] for p in doc[0]["partitions"]] == [0, 1, 2, 3]
    assert doc[0]["configs"]["retention.ms"] == "3600000"
    assert doc[0]["configs"]["cleanup.policy"] == "compact"
    listing = json.loads(ok(cli(kafka_cluster, "topics", "list", "--json")))
    assert {"name": topic, "partitions": 4}.items() <= next(
        t for t in listing if t["name"] == topic
    ).items()
    assert f'topic "{topic}" with 4 partition(s):' in ok(
        cli(kafka_cluster, "metadata", "-t", topic)
    )

    assert f"deleted topic '{topic}'" in ok(cli(kafka_cluster, "topics", "delete", topic))
    deadline = time.monotonic() + 15
    while True:  # deletion reaches the brokers' metadata a moment after the answer
        gone = cli(kafka_cluster, "topics", "describe", topic)
        if gone.returncode == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert gone.returncode == 1
    assert gone.stderr.decode().startswith("UnknownTopicOrPartitionError: ")
    ok(cli(kafka_cluster, "topics", "delete", topic, "--if-exists"))


def lag(cluster: Any, group: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ok(cli(cluster, "groups", "lag", group, "--json")))
    return doc


def test_group_consume_lag_and_reset_offsets(kafka_cluster: Any, make_topic: TopicFactory) -> None:
    topic = make_topic(partitions=2)
    group = unique_topic_name("cli-group")
    ok(cli(kafka_cluster, "produce", topic, stdin=b"".join(b"%d\n" % i for i in range(1000))))

    first = ok(
        cli(
            kafka_cluster,
            "consume",
            topic,
            "-G",
            group,
            "--from-beginning",
            "-c",
            "400",
            "-f",
            "%p:%o\\n",
        )
    )
    assert len(first.splitlines()) == 400
    doc = lag(kafka_cluster, group)
    assert doc["total_lag"] == 600
    assert sum(p["end_offset"] for p in doc["partitions"]) == 1000
    assert sum(p["committed"] for p in doc["partitions"]) == 400

    described = json.loads(ok(cli(kafka_cluster, "groups", "describe", group, "--json")))
    assert described[0]["group_id"] == group and described[0]["state"] == "Empty"
    listed = json.loads(ok(cli(kafka_cluster, "groups", "list", "--json")))
    assert group in {g["group_id"] for g in listed}

    dry = json.loads(
        ok(
            cli(
                kafka_cluster,
                "groups",
                "reset-offsets",
                group,
                "--all-topics",
                "--to-earliest",
                "--dry-run",
                "--json",
            )
        )
    )
    assert {p["new"] for p in dry["partitions"]} == {0}
    assert lag(kafka_cluster, group)["total_lag"] == 600  # a dry run changes nothing

    ok(cli(kafka_cluster, "groups", "reset-offsets", group, "-t", topic, "--to-earliest"))
    assert lag(kafka_cluster, group)["total_lag"] == 1000

    again = ok(cli(kafka_cluster, "consume", topic, "-G", group, "-c", "1000", "-f", "%s\\n"))
    assert sorted(int(v) for v in again.splitlines()) == list(range(1000))
    after = lag(kafka_cluster, group)
    assert after["total_lag"] == 0

    # Keyless records stick to a partition per batch: move the fuller one (an offset past
    # the end of the log would be clamped to it).
    fuller = max(after["partitions"], key=lambda p: p["end_offset"])
    assert fuller["end_offset"] >= 500
    target = f"{topic}:{fuller['partition']}"
    ok(cli(kafka_cluster, "groups", "reset-offsets", group, "-t", target, "--to-offset", "5"))
    partitions = {p["partition"]: p for p in lag(kafka_cluster, group)["partitions"]}
    assert partitions[fuller["partition"]]["committed"] == 5
    assert after["total_lag"] + fuller["end_offset"] - 5 == sum(
        p["lag"] for p in partitions.values()
    )

    assert f"deleted group '{group}'" in ok(cli(kafka_cluster, "groups", "delete", group))


def test_sigterm_stops_a_group_consumer_and_commits(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = unique_topic_name("cli-sigterm")
    ok(cli(kafka_cluster, "produce", topic, stdin=b"a\nb\nc\n"))
    env = {**os.environ, "KAFKAIO_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap_servers}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kafkaio.cli", "consume", topic, "-G", group, "--from-beginning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        seen = [proc.stdout.readline() for _ in range(3)]
        assert seen == [b"a\n", b"b\n", b"c\n"]
        busy = cli(kafka_cluster, "groups", "reset-offsets", group, "-t", topic, "--to-earliest")
        assert busy.returncode == 1
        assert busy.stderr.decode().startswith("NonEmptyGroupError: ")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert lag(kafka_cluster, group)["partitions"][0]["committed"] == 3


def test_failures_are_reported_with_exit_status(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    big = cli(
        kafka_cluster,
        "-X",
        "max_request_size=2000",
        "produce",
        topic,
        stdin=b"small\n" + b"x" * 5000 + b"\nsmall again\n",
    )
    assert big.returncode == 1
    err = big.stderr.decode()
    assert "% record 2 not delivered: MessageTooLargeError: " in err
    assert "% 2 record(s) delivered" in err and "1 FAILED (1 MessageTooLargeError)" in err

    missing = cli(
        kafka_cluster,
        "-X",
        "allow_auto_create_topics=false",
        "-X",
        "max_block_ms=1000",
        "produce",
        unique_topic_name("cli-missing"),
        stdin=b"x\n",
    )
    assert missing.returncode == 1
    assert missing.stderr.decode().startswith("KafkaTimeoutError: ")

    unknown = cli(kafka_cluster, "consume", unique_topic_name("cli-missing"), "-c", "1")
    assert unknown.returncode == 1
    assert unknown.stderr.decode().startswith("UnknownTopicOrPartitionError: ")

    bad = cli(kafka_cluster, "-X", "linger_ms=abc", "produce", topic, stdin=b"")
    assert bad.returncode == 2
    assert "option 'linger_ms' must be an int" in bad.stderr.decode()
