"""``python -m bench``: run the benchmark suite, re-render a report, or the micro-benchmark.

python -m bench run --quick          # a few minutes: headline workloads, 3 rounds
python -m bench run                  # the full one-factor-at-a-time matrix
python -m bench run --nodes 3        # against a 3-node cluster (RF 3, min ISR 2)
python -m bench report               # re-render latest.md and charts from latest.json
python -m bench micro                # records-layer micro-benchmark only
python -m bench env                  # create/update the peers' virtualenv
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import env as bench_env
from bench.report import render
from bench.runner import Options, run_micro, run_suite
from bench.workloads import CLIENTS, MATRICES
from kafkaio.testing import KafkaHarnessError

RESULTS = bench_env.REPO / "bench" / "results"


def _progress(line: str) -> None:
    print(line, flush=True)


def _charts(raw_path: Path, out_dir: Path, name: str, benv: bench_env.BenchEnv) -> list[str]:
    if "matplotlib" in benv.missing:
        _progress(f"no charts: matplotlib is missing ({benv.missing['matplotlib']})")
        return []
    try:
        proc = subprocess.run(
            [str(benv.python), "-m", "bench.charts", str(raw_path), str(out_dir), name],
            capture_output=True,
            text=True,
            timeout=300,
            env=benv.worker_env(),
            cwd=bench_env.REPO,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _progress("no charts: matplotlib did not finish within 300s")
        return []
    if proc.returncode != 0:
        _progress(f"no charts: {proc.stderr.strip()[-500:]}")
        return []
    return [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]


def _publish(raw: dict[str, Any], out_dir: Path, name: str, benv: bench_env.BenchEnv) -> Path:
    raw_path = write_raw_to(raw, out_dir, name)
    charts = _charts(raw_path, out_dir, name, benv)
    md = out_dir / f"{name}.md"
    md.write_text(render(raw, charts) + "\n")
    return md


def write_raw_to(raw: dict[str, Any], out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(raw, indent=1) + "\n")
    return path


def cmd_run(args: argparse.Namespace) -> int:
    matrix_name = "quick" if args.quick else args.matrix
    matrix = MATRICES[matrix_name]()
    if args.only:
        matrix = [w for w in matrix if any(s in w.id for s in args.only.split(","))]
        if not matrix:
            print(f"--only {args.only!r} matches no workload", file=sys.stderr)
            return 2
    if args.scale != 1.0:
        if args.scale <= 0:
            print("--scale must be positive", file=sys.stderr)
            return 2
        matrix = [w.scaled(args.scale) for w in matrix]
    clients = tuple(c.strip() for c in args.clients.split(",") if c.strip())
    unknown = [c for c in clients if c not in CLIENTS]
    if unknown:
        print(f"unknown client(s) {unknown}; known: {', '.join(CLIENTS)}", file=sys.stderr)
        return 2
    rounds = args.rounds if args.rounds is not None else 3
    if rounds < 1:
        print("--rounds must be >= 1", file=sys.stderr)
        return 2
    benv = bench_env.current_python_env() if args.no_venv else bench_env.ensure()
    opts = Options(
        matrix=matrix,
        clients=clients,
        rounds=rounds,
        nodes=args.nodes,
        mode=matrix_name,
        out_dir=args.out_dir,
        name=args.name,
        micro=not args.no_micro,
        bench_env=benv,
    )
    try:
        raw = run_suite(opts, _progress, bootstrap=args.bootstrap)
    except KafkaHarnessError as exc:
        # The broker could not be started (or stopped); nothing was measured.
        print(f"bench: the local Kafka cluster failed: {exc}", file=sys.stderr)
        return 1
    raw["meta"]["scale"] = args.scale
    raw["meta"]["only"] = args.only
    md = _publish(raw, args.out_dir, args.name, benv)
    # Every run is also archived (bench/results/raw/ is git-ignored).
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    archive = args.out_dir / "raw" / f"{stamp}-{matrix_name}.json"
    archive.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.out_dir / f"{args.name}.json", archive)
    _progress(f"wrote {md} (raw: {args.out_dir / (args.name + '.json')}, archived {archive})")
    print(md.read_text())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    raw_path: Path = args.raw or args.out_dir / f"{args.name}.json"
    raw = json.loads(raw_path.read_text())
    benv = bench_env.current_python_env() if args.no_venv else bench_env.ensure()
    md = _publish(raw, args.out_dir, args.name, benv)
    _progress(f"wrote {md}")
    return 0


def cmd_micro(args: argparse.Namespace) -> int:
    benv = bench_env.current_python_env() if args.no_venv else bench_env.ensure()
    result = run_micro(benv, quick=args.quick)
    from bench.report import micro_table

    print("\n".join(micro_table(result)))
    return 1 if "error" in result else 0


def cmd_env(args: argparse.Namespace) -> int:
    benv = bench_env.ensure(refresh=args.refresh)
    print(f"python: {benv.python}")
    for name, version in sorted(benv.versions.items()):
        print(f"  {name} {version}")
    for name, why in sorted(benv.missing.items()):
        print(f"  MISSING {name}: {why}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log harness details")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out-dir", type=Path, default=RESULTS, help="default: bench/results")
        p.add_argument("--name", default="latest", help="output base name (default: latest)")
        p.add_argument(
            "--no-venv",
            action="store_true",
            help="run workers with this interpreter instead of the peers' virtualenv",
        )

    run = sub.add_parser("run", help="run the suite")
    common(run)
    run.add_argument("--quick", action="store_true", help="the quick matrix (a few minutes)")
    run.add_argument("--matrix", choices=sorted(MATRICES), default="full")
    run.add_argument("--rounds", type=int, help="rounds per workload (default 3)")
    run.add_argument("--nodes", type=int, choices=(1, 3), default=1)
    run.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    run.add_argument("--only", help="comma-separated substrings of workload ids to keep")
    run.add_argument(
        "--scale", type=float, default=1.0, help="multiply records per run and latency duration"
    )
    run.add_argument("--no-micro", action="store_true", help="skip the records micro-benchmark")
    run.add_argument(
        "--bootstrap", help="use an already running cluster (host:port,...) instead of starting one"
    )
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("report", help="re-render the Markdown and charts from raw JSON")
    common(rep)
    rep.add_argument("--raw", type=Path, help="raw JSON (default: OUT_DIR/NAME.json)")
    rep.set_defaults(func=cmd_report)

    mic = sub.add_parser("micro", help="records-layer micro-benchmark (kafkaio vs aiokafka)")
    mic.add_argument("--quick", action="store_true")
    mic.add_argument("--no-venv", action="store_true")
    mic.set_defaults(func=cmd_micro)

    env = sub.add_parser("env", help="create or update the peers' virtualenv")
    env.add_argument("--refresh", action="store_true", help="reinstall the peers")
    env.set_defaults(func=cmd_env)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if args.command in ("run", "env") or not getattr(args, "no_venv", False):
        logging.getLogger("bench.env").setLevel(logging.INFO)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
