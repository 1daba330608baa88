"""Class-data sharing for Kafka JVMs: start brokers and tools faster on small machines.

The first broker that stops gracefully dumps the classes it loaded into a dynamic AppCDS
archive (``-XX:ArchiveClassesAtExit``) next to the cached jars; later JVMs (brokers and
tools) map it (``-XX:SharedArchiveFile``) instead of loading and verifying thousands of
classes. The JVM checks the archive against its own build and the classpath and ignores
it (with a warning in the node log) if anything differs, so a stale archive only costs
speed. ``KAFKAIO_JAVA_CDS=0`` turns the feature off.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import subprocess
from pathlib import Path

from kafkaio.testing._resolve import KafkaDistribution

log = logging.getLogger("kafkaio.testing.cds")

CDS_ENV = "KAFKAIO_JAVA_CDS"
# Dynamic archives need JDK 13+; exit status 143 is a JVM that ran its shutdown hooks
# after SIGTERM (the archive is written on that path too).
_MIN_JAVA = 13
_CLEAN_EXITS = frozenset({0, 143})


def cds_enabled() -> bool:
    """Whether class-data sharing is allowed by the environment."""
    return os.environ.get(CDS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@functools.lru_cache(maxsize=8)
def java_major(java: str) -> int:
    """The feature release of ``java`` (e.g. 17), 0 if it cannot be determined."""
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if m is None:
        return 0
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0" means Java 8


def archive_path(dist: KafkaDistribution, java: str) -> Path | None:
    """Where the archive for this distribution and this JVM lives (``None``: CDS off)."""
    if not cds_enabled() or java_major(java) < _MIN_JAVA:
        return None
    real = os.path.realpath(java)
    try:
        st = os.stat(real)
    except OSError:
        return None
    key = hashlib.sha256(f"{real}|{st.st_mtime_ns}|{st.st_size}".encode()).hexdigest()[:12]
    return dist.home / "cds" / f"classes-{key}.jsa"


def use_args(archive: Path | None) -> list[str]:
    """JVM options mapping ``archive`` if it exists."""
    if archive is not None and archive.is_file():
        return [f"-XX:SharedArchiveFile={archive}"]
    return []


def dump_target(archive: Path, tag: str) -> Path:
    """A private file name for a JVM to dump into before :func:`promote` publishes it."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    return archive.with_name(f"{archive.stem}.{tag}.tmp")


def promote(tmp: Path, archive: Path, returncode: int | None) -> None:
    """Publish a dump if its JVM exited cleanly (a killed JVM may have left half a file)."""
    try:
        if returncode in _CLEAN_EXITS and tmp.is_file() and tmp.stat().st_size > 0:
            os.replace(tmp, archive)
            log.info("class-data sharing archive written: %s", archive)
        else:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("cannot publish class-data sharing archive %s: %s", tmp, exc)
