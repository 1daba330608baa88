"""The local Kafka harness against real Apache Kafka nodes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kafkaio._pin import KAFKA_LEGACY_VERSION, KAFKA_VERSION
from kafkaio.testing import (
    KafkaCluster,
    KafkaClusterBase,
    KafkaHarnessError,
    KafkaStartError,
    KafkaToolError,
    Listener,
    _cluster,
)
from kafkaio.testing._probe import fetch_metadata
from kafkaio.testing.pytest_plugin import TopicFactory

pytestmark = pytest.mark.kafka

TOPIC_COMMAND = "org.apache.kafka.tools.TopicCommand"


def _managed(cluster: KafkaClusterBase) -> KafkaCluster:
    if not isinstance(cluster, KafkaCluster):
        pytest.skip("needs a cluster started by the harness (KAFKAIO_BOOTSTRAP is set)")
    return cluster


def _processes_mentioning(path: Path) -> list[str]:
    out = subprocess.run(
        ["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if str(path) in line and "java" in line]


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z"


def _wait_until(predicate: object, timeout: float) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


# -- single node (session fixture) -------------------------------------------------------


def test_single_node_answers_metadata_with_one_broker(kafka_cluster: KafkaClusterBase) -> None:
    cluster = _managed(kafka_cluster)
    (node,) = cluster.nodes
    md = cluster.metadata()
    assert [(b.node_id, b.host, b.port) for b in md.brokers] == [(1, "127.0.0.1", node.port)]
    assert md.cluster_id == cluster.cluster_id
    assert cluster.bootstrap_servers == f"127.0.0.1:{node.port}"
    assert node.is_running and node.pid is not None
    log_text = node.log_path.read_text(errors="replace")
    assert f"Kafka version: {KAFKA_VERSION}" in log_text
    assert "Kafka Server started" in log_text
    assert node.config_path.read_text().count("127.0.0.1") >= 3
    assert "0.0.0.0" not in node.config_path.read_text()


@pytest.mark.parametrize("version", range(1, 13))
def test_probe_speaks_every_metadata_version(kafka_cluster: KafkaClusterBase, version: int) -> None:
    host, port = kafka_cluster.addresses()[0]
    md = fetch_metadata(host, port, topics=None, version=version)
    assert md.version == version
    assert len(md.brokers) >= 1
    assert md.brokers[0].host
    if version >= 2:
        assert md.cluster_id


async def test_session_cluster_is_usable_from_async_tests(
    kafka_cluster: KafkaClusterBase,
) -> None:
    host, port = kafka_cluster.addresses()[0]
    _reader, writer = await asyncio.open_connection(host, port)
    writer.close()
    await writer.wait_closed()
    md = await asyncio.to_thread(kafka_cluster.metadata)
    assert md.brokers


def test_kafka_topic_fixture_gives_a_fresh_single_partition_topic(
    kafka_cluster: KafkaClusterBase, kafka_topic: str
) -> None:
    assert kafka_topic.startswith("kafkaio-test_kafka_topic_fixture")
    info = kafka_cluster.metadata([kafka_topic]).topic(kafka_topic)
    assert info is not None and info.error_code == 0
    assert len(info.partitions) == 1
    assert info.partitions[0].leader >= 0


@pytest.mark.parametrize(
    "kafka_topic",
    [3, {"partitions": 2, "configs": {"cleanup.policy": "compact", "retention.ms": 123456}}],
    indirect=True,
    ids=["int", "dict"],
)
def test_kafka_topic_fixture_is_parametrizable(
    kafka_cluster: KafkaClusterBase, kafka_topic: str, request: pytest.FixtureRequest
) -> None:
    info = kafka_cluster.wait_for_topic(kafka_topic)
    described = kafka_cluster.run_java_tool(
        TOPIC_COMMAND,
        "--bootstrap-server",
        kafka_cluster.bootstrap_servers,
        "--describe",
        "--topic",
        kafka_topic,
    ).stdout
    if request.node.callspec.id == "int":
        assert len(info.partitions) == 3
    else:
        assert len(info.partitions) == 2
        assert "cleanup.policy=compact" in described
        assert "retention.ms=123456" in described


def test_make_topic_names_are_unique(
    kafka_cluster: KafkaClusterBase, make_topic: TopicFactory
) -> None:
    first, second = make_topic(), make_topic(partitions=2)
    assert first != second
    md = kafka_cluster.metadata([first, second])
    assert [len(t.partitions) for t in md.topics] == [1, 2]


def test_creating_an_existing_topic_raises_tool_error(
    kafka_cluster: KafkaClusterBase, kafka_topic: str
) -> None:
    with pytest.raises(KafkaToolError, match="already exists") as info:
        kafka_cluster.create_topic(kafka_topic)
    assert info.value.returncode != 0


def test_delete_topic(kafka_cluster: KafkaClusterBase, make_topic: TopicFactory) -> None:
    topic = make_topic()
    kafka_cluster.delete_topic(topic)
    assert _wait_until(
        lambda: (
            (t := kafka_cluster.metadata([topic]).topic(topic)) is not None and t.error_code == 3
        ),  # UNKNOWN_TOPIC_OR_PARTITION
        30,
    )


# -- three nodes ---------------------------------------------------------------------------


@pytest.mark.slow
def test_three_nodes_survive_kill_and_restart(kafka_cluster_3: KafkaCluster) -> None:
    cluster = kafka_cluster_3
    assert cluster.metadata().broker_ids == {1, 2, 3}
    assert len(cluster.bootstrap_servers.split(",")) == 3
    topic = "harness-failover"
    cluster.create_topic(topic, partitions=3, replication_factor=3)
    victim = cluster.node(2)
    port, pid = victim.port, victim.pid
    assert pid is not None
    try:
        cluster.kill_node(2)
        assert _pid_gone(pid)
        assert victim.returncode == -signal.SIGKILL
        assert cluster.wait_for_brokers(2).broker_ids == {1, 3}
        cluster.start_node(2)
        assert victim.port == port and victim.pid not in (None, pid)
        assert cluster.wait_for_brokers(3).broker_ids == {1, 2, 3}
        info = cluster.wait_for_topic(topic, partitions=3)
        assert all(sorted(p.replicas) == [1, 2, 3] for p in info.partitions)
    finally:
        if not victim.is_running:
            cluster.start_node(2)


@pytest.mark.slow
def test_graceful_node_stop_and_restart(kafka_cluster_3: KafkaCluster) -> None:
    cluster = kafka_cluster_3
    node = cluster.node(3)
    try:
        cluster.stop_node(3)
        assert not node.is_running
        assert node.returncode is not None and node.returncode != -signal.SIGKILL
        assert cluster.wait_for_brokers(2).broker_ids == {1, 2}
        with pytest.raises(KafkaHarnessError, match="already running"):
            cluster.start_node(1)
        with pytest.raises(KeyError, match="no node 7"):
            cluster.kill_node(7)
    finally:
        if not node.is_running:
            cluster.start_node(3)
    assert cluster.wait_for_brokers(3).broker_ids == {1, 2, 3}


# -- legacy line ---------------------------------------------------------------------------


def test_legacy_cluster_starts(kafka_legacy_cluster: KafkaCluster) -> None:
    cluster = kafka_legacy_cluster
    assert cluster.version == KAFKA_LEGACY_VERSION
    assert cluster.distribution.log_flavor == "log4j1"
    md = cluster.metadata()
    assert md.broker_ids == {1}
    (node,) = cluster.nodes
    assert f"Kafka version: {KAFKA_LEGACY_VERSION}" in node.log_path.read_text(errors="replace")
    topic = "legacy-topic"
    cluster.create_topic(topic, partitions=2)
    assert len(cluster.metadata([topic]).topics[0].partitions) == 2


# -- lifecycle and failures (own clusters) ------------------------------------------------


def test_teardown_leaves_no_process_and_keeps_logs(tmp_path: Path) -> None:
    cluster = KafkaCluster(work_dir=tmp_path / "run")
    with cluster:
        (node,) = cluster.nodes
        pid = node.pid
        assert pid is not None
        assert _processes_mentioning(tmp_path / "run")
    assert _pid_gone(pid)
    assert _processes_mentioning(tmp_path / "run") == []
    assert node.log_path.stat().st_size > 0
    assert not node.data_dir.exists()  # keep_data=False
    assert cluster.state_path.is_file()


_CHILD = textwrap.dedent(
    """
    import sys, time
    from kafkaio.testing import KafkaCluster
    cluster = KafkaCluster(work_dir=sys.argv[1])
    cluster.start()
    print(cluster.nodes[0].pid, flush=True)
    if sys.argv[2] == "exit":
        sys.exit(0)  # no stop(): the atexit hook must clean up
    time.sleep(600)
    """
)


@pytest.mark.parametrize("how", ["exit", "sigterm", "sigkill"])
def test_nodes_die_with_their_python_process(tmp_path: Path, how: str) -> None:
    run_dir = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(run_dir), how],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip().isdigit(), f"child printed {line!r}; see logs in {run_dir}"
        jvm_pid = int(line)
        if how != "exit":
            # No Python code runs on these: the kernel's parent-death signal must act.
            child.send_signal(signal.SIGKILL if how == "sigkill" else signal.SIGTERM)
        child.wait(timeout=60)
        assert _wait_until(lambda: _pid_gone(jvm_pid), 15), f"JVM {jvm_pid} outlived its parent"
        assert _processes_mentioning(run_dir) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for line in _processes_mentioning(run_dir):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def test_bad_config_error_points_to_the_log(tmp_path: Path) -> None:
    cluster = KafkaCluster(
        work_dir=tmp_path / "run",
        broker_properties={"num.network.threads": "not-a-number"},
        start_timeout=60,
    )
    with pytest.raises(KafkaStartError) as info:
        cluster.start()
    (node,) = cluster.nodes
    message = str(info.value)
    assert str(node.log_path) in message
    assert info.value.log_paths == [node.log_path]
    assert "not-a-number" in message  # the tail of the log is quoted
    assert "not-a-number" in node.log_path.read_text(errors="replace")
    assert not node.is_running
    assert _processes_mentioning(tmp_path / "run") == []


def test_extra_listener_node_properties_and_busy_directory(tmp_path: Path) -> None:
    cluster = KafkaCluster(
        work_dir=tmp_path / "run",
        listeners=[Listener("EXTERNAL", "PLAINTEXT")],
        node_properties={1: {"broker.rack": "rack-a"}},
        auto_create_topics=False,
    )
    with cluster:
        (node,) = cluster.nodes
        external = node.listener_ports["EXTERNAL"]
        assert external != node.port
        assert cluster.bootstrap_servers_for("EXTERNAL") == f"127.0.0.1:{external}"
        # Brokers answer with the endpoints of the listener the request arrived on.
        md = fetch_metadata("127.0.0.1", external)
        assert [(b.port, b.rack) for b in md.brokers] == [(external, "rack-a")]
        assert "auto.create.topics.enable=false" in node.config_path.read_text()
        with pytest.raises(KafkaHarnessError, match="still running"):
            KafkaCluster(work_dir=tmp_path / "run").start()
        with pytest.raises(KeyError, match="no listener 'SSL'"):
            cluster.bootstrap_servers_for("SSL")


def test_port_taken_before_bind_is_retried_with_new_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    real_free_ports = _cluster.free_ports
    calls: list[list[int]] = []

    def first_call_gets_a_taken_port(count: int) -> list[int]:
        ports = real_free_ports(count)
        if not calls:
            ports[0] = taken
        calls.append(ports)
        return ports

    monkeypatch.setattr(_cluster, "free_ports", first_call_gets_a_taken_port)
    try:
        with KafkaCluster(work_dir=tmp_path / "run") as cluster:
            assert len(calls) == 2
            assert cluster.nodes[0].port != taken
            assert cluster.metadata().broker_ids == {1}
            failed = tmp_path / "run" / "node-1.failed-attempt.log"
            assert "Address already in use" in failed.read_text(errors="replace")
    finally:
        squatter.close()
