"""One run of one client, in a process of its own: ``python -m bench.worker < spec.json``.

Prints ``BENCH-RESULT <json>`` on the last line of stdout. Exit status 0: measured;
3: the client is not available (reason in the JSON); anything else: the run failed
(traceback on stderr).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import traceback
from typing import Any

from bench.clients import ADAPTERS, Unavailable
from bench.workloads import RunSpec

MARKER = "BENCH-RESULT "
EXIT_UNAVAILABLE = 3


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(MARKER + json.dumps(payload) + "\n")
    sys.stdout.flush()


def main() -> int:
    spec = RunSpec.from_json(sys.stdin.read())
    module = ADAPTERS.get(spec.client)
    if module is None or spec.client == "java":
        _emit({"status": "failed", "error": f"no Python adapter for client {spec.client!r}"})
        return 2
    try:
        adapter = importlib.import_module(module)
        result: dict[str, Any] = adapter.run(spec)
    except Unavailable as exc:
        _emit({"status": "unavailable", "error": str(exc)})
        return EXIT_UNAVAILABLE
    except BaseException as exc:
        traceback.print_exc()
        _emit({"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        return 1
    result["status"] = "ok"
    # ru_maxrss is KiB on Linux: the whole process' peak, start-up included.
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
