"""Every generated message round-trips at every version it supports."""

from __future__ import annotations

import dataclasses
import os
import uuid

import pytest
from _protocol_schema import (
    is_flexible,
    message_strategy,
    top_level_classes,
    versions,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkaio.errors import ProtocolDecodeError, UnsupportedVersionError
from kafkaio.protocol.api import Message, ProtocolEncodeError
from kafkaio.protocol.messages import (
    ApiVersionsResponse,
    FetchRequest,
    FetchResponse,
    MetadataRequest,
    ProduceRequest,
)
from kafkaio.protocol.messages.fetch import FetchPartition, FetchTopic, ReplicaState
from kafkaio.protocol.messages.metadata import MetadataRequestTopic

CLASSES = top_level_classes()
# A handful of examples per class keeps this file fast; raise it for a deeper local run.
EXAMPLES = int(os.environ.get("KAFKAIO_PROTOCOL_EXAMPLES", "4"))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_round_trip_every_version(cls: type[Message], data: st.DataObject) -> None:
    for version in versions(cls):
        msg = data.draw(
            message_strategy(cls, version, is_flexible(cls, version)), label=f"v{version}"
        )
        encoded = msg.encode(version)
        decoded = cls.decode(encoded, version)
        assert decoded == msg, f"v{version}"
        assert decoded.encode(version) == encoded
        # bytearray and memoryview inputs decode the same way
        assert cls.decode(memoryview(bytearray(encoded)), version) == msg


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_defaults_encode_at_every_version(cls: type[Message]) -> None:
    msg = cls()
    for version in versions(cls):
        assert cls.decode(msg.encode(version), version) == msg


def test_field_names_and_defaults() -> None:
    req = MetadataRequest(topics=None)
    assert req.topics is None
    assert req.allow_auto_topic_creation is True
    assert [f.name for f in dataclasses.fields(FetchPartition)][:4] == [
        "partition",
        "current_leader_epoch",
        "fetch_offset",
        "last_fetched_epoch",
    ]
    assert FetchRequest().max_bytes == 0x7FFFFFFF
    assert FetchRequest().replica_id == -1
    assert FetchTopic().topic_id == uuid.UUID(int=0)
    assert ProduceRequest().transactional_id is None
    # mutable defaults are not shared between instances
    a, b = MetadataRequest(), MetadataRequest()
    assert a.topics is not None and b.topics is not None
    a.topics.append(MetadataRequestTopic(name="x"))
    assert b.topics == []


def test_unknown_tagged_fields_preserved() -> None:
    msg = FetchRequest(
        cluster_id="c",
        max_wait_ms=10,
        topics=[
            FetchTopic(
                topic_id=uuid.uuid4(),
                partitions=[FetchPartition(partition=1, unknown_tagged_fields={9: b"\x01"})],
            )
        ],
        unknown_tagged_fields={5: b"abc", 1000: b""},
    )
    for version in (12, 13, 15, 18):
        if version < 13:
            msg.topics[0].topic = "t"
        decoded = FetchRequest.decode(msg.encode(version), version)
        assert decoded.unknown_tagged_fields == {5: b"abc", 1000: b""}
        assert decoded.topics[0].partitions[0].unknown_tagged_fields == {9: b"\x01"}
        assert decoded.cluster_id == "c"
        assert decoded.encode(version) == msg.encode(version)


def test_unknown_tags_interleave_with_known_in_tag_order() -> None:
    msg = ApiVersionsResponse(
        finalized_features_epoch=7, unknown_tagged_fields={0x50: b"z", 0: b"\x01"}
    )
    raw = msg.encode(3)
    # count=3; raw tag 0, known tag 1 (finalized_features_epoch), raw tag 0x50: ascending
    tail = bytes([3, 0, 1, 1, 1, 8]) + (7).to_bytes(8, "big") + bytes([0x50, 1]) + b"z"
    assert raw.endswith(tail)
    decoded = ApiVersionsResponse.decode(raw, 3)
    assert decoded.finalized_features_epoch == 7
    assert decoded.unknown_tagged_fields == {0x50: b"z"}
    assert decoded.supported_features == []  # raw tag 0 decoded as an empty compact array


def test_unknown_tagged_fields_rejected_at_non_flexible_version() -> None:
    msg = MetadataRequest(topics=[], unknown_tagged_fields={70: b"x"})
    with pytest.raises(UnsupportedVersionError, match="unknown_tagged_fields"):
        msg.encode(8)
    assert msg.encode(9)


def test_non_ignorable_field_raises_at_version_lacking_it() -> None:
    msg = FetchRequest(forgotten_topics_data=[])
    assert msg.encode(4)  # default value: fine
    msg = FetchRequest(replica_state=ReplicaState(replica_id=3, replica_epoch=1))
    with pytest.raises(UnsupportedVersionError) as info:
        msg.encode(14)
    text = str(info.value)
    assert "Fetch" in text and "replica_state" in text and "v14" in text
    assert msg.encode(15)


def test_ignorable_field_dropped_silently() -> None:
    msg = FetchRequest(rack_id="rack-1", isolation_level=1)
    raw = msg.encode(4)  # rack_id exists from v11 and is ignorable
    decoded = FetchRequest.decode(raw, 4)
    assert decoded.rack_id == ""
    assert decoded.isolation_level == 1


def test_version_out_of_range() -> None:
    with pytest.raises(UnsupportedVersionError, match="version 14"):
        MetadataRequest().encode(14)
    with pytest.raises(UnsupportedVersionError):
        MetadataRequest().encode(-1)
    with pytest.raises(UnsupportedVersionError):
        ProduceRequest.decode(b"", 2)


def test_null_in_non_nullable_field_names_it() -> None:
    msg = MetadataRequest(topics=[MetadataRequestTopic(name=None)])
    with pytest.raises(ProtocolEncodeError, match=r"MetadataRequestTopic\.name"):
        msg.encode(9)
    assert MetadataRequest.decode(msg.encode(10), 10) == msg
    with pytest.raises(ProtocolEncodeError, match="topics"):
        MetadataRequest(topics=None).encode(0)


def test_out_of_range_value_names_field() -> None:
    with pytest.raises(ProtocolEncodeError, match="max_wait_ms"):
        FetchRequest(max_wait_ms=1 << 40).encode(12)
    with pytest.raises(ProtocolEncodeError, match="partition"):
        FetchRequest(topics=[FetchTopic(partitions=[FetchPartition(partition=-(1 << 33))])]).encode(
            12
        )
    with pytest.raises(ProtocolEncodeError, match="rack_id"):
        FetchRequest(rack_id=123).encode(12)  # type: ignore[arg-type]


def test_encode_into_appends() -> None:
    buf = bytearray(b"hdr")
    MetadataRequest(topics=None).encode_into(buf, 12)
    assert bytes(buf) == b"hdr" + MetadataRequest(topics=None).encode(12)
    with pytest.raises(ProtocolEncodeError):
        MetadataRequest(topics=[MetadataRequestTopic(name=None)]).encode_into(buf, 9)
    assert bytes(buf) == b"hdr" + MetadataRequest(topics=None).encode(12)


def test_trailing_bytes_rejected() -> None:
    raw = MetadataRequest(topics=None).encode(12)
    with pytest.raises(ProtocolDecodeError, match="trailing"):
        MetadataRequest.decode(raw + b"\x00", 12)
    msg, end = MetadataRequest.decode_prefix(raw + b"\x00", 12)
    assert end == len(raw) and msg.topics is None


def test_response_records_are_raw_bytes() -> None:
    from kafkaio.protocol.messages.fetch import FetchableTopicResponse, PartitionData

    msg = FetchResponse(
        responses=[FetchableTopicResponse(partitions=[PartitionData(records=b"\x00\x01")])]
    )
    for version in (4, 12, 16):
        decoded = FetchResponse.decode(msg.encode(version), version)
        assert decoded.responses[0].partitions[0].records == b"\x00\x01"


@pytest.mark.parametrize(
    ("msg", "field_name"),
    [
        (MetadataRequest(topics={"a": 1}), "topics"),  # type: ignore[arg-type]
        (MetadataRequest(topics=["orders"]), "topics[0]"),  # type: ignore[list-item]
        (FetchRequest(topics=[FetchTopic(topic_id="not-a-uuid")]), "topic_id"),  # type: ignore[arg-type]
        (ProduceRequest(acks="all"), "acks"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_raise_encode_error(msg: Message, field_name: str) -> None:
    with pytest.raises(ProtocolEncodeError, match=field_name.replace("[", r"\[")):
        msg.encode(msg.LATEST_VERSION)  # type: ignore[attr-defined]
