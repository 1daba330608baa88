"""Run a real Apache Kafka cluster (KRaft, combined broker+controller nodes) on loopback."""

from __future__ import annotations

import abc
import asyncio
import atexit
import base64
import contextlib
import ctypes
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from kafkaio._pin import KAFKA_VERSION, SCALA_VERSION
from kafkaio.testing import _cds
from kafkaio.testing._errors import (
    KafkaHarnessError,
    KafkaStartError,
    KafkaToolError,
    ProbeError,
)
from kafkaio.testing._probe import ClusterMetadata, TopicInfo, fetch_metadata
from kafkaio.testing._resolve import KafkaDistribution, find_java, resolve_kafka
from kafkaio.testing._state import STATE_FILE, live_pids_from_state, signal_group

log = logging.getLogger("kafkaio.testing.cluster")

HOST = "127.0.0.1"

PropertyValue = str | int | float | bool

_SECURITY_PROTOCOLS = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
_LISTENER_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_HEAP_RE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_PROPERTY_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-$]+$")
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._\-]{1,249}$")
# Short-lived tools (format, TopicCommand) start faster with C1 only and the serial GC.
_LONE_LEADER_GRACE_S = 1.5
_QUICK_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
# The GC settings bin/kafka-run-class.sh gives a broker.
_BROKER_JVM = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)


@dataclass(frozen=True)
class Listener:
    """An extra client listener opened on every node, next to the default ``PLAINTEXT`` one.

    ``name`` is the listener name (e.g. ``"SASL_PLAINTEXT"`` or ``"EXTERNAL"``);
    per-listener settings go into ``broker_properties`` under ``listener.name.<name>.*``.
    """

    name: str
    security_protocol: str = "PLAINTEXT"

    def __post_init__(self) -> None:
        if not _LISTENER_NAME_RE.match(self.name) or self.name in ("PLAINTEXT", "CONTROLLER"):
            raise ValueError(
                f"invalid listener name {self.name!r}: use upper-case letters, digits and "
                "'_' (PLAINTEXT and CONTROLLER are taken by the harness)"
            )
        if self.security_protocol not in _SECURITY_PROTOCOLS:
            raise ValueError(
                f"invalid security protocol {self.security_protocol!r}: expected one of "
                f"{sorted(_SECURITY_PROTOCOLS)}"
            )


# ---------------------------------------------------------------------------------------
# Ports


_allocated_ports: set[int] = set()
_ports_lock = threading.Lock()


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct loopback ports that are free right now.

    Ports come from below the kernel's ephemeral range, so a restarted node is unlikely to
    find its port taken by some client's outgoing connection; each port is handed out at
    most once per process.
    """
    high = _ephemeral_low() - 1
    low = 20000
    rng = random.SystemRandom()
    out: list[int] = []
    with _ports_lock:
        attempts = 0
        while len(out) < count:
            attempts += 1
            if attempts > 20000:
                raise KafkaHarnessError(f"cannot find {count} free loopback ports")
            if high - low >= 1000:
                port = rng.randrange(low, high)
            else:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind((HOST, 0))
                    port = int(s.getsockname()[1])
            if port in _allocated_ports or not _bindable(port):
                continue
            _allocated_ports.add(port)
            out.append(port)
    return out


# ---------------------------------------------------------------------------------------
# Process helpers


def _load_prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong]
    fn.restype = ctypes.c_int

    def prctl(option: int, arg: int) -> int:
        return int(fn(option, arg))

    return prctl


# Resolved in the parent so the child only makes one foreign call between fork and exec.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent_hook(parent_pid: int) -> Callable[[], None] | None:
    """A pre-exec hook that kills the child (SIGKILL) when the spawning thread dies.

    Linux ties this to the *thread* that forked, so it is only used when spawning from the
    main thread; elsewhere the atexit hook is the safety net.
    """
    prctl = _PRCTL
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:  # parent already gone before prctl took effect
            os._exit(1)

    return hook


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file ('' if it cannot be read)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


def _escape_property(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )


def _format_value(value: PropertyValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_properties(path: Path, props: Mapping[str, str], header: str) -> None:
    """Write a Java ``.properties`` file."""
    body = "".join(f"{k}={_escape_property(v)}\n" for k, v in props.items())
    path.write_text(f"# {header}\n{body}")


def _check_properties(props: Mapping[str, PropertyValue] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (props or {}).items():
        if not isinstance(key, str) or not _PROPERTY_KEY_RE.match(key):
            raise ValueError(f"invalid {what} key {key!r}")
        if not isinstance(value, str | int | float | bool):
            raise TypeError(f"{what} {key!r} has unsupported value {value!r}")
        out[key] = _format_value(value)
    return out


def _log4j2_config(log_file: Path, level: str) -> str:
    path = _escape_property(str(log_file))
    return (
        "# Written by kafkaio.testing\n"
        "status = warn\n"
        "name = kafkaio-harness\n"
        "appender.file.type = File\n"
        "appender.file.name = FILE\n"
        f"appender.file.fileName = {path}\n"
        "appender.file.append = true\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        f"rootLogger.level = {level}\n"
        "rootLogger.appenderRef.file.ref = FILE\n"
        # The request logger is noisy at INFO; Kafka's own config keeps it at WARN.
        "logger.request.name = kafka.request.logger\n"
        "logger.request.level = WARN\n"
    )


def _log4j1_config(log_file: Path, level: str) -> str:
    path = _escape_property(str(log_file))
    return (
        "# Written by kafkaio.testing\n"
        f"log4j.rootLogger={level}, file\n"
        "log4j.appender.file=org.apache.log4j.FileAppender\n"
        f"log4j.appender.file.File={path}\n"
        "log4j.appender.file.Append=true\n"
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.kafka.request.logger=WARN\n"
    )


def write_logging_config(dist: KafkaDistribution, config: Path, log_file: Path, level: str) -> str:
    """Write a logging config for ``dist`` sending everything to ``log_file``.

    Returns the JVM system property that makes the JVM use it.
    """
    if dist.log_flavor == "log4j2":
        config.write_text(_log4j2_config(log_file, level))
        return f"-Dlog4j2.configurationFile={config}"
    config.write_text(_log4j1_config(log_file, level))
    return f"-Dlog4j.configuration={config.as_uri()}"


def random_cluster_id() -> str:
    """A cluster id in Kafka's format (URL-safe base64 of 16 random bytes, no padding)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka avoids ids that look like a CLI flag
            return cid


# ---------------------------------------------------------------------------------------
# Clusters


class KafkaClusterBase(abc.ABC):
    """Operations shared by managed and external clusters (topics, metadata, Java tools)."""

    def __init__(
        self,
        version: str,
        scala_version: str,
        cache_dir: Path | str | None,
    ) -> None:
        self.version = version
        self.scala_version = scala_version
        self._cache_dir = cache_dir
        self._dist: KafkaDistribution | None = None
        self.cds = True
        """Use a class-data sharing archive for the JVMs (see :mod:`kafkaio.testing._cds`)."""

    # -- to be provided by subclasses -------------------------------------------------

    @abc.abstractmethod
    def addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every broker the harness may talk to."""

    @abc.abstractmethod
    def _tools_dir(self) -> Path:
        """Where Java tools write their logging config and ``tools.log``."""

    def _probe_addresses(self) -> list[tuple[str, int]]:
        """Where readiness probes are sent (managed clusters skip stopped nodes)."""
        return self.addresses()

    def _cds_archive(self, java: str) -> Path | None:
        return _cds.archive_path(self.distribution, java) if self.cds else None

    # -- shared -------------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """Comma-separated ``host:port`` list for clients' ``bootstrap_servers``."""
        return ",".join(f"{h}:{p}" for h, p in self.addresses())

    @property
    def distribution(self) -> KafkaDistribution:
        """The Kafka jars this cluster runs with (resolved on first use)."""
        if self._dist is None:
            self._dist = resolve_kafka(
                self.version, scala_version=self.scala_version, cache_dir=self._cache_dir
            )
        return self._dist

    def metadata(self, topics: Sequence[str] | None = (), timeout: float = 5.0) -> ClusterMetadata:
        """Metadata from the first broker that answers (``topics=None``: every topic)."""
        errors: list[str] = []
        for host, port in self._probe_addresses():
            try:
                return fetch_metadata(host, port, topics, timeout=timeout)
            except ProbeError as exc:
                errors.append(str(exc))
        raise ProbeError(
            "no broker answered Metadata: " + "; ".join(errors or ["no broker is running"])
        )

    def wait_for_topic(
        self, name: str, partitions: int | None = None, timeout: float = 60.0
    ) -> TopicInfo:
        """Wait until every reachable broker knows ``name`` with a leader for each partition."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            ok: TopicInfo | None = None
            for host, port in self._probe_addresses():
                try:
                    md = fetch_metadata(host, port, [name], timeout=2.0)
                except ProbeError as exc:
                    last = str(exc)
                    continue
                info = md.topic(name)
                if info is None or info.error_code != 0 or not info.partitions:
                    last = f"{host}:{port} reports {info}"
                    ok = None
                    break
                if partitions is not None and len(info.partitions) != partitions:
                    last = f"{host}:{port} reports {len(info.partitions)} partitions"
                    ok = None
                    break
                if any(p.leader < 0 or p.error_code != 0 for p in info.partitions):
                    last = f"{host}:{port} reports partitions without a leader"
                    ok = None
                    break
                ok = info
            if ok is not None:
                return ok
            if time.monotonic() > deadline:
                raise KafkaHarnessError(
                    f"topic {name!r} was not ready on every broker within {timeout:.0f}s: {last}"
                )
            time.sleep(0.1)

    def java_tool_command(
        self, main_class: str, *args: str, jvm_args: Sequence[str] = ()
    ) -> list[str]:
        """The command line that runs ``main_class`` on the cluster's classpath.

        Useful to ``subprocess.Popen`` long-running tools (console consumer, perf tools).
        The tool logs to ``tools.log`` in the cluster's run directory.
        """
        if not re.fullmatch(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*", main_class):
            raise ValueError(f"invalid Java main class {main_class!r}")
        dist = self.distribution
        tools_dir = self._tools_dir()
        tools_dir.mkdir(parents=True, exist_ok=True)
        logging_arg = write_logging_config(
            dist, tools_dir / f"tools-{dist.log_flavor}.properties", tools_dir / "tools.log", "INFO"
        )
        java = find_java()
        return [
            java,
            *_cds.use_args(self._cds_archive(java)),
            *jvm_args,
            logging_arg,
            "-cp",
            dist.classpath,
            main_class,
            *args,
        ]

    def run_java_tool(
        self,
        main_class: str,
        *args: str,
        timeout: float = 300.0,
        check: bool = True,
        input: str | None = None,
        jvm_args: Sequence[str] = (),
    ) -> subprocess.CompletedProcess[str]:
        """Run a Java tool (e.g. ``org.apache.kafka.tools.ProducerPerformance``) to completion.

        Returns the completed process with text stdout/stderr; ``check=True`` raises
        :class:`KafkaToolError` on a non-zero exit status.
        """
        cmd = self.java_tool_command(main_class, *args, jvm_args=jvm_args)
        try:
            proc = subprocess.run(
                cmd,
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaToolError(
                f"{main_class} did not finish within {timeout:.0f}s", -1, "", ""
            ) from exc
        if check and proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip())[-4000:]
            raise KafkaToolError(
                f"{main_class} {' '.join(args)} exited with status {proc.returncode}: {detail}",
                proc.returncode,
                proc.stdout,
                proc.stderr,
            )
        return proc

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int = 1,
        configs: Mapping[str, PropertyValue] | None = None,
        *,
        timeout: float = 60.0,
    ) -> TopicInfo:
        """Create a topic and wait until every broker has a leader for each partition.

        Implemented with Kafka's ``TopicCommand`` until kafkaio's own admin client exists.
        """
        if not _TOPIC_RE.match(name) or name in (".", ".."):
            raise ValueError(f"invalid topic name {name!r}")
        if not isinstance(partitions, int) or partitions < 1:
            raise ValueError(f"partitions must be a positive int, got {partitions!r}")
        if not isinstance(replication_factor, int) or replication_factor < 1:
            raise ValueError(
                f"replication_factor must be a positive int, got {replication_factor!r}"
            )
        args = [
            "--bootstrap-server",
            self.bootstrap_servers,
            "--create",
            "--topic",
            name,
            "--partitions",
            str(partitions),
            "--replication-factor",
            str(replication_factor),
        ]
        for key, value in _check_properties(configs, "topic config").items():
            args += ["--config", f"{key}={value}"]
        self.run_java_tool(
            "org.apache.kafka.tools.TopicCommand", *args, timeout=timeout, jvm_args=_QUICK_JVM
        )
        return self.wait_for_topic(name, partitions, timeout=timeout)

    def delete_topic(self, name: str, *, timeout: float = 60.0) -> None:
        """Delete a topic (through Kafka's ``TopicCommand``)."""
        if not _TOPIC_RE.match(name):
            raise ValueError(f"invalid topic name {name!r}")
        self.run_java_tool(
            "org.apache.kafka.tools.TopicCommand",
            "--bootstrap-server",
            self.bootstrap_servers,
            "--delete",
            "--topic",
            name,
            timeout=timeout,
            jvm_args=_QUICK_JVM,
        )


class ExternalKafkaCluster(KafkaClusterBase):
    """A cluster the harness did not start (e.g. from ``KAFKAIO_BOOTSTRAP``).

    Topic helpers and Java tools work; node control does not.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        version: str = KAFKA_VERSION,
        *,
        tools_dir: Path | str | None = None,
        scala_version: str = SCALA_VERSION,
        cache_dir: Path | str | None = None,
    ) -> None:
        super().__init__(version, scala_version, cache_dir)
        addrs: list[tuple[str, int]] = []
        for item in bootstrap_servers.split(","):
            host, sep, port = item.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(
                    f"invalid bootstrap address {item!r} in {bootstrap_servers!r}: "
                    "expected host:port"
                )
            addrs.append((host.strip("[]"), int(port)))
        self._addrs = addrs
        self._tools = Path(tools_dir) if tools_dir else None

    def addresses(self) -> list[tuple[str, int]]:
        return list(self._addrs)

    def _tools_dir(self) -> Path:
        if self._tools is None:
            self._tools = Path(tempfile.mkdtemp(prefix="kafkaio-tools-"))
        return self._tools

    def __repr__(self) -> str:
        return f"ExternalKafkaCluster({self.bootstrap_servers!r})"


class KafkaNode:
    """One combined broker+controller process of a :class:`KafkaCluster`."""

    def __init__(
        self,
        node_id: int,
        directory: Path,
        port: int,
        controller_port: int,
        listener_ports: dict[str, int],
    ) -> None:
        self.node_id = node_id
        self.directory = directory
        self.port = port
        """The ``PLAINTEXT`` client port."""
        self.controller_port = controller_port
        self.listener_ports = listener_ports
        """Client port by listener name (includes ``PLAINTEXT``)."""
        self._process: subprocess.Popen[bytes] | None = None
        # (temporary dump file, archive) while this node's JVM writes a CDS archive at exit.
        self._cds_dump: tuple[Path, Path] | None = None

    def _exited(self) -> None:
        """Bookkeeping once the JVM has exited: publish its class-data dump, if any."""
        if self._cds_dump is not None and self._process is not None:
            tmp, archive = self._cds_dump
            self._cds_dump = None
            _cds.promote(tmp, archive, self._process.poll())

    @property
    def data_dir(self) -> Path:
        """The node's ``log.dirs`` (partition data and KRaft metadata)."""
        return self.directory / "data"

    @property
    def config_path(self) -> Path:
        """The node's ``server.properties``."""
        return self.directory / "server.properties"

    @property
    def log_path(self) -> Path:
        """The node's log file: stdout, stderr and the logging framework's output."""
        return self.directory / "server.log"

    @property
    def address(self) -> str:
        """``host:port`` of the ``PLAINTEXT`` listener."""
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The JVM's process id while the node runs, else ``None``."""
        proc = self._process
        if proc is None or proc.poll() is not None:
            return None
        return proc.pid

    @property
    def is_running(self) -> bool:
        """Whether the node's JVM is alive."""
        return self.pid is not None

    @property
    def returncode(self) -> int | None:
        """Exit status of the last JVM of this node, ``None`` if never started or running."""
        return None if self._process is None else self._process.poll()

    def __repr__(self) -> str:
        return f"KafkaNode(node_id={self.node_id}, port={self.port}, pid={self.pid})"


_live_clusters: dict[int, KafkaCluster] = {}
_live_lock = threading.Lock()


@atexit.register
def _reap_all() -> None:
    """Stop every non-detached cluster still running when the interpreter exits."""
    with _live_lock:
        clusters = list(_live_clusters.values())
    for cluster in clusters:
        with contextlib.suppress(Exception):
            cluster.stop(timeout=5.0)


class KafkaCluster(KafkaClusterBase):
    """A KRaft Apache Kafka cluster of ``nodes`` combined broker+controller JVMs on loopback.

    Every node listens on ``127.0.0.1`` only (free ports picked at start), logs to its own
    file under the run directory, and is torn down by :meth:`stop`, the context manager,
    or (as a safety net) at interpreter exit. Blocking API; ``async with`` runs start and
    stop in a worker thread.

    ``broker_properties`` are added to (and override) the harness' defaults for every
    node, ``node_properties`` per node id. ``listeners`` adds client listeners next to
    ``PLAINTEXT`` (which stays the inter-broker listener). ``detached=True`` lets the nodes
    outlive this Python process (used by the CLI's ``--detach``).
    """

    def __init__(
        self,
        nodes: int = 1,
        version: str = KAFKA_VERSION,
        broker_properties: Mapping[str, PropertyValue] | None = None,
        work_dir: Path | str | None = None,
        heap: str = "512m",
        *,
        auto_create_topics: bool = True,
        listeners: Sequence[Listener] = (),
        node_properties: Mapping[int, Mapping[str, PropertyValue]] | None = None,
        jvm_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        start_timeout: float = 120.0,
        keep_data: bool = False,
        detached: bool = False,
        log_level: str = "INFO",
        cds: bool = True,
        scala_version: str = SCALA_VERSION,
        cache_dir: Path | str | None = None,
    ) -> None:
        super().__init__(version, scala_version, cache_dir)
        self.cds = cds
        if not isinstance(nodes, int) or isinstance(nodes, bool) or not 1 <= nodes <= 9:
            raise ValueError(f"nodes must be an int in 1..9, got {nodes!r}")
        if not _HEAP_RE.match(heap):
            raise ValueError(f"invalid heap size {heap!r}: expected e.g. '512m' or '1g'")
        if log_level.upper() not in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR"):
            raise ValueError(f"invalid log level {log_level!r}")
        if start_timeout <= 0:
            raise ValueError(f"start_timeout must be positive, got {start_timeout!r}")
        names = [lst.name for lst in listeners]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate listener names in {names}")
        self.node_count = nodes
        self.heap = heap
        self.auto_create_topics = auto_create_topics
        self.listeners = tuple(listeners)
        self.broker_properties = _check_properties(broker_properties, "broker property")
        self.node_properties: dict[int, dict[str, str]] = {}
        for nid, props in (node_properties or {}).items():
            if nid not in range(1, nodes + 1):
                raise ValueError(f"node_properties names node {nid!r}; node ids are 1..{nodes}")
            self.node_properties[nid] = _check_properties(props, f"node {nid} property")
        self.jvm_args = tuple(jvm_args)
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self.keep_data = keep_data
        self.detached = detached
        self.log_level = log_level.upper()
        self._work_dir = Path(work_dir).expanduser().resolve() if work_dir else None
        self._run_dir: Path | None = None
        self._nodes: list[KafkaNode] = []
        self.cluster_id: str | None = None
        self._lock = threading.RLock()
        self._started = False

    # -- introspection ------------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        """Directory holding each node's config, data and log (``node-<id>/``)."""
        if self._run_dir is None:
            raise KafkaHarnessError("the cluster has not been started")
        return self._run_dir

    @property
    def nodes(self) -> list[KafkaNode]:
        """The cluster's nodes, ordered by node id (ids are 1..N)."""
        return list(self._nodes)

    def node(self, node_id: int) -> KafkaNode:
        """The node with id ``node_id``."""
        for n in self._nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(
            f"no node {node_id!r} in this cluster (ids: {[n.node_id for n in self._nodes]})"
        )

    @property
    def log_paths(self) -> list[Path]:
        """Every node's log file."""
        return [n.log_path for n in self._nodes]

    @property
    def state_path(self) -> Path:
        """The JSON state file (ports, pids, logs) kept up to date in the run directory."""
        return self.run_dir / STATE_FILE

    def addresses(self) -> list[tuple[str, int]]:
        return [(HOST, n.port) for n in self._nodes]

    def running_addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of the nodes that are currently running."""
        return [(HOST, n.port) for n in self._nodes if n.is_running]

    def bootstrap_servers_for(self, listener: str) -> str:
        """Bootstrap list for an extra listener (see :class:`Listener`)."""
        if not self._nodes:
            raise KafkaHarnessError("the cluster has not been started")
        if listener not in self._nodes[0].listener_ports:
            raise KeyError(
                f"no listener {listener!r}; listeners: {list(self._nodes[0].listener_ports)}"
            )
        return ",".join(f"{HOST}:{n.listener_ports[listener]}" for n in self._nodes)

    def _tools_dir(self) -> Path:
        return self.run_dir

    def _probe_addresses(self) -> list[tuple[str, int]]:
        return self.running_addresses()

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        servers = self.bootstrap_servers if self._nodes else "-"
        return (
            f"KafkaCluster(nodes={self.node_count}, version={self.version!r}, {state}, {servers})"
        )

    # -- configuration ------------------------------------------------------------------

    def _node_properties(self, node: KafkaNode) -> dict[str, str]:
        n = self.node_count
        rf = min(3, n)
        min_isr = min(2, n)
        voters = ",".join(f"{x.node_id}@{HOST}:{x.controller_port}" for x in self._nodes)
        client = [
            ("PLAINTEXT", "PLAINTEXT"),
            *((lst.name, lst.security_protocol) for lst in self.listeners),
        ]
        listeners = [f"{name}://{HOST}:{node.listener_ports[name]}" for name, _ in client]
        proto_map = [f"{name}:{proto}" for name, proto in client] + ["CONTROLLER:PLAINTEXT"]
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": ",".join([*listeners, f"CONTROLLER://{HOST}:{node.controller_port}"]),
            "advertised.listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(proto_map),
            "log.dirs": str(node.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "auto.create.topics.enable": "true" if self.auto_create_topics else "false",
            "offsets.topic.replication.factor": str(rf),
            "transaction.state.log.replication.factor": str(rf),
            "transaction.state.log.min.isr": str(min_isr),
            "group.initial.rebalance.delay.ms": "0",
            # Notice dead brokers faster than the defaults (2 s / 9 s) so failover tests
            # stay short, with enough slack for GC pauses on a busy machine.
            "broker.heartbeat.interval.ms": "1000",
            "broker.session.timeout.ms": "6000",
        }
        if self.distribution.major >= 4:
            props["share.coordinator.state.topic.replication.factor"] = str(rf)
            props["share.coordinator.state.topic.min.isr"] = str(min_isr)
        props.update(self.broker_properties)
        props.update(self.node_properties.get(node.node_id, {}))
        return props

    def _prepare_run_dir(self) -> Path:
        if self._work_dir is None:
            return Path(tempfile.mkdtemp(prefix="kafkaio-cluster-"))
        run_dir = self._work_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        live = live_pids_from_state(run_dir)
        if live:
            raise KafkaHarnessError(
                f"a cluster is still running in {run_dir} (pids {live}); stop it first "
                f"(python -m kafkaio.testing stop --dir {run_dir})"
            )
        for old in run_dir.glob("node-*"):
            if old.is_dir():
                shutil.rmtree(old)
        return run_dir

    def _allocate_nodes(self, run_dir: Path) -> None:
        per_node = 2 + len(self.listeners)
        ports = free_ports(per_node * self.node_count)
        self._nodes = []
        for i in range(self.node_count):
            chunk = ports[i * per_node : (i + 1) * per_node]
            listener_ports = {"PLAINTEXT": chunk[0]}
            for lst, p in zip(self.listeners, chunk[2:], strict=True):
                listener_ports[lst.name] = p
            self._nodes.append(
                KafkaNode(i + 1, run_dir / f"node-{i + 1}", chunk[0], chunk[1], listener_ports)
            )

    def _write_node_files(self, node: KafkaNode) -> str:
        node.directory.mkdir(parents=True, exist_ok=True)
        node.data_dir.mkdir(exist_ok=True)
        write_properties(
            node.config_path,
            self._node_properties(node),
            f"Kafka {self.version} node {node.node_id}, written by kafkaio.testing",
        )
        return write_logging_config(
            self.distribution,
            node.directory / f"{self.distribution.log_flavor}.properties",
            node.log_path,
            self.log_level,
        )

    # -- processes ----------------------------------------------------------------------

    def _logging_arg(self, node: KafkaNode) -> str:
        cfg = node.directory / f"{self.distribution.log_flavor}.properties"
        if self.distribution.log_flavor == "log4j2":
            return f"-Dlog4j2.configurationFile={cfg}"
        return f"-Dlog4j.configuration={cfg.as_uri()}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        return env

    def _format_node(self, node: KafkaNode, java: str) -> None:
        assert self.cluster_id is not None
        cmd = [
            java,
            "-Xmx256m",
            *_QUICK_JVM,
            *_cds.use_args(self._cds_archive(java)),
            self._logging_arg(node),
            "-cp",
            self.distribution.classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self.cluster_id,
            "-c",
            str(node.config_path),
        ]
        with node.log_path.open("ab") as out:
            out.write(f"# kafkaio.testing: formatting storage: {' '.join(cmd)}\n".encode())
            out.flush()
            try:
                rc = subprocess.run(
                    cmd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self._env(),
                    timeout=120,
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired as exc:
                raise self._start_error(node, "storage format did not finish within 120s") from exc
        if rc != 0:
            raise self._start_error(
                node, f"storage format (kafka.tools.StorageTool) exited with status {rc}"
            )

    def _launch(self, node: KafkaNode, java: str) -> None:
        cds_args: list[str] = []
        archive = self._cds_archive(java)
        if archive is not None:
            cds_args = _cds.use_args(archive)
            if not cds_args and node.node_id == 1:
                # One node per cluster dumps, so a 3-node teardown does not pay three times.
                tmp = _cds.dump_target(archive, f"{os.getpid()}-{id(self)}")
                node._cds_dump = (tmp, archive)
                cds_args = [f"-XX:ArchiveClassesAtExit={tmp}"]
        cmd = [
            java,
            f"-Xmx{self.heap}",
            *_BROKER_JVM,
            *cds_args,
            self._logging_arg(node),
            f"-Dkafka.logs.dir={node.directory}",
            *self.jvm_args,
            "-cp",
            self.distribution.classpath,
            "kafka.Kafka",
            str(node.config_path),
        ]
        hook = None if self.detached else _die_with_parent_hook(os.getpid())
        with node.log_path.open("ab") as out:
            out.write(
                f"# kafkaio.testing: starting node {node.node_id} at "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(cmd)}\n".encode()
            )
            out.flush()
            node._process = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env(),
                cwd=node.directory,
                start_new_session=True,
                preexec_fn=hook,
            )
        log.debug("node %d started, pid %d", node.node_id, node._process.pid)

    def _start_error(self, node: KafkaNode, what: str) -> KafkaStartError:
        others = "\n".join(f"  node {n.node_id}: {n.log_path}" for n in self._nodes)
        return KafkaStartError(
            f"Kafka {self.version} node {node.node_id}: {what}.\n"
            f"Log file: {node.log_path}\nAll node logs:\n{others}\n"
            f"--- last lines of {node.log_path} ---\n{tail(node.log_path)}",
            [n.log_path for n in self._nodes],
        )

    def _wait_ready(self, nodes: Sequence[KafkaNode], timeout: float) -> None:
        """Wait until each of ``nodes`` answers Metadata listing every running node."""
        deadline = time.monotonic() + timeout
        last: dict[int, str] = {n.node_id: "no answer yet" for n in nodes}
        pending = list(nodes)
        while True:
            expected = {n.node_id for n in self._nodes if n.is_running}
            still: list[KafkaNode] = []
            for node in pending:
                if not node.is_running:
                    raise self._start_error(
                        node, f"the JVM exited with status {node.returncode} during start-up"
                    )
                try:
                    md = fetch_metadata(HOST, node.port, timeout=2.0)
                except ProbeError as exc:
                    last[node.node_id] = str(exc)
                    still.append(node)
                    continue
                if not expected <= md.broker_ids:
                    last[node.node_id] = (
                        f"Metadata lists brokers {sorted(md.broker_ids)}, expected {sorted(expected)}"
                    )
                    still.append(node)
            pending = still
            if not pending:
                return
            if time.monotonic() > deadline:
                node = pending[0]
                raise self._start_error(
                    node,
                    f"not ready within {timeout:.0f}s ({last[node.node_id]})",
                )
            time.sleep(0.1)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> KafkaCluster:
        """Resolve the jars, format storage, start every node and wait until all are ready.

        Raises :class:`KafkaStartError` (naming the log files and quoting the failing
        node's log) if a node fails or the cluster is not ready within ``start_timeout``.
        """
        with self._lock:
            if self._started:
                return self
            started = time.monotonic()
            java = find_java()
            dist = self.distribution
            run_dir = self._prepare_run_dir()
            self._run_dir = run_dir
            if not self.detached:
                # Registered before any JVM exists, so an interrupt mid-start is cleaned up.
                with _live_lock:
                    _live_clusters[id(self)] = self
            try:
                self._start_with_retry(java, run_dir)
            except BaseException:
                self._terminate(list(self._nodes), timeout=5.0)
                with _live_lock:
                    _live_clusters.pop(id(self), None)
                self._write_state()
                raise
            self._started = True
            self._write_state()
            log.info(
                "Kafka %s cluster (%d node(s), %s) ready in %.1fs; bootstrap %s; logs in %s",
                dist.version,
                self.node_count,
                dist.source,
                time.monotonic() - started,
                self.bootstrap_servers,
                run_dir,
            )
            return self

    def _start_with_retry(self, java: str, run_dir: Path) -> None:
        for attempt in (1, 2):
            self.cluster_id = random_cluster_id()
            self._allocate_nodes(run_dir)
            try:
                self._start_all(java)
                return
            except KafkaStartError:
                self._terminate(list(self._nodes), timeout=5.0)
                if attempt == 2 or not self._port_clash():
                    raise
            # Another process took a port between the check and the bind: new ports.
            log.warning("port clash while starting Kafka; retrying with new ports")
            for node in self._nodes:
                failed = node.directory.with_name(f"{node.directory.name}.failed-attempt.log")
                with contextlib.suppress(OSError):
                    node.log_path.rename(failed)
                shutil.rmtree(node.directory, ignore_errors=True)

    def _port_clash(self) -> bool:
        return any("Address already in use" in tail(n.log_path, 200) for n in self._nodes)

    def _start_all(self, java: str) -> None:
        for node in self._nodes:
            self._write_node_files(node)
        with ThreadPoolExecutor(max_workers=len(self._nodes)) as pool:
            for fut in [pool.submit(self._format_node, n, java) for n in self._nodes]:
                fut.result()
        for node in self._nodes:
            self._launch(node, java)
        self._wait_ready(self._nodes, self.start_timeout)

    def _terminate(self, nodes: Sequence[KafkaNode], timeout: float) -> None:
        """SIGTERM ``nodes`` together, SIGKILL whatever is left after ``timeout``."""
        procs = [n._process for n in nodes if n._process is not None and n._process.poll() is None]
        # When every running voter is stopped at once, the Raft leader waits (5 s, fixed in
        # Kafka) for acknowledgements of its resignation that no stopping voter will send.
        # Its broker side has shut down by then, so the lone survivor gets a short grace.
        whole_quorum = len(procs) > 1 and len(procs) == sum(n.is_running for n in self._nodes)
        # A JVM writing its class-data archive at exit is busy, not stuck.
        dumping = [n._process for n in nodes if n._cds_dump is not None]
        for proc in procs:
            signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        lone_since: float | None = None
        while True:
            alive = [p for p in procs if p.poll() is None]
            now = time.monotonic()
            if not alive:
                break
            if whole_quorum and len(alive) == 1 and alive[0] not in dumping:
                lone_since = lone_since or now
                if now - lone_since > _LONE_LEADER_GRACE_S:
                    log.debug("killing pid %d, stuck in Raft resignation", alive[0].pid)
                    signal_group(alive[0].pid, signal.SIGKILL)
            if now > deadline:
                for proc in alive:
                    log.warning(
                        "Kafka pid %d ignored SIGTERM for %.0fs; killing it", proc.pid, timeout
                    )
                    signal_group(proc.pid, signal.SIGKILL)
                for proc in alive:
                    proc.wait()
                break
            time.sleep(0.05)
        # No process-group sweep after this point: a reaped pid may already belong to
        # someone else.
        for node in nodes:
            node._exited()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node (SIGTERM, then SIGKILL after ``timeout``); logs are kept.

        Data directories are removed unless ``keep_data`` was set.
        """
        with self._lock:
            self._terminate(self._nodes, timeout)
            with _live_lock:
                _live_clusters.pop(id(self), None)
            if self._started:
                self._started = False
                self._write_state()
                if not self.keep_data:
                    for node in self._nodes:
                        shutil.rmtree(node.data_dir, ignore_errors=True)
                log.info("Kafka cluster stopped; logs kept in %s", self._run_dir)

    def stop_node(self, node_id: int, timeout: float = 30.0) -> None:
        """Stop one node gracefully (SIGTERM; SIGKILL after ``timeout``)."""
        with self._lock:
            node = self.node(node_id)
            self._terminate([node], timeout)
            self._write_state()

    def kill_node(self, node_id: int) -> None:
        """Kill one node abruptly (SIGKILL), as a crash would."""
        with self._lock:
            node = self.node(node_id)
            proc = node._process
            if proc is not None and proc.poll() is None:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
            node._exited()
            self._write_state()

    def start_node(self, node_id: int, *, wait: bool = True, timeout: float | None = None) -> None:
        """Restart a stopped node with its data and ports; wait until it is back in Metadata."""
        with self._lock:
            if not self._started:
                raise KafkaHarnessError("start() the cluster before restarting a node")
            node = self.node(node_id)
            if node.is_running:
                raise KafkaHarnessError(f"node {node_id} is already running (pid {node.pid})")
            self._launch(node, find_java())
            self._write_state()
            if wait:
                try:
                    self._wait_ready([node], timeout or self.start_timeout)
                except KafkaStartError:
                    self._terminate([node], timeout=5.0)
                    raise

    def wait_for_brokers(self, count: int, timeout: float = 60.0) -> ClusterMetadata:
        """Wait until Metadata (from a running node) lists exactly ``count`` brokers."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            try:
                md = self.metadata(timeout=2.0)
            except ProbeError as exc:
                last = str(exc)
            else:
                if len(md.brokers) == count:
                    return md
                last = f"Metadata lists brokers {sorted(md.broker_ids)}"
            if time.monotonic() > deadline:
                raise KafkaHarnessError(
                    f"cluster did not reach {count} broker(s) within {timeout:.0f}s: {last}; "
                    f"logs: {', '.join(str(p) for p in self.log_paths)}"
                )
            time.sleep(0.1)

    def detach(self) -> None:
        """Forget the nodes without stopping them (they keep running after this process)."""
        with _live_lock:
            _live_clusters.pop(id(self), None)
        self.detached = True
        self._write_state()

    def _write_state(self) -> None:
        if self._run_dir is None:
            return
        state = {
            "version": self.version,
            "cluster_id": self.cluster_id,
            "bootstrap_servers": self.bootstrap_servers,
            "run_dir": str(self._run_dir),
            "owner_pid": os.getpid(),
            "detached": self.detached,
            "running": self._started,
            "nodes": [
                {
                    "node_id": n.node_id,
                    "port": n.port,
                    "controller_port": n.controller_port,
                    "listener_ports": n.listener_ports,
                    "pid": n.pid,
                    "log_path": str(n.log_path),
                    "config_path": str(n.config_path),
                    "data_dir": str(n.data_dir),
                }
                for n in self._nodes
            ],
        }
        tmp = self._run_dir / f"{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self._run_dir / STATE_FILE)

    # -- context managers ---------------------------------------------------------------

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> KafkaCluster:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
