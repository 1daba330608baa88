"""Command line: run a local Kafka cluster for demos and manual testing.

    python -m kafkaio.testing start [--nodes N] [--version V] [--dir D] [--detach]
    python -m kafkaio.testing status [--dir D]
    python -m kafkaio.testing stop [--dir D]

``start`` prints ``bootstrap=<servers>`` and ``state=<state file>`` and stays in the
foreground until Ctrl-C, or with ``--detach`` leaves the nodes running (their pids are in
the state file) for ``stop`` to end.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from kafkaio._pin import KAFKA_VERSION
from kafkaio.testing._cluster import KafkaCluster
from kafkaio.testing._errors import KafkaHarnessError, ProbeError
from kafkaio.testing._probe import fetch_metadata
from kafkaio.testing._resolve import cache_root
from kafkaio.testing._state import (
    STATE_FILE,
    live_pids_from_state,
    read_state,
    state_nodes,
    stop_from_state,
)


def _default_dir() -> Path:
    return cache_root() / "clusters" / "default"


def _parse_property(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kafkaio.testing", description="Run a local Apache Kafka cluster."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    dir_help = "run directory (default: <cache>/clusters/default)"

    start = sub.add_parser("start", help="start a cluster")
    start.add_argument("--nodes", type=int, default=1, help="number of nodes (default 1)")
    start.add_argument("--version", default=KAFKA_VERSION, help=f"Kafka version ({KAFKA_VERSION})")
    start.add_argument("--dir", type=Path, default=None, help=dir_help)
    start.add_argument("--heap", default="512m", help="JVM heap per node (default 512m)")
    start.add_argument(
        "-p",
        "--property",
        action="append",
        type=_parse_property,
        default=[],
        metavar="KEY=VALUE",
        help="extra broker property (repeatable)",
    )
    start.add_argument(
        "--no-auto-create-topics", action="store_true", help="auto.create.topics.enable=false"
    )
    start.add_argument("--timeout", type=float, default=120.0, help="start-up timeout (s)")
    start.add_argument("--detach", action="store_true", help="leave the cluster running and exit")

    stop = sub.add_parser("stop", help="stop a cluster started with --detach")
    stop.add_argument("--dir", type=Path, default=None, help=dir_help)
    stop.add_argument("--timeout", type=float, default=30.0, help="SIGKILL after (s)")

    status = sub.add_parser("status", help="show a cluster's nodes")
    status.add_argument("--dir", type=Path, default=None, help=dir_help)
    return parser


class _Interrupted(Exception):
    """SIGTERM/SIGINT turned into an exception so the foreground cluster stops cleanly."""


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted


def _start(args: argparse.Namespace) -> int:
    run_dir: Path = args.dir or _default_dir()
    cluster = KafkaCluster(
        nodes=args.nodes,
        version=args.version,
        broker_properties=dict(args.property),
        work_dir=run_dir,
        heap=args.heap,
        auto_create_topics=not args.no_auto_create_topics,
        start_timeout=args.timeout,
        detached=args.detach,
        keep_data=args.detach,
    )
    cluster.start()
    print(f"bootstrap={cluster.bootstrap_servers}")
    print(f"state={cluster.state_path}")
    for node in cluster.nodes:
        print(f"log.node{node.node_id}={node.log_path}")
    sys.stdout.flush()
    if args.detach:
        cluster.detach()
        return 0
    signal.signal(signal.SIGTERM, _raise_interrupt)
    warned: set[int] = set()
    try:
        while True:
            time.sleep(1.0)
            for node in cluster.nodes:
                if not node.is_running and node.node_id not in warned:
                    warned.add(node.node_id)
                    print(
                        f"node {node.node_id} exited with status {node.returncode}; "
                        f"see {node.log_path}",
                        file=sys.stderr,
                    )
    except (KeyboardInterrupt, _Interrupted):
        print("stopping...", file=sys.stderr)
    finally:
        cluster.stop()
    return 0


def _stop(args: argparse.Namespace) -> int:
    run_dir: Path = args.dir or _default_dir()
    if read_state(run_dir) is None:
        print(f"no cluster state in {run_dir / STATE_FILE}", file=sys.stderr)
        return 1
    pids = stop_from_state(run_dir, timeout=args.timeout)
    print(f"stopped {len(pids)} node(s) in {run_dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    run_dir: Path = args.dir or _default_dir()
    state = read_state(run_dir)
    if state is None:
        print(f"no cluster state in {run_dir / STATE_FILE}", file=sys.stderr)
        return 1
    live = set(live_pids_from_state(run_dir))
    print(f"version={state.get('version')}")
    print(f"bootstrap={state.get('bootstrap_servers')}")
    running = 0
    for node in state_nodes(state):
        pid = node.get("pid")
        alive = isinstance(pid, int) and pid in live
        running += alive
        line = f"node {node.get('node_id')}: {'running pid ' + str(pid) if alive else 'stopped'}"
        port = node.get("port")
        if alive and isinstance(port, int):
            try:
                md = fetch_metadata("127.0.0.1", port, timeout=2.0)
                line += f", port {port}, sees brokers {sorted(md.broker_ids)}"
            except ProbeError as exc:
                line += f", port {port}, not answering ({exc})"
        print(f"{line}, log {node.get('log_path')}")
    return 0 if running else 3


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m kafkaio.testing``."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "start":
            return _start(args)
        if args.command == "stop":
            return _stop(args)
        return _status(args)
    except (KafkaHarnessError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
