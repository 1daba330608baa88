"""Make the fake broker of the net tests importable here."""

from __future__ import annotations

import sys
from pathlib import Path

_NET_TESTS = str(Path(__file__).resolve().parent.parent / "net")
if _NET_TESTS not in sys.path:
    sys.path.insert(0, _NET_TESTS)
