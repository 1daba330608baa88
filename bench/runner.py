"""Runs the matrix: broker up, topics, every client in its own process, interleaved rounds."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import platform
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import env as bench_env
from bench.clients import java
from bench.payload import write_payload_file
from bench.worker import EXIT_UNAVAILABLE, MARKER
from bench.workloads import BATCH_SIZE, LINGER_MS, REFERENCE, RunSpec, Workload

log = logging.getLogger("bench.runner")

PEER_OF_CLIENT = {
    "aiokafka": "aiokafka",
    "confluent-kafka": "confluent-kafka",
    "kafka-python": "kafka-python",
}
PREFILL_ORDER = ("confluent-kafka", "java", "kafkaio", "aiokafka", "kafka-python")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Options:
    """What to run (see ``python -m bench run --help``)."""

    matrix: list[Workload]
    clients: tuple[str, ...]
    rounds: int
    nodes: int
    mode: str
    out_dir: Path
    name: str = "latest"
    micro: bool = True
    bench_env: bench_env.BenchEnv | None = None


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _proc_cpu(pids: Sequence[int]) -> float:
    """CPU seconds used so far by ``pids`` (the broker JVMs), from /proc."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return total


def _high_water_rss_mib(pid: int) -> float | None:
    """The kernel's high-water mark of ``pid``'s resident set (VmHWM), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


class _PeakRssWatch:
    """Follows one child's VmHWM until it exits, for children that cannot report their own
    peak (the JVM perf tools). RUSAGE_CHILDREN's ru_maxrss would not do: it is the largest
    peak of every child reaped so far, not this run's. VmHWM only grows, so the last sample
    misses at most the growth of the final interval."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak_mib: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="bench-rss", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while True:
            mib = _high_water_rss_mib(self.pid)
            if mib is not None:
                self.peak_mib = mib if self.peak_mib is None else max(self.peak_mib, mib)
            if self._stop.wait(self.interval_s):
                return

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return self.peak_mib


@dataclass
class ProcessOutcome:
    returncode: int | None
    """``None`` when the process was killed at its time bound."""
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    peak_rss_mib: float | None = None
    """The child's peak resident set, MiB, when ``run_process`` was asked to watch it."""


def run_process(
    cmd: Sequence[str],
    stdin: str,
    env: dict[str, str],
    timeout: float,
    cwd: Path,
    watch_rss: bool = False,
) -> ProcessOutcome:
    """Run ``cmd`` in its own session; kill the whole group at ``timeout``.

    CPU time is the child's (and its reaped children's) user+system time, taken from this
    process' RUSAGE_CHILDREN, so runs must not overlap. ``watch_rss`` samples the child's
    peak resident set from /proc while it runs (the child itself, not its own children).
    """
    cpu0 = _children_cpu()
    wall0 = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    watch = _PeakRssWatch(proc.pid) if watch_rss else None
    returncode: int | None
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        returncode = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        returncode = None
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        peak = watch.stop() if watch is not None else None
    return ProcessOutcome(
        returncode,
        out or "",
        err or "",
        time.perf_counter() - wall0,
        _children_cpu() - cpu0,
        peak,
    )


def _source_revision() -> str:
    """The checkout's commit (and whether it has local changes), for reproducibility."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=bench_env.REPO,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            cwd=bench_env.REPO,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (with local changes in src)" if dirty else head


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    # /proc is Linux-only; elsewhere the machine description is just less detailed.
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = 0.0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_avg_at_start": list(os.getloadavg()),
    }


class Suite:
    """One benchmark session against one cluster."""

    def __init__(self, opts: Options, cluster: Any, benv: bench_env.BenchEnv) -> None:
        self.opts = opts
        self.cluster = cluster
        self.benv = benv
        self.worker_env = benv.worker_env()
        self.tmp = Path(tempfile.mkdtemp(prefix="kafkaio-bench-"))
        self.session = uuid.uuid4().hex[:6]
        self.java_error: str | None = None

    # -- single runs ----------------------------------------------------------------

    def _broker_pids(self) -> list[int]:
        return [n.pid for n in getattr(self.cluster, "nodes", []) if n.pid is not None]

    def run_one(self, client: str, w: Workload, topic: str, round_no: int) -> dict[str, Any]:
        """Run ``client`` on ``w`` once; always returns a record (status says how it went)."""
        base: dict[str, Any] = {"client": client, "round": round_no}
        peer = PEER_OF_CLIENT.get(client)
        if peer is not None and peer in self.benv.missing:
            return {**base, "status": "missing", "error": self.benv.missing[peer]}
        if client == "java" and self.java_error:
            return {**base, "status": "missing", "error": self.java_error}
        timeout = w.timeout_s()
        spec = RunSpec(
            client=client,
            workload=w,
            topic=topic,
            bootstrap_servers=self.cluster.bootstrap_servers,
            run_id=f"{self.session}-{round_no}",
            deadline_s=max(10.0, timeout - 15.0),
            payload_file=str(self._payload_file(w.value_size)) if client == "java" else "",
        )
        broker0 = _proc_cpu(self._broker_pids())
        if client == "java":
            main_class, args = java.main_class_and_args(spec)
            try:
                cmd = self.cluster.java_tool_command(main_class, *args, jvm_args=java.JVM_ARGS)
            except Exception as exc:  # the tools jar could not be resolved
                self.java_error = f"{type(exc).__name__}: {exc}"
                return {**base, "status": "missing", "error": self.java_error}
        else:
            cmd = [str(self.benv.python), "-m", "bench.worker"]
        # A Python worker measures its own peak (bench.worker); the JVM is watched from here.
        outcome = run_process(
            cmd,
            spec.to_json(),
            self.worker_env,
            timeout,
            bench_env.REPO,
            watch_rss=client == "java",
        )
        record: dict[str, Any] = {
            **base,
            "process_wall_s": outcome.wall_s,
            "process_cpu_s": outcome.cpu_s,
            # Unknown for a cluster this process did not start.
            "broker_cpu_s": _proc_cpu(pids) - broker0 if (pids := self._broker_pids()) else None,
        }
        if outcome.returncode is None:
            return {**record, "status": "timeout", "error": f"killed after {timeout:.0f}s"}
        if client == "java":
            if outcome.returncode != 0:
                tail = (outcome.stderr.strip() or outcome.stdout.strip())[-600:]
                return {**record, "status": "failed", "error": f"exit {outcome.returncode}: {tail}"}
            try:
                figures = java.parse(spec, outcome.stdout)
            except ValueError as exc:
                return {**record, "status": "failed", "error": str(exc)}
            # The tool reports no CPU time of its measured phase: only the whole-JVM figure
            # (process_cpu_s) is known.
            figures["cpu_s"] = None
            figures["version"] = self.cluster.version
            figures["peak_rss_mib"] = outcome.peak_rss_mib
            return {**record, **figures, "status": "ok"}
        result = _worker_result(outcome.stdout)
        if result is None:
            tail = outcome.stderr.strip()[-600:]
            return {
                **record,
                "status": "failed",
                "error": f"exit {outcome.returncode}, no result: {tail}",
            }
        if outcome.returncode not in (0, EXIT_UNAVAILABLE) and result.get("status") == "ok":
            result["status"] = "failed"
        if result.get("status") == "failed" and outcome.stderr.strip():
            result["stderr_tail"] = outcome.stderr.strip()[-1500:]
        return {**record, **result}

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _payload_file(self, size: int) -> Path:
        path = self.tmp / f"payload-{size}.txt"
        if not path.exists():
            write_payload_file(str(path), size)
        return path

    # -- topics ---------------------------------------------------------------------

    def make_topic(self, w: Workload) -> str:
        topic = f"bench-{self.session}-{w.id}"
        rf = min(3, self.opts.nodes)
        configs: dict[str, str | int] = {}
        if rf > 1:
            configs["min.insync.replicas"] = 2
        self.cluster.create_topic(
            topic, partitions=w.partitions, replication_factor=rf, configs=configs
        )
        return topic

    def drop_topic(self, topic: str) -> None:
        try:
            self.cluster.delete_topic(topic)
        except Exception as exc:
            log.warning("could not delete %s: %s", topic, exc)

    def prefill(self, w: Workload, topic: str) -> dict[str, Any]:
        """Write the records the consumers read, with the first client that can."""
        produce = dataclasses.replace(w, kind="produce", acks="1")
        last: dict[str, Any] = {}
        for client in PREFILL_ORDER:  # not measured: any client that can write will do
            rec = self.run_one(client, produce, topic, 0)
            if rec.get("status") == "ok":
                return rec
            last = rec
            log.warning(
                "prefill with %s failed (%s); trying the next client", client, rec.get("error")
            )
        raise RuntimeError(f"no client could prefill {topic}: {last.get('error')}")

    # -- the matrix -----------------------------------------------------------------

    def run_workload(self, w: Workload, progress: Callable[[str], None]) -> dict[str, Any]:
        clients = w.clients(self.opts.clients)
        entry: dict[str, Any] = {
            "id": w.id,
            "label": w.label,
            **dataclasses.asdict(w),
            "clients": clients,
            "runs": [],
        }
        try:
            topic = self.make_topic(w)
        except Exception as exc:
            entry["error"] = f"topic creation failed: {exc}"
            return entry
        try:
            if w.kind == "consume":
                try:
                    fill = self.prefill(w, topic)
                    entry["prefill"] = {
                        "client": fill["client"],
                        "records_per_s": fill.get("records_per_s"),
                    }
                except RuntimeError as exc:
                    entry["error"] = str(exc)
                    return entry
            skip: dict[str, str] = {}
            for round_no in range(1, self.opts.rounds + 1):
                for client in clients:
                    if client in skip:
                        rec = {
                            "client": client,
                            "round": round_no,
                            "status": "skipped",
                            "error": skip[client],
                        }
                    else:
                        rec = self.run_one(client, w, topic, round_no)
                    entry["runs"].append(rec)
                    progress(_progress_line(w, rec))
                    status = rec.get("status")
                    if status in ("missing", "unavailable", "timeout") and client not in skip:
                        # Do not pay a time bound again for the same client and workload.
                        skip[client] = f"{status} in round {round_no}"
        finally:
            self.drop_topic(topic)
        return entry


def _worker_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                parsed: dict[str, Any] = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            return parsed
    return None


def _progress_line(w: Workload, rec: dict[str, Any]) -> str:
    status = rec.get("status")
    head = f"  [{w.id}] round {rec['round']} {rec['client']:<16}"
    if status != "ok":
        return f"{head} {status}: {str(rec.get('error', ''))[:160]}"
    if w.kind == "latency":
        lat = rec.get("latency_ms", {})
        return (
            f"{head} p50 {lat.get('p50', 0):.2f} ms  p99 {lat.get('p99', 0):.2f} ms  "
            f"p99.9 {lat.get('p99.9', 0):.2f} ms  lost {rec.get('lost')}"
        )
    cpu = rec.get("cpu_s")
    cpu_text = f"cpu {cpu:.2f}s" if isinstance(cpu, int | float) else ""
    return (
        f"{head} {rec.get('records_per_s', 0):>12,.0f} rec/s  {rec.get('mb_per_s', 0):7.1f} MB/s  "
        f"wall {rec.get('wall_s', 0):.2f}s {cpu_text}"
    )


def run_suite(
    opts: Options, progress: Callable[[str], None], bootstrap: str | None = None
) -> dict[str, Any]:
    """Run everything; returns the raw results (also written to ``opts.out_dir``).

    Starts a cluster of ``opts.nodes`` (stopped at the end, whatever happens) unless
    ``bootstrap`` names one that is already running.
    """
    from kafkaio._pin import KAFKA_VERSION
    from kafkaio.testing import ExternalKafkaCluster, KafkaCluster

    benv = opts.bench_env or bench_env.ensure()
    raw: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mode": opts.mode,
            "rounds": opts.rounds,
            "nodes": opts.nodes,
            "kafka_version": KAFKA_VERSION,
            "kafkaio_revision": _source_revision(),
            "machine": _machine(),
            "settings": {"linger_ms": LINGER_MS, "batch_size": BATCH_SIZE},
            "reference": REFERENCE,
            "peers": benv.versions,
            "missing_peers": benv.missing,
            "clients": list(opts.clients),
        },
        "workloads": [],
    }
    progress(f"peers: {benv.versions}; missing: {benv.missing or 'none'}")
    started = time.monotonic()
    cluster_cm: Any = (
        contextlib.nullcontext(
            ExternalKafkaCluster(bootstrap, tools_dir=opts.out_dir / "raw" / "java-tools")
        )
        if bootstrap
        else KafkaCluster(nodes=opts.nodes, heap="1g", log_level="WARN")
    )
    if bootstrap:
        raw["meta"]["external_bootstrap"] = bootstrap
    with cluster_cm as cluster:
        progress(f"Kafka {cluster.version}, {opts.nodes} node(s) at {cluster.bootstrap_servers}")
        suite = Suite(opts, cluster, benv)
        try:
            for i, w in enumerate(opts.matrix, 1):
                progress(f"[{i}/{len(opts.matrix)}] {w.kind}: {w.label}")
                raw["workloads"].append(suite.run_workload(w, progress))
                write_raw(raw, opts)
        finally:
            suite.close()
    raw["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    if opts.micro:
        progress("records micro-benchmark (kafkaio vs aiokafka)")
        raw["micro"] = run_micro(benv, quick=opts.mode == "quick")
    write_raw(raw, opts)
    return raw


def run_micro(benv: bench_env.BenchEnv, quick: bool) -> dict[str, Any]:
    """bench/records_micro.py (build/read a 1,000-record batch per codec) as a subprocess."""
    script = bench_env.REPO / "bench" / "records_micro.py"
    args = [str(benv.python), str(script), "--json"]
    if "aiokafka" not in benv.missing:
        args += ["--peer-python", str(benv.python)]
    if quick:
        args += ["--runs", "3", "--min-time", "0.05"]
    outcome = run_process(args, "", benv.worker_env(), 600.0, bench_env.REPO)
    if outcome.returncode != 0:
        tail = outcome.stderr.strip()[-600:]
        return {"error": f"exit {outcome.returncode}: {tail}"}
    try:
        parsed: dict[str, Any] = json.loads(outcome.stdout)
    except ValueError:
        return {"error": f"unparsable output: {outcome.stdout[-300:]!r}"}
    return {"records": 1000, "value_size": 100, "unit": "us per batch (CPU)", "columns": parsed}


def write_raw(raw: dict[str, Any], opts: Options) -> Path:
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    path = opts.out_dir / f"{opts.name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(raw, indent=1) + "\n")
    tmp.replace(path)
    return path
