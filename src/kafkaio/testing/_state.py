"""The JSON state file of a cluster's run directory, and stopping nodes recorded in it.

Used by the command line to manage clusters started with ``--detach``, whose JVMs are not
children of the process that stops them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from kafkaio.testing._errors import KafkaHarnessError

log = logging.getLogger("kafkaio.testing.state")

STATE_FILE = "cluster.json"


def signal_group(pid: int, sig: int) -> None:
    # Each node runs in its own session, so its process group id is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def read_state(run_dir: Path) -> dict[str, object] | None:
    """The parsed state file of ``run_dir``, or ``None`` if absent or unreadable."""
    try:
        data = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def state_nodes(state: Mapping[str, object]) -> list[dict[str, object]]:
    nodes = state.get("nodes")
    if not isinstance(nodes, list):
        return []
    return [n for n in nodes if isinstance(n, dict)]


def _pid_runs_node(pid: int, config_path: str) -> bool:
    """Whether ``pid`` is alive and is the JVM of the node configured by ``config_path``.

    Guards against signalling an unrelated process that reused a recorded pid.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        raw = b""
    if raw:
        return config_path.encode() in raw.split(b"\0")
    proc = subprocess.run(
        ["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and config_path in proc.stdout


def live_pids_from_state(run_dir: Path) -> list[int]:
    """Pids recorded in ``run_dir``'s state file that still run a node of that cluster."""
    state = read_state(run_dir)
    if state is None:
        return []
    out = []
    for n in state_nodes(state):
        pid, cfg = n.get("pid"), n.get("config_path")
        if isinstance(pid, int) and isinstance(cfg, str) and _pid_runs_node(pid, cfg):
            out.append(pid)
    return out


def stop_from_state(run_dir: Path, timeout: float = 30.0) -> list[int]:
    """Stop the nodes recorded in ``run_dir``'s state file (e.g. a detached CLI cluster).

    Returns the pids that were stopped.
    """
    state = read_state(run_dir)
    if state is None:
        raise KafkaHarnessError(f"no cluster state file in {run_dir}")
    pids = live_pids_from_state(run_dir)
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            log.warning("Kafka pid %d ignored SIGTERM for %.0fs; killing it", pid, timeout)
            signal_group(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)
    state["running"] = False
    for n in state_nodes(state):
        n["pid"] = None
    (run_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    return pids


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
