"""The pytest plugin as a user's test suite sees it (run in a pytest subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kafkaio.testing import KafkaClusterBase
from kafkaio.testing.pytest_plugin import (
    BOOTSTRAP_ENV,
    TopicFactory,
    topic_arguments,
    unique_topic_name,
)

pytestmark = pytest.mark.kafka


def _run_pytest(
    tmp_path: Path, source: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user_suite.py").write_text(textwrap.dedent(source))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp_path / 'basetemp'}",
            "test_user_suite.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_kafkaio_bootstrap_env_selects_an_external_cluster(
    tmp_path: Path, kafka_cluster: KafkaClusterBase
) -> None:
    source = """
        from kafkaio.testing import ExternalKafkaCluster

        def test_uses_the_external_cluster(kafka_cluster, kafka_topic):
            assert isinstance(kafka_cluster, ExternalKafkaCluster)
            assert kafka_cluster.metadata([kafka_topic]).topic(kafka_topic).partitions

        def test_markers_are_registered(pytestconfig):
            markers = pytestconfig.getini("markers")
            assert any(m.startswith("kafka:") for m in markers)
            assert any(m.startswith("slow:") for m in markers)
    """
    env = {**os.environ, BOOTSTRAP_ENV: kafka_cluster.bootstrap_servers}
    result = _run_pytest(tmp_path, source, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert f"external cluster {kafka_cluster.bootstrap_servers}" in result.stdout


@pytest.mark.slow
def test_failed_test_report_lists_broker_logs(tmp_path: Path) -> None:
    source = """
        def test_fails(kafka_cluster):
            assert kafka_cluster.metadata().brokers
            assert False, "deliberate"
    """
    env = {k: v for k, v in os.environ.items() if k != BOOTSTRAP_ENV}
    result = _run_pytest(tmp_path, source, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "deliberate" in result.stdout
    assert "kafka broker logs" in result.stdout
    assert "kafka_cluster node 1 [running]:" in result.stdout
    assert "node-1/server.log" in result.stdout


def test_make_topic_accepts_an_explicit_name(
    make_topic: TopicFactory, kafka_cluster: KafkaClusterBase
) -> None:
    name = unique_topic_name("explicit")
    assert make_topic(2, name=name) == name
    info = kafka_cluster.metadata([name]).topic(name)
    assert info is not None and len(info.partitions) == 2


def test_kafka_topic_parameters() -> None:
    assert topic_arguments(None) == {}
    assert topic_arguments(4) == {"partitions": 4}
    assert topic_arguments({"partitions": 2, "configs": {"a": 1}}) == {
        "partitions": 2,
        "configs": {"a": 1},
    }
    with pytest.raises(TypeError, match="partition count or a dict"):
        topic_arguments("three")
    with pytest.raises(TypeError, match="partition count or a dict"):
        topic_arguments(True)
