"""``python -m kafkaio.testing start|status|stop``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kafkaio.testing._probe import fetch_metadata

pytestmark = pytest.mark.kafka

CLI = [sys.executable, "-m", "kafkaio.testing"]


def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _fields(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def _java_pids_in(run_dir: Path) -> list[int]:
    out = subprocess.run(
        ["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [
        int(line.split()[0]) for line in out.splitlines() if str(run_dir) in line and "java" in line
    ]


def test_detached_start_status_stop(tmp_path: Path) -> None:
    run_dir = tmp_path / "cluster"
    started = _cli("start", "--detach", "--dir", str(run_dir), "-p", "num.partitions=4")
    try:
        assert started.returncode == 0, started.stderr
        fields = _fields(started.stdout)
        state_path = Path(fields["state"])
        assert state_path == run_dir / "cluster.json"
        state = json.loads(state_path.read_text())
        (node,) = state["nodes"]
        assert fields["bootstrap"] == f"127.0.0.1:{node['port']}" == state["bootstrap_servers"]
        assert state["detached"] is True
        # The nodes outlived the CLI process that started them.
        assert _java_pids_in(run_dir) == [node["pid"]]
        assert fetch_metadata("127.0.0.1", node["port"]).broker_ids == {1}
        assert "num.partitions=4" in Path(node["config_path"]).read_text()

        again = _cli("start", "--detach", "--dir", str(run_dir))
        assert again.returncode == 2
        assert "still running" in again.stderr

        status = _cli("status", "--dir", str(run_dir))
        assert status.returncode == 0, status.stderr
        assert f"running pid {node['pid']}" in status.stdout
        assert "sees brokers [1]" in status.stdout

        stopped = _cli("stop", "--dir", str(run_dir))
        assert stopped.returncode == 0, stopped.stderr
        assert "stopped 1 node(s)" in stopped.stdout
        assert _java_pids_in(run_dir) == []

        after = _cli("status", "--dir", str(run_dir))
        assert after.returncode == 3
        assert "stopped" in after.stdout
    finally:
        for pid in _java_pids_in(run_dir):
            os.kill(pid, signal.SIGKILL)


def test_foreground_start_stops_on_ctrl_c(tmp_path: Path) -> None:
    run_dir = tmp_path / "fg"
    proc = subprocess.Popen(
        [*CLI, "start", "--dir", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("bootstrap=127.0.0.1:"), first
        port = int(first.strip().rsplit(":", 1)[1])
        assert fetch_metadata("127.0.0.1", port).broker_ids == {1}
        assert len(_java_pids_in(run_dir)) == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while _java_pids_in(run_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _java_pids_in(run_dir) == []
        assert (run_dir / "node-1" / "server.log").stat().st_size > 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _java_pids_in(run_dir):
            os.kill(pid, signal.SIGKILL)


def test_stop_without_state_fails_clearly(tmp_path: Path) -> None:
    result = _cli("stop", "--dir", str(tmp_path / "nothing"))
    assert result.returncode == 1
    assert "no cluster state" in result.stderr
