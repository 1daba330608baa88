"""A real Schema Registry on loopback for tests: Apicurio Registry (in-memory storage).

Apicurio Registry serves the Confluent Schema Registry API under ``/apis/ccompat/v7``. Its
server (a Quarkus application, ``io.apicurio:apicurio-registry-app:<version>:tar.gz:all`` on
Maven Central) is fetched once with Maven into ``<cache root>/apicurio-registry-<version>``
and started with ``java -jar`` (2.x ships ``apicurio-registry-app-<version>-runner.jar``,
3.x ``quarkus-run.jar``). The default release is the 2.6 line because 3.x needs Java 21 and
the Kafka harness needs only 17; pass ``version="3.3.3"`` on a machine with Java 21::

    from kafkaio.testing.schema_registry import SchemaRegistryServer

    with SchemaRegistryServer() as registry:
        client = SchemaRegistryClient(registry.url)

The pytest fixture ``schema_registry`` (session scope) yields a started server, or the
registry named by ``KAFKAIO_SCHEMA_REGISTRY_URL``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from kafkaio.testing._cluster import free_ports
from kafkaio.testing._errors import KafkaResolveError, KafkaStartError
from kafkaio.testing._resolve import MAVEN_ARGS_ENV, cache_root, find_java
from kafkaio.testing._security import TlsMaterial

__all__ = [
    "APICURIO_JAVA_ENV",
    "APICURIO_VERSION",
    "APICURIO_VERSION_ENV",
    "SCHEMA_REGISTRY_URL_ENV",
    "ExternalSchemaRegistry",
    "SchemaRegistryServer",
    "resolve_apicurio",
]

log = logging.getLogger("kafkaio.testing.schema_registry")

APICURIO_VERSION = "2.6.13.Final"
"""The Apicurio Registry release the harness runs (Java 11+; the 3.x line needs Java 21)."""

SCHEMA_REGISTRY_URL_ENV = "KAFKAIO_SCHEMA_REGISTRY_URL"
"""Use this (Confluent-compatible) registry URL for the fixture instead of starting one."""

APICURIO_VERSION_ENV = "KAFKAIO_APICURIO_VERSION"
"""Run this Apicurio Registry release instead of :data:`APICURIO_VERSION` (e.g. ``3.3.3``)."""

APICURIO_JAVA_ENV = "KAFKAIO_APICURIO_JAVA"
"""The ``java`` executable for the registry (3.x needs Java 21); default: :func:`find_java`."""

CCOMPAT_PATH = "/apis/ccompat/v7"
_MARKER = ".resolved"
_MAVEN_TIMEOUT_S = 900.0

# Deletes are refused unless enabled (3.x names; 2.x allows them by default); tests delete
# subjects and versions.
_DEFAULT_PROPERTIES = {
    "registry.rest.artifact.deletion.enabled": "true",
    "apicurio.rest.deletion.artifact.enabled": "true",
    "apicurio.rest.deletion.artifact-version.enabled": "true",
    "apicurio.rest.deletion.group.enabled": "true",
    "quarkus.otel.sdk.disabled": "true",
    "quarkus.log.console.json": "false",
}


def _pom(version: str) -> str:
    # Only the distribution archive itself: its dependency tree is already inside it.
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafkaio.testing</groupId>
  <artifactId>apicurio-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.apicurio</groupId>
      <artifactId>apicurio-registry-app</artifactId>
      <version>{version}</version>
      <type>tar.gz</type>
      <classifier>all</classifier>
      <exclusions>
        <exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>
  </dependencies>
</project>
"""


def runner_jar(home: Path) -> Path | None:
    """The jar that starts the registry in an unpacked distribution (None if there is none)."""
    if (home / "quarkus-run.jar").is_file():
        return home / "quarkus-run.jar"
    return next(iter(sorted(home.glob("apicurio-registry-app-*-runner.jar"))), None)


def resolve_apicurio(version: str = APICURIO_VERSION, cache_dir: Path | None = None) -> Path:
    """The directory of the unpacked Apicurio Registry ``version``, fetched on first use
    (:func:`runner_jar` names the jar to start).

    Raises :class:`~kafkaio.testing.KafkaResolveError` when Maven cannot fetch it.
    """
    root = cache_dir if cache_dir is not None else cache_root()
    home = root / f"apicurio-registry-{version}"
    if (home / _MARKER).is_file() and runner_jar(home) is not None:
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaResolveError("cannot fetch Apicurio Registry: `mvn` is not on PATH")
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root / f"apicurio-registry-{version}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if (home / _MARKER).is_file() and runner_jar(home) is not None:
            return home
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=root, prefix="apicurio-fetch-") as tmp_name:
            tmp = Path(tmp_name)
            (tmp / "pom.xml").write_text(_pom(version))
            cmd = [
                mvn,
                "-q",
                "-B",
                "-f",
                str(tmp / "pom.xml"),
                *shlex.split(os.environ.get(MAVEN_ARGS_ENV, "")),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp / 'out'}",
            ]
            log.info("fetching Apicurio Registry %s: %s", version, " ".join(cmd))
            try:
                proc = subprocess.run(
                    cmd, cwd=tmp, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT_S
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise KafkaResolveError(f"cannot fetch Apicurio Registry {version}: {exc}") from exc
            if proc.returncode != 0:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
                raise KafkaResolveError(
                    f"`mvn` could not fetch Apicurio Registry {version} "
                    f"(status {proc.returncode}):\n{tail}"
                )
            archives = list((tmp / "out").glob("apicurio-registry-app-*-all.tar.gz"))
            if not archives:
                raise KafkaResolveError(f"`mvn` fetched no Apicurio archive into {tmp / 'out'}")
            unpacked = tmp / "unpacked"
            with tarfile.open(archives[0]) as tar:
                tar.extractall(unpacked, filter="data")
            if runner_jar(unpacked) is None:
                raise KafkaResolveError(f"{archives[0].name} holds no runner jar")
            if home.exists():
                shutil.rmtree(home)
            unpacked.rename(home)
        (home / _MARKER).write_text(f"{version}\n")
        log.info(
            "fetched Apicurio Registry %s in %.1fs into %s",
            version,
            time.monotonic() - started,
            home,
        )
        return home


class SchemaRegistryServer:
    """One Apicurio Registry process with in-memory storage, on a free loopback port.

    :attr:`url` is the base URL of its Confluent-compatible API. With ``tls`` (from
    :func:`~kafkaio.testing.make_tls_material`) the same API is also served over HTTPS at
    :attr:`https_url`, with the material's server certificate for ``127.0.0.1``.
    """

    def __init__(
        self,
        *,
        version: str | None = None,
        work_dir: Path | None = None,
        port: int | None = None,
        heap: str = "512m",
        properties: Mapping[str, str] | None = None,
        tls: TlsMaterial | None = None,
    ) -> None:
        self.version = version or os.environ.get(APICURIO_VERSION_ENV) or APICURIO_VERSION
        self.tls = tls
        self.https_port: int | None = None
        self._own_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="kafkaio-registry-"))
        self.port = port
        self.heap = heap
        self.properties = {**_DEFAULT_PROPERTIES, **(properties or {})}
        self.log_path = self.work_dir / "apicurio.log"
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/apis/ccompat/v7``."""
        if self.port is None:
            raise KafkaStartError("the schema registry has not been started")
        return f"http://127.0.0.1:{self.port}{CCOMPAT_PATH}"

    @property
    def https_url(self) -> str:
        """``https://127.0.0.1:<ssl port>/apis/ccompat/v7`` (needs ``tls``)."""
        if self.https_port is None:
            raise KafkaStartError("the schema registry was not started with tls")
        return f"https://127.0.0.1:{self.https_port}{CCOMPAT_PATH}"

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout_s: float = 180.0) -> None:
        """Fetch (first time only), start and wait until the API answers."""
        home = resolve_apicurio(self.version)
        if self.port is None:
            self.port, management_port = free_ports(2)
        else:
            (management_port,) = free_ports(1)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        props = {
            "quarkus.http.host": "127.0.0.1",
            "quarkus.http.port": str(self.port),
            "quarkus.management.host": "127.0.0.1",
            "quarkus.management.port": str(management_port),
        }
        if self.tls is not None:
            (self.https_port,) = free_ports(1)
            cert, key = self._split_keystore(self.tls.server_keystore)
            props.update(
                {
                    "quarkus.http.ssl-port": str(self.https_port),
                    "quarkus.http.insecure-requests": "enabled",
                    "quarkus.http.ssl.certificate.files": str(cert),
                    "quarkus.http.ssl.certificate.key-files": str(key),
                }
            )
        props.update(self.properties)
        cmd = [
            os.environ.get(APICURIO_JAVA_ENV) or find_java(),
            f"-Xmx{self.heap}",
            "-XX:TieredStopAtLevel=1",  # start fast; test loads need no C2-compiled code
            *(f"-D{k}={v}" for k, v in props.items()),
            "-jar",
            str(runner_jar(home)),
        ]
        started = time.monotonic()
        with self.log_path.open("wb") as log_file:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.work_dir,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_ready(started + timeout_s)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        log.info(
            "Apicurio Registry %s ready at %s in %.1fs",
            self.version,
            self.url,
            self.startup_seconds,
        )

    def _split_keystore(self, keystore: Path) -> tuple[Path, Path]:
        """Quarkus wants the certificate chain and the key in separate PEM files."""
        text = keystore.read_text()
        blocks = [b + "-----\n" for b in text.split("-----\n") if b.strip()]
        pems = ["".join(blocks[i : i + 2]) for i in range(0, len(blocks) - 1, 2)]
        key = "".join(p for p in pems if "PRIVATE KEY" in p)
        chain = "".join(p for p in pems if "CERTIFICATE" in p)
        if not key or not chain:
            raise KafkaStartError(f"{keystore} does not hold a PEM key and certificate chain")
        cert_path, key_path = (
            self.work_dir / "registry-cert.pem",
            self.work_dir / "registry-key.pem",
        )
        cert_path.write_text(chain)
        key_path.write_text(key)
        key_path.chmod(0o600)
        return cert_path, key_path

    def _wait_ready(self, deadline: float) -> None:
        probe = f"{self.url}/subjects"
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise KafkaStartError(
                    f"Apicurio Registry exited with status {self._proc.returncode}:\n"
                    f"{self._log_tail()}",
                    [self.log_path],
                )
            # Not listening yet (refused, reset, timed out): try again until the deadline.
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(probe, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            if time.monotonic() > deadline:
                raise KafkaStartError(
                    f"Apicurio Registry did not answer at {probe} in time:\n{self._log_tail()}",
                    [self.log_path],
                )
            time.sleep(0.25)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 15 s)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> SchemaRegistryServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ExternalSchemaRegistry:
    """A registry started elsewhere (``KAFKAIO_SCHEMA_REGISTRY_URL``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.startup_seconds: float | None = None
        self.tls: TlsMaterial | None = None

    @property
    def https_url(self) -> str:
        raise KafkaStartError(f"an external registry ({SCHEMA_REGISTRY_URL_ENV}) has no https_url")


def schema_registry_session(
    work_dir: Path,
) -> Iterator[SchemaRegistryServer | ExternalSchemaRegistry]:
    """The body of the ``schema_registry`` fixture: an external registry, or a started
    server; skips the requesting tests if the server cannot be downloaded."""
    import pytest

    external = os.environ.get(SCHEMA_REGISTRY_URL_ENV, "").strip()
    if external:
        yield ExternalSchemaRegistry(external)
        return
    tls = None
    try:
        from kafkaio.testing._security import make_tls_material

        tls = make_tls_material(work_dir / "tls")
    except RuntimeError as exc:  # no 'cryptography': HTTPS tests skip
        log.info("schema registry without HTTPS: %s", exc)
    server = SchemaRegistryServer(work_dir=work_dir, tls=tls)
    try:
        server.start()
    except KafkaResolveError as exc:
        pytest.skip(f"cannot download Apicurio Registry {server.version}: {exc}")
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        yield server


def main(argv: list[str] | None = None) -> int:
    """``python -m kafkaio.testing.schema_registry [--port N]``: run a registry until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description="Run Apicurio Registry on loopback.")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default: a free one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = SchemaRegistryServer(port=args.port)
    server.start()
    print(f"schema registry url={server.url}", flush=True)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
            while server.is_running:
                time.sleep(1)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
