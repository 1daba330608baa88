"""Resolution of Kafka jars: Maven (real), the tarball fallback (served from loopback), errors."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkaio._pin import KAFKA_LEGACY_VERSION, KAFKA_VERSION, SCALA_VERSION
from kafkaio.testing import (
    KafkaCluster,
    KafkaDistribution,
    KafkaHarnessError,
    KafkaResolveError,
    _cds,
    _resolve,
    find_java,
    resolve_kafka,
)

FAKE_VERSION = "9.8.7"


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    saved = dict(_resolve._memo)
    _resolve._memo.clear()
    yield
    _resolve._memo.clear()
    _resolve._memo.update(saved)


def _tarball(version: str, extra: dict[str, bytes] | None = None) -> bytes:
    top = f"kafka_{SCALA_VERSION}-{version}"
    members = {
        f"{top}/libs/kafka_{SCALA_VERSION}-{version}.jar": b"broker jar",
        f"{top}/libs/kafka-clients-{version}.jar": b"clients jar",
        f"{top}/bin/kafka-server-start.sh": b"#!/bin/sh\n",
        f"{top}/libs/../../escape.jar": b"must not be written",
    }
    members.update(extra or {})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _Mirror:
    """A loopback HTTP server serving files from a dict of path -> bytes."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                body = mirror.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/kafka"

    def __enter__(self) -> _Mirror:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _mirror_files(version: str, archive: bytes, digest: str | None = None) -> dict[str, bytes]:
    name = f"kafka_{SCALA_VERSION}-{version}.tgz"
    hexdigest = digest or hashlib.sha512(archive).hexdigest().upper()
    # Apache's gpg --print-md layout: "<file>: XXXXXXXX XXXXXXXX ..." wrapped over lines.
    groups = " ".join(hexdigest[i : i + 8] for i in range(0, len(hexdigest), 8))
    checksum = f"{name}: {groups[:60]}\n{' ' * (len(name) + 2)}{groups[60:]}\n".encode()
    return {f"/kafka/{version}/{name}": archive, f"/kafka/{version}/{name}.sha512": checksum}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tarball_fallback_extracts_only_libs(tmp_path: Path) -> None:
    archive = _tarball(FAKE_VERSION)
    with _Mirror(_mirror_files(FAKE_VERSION, archive)) as mirror:
        dist = resolve_kafka(
            FAKE_VERSION, cache_dir=tmp_path, use_maven=False, mirrors=(mirror.url,)
        )
    assert dist.source == "tarball"
    assert dist.home == tmp_path / f"kafka-{FAKE_VERSION}"
    assert sorted(p.name for p in dist.libs.iterdir()) == [
        f"kafka-clients-{FAKE_VERSION}.jar",
        f"kafka_{SCALA_VERSION}-{FAKE_VERSION}.jar",
    ]
    assert (dist.libs / f"kafka_{SCALA_VERSION}-{FAKE_VERSION}.jar").read_bytes() == b"broker jar"
    assert not list(tmp_path.rglob("escape.jar"))
    assert dist.classpath == f"{dist.libs}/*"


def test_second_resolution_uses_marker_without_network(tmp_path: Path) -> None:
    archive = _tarball(FAKE_VERSION)
    with _Mirror(_mirror_files(FAKE_VERSION, archive)) as mirror:
        first = resolve_kafka(
            FAKE_VERSION, cache_dir=tmp_path, use_maven=False, mirrors=(mirror.url,)
        )
        served = len(mirror.requests)
        _resolve._memo.clear()
        second = resolve_kafka(
            FAKE_VERSION, cache_dir=tmp_path, use_maven=False, mirrors=(mirror.url,)
        )
        assert len(mirror.requests) == served
    assert second == first
    assert (first.home / ".resolved.json").is_file()


def test_checksum_mismatch_is_rejected(tmp_path: Path) -> None:
    archive = _tarball(FAKE_VERSION)
    files = _mirror_files(FAKE_VERSION, archive, digest="ab" * 64)
    with (
        _Mirror(files) as mirror,
        pytest.raises(KafkaResolveError, match="SHA-512 mismatch"),
    ):
        resolve_kafka(FAKE_VERSION, cache_dir=tmp_path, use_maven=False, mirrors=(mirror.url,))
    assert not (tmp_path / f"kafka-{FAKE_VERSION}" / "libs").exists()


def test_nothing_reachable_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    dead = f"http://127.0.0.1:{_closed_port()}/kafka"
    monkeypatch.setenv(_resolve.MIRROR_ENV, dead)
    with pytest.raises(KafkaResolveError) as info:
        resolve_kafka(FAKE_VERSION, cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert "`mvn` is not on PATH" in message
    assert dead in message
    assert "apt-get install maven" in message
    assert _resolve.MIRROR_ENV in message
    assert str(tmp_path / "cache" / f"kafka-{FAKE_VERSION}" / "libs") in message


def test_prepopulated_libs_are_accepted(tmp_path: Path) -> None:
    libs = tmp_path / f"kafka-{FAKE_VERSION}" / "libs"
    libs.mkdir(parents=True)
    (libs / f"kafka_{SCALA_VERSION}-{FAKE_VERSION}.jar").write_bytes(b"jar")
    dist = resolve_kafka(FAKE_VERSION, cache_dir=tmp_path, use_maven=False, mirrors=())
    assert dist.source == "prepopulated"
    assert dist.libs == libs


def test_cache_dir_env_overrides_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_resolve.CACHE_DIR_ENV, str(tmp_path / "c"))
    assert _resolve.cache_root() == (tmp_path / "c").resolve()


@pytest.mark.parametrize("version", ["4.3", "latest", "4.3.1-rc1"])
def test_malformed_version_is_rejected(version: str) -> None:
    with pytest.raises(KafkaHarnessError, match="invalid Kafka version"):
        resolve_kafka(version)


def test_pre_kraft_version_is_rejected() -> None:
    with pytest.raises(KafkaHarnessError, match=r"'2\.8\.2' is not supported"):
        resolve_kafka("2.8.2")


def test_cluster_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="nodes"):
        KafkaCluster(nodes=0)
    with pytest.raises(ValueError, match="heap"):
        KafkaCluster(heap="lots")
    with pytest.raises(ValueError, match="node_properties names node 4"):
        KafkaCluster(nodes=3, node_properties={4: {"broker.rack": "a"}})
    with pytest.raises(ValueError, match="broker property"):
        KafkaCluster(broker_properties={"bad key": 1})
    with pytest.raises(ValueError, match="invalid topic name"):
        KafkaCluster().create_topic("no spaces allowed")
    with pytest.raises(ValueError, match="partitions"):
        KafkaCluster().create_topic("t", partitions=0)


@pytest.mark.kafka
@pytest.mark.parametrize("version", [KAFKA_VERSION, KAFKA_LEGACY_VERSION])
def test_pinned_release_resolves_with_logging_binding(
    version: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dist = resolve_kafka(version)
    names = {p.name for p in dist.libs.iterdir()}
    assert f"kafka_{SCALA_VERSION}-{version}.jar" in names
    assert f"kafka-tools-{version}.jar" in names
    slf4j = [n for n in names if n.startswith("slf4j-api-")]
    assert len(slf4j) == 1, slf4j
    if dist.major >= 4:
        assert dist.log_flavor == "log4j2"
        binding = (
            "log4j-slf4j-impl-" if slf4j[0].startswith("slf4j-api-1.") else "log4j-slf4j2-impl-"
        )
        assert any(n.startswith(binding) for n in names), sorted(names)
        assert any(n.startswith("log4j-core-") for n in names)
    else:
        assert dist.log_flavor == "log4j1"
        assert any(n.startswith("reload4j-") for n in names)
        assert any(n.startswith("slf4j-reload4j-") for n in names)
    # Once resolved, Maven is not needed any more: the marker file answers.
    _resolve._memo.clear()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert resolve_kafka(version) == dist


def test_cds_dump_is_published_only_after_a_clean_exit(tmp_path: Path) -> None:
    archive = tmp_path / "cds" / "classes-x.jsa"
    for returncode, published in ((-9, False), (1, False), (143, True)):
        tmp = _cds.dump_target(archive, "t")
        tmp.write_bytes(b"archive")
        _cds.promote(tmp, archive, returncode)
        assert archive.exists() is published
        assert not tmp.exists()


def test_cds_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = KafkaDistribution(FAKE_VERSION, SCALA_VERSION, tmp_path, "tarball")
    java = find_java()
    monkeypatch.setenv(_cds.CDS_ENV, "0")
    assert _cds.archive_path(dist, java) is None
    monkeypatch.setenv(_cds.CDS_ENV, "1")
    path = _cds.archive_path(dist, java)
    assert path is not None and path.parent == tmp_path / "cds"
    assert _cds.use_args(path) == []  # no archive yet: nothing to map
