"""Client-side checks of admin input (no broker)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.admin import ClientQuotaEntity, ConfigResource, OffsetSpec, TopicPartition
from kafkaio.admin.types import AclOperation, authorized_operations
from kafkaio.admin.validation import (
    assignment_problem,
    check_topic_partition,
    config_value,
    no_duplicates,
    topic_name_problem,
)

LEGAL = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
    min_size=1,
    max_size=249,
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=50, deadline=None)
@given(LEGAL)
def test_legal_topic_names_pass(name: str) -> None:
    assert topic_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        (".", "not a legal"),
        ("..", "not a legal"),
        ("a" * 250, "250 characters"),
        ("has space", "illegal characters"),
        ("slash/name", "illegal characters"),
        ("ünïcode", "illegal characters"),
    ],
)
def test_illegal_topic_names_are_explained(name: str, why: str) -> None:
    problem = topic_name_problem(name)
    assert problem is not None and why in problem


def test_topic_name_must_be_str() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        topic_name_problem(42)


def test_assignment_checks() -> None:
    assert assignment_problem({0: [1, 2], 1: [2, 3]}, None, None) is None
    assert assignment_problem({0: [1, 2], 1: [2, 3]}, 2, 2) is None
    assert "0..1" in (assignment_problem({0: [1], 2: [1]}, None, None) or "")
    assert "twice" in (assignment_problem({0: [1, 1]}, None, None) or "")
    assert "same number" in (assignment_problem({0: [1], 1: [1, 2]}, None, None) or "")
    assert "no broker" in (assignment_problem({0: []}, None, None) or "")
    assert "num_partitions=3" in (assignment_problem({0: [1]}, 3, None) or "")
    assert "replication_factor=2" in (assignment_problem({0: [1]}, None, 2) or "")


def test_config_values_are_rendered_as_kafka_expects() -> None:
    assert config_value("a", True) == "true"
    assert config_value("a", 5) == "5"
    assert config_value("a", 0.5) == "0.5"
    assert config_value("a", ["delete", "compact"]) == "delete,compact"
    assert config_value("a", None) is None
    with pytest.raises(TypeError, match="'a'"):
        config_value("a", object())
    with pytest.raises(TypeError, match="config key"):
        config_value("", "x")


def test_topic_partitions_and_duplicates() -> None:
    assert check_topic_partition(("t", 1)) == TopicPartition("t", 1)
    with pytest.raises(ValueError, match=">= 0"):
        check_topic_partition(("t", -1))
    with pytest.raises(TypeError):
        check_topic_partition("t-1")
    with pytest.raises(ValueError, match="'b' appears more than once"):
        no_duplicates(["a", "b", "b"], "topic")


def test_config_resource_constructors() -> None:
    assert ConfigResource.broker() == ConfigResource(ConfigResource.broker().type, "")
    assert ConfigResource.broker(3).name == "3"
    assert ConfigResource.topic("t").type.name == "TOPIC"


def test_offset_specs() -> None:
    assert OffsetSpec.earliest().timestamp == -2
    assert OffsetSpec.latest().timestamp == -1
    assert OffsetSpec.max_timestamp().min_version()[0] == 7
    assert OffsetSpec.for_timestamp(5).min_version()[0] == 0
    with pytest.raises(ValueError):
        OffsetSpec.for_timestamp(-3)


def test_quota_entities() -> None:
    a = ClientQuotaEntity.of(user="u", client_id="c")
    b = ClientQuotaEntity.of({"client-id": "c", "user": "u"})
    assert a == b and hash(a) == hash(b)
    assert a.as_dict() == {"client-id": "c", "user": "u"}
    with pytest.raises(ValueError, match="unknown quota entity type"):
        ClientQuotaEntity.of(group="g")
    with pytest.raises(ValueError, match="at least one"):
        ClientQuotaEntity.of()


def test_authorized_operations_bits() -> None:
    assert authorized_operations(-(2**31)) is None
    bits = (1 << AclOperation.READ) | (1 << AclOperation.DESCRIBE) | (1 << 30)
    assert authorized_operations(bits) == frozenset({AclOperation.READ, AclOperation.DESCRIBE})
