"""Locate the pinned kafka-clients jar and read the JSON message specs inside it.

Shared by tools/generate_protocol.py, tools/golden/ and the protocol unit tests. The jar is
resolved with Maven into ~/.m2 (outside the repository); nothing here is imported by the
kafkaio package itself.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SPEC_PREFIX = "common/message/"


def kafka_version() -> str:
    """The Kafka release pinned in src/kafkaio/_pin.py."""
    pin = runpy.run_path(str(REPO / "src" / "kafkaio" / "_pin.py"))
    version = pin["KAFKA_VERSION"]
    if not isinstance(version, str):
        raise TypeError("KAFKA_VERSION must be a string")
    return version


def _m2_repo() -> Path:
    return Path(os.environ.get("MAVEN_REPO", Path.home() / ".m2" / "repository"))


def clients_jar_path(version: str) -> Path:
    """Where Maven keeps kafka-clients-<version>.jar."""
    return (
        _m2_repo() / "org" / "apache" / "kafka" / "kafka-clients" / version
    ) / f"kafka-clients-{version}.jar"


def find_clients_jar(version: str, *, download: bool) -> Path | None:
    """Return the kafka-clients jar, fetching it with ``mvn dependency:get`` if allowed."""
    override = os.environ.get("KAFKAIO_CLIENTS_JAR")
    if override:
        return Path(override)
    jar = clients_jar_path(version)
    if jar.is_file():
        return jar
    if not download:
        return None
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(
            "Maven (mvn) is needed to fetch kafka-clients; install it or set KAFKAIO_CLIENTS_JAR"
        )
    subprocess.run(
        [
            mvn,
            "-q",
            "dependency:get",
            f"-Dartifact=org.apache.kafka:kafka-clients:{version}",
            "-Dtransitive=false",
        ],
        check=True,
    )
    if not jar.is_file():
        raise RuntimeError(f"mvn dependency:get did not produce {jar}")
    return jar


_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def parse_spec(text: str) -> dict[str, Any]:
    """Parse one spec file (JSON with whole-line ``//`` comments)."""
    data = json.loads(_COMMENT.sub("", text))
    if not isinstance(data, dict):
        raise ValueError("spec is not a JSON object")
    return data


def load_specs(jar: Path) -> dict[str, dict[str, Any]]:
    """All message specs in ``jar``, keyed by file stem (e.g. ``"MetadataRequest"``)."""
    specs: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(jar) as zf:
        for name in sorted(zf.namelist()):
            if name.startswith(SPEC_PREFIX) and name.endswith(".json") and name.count("/") == 2:
                stem = name[len(SPEC_PREFIX) : -len(".json")]
                specs[stem] = parse_spec(zf.read(name).decode("utf-8"))
    if not specs:
        raise RuntimeError(f"no message specs under {SPEC_PREFIX} in {jar}")
    return specs
