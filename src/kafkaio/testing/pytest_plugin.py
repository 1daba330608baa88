"""pytest plugin: real Apache Kafka clusters as fixtures (registered as the ``kafkaio`` plugin).

Fixtures (each cluster starts lazily, the first time a test asks for it, and is shared by
the whole session; with pytest-xdist every worker gets its own):

- ``kafka_cluster``: 1 node of the pinned release; set ``KAFKAIO_BOOTSTRAP=host:port,...`` to
  run against an external cluster instead (then it is an :class:`ExternalKafkaCluster`).
- ``kafka_cluster_3``: 3 nodes, for replication and failover tests.
- ``kafka_legacy_cluster``: 1 node of the older pinned line (``KAFKA_LEGACY_VERSION``).
- ``make_topic``: factory creating uniquely named topics on ``kafka_cluster``.
- ``kafka_topic``: a fresh topic (1 partition; parametrize indirectly with an int or a dict
  of ``make_topic`` arguments for more).
- ``schema_registry``: a Confluent-compatible Schema Registry (Apicurio Registry, see
  :mod:`kafkaio.testing.schema_registry`); ``.url`` is its API base URL.

When a test that used a cluster fails, its report lists the broker log files.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Generator, Iterator, Mapping
from typing import Any, Protocol

import pytest

from kafkaio._pin import KAFKA_LEGACY_VERSION, KAFKA_VERSION
from kafkaio.testing._cluster import (
    ExternalKafkaCluster,
    KafkaCluster,
    KafkaClusterBase,
    PropertyValue,
)
from kafkaio.testing._resolve import cache_root

BOOTSTRAP_ENV = "KAFKAIO_BOOTSTRAP"
"""Use the cluster at these bootstrap servers for ``kafka_cluster`` instead of starting one."""


class TopicFactory(Protocol):
    """Signature of the ``make_topic`` fixture."""

    def __call__(
        self,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, PropertyValue] | None = None,
        *,
        name: str | None = None,
    ) -> str: ...


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kafka: needs a real Apache Kafka broker (started by kafkaio.testing)"
    )
    config.addinivalue_line("markers", "slow: multi-node or long-running test")


def pytest_report_header(config: pytest.Config) -> str:
    external = os.environ.get(BOOTSTRAP_ENV)
    where = f"external cluster {external}" if external else f"jars cached in {cache_root()}"
    return f"kafkaio.testing: Kafka {KAFKA_VERSION} (legacy {KAFKA_LEGACY_VERSION}), {where}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        lines = []
        for name, value in funcargs.items():
            if isinstance(value, KafkaCluster) and value.nodes:
                for node in value.nodes:
                    state = "running" if node.is_running else f"exited ({node.returncode})"
                    lines.append(f"{name} node {node.node_id} [{state}]: {node.log_path}")
        if lines:
            report.sections.append(("kafka broker logs", "\n".join(lines)))
    return report


def _managed(
    tmp_path_factory: pytest.TempPathFactory, nodes: int, version: str, label: str
) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(nodes=nodes, version=version, work_dir=tmp_path_factory.mktemp(label))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaClusterBase]:
    """A 1-node cluster of the pinned release (or the external one in ``KAFKAIO_BOOTSTRAP``)."""
    external = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if external:
        yield ExternalKafkaCluster(external, tools_dir=tmp_path_factory.mktemp("kafka-tools"))
        return
    yield from _managed(tmp_path_factory, 1, KAFKA_VERSION, "kafka")


@pytest.fixture(scope="session")
def kafka_cluster_3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """A 3-node cluster of the pinned release (internal topics replicated 3 times)."""
    yield from _managed(tmp_path_factory, 3, KAFKA_VERSION, "kafka3")


@pytest.fixture(scope="session")
def kafka_legacy_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """A 1-node cluster of the older pinned line (for version-negotiation tests)."""
    yield from _managed(tmp_path_factory, 1, KAFKA_LEGACY_VERSION, "kafka-legacy")


@pytest.fixture(scope="session")
def schema_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Schema Registry for the session (``.url``); see :mod:`kafkaio.testing.schema_registry`."""
    from kafkaio.testing.schema_registry import schema_registry_session

    yield from schema_registry_session(tmp_path_factory.mktemp("schema-registry"))


def unique_topic_name(hint: str = "") -> str:
    """A topic name unique to this call, derived from ``hint`` (e.g. the test's name)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", hint).strip("-.")[:80] or "topic"
    return f"kafkaio-{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_topic(request: pytest.FixtureRequest, kafka_cluster: KafkaClusterBase) -> TopicFactory:
    """Factory creating fresh, uniquely named topics on ``kafka_cluster``.

    Topics are left in place at the end of the test (the session cluster is throw-away).
    """

    def make(
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, PropertyValue] | None = None,
        *,
        name: str | None = None,
    ) -> str:
        topic = name if name is not None else unique_topic_name(request.node.name)
        kafka_cluster.create_topic(topic, partitions, replication_factor, configs)
        return topic

    return make


@pytest.fixture
def kafka_topic(request: pytest.FixtureRequest, make_topic: TopicFactory) -> str:
    """A fresh topic with 1 partition on ``kafka_cluster``.

    Parametrize indirectly for more: ``@pytest.mark.parametrize("kafka_topic", [3],
    indirect=True)`` (partitions) or ``[{"partitions": 3, "configs": {...}}]``.
    """
    return make_topic(**topic_arguments(getattr(request, "param", None)))


def topic_arguments(param: object) -> dict[str, Any]:
    """``make_topic`` keyword arguments from a ``kafka_topic`` parameter (None, int or dict)."""
    if param is None:
        return {}
    if isinstance(param, int) and not isinstance(param, bool):
        return {"partitions": param}
    if isinstance(param, Mapping):
        return dict(param)
    raise TypeError(
        f"kafka_topic parameter must be a partition count or a dict of make_topic "
        f"arguments, got {param!r}"
    )
