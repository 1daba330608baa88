"""Obtain the jars of a pinned Apache Kafka release into a cache outside the repository.

Maven is the primary source: a throw-away ``pom.xml`` in the cache directory depends on the
broker (``kafka_<scala>``), ``kafka-tools`` and a logging binding that matches the slf4j
line the release uses, and ``mvn dependency:copy-dependencies`` copies the whole runtime
classpath into ``<cache>/kafka-<version>/libs``. Where Maven is missing or fails, Apache's
release tarball is downloaded and its ``libs/`` extracted. A marker file makes the second
call instant.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kafkaio._pin import KAFKA_VERSION, SCALA_VERSION
from kafkaio.testing._errors import KafkaHarnessError, KafkaResolveError

log = logging.getLogger("kafkaio.testing.resolve")

CACHE_DIR_ENV = "KAFKAIO_CACHE_DIR"
"""Overrides the cache root (default ``$XDG_CACHE_HOME/kafkaio`` or ``~/.cache/kafkaio``)."""

MIRROR_ENV = "KAFKAIO_KAFKA_MIRROR"
"""Comma-separated base URLs of Apache Kafka release mirrors for the tarball fallback."""

MAVEN_ARGS_ENV = "KAFKAIO_MAVEN_ARGS"
"""Extra arguments for ``mvn`` (e.g. ``-o`` or ``-s settings.xml``), split like a shell."""

DEFAULT_MIRRORS = ("https://archive.apache.org/dist/kafka", "https://downloads.apache.org/kafka")

# Logging bindings. Kafka's poms declare slf4j-api but no binding (the release tarball
# ships one); without a binding the broker logs nothing. Kafka 4.3.1 declares
# slf4j-api 1.7.36, so the log4j2 binding for slf4j 1.x (log4j-slf4j-impl) is the match;
# log4j-slf4j2-impl is only picked if a release moves to slf4j 2. Kafka 3.9 logs through
# log4j 1 (its code calls the log4j 1 API directly): reload4j plus slf4j-reload4j.
LOG4J2_VERSION = "2.24.3"
RELOAD4J_VERSION = "1.2.25"
SLF4J1_VERSION = "1.7.36"

_MARKER = ".resolved.json"
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_MAVEN_TIMEOUT_S = 900.0
_HTTP_TIMEOUT_S = 30.0

LogFlavor = Literal["log4j2", "log4j1"]


@dataclass(frozen=True)
class KafkaDistribution:
    """The jars of one Apache Kafka release, ready to run."""

    version: str
    scala_version: str
    home: Path
    """``<cache>/kafka-<version>``: holds ``libs/``, the marker and the throw-away pom."""
    source: str
    """Where the jars came from: ``"maven"``, ``"tarball"`` or ``"prepopulated"``."""

    @property
    def libs(self) -> Path:
        """Directory holding every jar of the runtime classpath."""
        return self.home / "libs"

    @property
    def classpath(self) -> str:
        """A Java classpath covering every jar in :attr:`libs`."""
        return str(self.libs / "*")

    @property
    def major(self) -> int:
        """The release's major version (3 or 4)."""
        return parse_version(self.version)[0]

    @property
    def log_flavor(self) -> LogFlavor:
        """Which logging backend the release runs with: log4j 2 (4.x) or log4j 1 (3.x)."""
        return "log4j2" if self.major >= 4 else "log4j1"


def parse_version(version: str) -> tuple[int, int, int]:
    """Split ``"4.3.1"`` into ``(4, 3, 1)``; reject anything that is not a KRaft release."""
    m = _VERSION_RE.match(version)
    if m is None:
        raise KafkaHarnessError(f"invalid Kafka version {version!r}: expected MAJOR.MINOR.PATCH")
    parts = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if parts[:2] < (3, 3):
        raise KafkaHarnessError(
            f"Kafka version {version!r} is not supported: the harness runs KRaft combined "
            "nodes, which need Apache Kafka 3.3 or newer"
        )
    return parts


def cache_root() -> Path:
    """The harness' cache root directory (not created)."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "kafkaio").resolve()


def find_java() -> str:
    """The ``java`` executable: ``$JAVA_HOME/bin/java`` or the one on ``PATH``."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise KafkaHarnessError(
            "Java not found: install a JDK (17 or newer; Kafka 4.x brokers need Java 17+) "
            "or set JAVA_HOME"
        )
    return found


_memo: dict[tuple[str, str, Path], KafkaDistribution] = {}
_memo_lock = threading.Lock()


def resolve_kafka(
    version: str = KAFKA_VERSION,
    *,
    scala_version: str = SCALA_VERSION,
    cache_dir: Path | str | None = None,
    use_maven: bool = True,
    mirrors: tuple[str, ...] | None = None,
) -> KafkaDistribution:
    """Return the jars of Apache Kafka ``version``, fetching them on first use.

    ``cache_dir`` overrides :func:`cache_root`. ``use_maven=False`` skips Maven (the tarball
    fallback is tried directly); ``mirrors`` overrides the release mirrors (else
    ``KAFKAIO_KAFKA_MIRROR`` or Apache's archive). Safe to call from several processes at
    once: resolution of one version is serialised by a lock file.
    """
    parse_version(version)
    if not re.fullmatch(r"\d+\.\d+", scala_version):
        raise KafkaHarnessError(f"invalid Scala version {scala_version!r}: expected e.g. '2.13'")
    root = Path(cache_dir).expanduser().resolve() if cache_dir is not None else cache_root()
    key = (version, scala_version, root)
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None and (hit.home / _MARKER).is_file():
        return hit
    home = root / f"kafka-{version}"
    dist = _read_marker(home, version, scala_version)
    if dist is None:
        root.mkdir(parents=True, exist_ok=True)
        with _file_lock(root / f"kafka-{version}.lock"):
            # Another process may have finished while we waited for the lock.
            dist = _read_marker(home, version, scala_version)
            if dist is None:
                dist = _resolve_locked(home, version, scala_version, use_maven, mirrors)
    with _memo_lock:
        _memo[key] = dist
    return dist


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _recipe(version: str, scala_version: str, slf4j_major: int) -> dict[str, str]:
    """Maven coordinates (groupId:artifactId -> version) of the runtime classpath roots."""
    deps = {
        f"org.apache.kafka:kafka_{scala_version}": version,
        "org.apache.kafka:kafka-tools": version,
    }
    if parse_version(version)[0] >= 4:
        binding = "log4j-slf4j2-impl" if slf4j_major >= 2 else "log4j-slf4j-impl"
        deps[f"org.apache.logging.log4j:{binding}"] = LOG4J2_VERSION
        deps["org.apache.logging.log4j:log4j-core"] = LOG4J2_VERSION
    else:
        deps["ch.qos.reload4j:reload4j"] = RELOAD4J_VERSION
        deps["org.slf4j:slf4j-reload4j"] = SLF4J1_VERSION
    return deps


def _recipe_hash(deps: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()[:16]


def _read_marker(home: Path, version: str, scala_version: str) -> KafkaDistribution | None:
    marker = home / _MARKER
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("version") != version or data.get("scala_version") != scala_version:
        return None
    source = data.get("source")
    if source == "maven":
        # A changed recipe (e.g. a different logging binding) invalidates Maven results.
        current = {_recipe_hash(_recipe(version, scala_version, m)) for m in (1, 2)}
        if data.get("recipe") not in current:
            return None
    elif source not in ("tarball", "prepopulated"):
        return None
    if not (home / "libs" / f"kafka_{scala_version}-{version}.jar").is_file():
        return None
    return KafkaDistribution(version, scala_version, home, str(source))


def _write_marker(home: Path, dist: KafkaDistribution, recipe: str | None) -> None:
    payload = {
        "version": dist.version,
        "scala_version": dist.scala_version,
        "source": dist.source,
        "recipe": recipe,
        "resolved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = home / f"{_MARKER}.tmp"
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(home / _MARKER)


def _resolve_locked(
    home: Path,
    version: str,
    scala_version: str,
    use_maven: bool,
    mirrors: tuple[str, ...] | None,
) -> KafkaDistribution:
    home.mkdir(parents=True, exist_ok=True)
    libs = home / "libs"
    kafka_jar = f"kafka_{scala_version}-{version}.jar"
    # Jars placed by hand (air-gapped machines) are accepted as they are.
    if (libs / kafka_jar).is_file() and not (home / _MARKER).exists():
        log.info("using pre-populated Kafka %s jars in %s", version, libs)
        dist = KafkaDistribution(version, scala_version, home, "prepopulated")
        _write_marker(home, dist, None)
        return dist

    failures: list[str] = []
    mvn = shutil.which("mvn") if use_maven else None
    if use_maven and mvn is None:
        failures.append("Maven: `mvn` is not on PATH")
    if mvn is not None:
        started = time.monotonic()
        try:
            recipe = _resolve_with_maven(mvn, home, version, scala_version)
        except KafkaResolveError as exc:
            failures.append(f"Maven: {exc}")
        else:
            log.info(
                "resolved Kafka %s with Maven in %.1fs into %s",
                version,
                time.monotonic() - started,
                libs,
            )
            dist = KafkaDistribution(version, scala_version, home, "maven")
            _write_marker(home, dist, recipe)
            return dist

    bases = mirrors if mirrors is not None else _mirrors_from_env()
    for base in bases:
        try:
            _resolve_with_tarball(base, home, version, scala_version)
        except KafkaResolveError as exc:
            failures.append(f"release tarball from {base}: {exc}")
        else:
            dist = KafkaDistribution(version, scala_version, home, "tarball")
            _write_marker(home, dist, None)
            return dist

    reasons = "\n".join(f"  - {f}" for f in failures)
    raise KafkaResolveError(
        f"cannot obtain Apache Kafka {version} (Scala {scala_version}):\n{reasons}\n"
        "To fix: install Maven (e.g. `apt-get install maven`) with access to Maven Central "
        f"(extra mvn options via {MAVEN_ARGS_ENV}), or make an Apache release mirror "
        f"reachable (set {MIRROR_ENV}), or copy the release's libs/*.jar into {libs}."
    )


def _mirrors_from_env() -> tuple[str, ...]:
    env = os.environ.get(MIRROR_ENV, "")
    bases = tuple(b.strip().rstrip("/") for b in env.split(",") if b.strip())
    return bases or DEFAULT_MIRRORS


def _pom(deps: dict[str, str]) -> str:
    entries = []
    for coord, ver in deps.items():
        group, artifact = coord.split(":")
        entries.append(
            "    <dependency>"
            f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{ver}</version></dependency>"
        )
    body = "\n".join(entries)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- Written by kafkaio.testing to fetch a Kafka runtime classpath; "
        "safe to delete. -->\n"
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>io.kafkaio.harness</groupId>\n"
        "  <artifactId>kafka-runtime</artifactId>\n"
        "  <version>1</version>\n"
        "  <packaging>pom</packaging>\n"
        f"  <dependencies>\n{body}\n  </dependencies>\n"
        "</project>\n"
    )


def _run_maven(mvn: str, home: Path, deps: dict[str, str], out_dir: Path) -> None:
    pom = home / "pom.xml"
    pom.write_text(_pom(deps))
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        *shlex.split(os.environ.get(MAVEN_ARGS_ENV, "")),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={out_dir}",
        "-DincludeScope=runtime",
    ]
    log.info("fetching Kafka jars: %s", " ".join(cmd))
    try:
        proc = subprocess.run(
            cmd,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=_MAVEN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaResolveError(f"`mvn` did not finish within {_MAVEN_TIMEOUT_S:.0f}s") from exc
    except OSError as exc:
        raise KafkaResolveError(f"cannot run `mvn`: {exc}") from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip().splitlines()
        tail = "\n".join(output[-25:])
        raise KafkaResolveError(f"`mvn` exited with status {proc.returncode}:\n{tail}")


def _resolve_with_maven(mvn: str, home: Path, version: str, scala_version: str) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="libs.", dir=home))
    try:
        deps = _recipe(version, scala_version, slf4j_major=1)
        _run_maven(mvn, home, deps, tmp)
        if parse_version(version)[0] >= 4 and any(tmp.glob("slf4j-api-2.*.jar")):
            # The release moved to slf4j 2: switch to the matching log4j2 binding.
            shutil.rmtree(tmp)
            tmp.mkdir()
            deps = _recipe(version, scala_version, slf4j_major=2)
            _run_maven(mvn, home, deps, tmp)
        if not (tmp / f"kafka_{scala_version}-{version}.jar").is_file():
            raise KafkaResolveError(
                f"`mvn` succeeded but kafka_{scala_version}-{version}.jar is missing from {tmp}"
            )
        _install_libs(home, tmp)
        return _recipe_hash(deps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _install_libs(home: Path, new_libs: Path) -> None:
    libs = home / "libs"
    old = home / f"libs.old.{os.getpid()}"
    if libs.exists():
        libs.rename(old)
    new_libs.rename(libs)
    shutil.rmtree(old, ignore_errors=True)
    # Class-data sharing archives describe the old jars.
    shutil.rmtree(home / "cds", ignore_errors=True)


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=_HTTP_TIMEOUT_S) as resp, dest.open("wb") as out:
            shutil.copyfileobj(resp, out, length=1 << 20)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise KafkaResolveError(f"cannot download {url}: {exc}") from exc


def _expected_sha512(text: str, filename: str) -> str:
    # Apache's .sha512 files come in two shapes: "<name>: ABCD EF01 ..." (gpg --print-md,
    # wrapped over lines) or "<hex>  <name>" (sha512sum).
    stripped = text.strip()
    if stripped.startswith(filename + ":"):
        stripped = stripped[len(filename) + 1 :]
    elif stripped.endswith(filename):
        stripped = stripped[: -len(filename)]
    digest = "".join(stripped.split()).lower()
    if not re.fullmatch(r"[0-9a-f]{128}", digest):
        raise KafkaResolveError(f"unreadable SHA-512 checksum file for {filename}")
    return digest


def _resolve_with_tarball(base: str, home: Path, version: str, scala_version: str) -> None:
    filename = f"kafka_{scala_version}-{version}.tgz"
    url = f"{base.rstrip('/')}/{version}/{filename}"
    with tempfile.TemporaryDirectory(prefix="download.", dir=home) as tmpdir:
        archive = Path(tmpdir) / filename
        checksum = Path(tmpdir) / f"{filename}.sha512"
        log.info("downloading %s", url)
        _download(url + ".sha512", checksum)
        expected = _expected_sha512(checksum.read_text(errors="replace"), filename)
        _download(url, archive)
        digest = hashlib.sha512()
        with archive.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise KafkaResolveError(f"SHA-512 mismatch for {url}")
        new_libs = Path(tmpdir) / "libs"
        new_libs.mkdir()
        count = 0
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar:
                    parts = member.name.split("/")
                    # Only <top>/libs/<name>.jar; the basename is used so no member can
                    # write outside new_libs.
                    if (
                        len(parts) == 3
                        and parts[1] == "libs"
                        and parts[2].endswith(".jar")
                        and member.isfile()
                    ):
                        src = tar.extractfile(member)
                        if src is None:
                            continue
                        with src, (new_libs / parts[2]).open("wb") as dst:
                            shutil.copyfileobj(src, dst)
                        count += 1
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise KafkaResolveError(f"cannot extract {filename}: {exc}") from exc
        if not (new_libs / f"kafka_{scala_version}-{version}.jar").is_file():
            raise KafkaResolveError(
                f"{filename} has no libs/kafka_{scala_version}-{version}.jar ({count} jars found)"
            )
        _install_libs(home, new_libs)
