"""kafkaio encodes exactly like the Java client.

golden/golden.json holds the Java client's bytes for the cases below (regenerate with
``python tools/golden/generate_golden.py``); each builder here sets the same field values
as the matching method in tools/golden/GoldenBytes.java.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kafkaio._pin import KAFKA_VERSION
from kafkaio.protocol.api import Message
from kafkaio.protocol.messages import api_versions as av
from kafkaio.protocol.messages import consumer_group_heartbeat as cgh
from kafkaio.protocol.messages import create_topics as ct
from kafkaio.protocol.messages import describe_topic_partitions as dtp
from kafkaio.protocol.messages import fetch as fe
from kafkaio.protocol.messages import find_coordinator as fc
from kafkaio.protocol.messages import metadata as md
from kafkaio.protocol.messages import produce as pr

GOLDEN = json.loads((Path(__file__).parent / "golden" / "golden.json").read_text())

TOPIC_ID = uuid.UUID(int=(0x0123456789ABCDEF << 64) | 0x1032547698BADCFE)
DIR_ID = uuid.UUID(int=(0x1111111111111111 << 64) | 0x2222222222222222)
RECORDS = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xFE, 0xFF])


def metadata_request(v: int) -> Message:
    return md.MetadataRequest(
        topics=[
            md.MetadataRequestTopic(name="orders"),
            md.MetadataRequestTopic(topic_id=TOPIC_ID, name=None),
        ],
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=True,
    )


def produce_request(v: int, by_id: bool = False) -> Message:
    topic = pr.TopicProduceData(
        partition_data=[
            pr.PartitionProduceData(index=0, records=RECORDS),
            pr.PartitionProduceData(index=1, records=None),
        ]
    )
    if by_id:
        topic.topic_id = TOPIC_ID
    else:
        topic.name = "orders"
    return pr.ProduceRequest(
        transactional_id="txn-1" if by_id else None,
        acks=-1,
        timeout_ms=30000,
        topic_data=[topic],
    )


def create_topics_request(v: int) -> Message:
    return ct.CreateTopicsRequest(
        topics=[
            ct.CreatableTopic(
                name="orders",
                num_partitions=3,
                replication_factor=1,
                configs=[
                    ct.CreatableTopicConfig(name="cleanup.policy", value="compact"),
                    ct.CreatableTopicConfig(name="retention.ms", value=None),
                ],
            ),
            ct.CreatableTopic(
                name="manual",
                num_partitions=-1,
                replication_factor=-1,
                assignments=[
                    ct.CreatableReplicaAssignment(partition_index=0, broker_ids=[1, 2]),
                    ct.CreatableReplicaAssignment(partition_index=1, broker_ids=[2, 3]),
                ],
            ),
        ],
        timeout_ms=30000,
        validate_only=True,
    )


def fetch_request(v: int) -> Message:
    partition = fe.FetchPartition(
        partition=0,
        current_leader_epoch=5,
        fetch_offset=100,
        last_fetched_epoch=4 if v >= 12 else -1,
        log_start_offset=-1,
        partition_max_bytes=1048576,
    )
    if v >= 17:
        partition.replica_directory_id = DIR_ID
    if v >= 18:
        partition.high_watermark = 12345
    topic = fe.FetchTopic(partitions=[partition])
    forgotten = fe.ForgottenTopic(partitions=[3, 4])
    if v >= 13:
        topic.topic_id = TOPIC_ID
        forgotten.topic_id = TOPIC_ID
    else:
        topic.topic = "orders"
        forgotten.topic = "old"
    msg = fe.FetchRequest(
        cluster_id="cluster-x",
        max_wait_ms=500,
        min_bytes=1,
        max_bytes=52428800,
        isolation_level=1,
        session_id=0,
        session_epoch=-1,
        topics=[topic],
        forgotten_topics_data=[forgotten] if v >= 7 else [],
        rack_id="rack-1",
    )
    if v >= 15:
        msg.replica_state = fe.ReplicaState(replica_id=3, replica_epoch=7)
    if v >= 12:
        msg.unknown_tagged_fields = {7: b"\x01\x02\x03"}
    return msg


def metadata_response(v: int) -> Message:
    return md.MetadataResponse(
        throttle_time_ms=0,
        brokers=[
            md.MetadataResponseBroker(node_id=1, host="localhost", port=9092, rack=None),
            md.MetadataResponseBroker(node_id=2, host="h2", port=9093, rack="r1"),
        ],
        cluster_id="abc",
        controller_id=1,
        topics=[
            md.MetadataResponseTopic(
                error_code=0,
                name="orders",
                topic_id=TOPIC_ID,
                is_internal=False,
                partitions=[
                    md.MetadataResponsePartition(
                        error_code=0,
                        partition_index=0,
                        leader_id=1,
                        leader_epoch=3,
                        replica_nodes=[1, 2],
                        isr_nodes=[1],
                        offline_replicas=[],
                    )
                ],
            )
        ],
    )


def api_versions_keys() -> list[av.ApiVersion]:
    return [
        av.ApiVersion(api_key=0, min_version=3, max_version=13),
        av.ApiVersion(api_key=18, min_version=0, max_version=4),
    ]


def api_versions_response(v: int) -> Message:
    return av.ApiVersionsResponse(
        error_code=0,
        api_keys=api_versions_keys(),
        throttle_time_ms=0,
        supported_features=[
            av.SupportedFeatureKey(name="metadata.version", min_version=1, max_version=27)
        ],
        finalized_features_epoch=42,
        finalized_features=[
            av.FinalizedFeatureKey(
                name="metadata.version", max_version_level=27, min_version_level=27
            )
        ],
    )


def fetch_response(v: int) -> Message:
    partition = fe.PartitionData(
        partition_index=0,
        error_code=0,
        high_watermark=200,
        last_stable_offset=150,
        log_start_offset=0,
        aborted_transactions=[fe.AbortedTransaction(producer_id=9, first_offset=120)],
        preferred_read_replica=-1,
        records=RECORDS,
    )
    empty = fe.PartitionData(
        partition_index=1,
        error_code=6,
        high_watermark=-1,
        aborted_transactions=None,
        records=None,
    )
    if v >= 12:
        empty.current_leader = fe.LeaderIdAndEpoch(leader_id=2, leader_epoch=8)
    topic = fe.FetchableTopicResponse(partitions=[partition, empty])
    if v >= 13:
        topic.topic_id = TOPIC_ID
    else:
        topic.topic = "orders"
    msg = fe.FetchResponse(
        throttle_time_ms=0,
        error_code=0,
        session_id=77 if v >= 7 else 0,
        responses=[topic],
    )
    if v >= 16:
        msg.node_endpoints = [fe.NodeEndpoint(node_id=2, host="h2", port=9093, rack=None)]
    return msg


def heartbeat_response(with_assignment: bool) -> Message:
    return cgh.ConsumerGroupHeartbeatResponse(
        throttle_time_ms=0,
        error_code=0,
        error_message=None,
        member_id="member-1",
        member_epoch=5,
        heartbeat_interval_ms=3000,
        assignment=cgh.Assignment(
            topic_partitions=[cgh.TopicPartitions(topic_id=TOPIC_ID, partitions=[0, 2])]
        )
        if with_assignment
        else None,
    )


BUILDERS: dict[str, Callable[[int], Any]] = {
    "metadata_request": metadata_request,
    "metadata_request_v4": lambda v: md.MetadataRequest(
        topics=[md.MetadataRequestTopic(name="orders")], allow_auto_topic_creation=True
    ),
    "metadata_request_all_topics": lambda v: md.MetadataRequest(topics=None),
    "api_versions_request": lambda v: av.ApiVersionsRequest(
        client_software_name="kafkaio", client_software_version="0.1.0"
    ),
    "api_versions_request_v0": lambda v: av.ApiVersionsRequest(),
    "produce_request": produce_request,
    "produce_request_by_id": lambda v: produce_request(v, by_id=True),
    "find_coordinator_request_v0": lambda v: fc.FindCoordinatorRequest(key="group-a"),
    "find_coordinator_request_v3": lambda v: fc.FindCoordinatorRequest(key="txn-1", key_type=1),
    "find_coordinator_request_batched": lambda v: fc.FindCoordinatorRequest(
        key_type=0, coordinator_keys=["group-a", "group-b"]
    ),
    "create_topics_request": create_topics_request,
    "fetch_request": fetch_request,
    "describe_topic_partitions_request": lambda v: dtp.DescribeTopicPartitionsRequest(
        topics=[dtp.TopicRequest(name="orders")],
        response_partition_limit=100,
        cursor=dtp.Cursor(topic_name="orders", partition_index=7),
    ),
    "describe_topic_partitions_request_no_cursor": lambda v: dtp.DescribeTopicPartitionsRequest(
        topics=[]
    ),
    "metadata_response": metadata_response,
    "api_versions_response": api_versions_response,
    "api_versions_response_v0": lambda v: av.ApiVersionsResponse(
        error_code=35, api_keys=api_versions_keys()
    ),
    "fetch_response": fetch_response,
    "consumer_group_heartbeat_response": lambda v: heartbeat_response(True),
    "consumer_group_heartbeat_response_no_assignment": lambda v: heartbeat_response(False),
}

CASES = [(c["case"], c["version"], c["hex"]) for c in GOLDEN["cases"]]


def test_golden_file_matches_pin() -> None:
    assert GOLDEN["kafka_clients"] == KAFKA_VERSION
    assert {c[0] for c in CASES} == set(BUILDERS)


def test_golden_covers_required_apis() -> None:
    seen = {(c[0], c[1]) for c in CASES}
    assert ("metadata_request", 12) in seen
    assert ("api_versions_request", 3) in seen
    assert ("produce_request", 9) in seen and ("produce_request", 12) in seen
    assert ("find_coordinator_request_batched", 4) in seen
    assert ("create_topics_request", 7) in seen
    assert any(name == "fetch_request" and v >= 12 for name, v in seen)


def as_sent(value: Any, version: int) -> Any:
    """``value`` as the receiver sees it: fields absent at ``version`` hold their defaults."""
    if isinstance(value, list):
        return [as_sent(item, version) for item in value]
    if not isinstance(value, Message):
        return value
    changes: dict[str, Any] = {}
    instance: Any = value
    by_name = {f.name: f for f in dataclasses.fields(instance)}
    for info in type(value).FIELDS:
        if info.present_in(version):
            changes[info.name] = as_sent(getattr(value, info.name), version)
        else:
            f = by_name[info.name]
            has_factory = f.default_factory is not dataclasses.MISSING
            changes[info.name] = f.default_factory() if has_factory else f.default  # type: ignore[operator]
    return dataclasses.replace(instance, **changes)


@pytest.mark.parametrize(
    ("case", "version", "hexdata"), CASES, ids=[f"{c[0]}-v{c[1]}" for c in CASES]
)
def test_matches_java_client(case: str, version: int, hexdata: str) -> None:
    msg = BUILDERS[case](version)
    expected = bytes.fromhex(hexdata)
    assert msg.encode(version).hex() == expected.hex()
    assert type(msg).decode(expected, version) == as_sent(msg, version)
