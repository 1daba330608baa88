"""The top-level names users import, and that importing kafkaio stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kafkaio


@pytest.mark.parametrize("name", [n for n in kafkaio.__all__ if n != "__version__"])
def test_top_level_export_resolves(name: str) -> None:
    value = getattr(kafkaio, name)
    assert value.__name__ == name


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = kafkaio.no_such_thing  # type: ignore[attr-defined]


def test_import_kafkaio_loads_no_generated_api_module() -> None:
    code = "import sys, kafkaio; print(sorted(m for m in sys.modules if m.startswith('kafkaio.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "kafkaio.protocol.messages" not in out.stdout
    assert "kafkaio.producer" not in out.stdout
