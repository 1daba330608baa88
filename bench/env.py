"""The peers' virtualenv: aiokafka, confluent-kafka, kafka-python and matplotlib from PyPI.

Kept apart from the project's venv (``.venv-bench/`` in the repository, or
``$KAFKAIO_BENCH_VENV``); kafkaio is installed into it editable from this checkout, and
workers also get ``src`` on ``PYTHONPATH``. A package that fails to install is reported
as missing; the suite goes on without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("bench.env")

REPO = Path(__file__).resolve().parents[1]
PEERS = {
    # distribution name -> import name
    "aiokafka": "aiokafka",
    "confluent-kafka": "confluent_kafka",
    "kafka-python": "kafka",
    "matplotlib": "matplotlib",
    # kafka-python's lz4 and zstd codecs (aiokafka and kafkaio use cramjam).
    "lz4": "lz4",
    "zstandard": "zstandard",
}
STAMP = ".kafkaio-bench.json"
PIP_TIMEOUT_S = 900


@dataclass
class BenchEnv:
    """Where the workers' interpreter is and what is installed in it."""

    python: Path
    versions: dict[str, str] = field(default_factory=dict)
    """Installed distribution -> version."""
    missing: dict[str, str] = field(default_factory=dict)
    """Distribution that could not be installed -> why."""

    def worker_env(self) -> dict[str, str]:
        """Environment for worker processes: this checkout's ``bench`` and ``src`` first."""
        env = dict(os.environ)
        paths = [str(REPO), str(REPO / "src")]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.pop("KAFKAIO_NO_EXTENSIONS", None)
        return env


def venv_dir() -> Path:
    return Path(os.environ.get("KAFKAIO_BENCH_VENV") or REPO / ".venv-bench").expanduser()


def _fingerprint() -> str:
    text = (REPO / "pyproject.toml").read_bytes() + json.dumps(sorted(PEERS)).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def _pip(python: Path, *args: str) -> tuple[bool, str]:
    cmd = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return False, f"pip did not finish within {PIP_TIMEOUT_S}s"
    detail = (proc.stderr.strip() or proc.stdout.strip())[-800:]
    return proc.returncode == 0, detail


def _versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [str(python), "-c", code, *PEERS, "cramjam", "crc32c"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        return {}
    found: dict[str, str] = json.loads(proc.stdout)
    return found


def ensure(refresh: bool = False) -> BenchEnv:
    """Create or update the peers' virtualenv; never raises for a peer that fails."""
    root = venv_dir()
    python = root / "bin" / "python"
    stamp = root / STAMP
    if not python.exists():
        log.info("creating the peers' virtualenv in %s", root)
        venv.EnvBuilder(with_pip=True, clear=False).create(root)
    previous: dict[str, object] = {}
    if stamp.exists() and not refresh:
        try:
            previous = json.loads(stamp.read_text())
        except ValueError:
            previous = {}
    missing: dict[str, str] = {}
    if previous.get("fingerprint") != _fingerprint():
        log.info("installing the peers into %s (once; pip output is quiet)", root)
        ok, detail = _pip(python, "-e", str(REPO))
        if not ok:
            # Workers still import kafkaio from src; its own dependencies are what matter.
            log.warning("editable install of kafkaio failed, using PYTHONPATH: %s", detail)
            _pip(python, "cramjam", "crc32c")
        for dist in PEERS:
            ok, detail = _pip(python, dist)
            if not ok:
                log.warning("could not install %s: %s", dist, detail)
                missing[dist] = f"pip install failed: {detail.splitlines()[-1] if detail else '?'}"
        if not missing:
            stamp.write_text(json.dumps({"fingerprint": _fingerprint()}))
    versions = _versions(python)
    for dist in PEERS:
        if dist not in versions and dist not in missing:
            missing[dist] = "not installed"
    return BenchEnv(python=python, versions=versions, missing=missing)


def current_python_env() -> BenchEnv:
    """Use this interpreter for workers (``--no-venv``: peers already importable here)."""
    py = Path(sys.executable)
    env = BenchEnv(python=py, versions=_versions(py))
    env.missing = {d: "not installed" for d in PEERS if d not in env.versions}
    return env
