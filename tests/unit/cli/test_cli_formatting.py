"""Record formats, JSON and tables of the command-line tool (no broker)."""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass, field
from uuid import UUID

import pytest

from kafkaio.cli.formatting import (
    BytesCodec,
    RecordFormatter,
    UsageFormatError,
    record_to_json,
    table,
    to_json,
    unescape,
)
from kafkaio.cluster import TopicPartition
from kafkaio.errors import UnknownTopicOrPartitionError


@dataclass
class Rec:
    topic: str = "orders"
    partition: int = 2
    offset: int = 41
    timestamp: int = 1_700_000_000_123
    key: bytes | None = b"k1"
    value: bytes | None = b"v\x00\xff"
    headers: list[tuple[str, bytes | None]] = field(
        default_factory=lambda: [("a", b"1"), ("b", None)]
    )


def test_every_placeholder() -> None:
    fmt = RecordFormatter("%t|%p|%o|%k|%s|%K|%S|%T|%h|%%\\n")
    assert fmt.format(Rec()) == b"orders|2|41|k1|v\x00\xff|2|3|1700000000123|a=1,b=|%\n"


def test_null_key_and_value_render_empty_with_length_minus_one() -> None:
    fmt = RecordFormatter("[%k][%s][%K][%S][%h]")
    assert fmt.format(Rec(key=None, value=None, headers=[])) == b"[][][-1][-1][]"


def test_literal_text_and_escapes() -> None:
    assert RecordFormatter("key=%k\\tvalue=%s\\x21").format(Rec()) == b"key=k1\tvalue=v\x00\xff!"
    assert unescape("a\\nb\\\\c\\0") == "a\nb\\c\0"


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("%q", "unknown placeholder %q"),
        ("abc%", "dangling %"),
        ("\\y", "unknown escape"),
        ("\\x4", "bad \\\\x escape"),
        ("x\\", "dangling backslash"),
    ],
)
def test_bad_formats_name_the_problem(fmt: str, message: str) -> None:
    with pytest.raises(UsageFormatError, match=message):
        RecordFormatter(fmt)


def test_json_record_utf8_and_base64() -> None:
    rec = Rec(value=b"caf\xc3\xa9")
    doc = record_to_json(rec, BytesCodec(False), timestamp_type="CREATE_TIME")
    assert doc == {
        "topic": "orders",
        "partition": 2,
        "offset": 41,
        "timestamp": 1_700_000_000_123,
        "timestamp_type": "CREATE_TIME",
        "key": "k1",
        "value": "café",
        "headers": [["a", "1"], ["b", None]],
    }
    doc = record_to_json(Rec(), BytesCodec(True))
    assert base64.b64decode(doc["value"]) == b"v\x00\xff"
    assert doc["key"] == base64.b64encode(b"k1").decode()
    assert "timestamp_type" not in doc


def test_json_invalid_utf8_is_escaped_and_reported_once() -> None:
    calls = []
    codec = BytesCodec(False, lambda: calls.append(1))
    assert codec(b"a\xffb") == "a\\xffb"
    assert codec(b"\xfe") == "\\xfe"
    assert codec(None) is None
    assert calls == [1]


class Color(enum.Enum):
    RED = 1


@dataclass(frozen=True)
class Item:
    tp: TopicPartition
    ident: UUID
    color: Color
    members: frozenset[int]
    error: Exception | None


def test_to_json_handles_admin_result_types() -> None:
    ident = UUID(int=7)
    value = {
        TopicPartition("t", 1): Item(
            TopicPartition("t", 1), ident, Color.RED, frozenset({3, 1}), None
        ),
        "failed": Item(
            TopicPartition("t", 2),
            ident,
            Color.RED,
            frozenset(),
            UnknownTopicOrPartitionError("topic 't'"),
        ),
    }
    doc = json.loads(to_json(value))
    assert doc["t-1"] == {
        "tp": {"topic": "t", "partition": 1},
        "ident": str(ident),
        "color": "RED",
        "members": [1, 3],
        "error": None,
    }
    assert doc["failed"]["error"]["error"] == "UnknownTopicOrPartitionError"
    assert "topic 't'" in doc["failed"]["error"]["message"]


def test_table_aligns_columns() -> None:
    text = table(["A", "LONGER"], [["x", 1], ["yyyy", None], ["z", [1, 2]], ["w", True]])
    assert text.splitlines() == [
        "A     LONGER",
        "x     1",
        "yyyy  -",
        "z     1,2",
        "w     yes",
    ]
