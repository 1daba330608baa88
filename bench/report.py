"""Aggregates raw runs (median, min-max, ratio to the reference client) into Markdown."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.workloads import REFERENCE, Kind, Workload

LATENCY_KEYS = ("p50", "p99", "p99.9")


@dataclass
class Spread:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        vals = [float(v) for v in values]
        if not vals:
            return None
        return cls(statistics.median(vals), min(vals), max(vals), len(vals))


@dataclass
class ClientSummary:
    """One client on one workload, over its rounds."""

    client: str
    status: str
    """``ok`` if at least one round measured, else the first failure's status."""
    error: str
    ok_runs: int
    runs: int
    version: str = ""
    rate: Spread | None = None
    mb: Spread | None = None
    cpu: Spread | None = None
    wall: Spread | None = None
    process_cpu: Spread | None = None
    process_wall: Spread | None = None
    broker_cpu: Spread | None = None
    peak_rss: Spread | None = None
    """The client process' peak resident memory, MiB (absent in older raw files)."""
    rss_start: Spread | None = None
    rss_growth: Spread | None = None
    """Per round, peak minus the resident memory when the measured window started, MiB."""
    latency: dict[str, Spread] | None = None
    offered: Spread | None = None
    lost: int = 0
    ratio: float | None = None
    """Median (records/s, or latency p50) divided by the reference client's median."""
    latency_ratio: dict[str, float] | None = None


def summarize(entry: dict[str, Any], reference: str) -> list[ClientSummary]:
    """Per-client summaries of one workload entry of the raw JSON, in run order."""
    out: list[ClientSummary] = []
    by_client: dict[str, list[dict[str, Any]]] = {}
    for run in entry.get("runs", []):
        by_client.setdefault(run["client"], []).append(run)
    for client in entry.get("clients", list(by_client)):
        runs = by_client.get(client, [])
        ok = [r for r in runs if r.get("status") == "ok"]
        bad = [r for r in runs if r.get("status") != "ok"]
        s = ClientSummary(
            client=client,
            status="ok" if ok else (bad[0].get("status", "failed") if bad else "not run"),
            error="" if ok or not bad else str(bad[0].get("error", "")),
            ok_runs=len(ok),
            runs=len(runs),
            version=str(ok[0].get("version", "")) if ok else "",
        )
        if ok:
            s.rate = Spread.of([r["records_per_s"] for r in ok if "records_per_s" in r])
            s.mb = Spread.of([r["mb_per_s"] for r in ok if "mb_per_s" in r])
            s.cpu = Spread.of([r["cpu_s"] for r in ok if isinstance(r.get("cpu_s"), int | float)])
            s.wall = Spread.of([r["wall_s"] for r in ok if "wall_s" in r])
            s.process_cpu = Spread.of([r["process_cpu_s"] for r in ok if "process_cpu_s" in r])
            s.process_wall = Spread.of([r["process_wall_s"] for r in ok if "process_wall_s" in r])
            s.broker_cpu = Spread.of(
                [r["broker_cpu_s"] for r in ok if isinstance(r.get("broker_cpu_s"), int | float)]
            )
            s.peak_rss = Spread.of(
                [r["peak_rss_mib"] for r in ok if isinstance(r.get("peak_rss_mib"), int | float)]
            )
            s.rss_start = Spread.of(
                [r["rss_start_mib"] for r in ok if isinstance(r.get("rss_start_mib"), int | float)]
            )
            s.rss_growth = Spread.of(
                [
                    r["peak_rss_mib"] - r["rss_start_mib"]
                    for r in ok
                    if isinstance(r.get("peak_rss_mib"), int | float)
                    and isinstance(r.get("rss_start_mib"), int | float)
                ]
            )
            if entry.get("kind") == "latency":
                lat: dict[str, Spread] = {}
                for key in LATENCY_KEYS:
                    sp = Spread.of(
                        [r["latency_ms"][key] for r in ok if key in r.get("latency_ms", {})]
                    )
                    if sp is not None:
                        lat[key] = sp
                s.latency = lat
                s.offered = Spread.of([r["offered_per_s"] for r in ok if "offered_per_s" in r])
                s.lost = sum(int(r.get("lost", 0)) for r in ok)
        out.append(s)
    ref = next((s for s in out if s.client == reference and s.status == "ok"), None)
    if ref is not None:
        for s in out:
            if s.status != "ok":
                continue
            if s.rate is not None and ref.rate is not None and ref.rate.median > 0:
                s.ratio = s.rate.median / ref.rate.median
            if s.latency and ref.latency:
                s.latency_ratio = {
                    k: s.latency[k].median / ref.latency[k].median
                    for k in LATENCY_KEYS
                    if k in s.latency and k in ref.latency and ref.latency[k].median > 0
                }
    return out


def _num(v: float) -> str:
    if v >= 100_000:
        return f"{v / 1000:,.0f}k"
    if v >= 10_000:
        return f"{v / 1000:.1f}k"
    return f"{v:,.0f}"


def _spread(sp: Spread | None, fmt: str = "num") -> str:
    if sp is None:
        return "\u2013"
    if fmt == "num":
        f = _num
    elif fmt == "ms":

        def f(v: float) -> str:
            return f"{v:.2f}" if v < 10 else f"{v:.1f}"
    else:

        def f(v: float) -> str:
            return f"{v:.1f}"

    if sp.n == 1:
        return f(sp.median)
    return f"{f(sp.median)} ({f(sp.low)}\u2013{f(sp.high)})"


def _status_cell(s: ClientSummary) -> str:
    err = s.error.replace("|", "/").replace("\n", " ")
    if len(err) > 90:
        err = err[:87] + "..."
    return f"**{s.status}**: {err}" if err else f"**{s.status}**"


def _cpu_cell(s: ClientSummary) -> str:
    if s.cpu is None or s.wall is None:
        return "\u2013"
    return f"{s.cpu.median:.2f} / {s.wall.median:.2f}"


def _proc_cell(s: ClientSummary) -> str:
    if s.process_cpu is None or s.process_wall is None:
        return "\u2013"
    return f"{s.process_cpu.median:.1f} / {s.process_wall.median:.1f}"


def _rss_cell(s: ClientSummary) -> str:
    if s.peak_rss is None:
        return "\u2013"
    if s.rss_growth is None:
        return f"{s.peak_rss.median:.0f}"
    return f"{s.peak_rss.median:.0f} ({s.rss_growth.median:+.0f})"


def throughput_table(entries: list[dict[str, Any]], reference: str) -> list[str]:
    lines = [
        "| Workload | Client | records/s median (min\u2013max) | MB/s | \u00d7 "
        + reference
        + " | CPU / wall s (measured) | CPU / wall s (process) | peak RSS MiB (+ in window)"
        " | broker CPU s | rounds ok |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in entries:
        if entry.get("error"):
            lines.append(
                f"| {entry['label']} | \u2013 | **error**: {entry['error'][:120]} | | | | | | | |"
            )
            continue
        for s in summarize(entry, reference):
            if s.status != "ok":
                lines.append(
                    f"| {entry['label']} | {s.client} | {_status_cell(s)} | | | | | | | {s.ok_runs}/{s.runs} |"
                )
                continue
            ratio = f"{s.ratio:.2f}\u00d7" if s.ratio is not None else "\u2013"
            broker = f"{s.broker_cpu.median:.1f}" if s.broker_cpu else "\u2013"
            lines.append(
                f"| {entry['label']} | {s.client} | {_spread(s.rate)} | {_spread(s.mb, 'mb')} | "
                f"{ratio} | {_cpu_cell(s)} | {_proc_cell(s)} | {_rss_cell(s)} | {broker} | "
                f"{s.ok_runs}/{s.runs} |"
            )
    return lines


def latency_table(entries: list[dict[str, Any]], reference: str) -> list[str]:
    lines = [
        "| Workload | Client | p50 ms | p99 ms | p99.9 ms | p50 / p99 \u00d7 "
        + reference
        + " | offered rec/s | lost | CPU / wall s | peak RSS MiB (+ in window) | rounds ok |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in entries:
        if entry.get("error"):
            lines.append(
                f"| {entry['label']} | \u2013 | **error**: {entry['error'][:120]} | | | | | | | | |"
            )
            continue
        for s in summarize(entry, reference):
            if s.status != "ok" or not s.latency:
                lines.append(
                    f"| {entry['label']} | {s.client} | {_status_cell(s)} | | | | | | | | {s.ok_runs}/{s.runs} |"
                )
                continue
            lr = s.latency_ratio or {}
            ratio = (
                f"{lr['p50']:.2f}\u00d7 / {lr['p99']:.2f}\u00d7"
                if "p50" in lr and "p99" in lr
                else "\u2013"
            )
            lines.append(
                f"| {entry['label']} | {s.client} | {_spread(s.latency.get('p50'), 'ms')} | "
                f"{_spread(s.latency.get('p99'), 'ms')} | {_spread(s.latency.get('p99.9'), 'ms')} | "
                f"{ratio} | {_spread(s.offered)} | {s.lost} | {_cpu_cell(s)} | {_rss_cell(s)} | "
                f"{s.ok_runs}/{s.runs} |"
            )
    return lines


def micro_table(micro: dict[str, Any]) -> list[str]:
    if "error" in micro:
        return [f"Micro-benchmark failed: {micro['error']}"]
    columns: dict[str, dict[str, dict[str, float]]] = micro.get("columns", {})
    if not columns:
        return ["Micro-benchmark not run."]
    names = list(columns)
    codecs = list(next(iter(columns.values())))
    lines = [
        f"Build / read one batch of {micro.get('records', 1000):,} records \u00d7 "
        f"{micro.get('value_size', 100)} B, \u00b5s of CPU per batch (lower is better).",
        "",
        "| Codec | "
        + " | ".join(f"{n} build" for n in names)
        + " | "
        + " | ".join(f"{n} read" for n in names)
        + " |",
        "|---|" + "---:|" * (2 * len(names)),
    ]
    for codec in codecs:
        build = " | ".join(f"{columns[n][codec]['build_us']:,.0f}" for n in names)
        read = " | ".join(f"{columns[n][codec]['read_us']:,.0f}" for n in names)
        lines.append(f"| {codec} | {build} | {read} |")
    return lines


@dataclass(frozen=True)
class RateTarget:
    """A minimum ratio of records/s medians, one client variant against a peer."""

    workload: Workload
    variant: str
    peer: str
    minimum: float
    text: str


def _target(
    kind: Kind, size: int, variant: str, peer: str, minimum: float, text: str
) -> RateTarget:
    # 1 partition, acks=1, no compression: the headline cases both matrices share.
    return RateTarget(Workload(kind, size), variant, peer, minimum, text)


TARGETS: tuple[RateTarget, ...] = (
    # Issue 12: the calls users write, against confluent-kafka.
    _target("produce", 100, "kafkaio", REFERENCE, 1.2, "send() >= 1.2x confluent"),
    _target("produce", 1024, "kafkaio", REFERENCE, 1.2, "send() >= 1.2x confluent"),
    _target("consume", 1024, "kafkaio", REFERENCE, 1.2, "consume >= 1.2x confluent"),
    _target("consume", 10240, "kafkaio", REFERENCE, 1.2, "consume >= 1.2x confluent"),
    _target("consume", 100, "kafkaio", REFERENCE, 1.0, "consume stays ahead"),
)
EARLIER_TARGETS: tuple[RateTarget, ...] = (
    # Kept after issue 12's rows so runs can be compared with older reports.
    _target("produce", 100, "kafkaio-batch", REFERENCE, 1.2, "send_batch() >= 1.2x confluent"),
    _target("produce", 100, "kafkaio", "aiokafka", 2.0, "send() >= 2x aiokafka"),
)
LATENCY_TARGET_KEY = "p99"
"""Latency target: kafkaio's p99 at or below confluent-kafka's (p50 and p99.9 reported)."""
LATENCY_TARGET_TEXT = "latency p99 <= confluent (p50 / p99 / p99.9)"


def _fmt_rate(v: float) -> str:
    return f"{v / 1000:,.0f}k rec/s" if v >= 1000 else f"{v:.0f} rec/s"


def _unmeasured(text: str, label: str, why: str) -> str:
    return f"| {text} | {label} | \u2013 | \u2013 | \u2013 | {why} |"


def _rate_row(t: RateTarget, by_id: dict[str, dict[str, Any]]) -> str:
    entry = by_id.get(t.workload.id)
    if entry is None:
        return _unmeasured(t.text, t.workload.label, "not in this run")
    label = str(entry.get("label", t.workload.label))
    sums = {s.client: s for s in summarize(entry, t.peer)}
    mine, theirs = sums.get(t.variant), sums.get(t.peer)
    if mine is None or theirs is None or mine.rate is None or theirs.rate is None:
        return _unmeasured(t.text, label, "not measured")
    if theirs.rate.median <= 0:
        return _unmeasured(t.text, label, "not measured")
    ratio = mine.rate.median / theirs.rate.median
    return (
        f"| {t.text} | {label} | {t.variant} {_fmt_rate(mine.rate.median)} | "
        f"{t.peer} {_fmt_rate(theirs.rate.median)} | {ratio:.2f}\u00d7 | "
        f"{'yes' if ratio >= t.minimum else 'no'} |"
    )


def _percentiles_cell(s: ClientSummary) -> str:
    lat = s.latency or {}
    return (
        " / ".join(f"{lat[k].median:.2f}" if k in lat else "\u2013" for k in LATENCY_KEYS) + " ms"
    )


def _latency_row(entry: dict[str, Any]) -> str:
    label = str(entry.get("label", entry.get("id", "latency")))
    sums = {s.client: s for s in summarize(entry, REFERENCE)}
    mine, theirs = sums.get("kafkaio"), sums.get(REFERENCE)
    key = LATENCY_TARGET_KEY
    if (
        mine is None
        or theirs is None
        or not mine.latency
        or not theirs.latency
        or key not in mine.latency
        or key not in theirs.latency
        or theirs.latency[key].median <= 0
    ):
        return _unmeasured(LATENCY_TARGET_TEXT, label, "not measured")
    ratio = mine.latency[key].median / theirs.latency[key].median
    return (
        f"| {LATENCY_TARGET_TEXT} | {label} | kafkaio {_percentiles_cell(mine)} | "
        f"{REFERENCE} {_percentiles_cell(theirs)} | {ratio:.2f}\u00d7 | "
        f"{'yes' if ratio <= 1.0 else 'no'} |"
    )


def targets_table(entries: list[dict[str, Any]]) -> list[str]:
    """Issue 12's targets, then the earlier ones; reported, never asserted. A target whose
    workload the run lacks (the quick matrix has no 10 KiB) says so rather than vanishing."""
    by_id = {str(e.get("id")): e for e in entries}
    lines = [
        "| Target | Workload | kafkaio | peer | ratio | met |",
        "|---|---|---:|---:|---:|---|",
    ]
    lines += [_rate_row(t, by_id) for t in TARGETS]
    # Every paced latency workload of the run is a row: each is at its own offered rate.
    latency = [e for e in entries if e.get("kind") == "latency"]
    if latency:
        lines += [_latency_row(e) for e in latency]
    else:
        lines.append(_unmeasured(LATENCY_TARGET_TEXT, "latency", "not in this run"))
    lines += [_rate_row(t, by_id) for t in EARLIER_TARGETS]
    return lines


def render(raw: dict[str, Any], charts: Sequence[str] = ()) -> str:
    """The Markdown report for ``raw`` (the structure written by :mod:`bench.runner`)."""
    meta = raw.get("meta", {})
    ref = meta.get("reference", "confluent-kafka")
    machine = meta.get("machine", {})
    settings = meta.get("settings", {})
    entries = raw.get("workloads", [])
    out = [
        f"# kafkaio benchmark ({meta.get('mode', '?')} run"
        + (f", records x{meta['scale']:g}" if meta.get("scale", 1.0) != 1.0 else "")
        + (f", only {meta['only']}" if meta.get("only") else "")
        + ")",
        "",
        f"- Date: {meta.get('date', '?')}; suite wall time {meta.get('duration_s', '?')} s",
        f"- Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gib', '?')} GiB, {machine.get('os', '?')}, Python {machine.get('python', '?')}; "
        "load average at start "
        + " / ".join(f"{x:.1f}" for x in machine.get("load_avg_at_start", [])),
        f"- kafkaio: {meta.get('kafkaio_revision', '?')} (this checkout's src)",
        f"- Broker: Apache Kafka {meta.get('kafka_version', '?')} (kafkaio.testing), "
        f"{meta.get('nodes', 1)} node(s) on loopback, on the same machine as the clients",
        f"- Peers: {', '.join(f'{k} {v}' for k, v in sorted(meta.get('peers', {}).items())) or 'none'}"
        + (f"; missing: {meta.get('missing_peers')}" if meta.get("missing_peers") else ""),
        f"- Every client: linger {settings.get('linger_ms', '?')} ms, batch size "
        f"{settings.get('batch_size', '?')} B; acks=all runs turn idempotence on. "
        "confluent-kafka's consumer gets fetch.queue.backoff.ms=10 (its 1 s default, hit "
        "whenever 100,000 records are queued, would pace small-record runs); otherwise defaults.",
        f"- {meta.get('rounds', '?')} rounds, clients interleaved (A B C A B C ...), each run in "
        f"a fresh process; figures are the median (min\u2013max) of the rounds; \u00d7 {ref} divides by "
        f"{ref}'s median of the same session.",
        "- CPU / wall (measured): the client process' CPU time (all threads) over the measured "
        "window and that window's length; (process): whole process including start-up and "
        "imports (java: only the whole JVM's figure is known). Broker CPU: the broker JVMs during the run.",
        "- Peak RSS: the client process' peak resident memory in MiB (Python: its own "
        "ru_maxrss at the end, start-up and imports included, and in parentheses the growth "
        "since the measured window started; java: the JVM's VmHWM sampled by the runner, no "
        "growth figure); \u2013 where a result file predates it.",
        "",
    ]
    targets = targets_table(entries)
    if targets:
        out += [
            "## Targets (issue 12; reported, not asserted)",
            "",
            "Ratios of medians from this session: records/s of kafkaio's per-record `send()` "
            "(or consumer) over confluent-kafka's, met at or above the ratio named; latency: "
            "kafkaio's p99 over confluent-kafka's at the workload's paced rate, met at or "
            "below 1.",
            "",
            *targets,
            "",
        ]
    for kind, title in (("produce", "Producer throughput"), ("consume", "Consumer throughput")):
        sel = [e for e in entries if e.get("kind") == kind]
        if sel:
            out += [f"## {title}", ""]
            if kind == "produce":
                out += [
                    "`kafkaio` calls `send()` per record; `kafkaio-batch` calls the batch API "
                    "with 1,000 records per call. Time: first send to flush() done (metadata "
                    "fetched before). java: ProducerPerformance's steady-state rate (the first "
                    "third of the records, JIT warm-up, left out).",
                    "",
                ]
            else:
                out += [
                    "Each consumer is assigned every partition (no group) and reads the "
                    "pre-filled records from the beginning, touching each value; the first "
                    "batch (connection, offset lookup) is left out of the window. java: "
                    "ConsumerPerformance's fetch-phase rate.",
                    "",
                ]
            out += [*throughput_table(sel, ref), ""]
    lat = [e for e in entries if e.get("kind") == "latency"]
    if lat:
        out += [
            "## End-to-end latency",
            "",
            "Producer and consumer in one process; the producer is paced with sleeps (no busy "
            "loop) at the offered rate; latency runs from each record's scheduled send time to "
            "its arrival at the consumer (so a producer falling behind shows up). Lower is better.",
            "",
            *latency_table(lat, ref),
            "",
        ]
    if "micro" in raw:
        out += ["## Records layer micro-benchmark", "", *micro_table(raw["micro"]), ""]
    if charts:
        out += ["## Charts", ""] + [f"![{c}]({c})" for c in charts] + [""]
    return "\n".join(out)
