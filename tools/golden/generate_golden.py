#!/usr/bin/env python3
"""Regenerate tests/unit/protocol/golden/golden.json from the Java client's encodings.

Compiles tools/golden/GoldenBytes.java against the pinned kafka-clients jar (resolved with
Maven into ~/.m2), runs it and stores one entry per (case, version) with the hex bytes.
Needs a JDK (javac, java). Usage: ``python tools/golden/generate_golden.py [--check]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _spec import REPO, find_clients_jar, kafka_version

SOURCE = Path(__file__).resolve().parent / "GoldenBytes.java"
OUTPUT = REPO / "tests" / "unit" / "protocol" / "golden" / "golden.json"


def run_java(jar: Path) -> list[dict[str, object]]:
    javac, java = shutil.which("javac"), shutil.which("java")
    if javac is None or java is None:
        raise RuntimeError("a JDK (javac and java) is needed to regenerate the golden bytes")
    with tempfile.TemporaryDirectory(prefix="kafkaio-golden-") as tmp:
        subprocess.run([javac, "-d", tmp, "-cp", str(jar), str(SOURCE)], check=True)
        out = subprocess.run(
            [java, "-cp", f"{tmp}:{jar}", "GoldenBytes"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    cases: list[dict[str, object]] = []
    for line in out.splitlines():
        name, version, hexdata = line.split("\t")
        cases.append({"case": name, "version": int(version), "hex": hexdata})
    return cases


def render(pin: str, cases: list[dict[str, object]]) -> str:
    doc = {
        "generated_by": "tools/golden/generate_golden.py (GoldenBytes.java)",
        "kafka_clients": pin,
        "cases": cases,
    }
    return json.dumps(doc, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the stored file differs")
    args = parser.parse_args()
    pin = kafka_version()
    jar = find_clients_jar(pin, download=True)
    assert jar is not None
    text = render(pin, run_java(jar))
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == text
        print("golden bytes up to date" if same else f"{OUTPUT} is stale; rerun without --check")
        return 0 if same else 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text)['cases'])} cases to {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
