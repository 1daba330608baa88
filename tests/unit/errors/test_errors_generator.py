"""tools/generate_errors.py: the pure parts (parse, name, classify, render, --check) and, when a
JDK and Maven are present, a drift check against the pinned kafka-clients jar."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import kafkaio.errors as E
from kafkaio import _pin

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "generate_errors.py"
ERRS = "org.apache.kafka.common.errors."
BASE_CHAIN = [
    ERRS + "ApiException",
    "org.apache.kafka.common.KafkaException",
    "java.lang.RuntimeException",
    "java.lang.Exception",
    "java.lang.Throwable",
]


@pytest.fixture(scope="module")
def gen() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("generate_errors_under_test", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def entry(
    code: int,
    name: str,
    *,
    message: str = "Something went wrong.",
    retriable: bool = False,
    invalid_metadata: bool = False,
    exception: str | None = None,
    chain: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "message": message,
        "retriable": retriable,
        "invalid_metadata": invalid_metadata,
        "exception": exception if exception is not None or code == 0 else ERRS + "SomeException",
        "superclasses": [] if code == 0 else (chain if chain is not None else BASE_CHAIN),
    }


def sample_listing() -> list[dict[str, Any]]:
    retriable = [ERRS + "RetriableException", *BASE_CHAIN]
    refresh = [ERRS + "RefreshRetriableException", *retriable]
    metadata = [ERRS + "InvalidMetadataException", *refresh]
    return [
        entry(-1, "UNKNOWN_SERVER_ERROR", message="The server failed."),
        entry(0, "NONE", message="NONE"),
        entry(
            6,
            "NOT_LEADER_OR_FOLLOWER",
            retriable=True,
            invalid_metadata=True,
            chain=metadata,
            message="Not the leader. " * 12,
        ),
        entry(7, "REQUEST_TIMED_OUT", retriable=True, chain=retriable),
        entry(16, "NOT_COORDINATOR", retriable=True, chain=refresh),
        entry(
            29,
            "TOPIC_AUTHORIZATION_FAILED",
            chain=[
                ERRS + "AuthorizationException",
                ERRS + "InvalidConfigurationException",
                *BASE_CHAIN,
            ],
        ),
        entry(47, "INVALID_PRODUCER_EPOCH", message='Quote " and back\\slash'),
        entry(
            90,
            "PRODUCER_FENCED",
            message="There is a newer producer with the same transactionalId which fences the current one.",
        ),
        entry(120, "TRANSACTION_ABORTABLE", exception=ERRS + "TransactionAbortableException"),
        entry(13, "NETWORK_EXCEPTION", retriable=True, invalid_metadata=True, chain=metadata),
    ]


def as_text(entries: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in entries)


def test_class_names(gen: ModuleType) -> None:
    assert gen.class_name("NOT_LEADER_OR_FOLLOWER") == "NotLeaderOrFollowerError"
    assert gen.class_name("UNKNOWN_SERVER_ERROR") == "UnknownServerError"
    assert gen.class_name("KAFKA_STORAGE_ERROR") == "KafkaStorageError"
    assert gen.class_name("NETWORK_EXCEPTION") == "NetworkError"
    assert gen.class_name("INVALID_TOPIC_EXCEPTION") == "InvalidTopicError"
    assert gen.class_name("REQUEST_TIMED_OUT") == "RequestTimedOutError"
    assert gen.class_name("UNSUPPORTED_VERSION") == "UnsupportedVersionError"


def test_read_pin(gen: ModuleType) -> None:
    assert gen.read_pin() == _pin.KAFKA_VERSION


def test_parse_listing_sorts_and_validates(gen: ModuleType) -> None:
    specs = gen.parse_listing(as_text(sample_listing()))
    assert [s.code for s in specs] == sorted(s.code for s in specs)
    assert specs[0].name == "UNKNOWN_SERVER_ERROR"
    assert specs[1].exception is None and specs[1].superclasses == ()


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda es: es[2].pop("retriable"), "retriable"),
        (lambda es: es[2].update(code=True), "True"),
        (lambda es: es[2].update(code=-1), "duplicate"),
        (lambda es: es.pop(1), "NONE"),
        (lambda es: es[2].update(name="not-a-name"), "not-a-name"),
        (lambda es: es[2].update(code=40000), "int16"),
    ],
)
def test_parse_listing_rejects_bad_input(gen: ModuleType, mutate: Any, needle: str) -> None:
    entries = sample_listing()
    mutate(entries)
    with pytest.raises(gen.GenerateError, match=needle):
        gen.parse_listing(as_text(entries))
    with pytest.raises(gen.GenerateError, match="line 1"):
        gen.parse_listing("{not json\n")


def test_classify(gen: ModuleType) -> None:
    by_name = {s.name: s for s in gen.parse_listing(as_text(sample_listing()))}
    assert gen.classify(by_name["NOT_LEADER_OR_FOLLOWER"]) == ("InvalidMetadataError",)
    assert gen.classify(by_name["NOT_COORDINATOR"]) == ("RefreshRetriableError",)
    assert gen.classify(by_name["REQUEST_TIMED_OUT"]) == ("KafkaTimeoutError",)
    assert gen.classify(by_name["TOPIC_AUTHORIZATION_FAILED"]) == ("AuthorizationError",)
    assert gen.classify(by_name["INVALID_PRODUCER_EPOCH"]) == ("TransactionAbortRequiredError",)
    assert gen.classify(by_name["TRANSACTION_ABORTABLE"]) == ("TransactionAbortRequiredError",)
    assert gen.classify(by_name["PRODUCER_FENCED"]) == ("FatalError",)
    assert gen.classify(by_name["UNKNOWN_SERVER_ERROR"]) == ()


def test_classify_refuses_disagreement_with_java(gen: ModuleType) -> None:
    entries = sample_listing()
    entries[3]["retriable"] = False  # REQUEST_TIMED_OUT derives from RetriableException
    spec = next(s for s in gen.parse_listing(as_text(entries)) if s.code == 7)
    with pytest.raises(gen.GenerateError, match="retriable"):
        gen.classify(spec)


def test_render_produces_working_formatted_code(gen: ModuleType, tmp_path: Path) -> None:
    text = gen.render(gen.parse_listing(as_text(sample_listing())), "9.9.9")
    assert text.startswith(
        "# Generated by tools/generate_errors.py from Apache Kafka 9.9.9. DO NOT EDIT.\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(text, "_codes.py", "exec"), namespace)
    by_code = namespace["BY_CODE"]
    assert sorted(by_code) == [-1, 6, 7, 13, 16, 29, 47, 90, 120]
    nlof = by_code[6]
    assert nlof.__name__ == "NotLeaderOrFollowerError"
    assert issubclass(nlof, E.InvalidMetadataError) and nlof.retriable
    assert nlof.message == "Not the leader. " * 12
    odd = by_code[47]
    assert odd.message == 'Quote " and back\\slash'
    assert 'Quote " and back\\slash' in (odd.__doc__ or "")
    assert issubclass(by_code[7], E.KafkaTimeoutError)
    assert namespace["__all__"] == sorted(namespace["__all__"])
    assert "NoneError" not in namespace

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed")
    out = tmp_path / "_codes.py"
    out.write_text(text, encoding="utf-8")
    checked = subprocess.run(
        [ruff, "format", "--check", "--diff", "--config", str(ROOT / "pyproject.toml"), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_render_rejects_name_clashes(gen: ModuleType) -> None:
    entries = [*sample_listing(), entry(200, "FATAL"), entry(201, "FATAL_ERROR")]
    with pytest.raises(gen.GenerateError, match="FatalError"):
        gen.render(gen.parse_listing(as_text(entries)), "9.9.9")


def test_check_mode_detects_drift(gen: ModuleType, tmp_path: Path) -> None:
    listing = tmp_path / "listing.jsonl"
    listing.write_text(as_text(sample_listing()), encoding="utf-8")
    output = tmp_path / "_codes.py"
    output.write_text("# stale\n", encoding="utf-8")
    args = ["--listing", str(listing), "--output", str(output)]
    assert gen.main([*args, "--check"]) == 1
    assert output.read_text(encoding="utf-8") == "# stale\n"
    assert gen.main(args) == 0
    assert gen.main([*args, "--check"]) == 0
    assert output.read_text(encoding="utf-8").startswith("# Generated by")


def test_parents_table_mirrors_the_hand_written_hierarchy(gen: ModuleType) -> None:
    for child, parent in gen.PARENTS.items():
        assert getattr(E, parent) in getattr(E, child).__bases__, (child, parent)
    for name in gen.HAND_WRITTEN_NAMES:
        assert issubclass(getattr(E, name), E.KafkaError), name


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("java", "javac", "mvn")),
    reason="needs a JDK and Maven to read the error table from kafka-clients",
)
def test_committed_table_matches_the_pinned_kafka() -> None:
    result = subprocess.run(
        [sys.executable, str(TOOL), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
