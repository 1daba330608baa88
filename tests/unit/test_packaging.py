"""The built wheel and sdist carry what users need: generated modules and py.typed."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--sdist",
            "--wheel",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return out


def test_wheel_carries_generated_protocol_and_py_typed(dist_dir: Path) -> None:
    (wheel,) = dist_dir.glob("kafkaio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "kafkaio/py.typed" in names
    assert "kafkaio/protocol/apis.py" in names
    assert "kafkaio/protocol/messages/metadata.py" in names
    assert "kafkaio/protocol/messages/produce.py" in names
    assert "kafkaio/errors/_codes.py" in names
    generated = [
        n for n in names if n.startswith("kafkaio/protocol/messages/") and n.endswith(".py")
    ]
    # One module per API key plus the package's __init__.
    assert len(generated) > 80
    # The compiled record loops and their type stub.
    assert "kafkaio/records/_native.pyi" in names
    assert any(n.startswith("kafkaio/records/_native.") and n.endswith(".so") for n in names)


def test_sdist_carries_sources_and_generators(dist_dir: Path) -> None:
    (sdist,) = dist_dir.glob("kafkaio-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert "src/kafkaio/py.typed" in names
    assert "tools/generate_protocol.py" in names
    assert "src/kafkaio/records/_native.c" in names
    assert "setup.py" in names
    assert "LICENSE" in names
