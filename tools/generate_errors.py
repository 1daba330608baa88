#!/usr/bin/env python3
"""Generate src/kafkaio/errors/_codes.py from the pinned Apache Kafka's error-code table.

Steps: resolve ``org.apache.kafka:kafka-clients:<pin>`` and its runtime dependencies with Maven
into a cache outside the repository, compile tools/errors/ListErrors.java with javac into a
temporary directory and run it. The Java program prints one JSON line per constant of
``org.apache.kafka.common.protocol.Errors``; this script turns them into one Python class per
error code.

Usage:
    tools/generate_errors.py              regenerate _codes.py
    tools/generate_errors.py --check      exit 1 if the committed _codes.py is out of date
    tools/generate_errors.py --listing F  use a saved listing (JSON lines) instead of Java
    tools/generate_errors.py --dump-listing F   also save the Java program's listing to F

The cache directory is $KAFKAIO_CACHE_DIR, else $XDG_CACHE_HOME/kafkaio, else ~/.cache/kafkaio.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
PIN_FILE = ROOT / "src" / "kafkaio" / "_pin.py"
OUTPUT = ROOT / "src" / "kafkaio" / "errors" / "_codes.py"
JAVA_SOURCE = ROOT / "tools" / "errors" / "ListErrors.java"
TOOL = "tools/generate_errors.py"
LINE_LENGTH = 100  # pyproject.toml [tool.ruff]

JAVA_ERRORS = "org.apache.kafka.common.errors."

# Java superclass (or the exception class itself) -> kafkaio category, in base-class order.
# A category listed earlier that is a subclass of a later one makes the later one redundant;
# _PARENTS below records the hand-written hierarchy so redundant bases are dropped.
CATEGORY_BY_JAVA_CLASS: tuple[tuple[str, str], ...] = (
    (JAVA_ERRORS + "InvalidMetadataException", "InvalidMetadataError"),
    (JAVA_ERRORS + "RefreshRetriableException", "RefreshRetriableError"),
    (JAVA_ERRORS + "RetriableException", "RetriableError"),
    (JAVA_ERRORS + "InvalidOffsetException", "InvalidOffsetError"),
    (JAVA_ERRORS + "AuthenticationException", "AuthenticationError"),
    (JAVA_ERRORS + "AuthorizationException", "AuthorizationError"),
    (JAVA_ERRORS + "TransactionAbortableException", "TransactionAbortRequiredError"),
)

# Kafka's Java documentation of InvalidProducerEpochException: the produce request carried a
# stale epoch; the application must abort the transaction (the producer bumps its epoch).
TXN_ABORT_CODES = frozenset({"INVALID_PRODUCER_EPOCH"})

# The instance cannot continue: fenced by a newer producer with the same transactional.id,
# fenced as a static group member, or not authorized for its transactional.id (which the
# KafkaProducer documentation calls fatal for commit/abort/sendOffsetsToTransaction).
FATAL_CODES = frozenset(
    {"PRODUCER_FENCED", "FENCED_INSTANCE_ID", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"}
)

# Hand-written bases added to one code: the broker's REQUEST_TIMED_OUT and kafkaio's own
# timeouts are caught together by `except KafkaTimeoutError` (Java also uses one class).
EXTRA_BASES: dict[str, tuple[str, ...]] = {"REQUEST_TIMED_OUT": ("KafkaTimeoutError",)}

# Parent of each hand-written class the generated code may use (mirrors errors/_base.py; a
# unit test checks the two agree).
PARENTS: dict[str, str] = {
    "RetriableError": "KafkaError",
    "RefreshRetriableError": "RetriableError",
    "InvalidMetadataError": "RefreshRetriableError",
    "TransactionAbortRequiredError": "KafkaError",
    "FatalError": "KafkaError",
    "AuthenticationError": "KafkaError",
    "AuthorizationError": "KafkaError",
    "InvalidOffsetError": "KafkaError",
    "KafkaTimeoutError": "RetriableError",
    "BrokerResponseError": "KafkaError",
}

# Names defined by hand in kafkaio.errors; a generated class must not take one of them.
HAND_WRITTEN_NAMES = frozenset(
    {
        *PARENTS,
        "KafkaError",
        "UnknownBrokerError",
        "KafkaConnectionError",
        "NodeNotReadyError",
        "StaleMetadataError",
        "UnrecognizedBrokerVersionError",
        "IncompatibleBrokerVersionError",
        "ConfigurationError",
        "ProtocolDecodeError",
        "CorruptRecordError",
        "NoOffsetForPartitionError",
        "IllegalStateError",
        "ProducerClosedError",
        "RecordTooLargeError",
    }
)


class GenerateError(Exception):
    """The generator cannot produce its output (missing tool, bad listing, ...)."""


@dataclass(frozen=True)
class ErrorSpec:
    """One constant of Kafka's ``Errors`` enum, as printed by ListErrors.java."""

    code: int
    name: str
    message: str
    retriable: bool
    invalid_metadata: bool
    exception: str | None
    superclasses: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Pure part: parse, classify, render
# ---------------------------------------------------------------------------------------------


def read_pin(pin_file: Path = PIN_FILE) -> str:
    """KAFKA_VERSION from src/kafkaio/_pin.py, read without importing kafkaio."""
    tree = ast.parse(pin_file.read_text(encoding="utf-8"), str(pin_file))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "KAFKA_VERSION" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise GenerateError(f"{pin_file}: no KAFKA_VERSION = '<version>' assignment")


def parse_listing(text: str) -> list[ErrorSpec]:
    """Parse ListErrors.java's JSON lines; validate them; sort by code."""
    specs: list[ErrorSpec] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            spec = ErrorSpec(
                code=_typed(raw["code"], int),
                name=_typed(raw["name"], str),
                message=_typed(raw["message"], str),
                retriable=_typed(raw["retriable"], bool),
                invalid_metadata=_typed(raw["invalid_metadata"], bool),
                exception=None if raw["exception"] is None else _typed(raw["exception"], str),
                superclasses=tuple(_typed(c, str) for c in raw["superclasses"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise GenerateError(f"listing line {lineno}: {exc}: {line!r}") from None
        if not spec.name.isidentifier() or not spec.name.isupper():
            raise GenerateError(f"listing line {lineno}: odd enum name {spec.name!r}")
        if not -(2**15) <= spec.code < 2**15:
            raise GenerateError(f"listing line {lineno}: code {spec.code} is not an int16")
        specs.append(spec)
    codes = [s.code for s in specs]
    if len(set(codes)) != len(codes):
        raise GenerateError("listing has duplicate error codes")
    if 0 not in codes or -1 not in codes:
        raise GenerateError(
            "listing lacks NONE (0) or UNKNOWN_SERVER_ERROR (-1): not Kafka's table"
        )
    return sorted(specs, key=lambda s: s.code)


_T = TypeVar("_T")


def _typed(value: object, kind: type[_T]) -> _T:
    # bool is an int subclass; a code must not be true/false.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    return value


def class_name(enum_name: str) -> str:
    """``NOT_LEADER_OR_FOLLOWER`` -> ``NotLeaderOrFollowerError``.

    A trailing ``_ERROR`` or ``_EXCEPTION`` is dropped first, so ``UNKNOWN_SERVER_ERROR`` gives
    ``UnknownServerError`` rather than ``UnknownServerErrorError``.
    """
    words = enum_name.split("_")
    if len(words) > 1 and words[-1] in ("ERROR", "EXCEPTION"):
        words = words[:-1]
    return "".join(w.capitalize() for w in words) + "Error"


def classify(spec: ErrorSpec) -> tuple[str, ...]:
    """The hand-written bases of a code's class, after BrokerResponseError, in MRO order."""
    java = {spec.exception, *spec.superclasses}
    bases = [category for java_class, category in CATEGORY_BY_JAVA_CLASS if java_class in java]
    if spec.name in TXN_ABORT_CODES:
        bases.append("TransactionAbortRequiredError")
    if spec.name in FATAL_CODES:
        bases.append("FatalError")
    bases[:0] = EXTRA_BASES.get(spec.name, ())
    unique = list(dict.fromkeys(bases))
    # Drop a base another base already inherits from (also keeps the MRO consistent).
    kept = tuple(b for b in unique if not any(_is_ancestor(b, other) for other in unique))
    _check_consistent(spec, kept)
    return kept


def _is_ancestor(candidate: str, of: str) -> bool:
    parent = PARENTS.get(of)
    while parent is not None:
        if parent == candidate:
            return True
        parent = PARENTS.get(parent)
    return False


def _ancestors(name: str) -> set[str]:
    found = {name}
    parent = PARENTS.get(name)
    while parent is not None:
        found.add(parent)
        parent = PARENTS.get(parent)
    return found


def _check_consistent(spec: ErrorSpec, bases: Iterable[str]) -> None:
    everything = set().union(*(_ancestors(b) for b in bases))
    if ("RetriableError" in everything) != spec.retriable:
        raise GenerateError(f"{spec.name}: category retriable != Java's {spec.retriable}")
    if ("InvalidMetadataError" in everything) != spec.invalid_metadata:
        raise GenerateError(f"{spec.name}: category invalid-metadata != Java's")
    if "FatalError" in everything and "RetriableError" in everything:
        raise GenerateError(f"{spec.name}: classified both fatal and retriable")


def _docstring(spec: ErrorSpec) -> list[str]:
    text = spec.message.strip() or spec.name
    if not text.endswith((".", "!", "?")):
        text += "."
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    java = spec.exception.rsplit(".", 1)[-1] if spec.exception else "none"
    paragraphs = [
        textwrap.wrap(text, width=92, break_long_words=False, break_on_hyphens=False),
        [f"Kafka error code {spec.code}, ``{spec.name}`` (Java ``{java}``)."],
    ]
    lines: list[str] = []
    for paragraph in paragraphs:
        if lines:
            lines.append("")
        lines.extend(paragraph)
    if len(lines) == 1:
        return [f'    """{lines[0]}"""']
    out = [f'    """{lines[0]}']
    out.extend(f"    {line}" if line else "" for line in lines[1:])
    out.append('    """')
    return out


def _py_str(text: str) -> str:
    """A string literal quoted the way ruff format would quote it."""
    body = json.dumps(text)[1:-1]  # escapes backslashes, control and non-ASCII characters
    # Double quotes unless that needs more escapes than single quotes.
    if text.count('"') > text.count("'"):
        return "'" + body.replace('\\"', '"').replace("'", "\\'") + "'"
    return '"' + body + '"'


def _assignment(name: str, literal: str) -> list[str]:
    # The layout ruff format gives a class attribute: parenthesized over three lines when the
    # one-line form is too long but the value fits on its own line.
    line = f"    {name} = {literal}"
    if len(line) <= LINE_LENGTH or len(literal) + 8 > LINE_LENGTH:
        return [line]
    return [f"    {name} = (", f"        {literal}", "    )"]


def render(specs: Sequence[ErrorSpec], pin: str) -> str:
    """The text of _codes.py for the listing ``specs`` of Kafka ``pin``."""
    classes = [s for s in specs if s.code != 0]
    names = [class_name(s.name) for s in classes]
    seen: dict[str, str] = {}
    for spec, name in zip(classes, names, strict=True):
        if name in HAND_WRITTEN_NAMES:
            raise GenerateError(f"{spec.name} -> {name} clashes with a hand-written class")
        if name in seen:
            raise GenerateError(f"{spec.name} and {seen[name]} both map to {name}")
        seen[name] = spec.name
    bases_by_code = {s.code: classify(s) for s in classes}
    imported = sorted({"BrokerResponseError", *(b for bs in bases_by_code.values() for b in bs)})

    out = [
        f"# Generated by {TOOL} from Apache Kafka {pin}. DO NOT EDIT.",
        f'"""One exception class per error code of Apache Kafka {pin} (``org.apache.kafka.common.protocol.Errors``).',
        "",
        "Import these from :mod:`kafkaio.errors`; look a code up with :func:`kafkaio.errors.for_code`.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from kafkaio.errors._base import (",
        *(f"    {name}," for name in imported),
        ")",
        "",
        f'KAFKA_VERSION = "{pin}"',
        '"""The Apache Kafka release this table was generated from."""',
    ]
    for spec, name in zip(classes, names, strict=True):
        bases = ", ".join(("BrokerResponseError", *bases_by_code[spec.code]))
        out += ["", "", f"class {name}({bases}):"]
        out += _docstring(spec)
        out += [
            "",
            f"    errno = {spec.code}",
            f"    code_name = {json.dumps(spec.name)}",
            *_assignment("message", _py_str(spec.message)),
            f"    retriable = {spec.retriable}",
        ]
    out += [
        "",
        "",
        "BY_CODE: dict[int, type[BrokerResponseError]] = {",
        *(f"    {spec.code}: {name}," for spec, name in zip(classes, names, strict=True)),
        "}",
        '"""Every error code of the table (except 0, NONE) and its class."""',
        "",
        "__all__ = [",
        *(f'    "{name}",' for name in sorted(names)),
        "]",
    ]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Impure part: Maven, javac, java
# ---------------------------------------------------------------------------------------------


def cache_root() -> Path:
    if env := os.environ.get("KAFKAIO_CACHE_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kafkaio"


_POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by {tool}: fetches kafka-clients {pin} and its runtime dependencies. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.kafkaio.tools</groupId>
  <artifactId>kafka-clients-fetch</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-clients</artifactId>
      <version>{pin}</version>
    </dependency>
  </dependencies>
</project>
"""


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise GenerateError(f"{tool!r} not found on PATH (JDK 17+ and Maven are needed)")
    return path


def resolve_jars(pin: str, cache: Path) -> list[Path]:
    """kafka-clients <pin> and its runtime dependencies, fetched once into ``cache``."""
    home = cache / f"kafka-clients-{pin}"
    libs = home / "libs"
    main_jar = libs / f"kafka-clients-{pin}.jar"
    if not main_jar.is_file():
        mvn = _require("mvn")
        home.mkdir(parents=True, exist_ok=True)
        pom = home / "pom.xml"
        pom.write_text(_POM.format(tool=TOOL, pin=pin), encoding="utf-8")
        staging = Path(tempfile.mkdtemp(prefix="libs-", dir=home))
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise GenerateError(
                f"Maven could not fetch kafka-clients {pin}:\n{result.stdout}{result.stderr}"
            )
        # Publish atomically so a concurrent run never sees half a directory.
        try:
            staging.rename(libs)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        if not main_jar.is_file():
            raise GenerateError(f"Maven ran but {main_jar} is missing")
    return sorted(libs.glob("*.jar"))


def run_list_errors(jars: Sequence[Path]) -> str:
    """Compile and run ListErrors.java against ``jars``; return its JSON lines."""
    javac, java = _require("javac"), _require("java")
    classpath = os.pathsep.join(str(j) for j in jars)
    with tempfile.TemporaryDirectory(prefix="kafkaio-errors-") as tmp:
        compiled = subprocess.run(
            [javac, "-d", tmp, "-cp", classpath, str(JAVA_SOURCE)],
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode != 0:
            raise GenerateError(f"javac failed:\n{compiled.stdout}{compiled.stderr}")
        ran = subprocess.run(
            [java, "-cp", os.pathsep.join((tmp, classpath)), "ListErrors"],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )
        if ran.returncode != 0:
            raise GenerateError(f"ListErrors failed:\n{ran.stdout}{ran.stderr}")
        return ran.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if _codes.py is out of date")
    parser.add_argument("--listing", type=Path, help="read the error table from this file")
    parser.add_argument("--dump-listing", type=Path, help="save the Java program's output here")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        pin = read_pin()
        if args.listing is not None:
            listing = args.listing.read_text(encoding="utf-8")
        else:
            listing = run_list_errors(resolve_jars(pin, cache_root()))
        if args.dump_listing is not None:
            args.dump_listing.write_text(listing, encoding="utf-8")
        specs = parse_listing(listing)
        text = render(specs, pin)
    except GenerateError as exc:
        print(f"{TOOL}: {exc}", file=sys.stderr)
        return 2

    output: Path = args.output
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    current = output.read_text(encoding="utf-8") if output.is_file() else ""
    if args.check:
        if current == text:
            print(f"{TOOL}: {shown} is up to date ({len(specs) - 1} codes)")
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            f"{output.name} (committed)",
            f"{output.name} (generated)",
        )
        sys.stderr.writelines(list(diff)[:200])
        print(f"{TOOL}: {shown} is out of date; run {TOOL}", file=sys.stderr)
        return 1
    if current != text:
        output.write_text(text, encoding="utf-8")
        print(f"{TOOL}: wrote {shown} ({len(specs) - 1} codes)")
    else:
        print(f"{TOOL}: {shown} unchanged ({len(specs) - 1} codes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
