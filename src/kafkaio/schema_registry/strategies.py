"""Subject name strategies: which subject a topic's keys or values are registered under.

A strategy is ``(topic, is_key, record_name) -> subject``; ``record_name`` is the schema's
fully qualified name (Avro record, Protobuf message, JSON Schema ``title``) or None.
"""

from __future__ import annotations

from collections.abc import Callable

from kafkaio.schema_registry.errors import SerializationError

__all__ = [
    "SubjectNameStrategy",
    "record_subject_name_strategy",
    "topic_record_subject_name_strategy",
    "topic_subject_name_strategy",
]

SubjectNameStrategy = Callable[[str, bool, "str | None"], str]


def topic_subject_name_strategy(topic: str, is_key: bool, record_name: str | None) -> str:
    """``<topic>-key`` or ``<topic>-value`` (the default)."""
    return f"{topic}-{'key' if is_key else 'value'}"


def _need_record_name(strategy: str, record_name: str | None) -> str:
    if not record_name:
        raise SerializationError(
            f"{strategy} needs the schema's record name (Avro record, Protobuf message or "
            f"JSON Schema title), got {record_name!r}"
        )
    return record_name


def record_subject_name_strategy(topic: str, is_key: bool, record_name: str | None) -> str:
    """The record's fully qualified name (one subject for a record type on every topic)."""
    return _need_record_name("record_subject_name_strategy", record_name)


def topic_record_subject_name_strategy(topic: str, is_key: bool, record_name: str | None) -> str:
    """``<topic>-<record name>`` (several record types per topic)."""
    return f"{topic}-{_need_record_name('topic_record_subject_name_strategy', record_name)}"
