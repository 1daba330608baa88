"""PNG charts from the raw JSON (run in the peers' venv, which has matplotlib).

``python -m bench.charts RAW.json OUT_DIR NAME`` writes ``NAME-producer.png``,
``NAME-consumer.png`` and ``NAME-latency.png`` (those with data) and prints their names.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

from bench.report import LATENCY_KEYS, summarize

COLORS = {
    "kafkaio": "#1f77b4",
    "kafkaio-batch": "#17becf",
    "aiokafka": "#ff7f0e",
    "confluent-kafka": "#2ca02c",
    "kafka-python": "#d62728",
    "java": "#7f7f7f",
}


def _pyplot() -> Any:
    # Imported by name: matplotlib lives in the peers' virtualenv only.
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def _grid(n: int) -> tuple[int, int]:
    cols = min(3, n)
    return math.ceil(n / cols), cols


def throughput_chart(entries: list[dict[str, Any]], reference: str, title: str, path: Path) -> bool:
    plt = _pyplot()

    entries = [e for e in entries if not e.get("error")]
    if not entries:
        return False
    rows, cols = _grid(len(entries))
    fig, axes = plt.subplots(
        rows, cols, figsize=(max(7.0, 5.2 * cols), 1.0 + 3.6 * rows), squeeze=False
    )
    for ax, entry in zip(axes.flat, entries, strict=False):
        sums = summarize(entry, reference)
        names = [s.client for s in sums]
        med = [s.rate.median if s.rate else 0.0 for s in sums]
        lo = [s.rate.median - s.rate.low if s.rate else 0.0 for s in sums]
        hi = [s.rate.high - s.rate.median if s.rate else 0.0 for s in sums]
        ax.bar(
            range(len(names)),
            med,
            yerr=[lo, hi],
            capsize=3,
            color=[COLORS.get(n, "#999999") for n in names],
        )
        for i, s in enumerate(sums):
            text = f"{s.ratio:.2f}\u00d7" if s.ratio is not None else s.status
            ax.annotate(
                text,
                (i, med[i] + hi[i]),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_title(entry["label"], fontsize=9)
        ax.set_ylabel("records/s", fontsize=8)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(3, 3))
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(entries) :]:
        ax.set_visible(False)
    fig.suptitle(f"{title}\n(median, min\u2013max bars; labels: \u00d7 {reference})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def latency_chart(entries: list[dict[str, Any]], reference: str, path: Path) -> bool:
    plt = _pyplot()

    entries = [e for e in entries if not e.get("error")]
    if not entries:
        return False
    rows, cols = _grid(len(entries))
    fig, axes = plt.subplots(
        rows, cols, figsize=(max(7.0, 6.0 * cols), 1.0 + 3.8 * rows), squeeze=False
    )
    for ax, entry in zip(axes.flat, entries, strict=False):
        sums = [s for s in summarize(entry, reference) if s.latency]
        width = 0.8 / max(1, len(sums))
        for j, s in enumerate(sums):
            assert s.latency is not None
            xs = [i + j * width for i in range(len(LATENCY_KEYS))]
            vals = [s.latency[k].median if k in s.latency else 0.0 for k in LATENCY_KEYS]
            lo = [
                s.latency[k].median - s.latency[k].low if k in s.latency else 0.0
                for k in LATENCY_KEYS
            ]
            hi = [
                s.latency[k].high - s.latency[k].median if k in s.latency else 0.0
                for k in LATENCY_KEYS
            ]
            ax.bar(
                xs,
                vals,
                width,
                yerr=[lo, hi],
                capsize=2,
                label=s.client,
                color=COLORS.get(s.client, "#999999"),
            )
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(LATENCY_KEYS))])
        ax.set_xticklabels(list(LATENCY_KEYS))
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)", fontsize=8)
        ax.set_title(entry["label"], fontsize=9)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(entries) :]:
        ax.set_visible(False)
    fig.suptitle(
        "End-to-end latency\n(median of rounds, min\u2013max bars; lower is better)", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_charts(raw: dict[str, Any], out_dir: Path, name: str) -> list[str]:
    """Write the charts; returns the file names written."""
    ref = raw.get("meta", {}).get("reference", "confluent-kafka")
    entries = raw.get("workloads", [])
    written: list[str] = []
    for kind, title, suffix in (
        ("produce", "Producer throughput", "producer"),
        ("consume", "Consumer throughput", "consumer"),
    ):
        path = out_dir / f"{name}-{suffix}.png"
        if throughput_chart([e for e in entries if e.get("kind") == kind], ref, title, path):
            written.append(path.name)
    path = out_dir / f"{name}-latency.png"
    if latency_chart([e for e in entries if e.get("kind") == "latency"], ref, path):
        written.append(path.name)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m bench.charts RAW.json OUT_DIR NAME", file=sys.stderr)
        return 2
    raw = json.loads(Path(argv[0]).read_text())
    for fname in write_charts(raw, Path(argv[1]), argv[2]):
        print(fname)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
