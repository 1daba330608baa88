"""Apache Kafka releases and the highest API versions their brokers serve to clients.

Used two ways:

* ``api_version="auto"``: :func:`infer_release` maps a broker's ApiVersions answer to the
  newest release whose version bumps the broker supports;
* ``api_version=(3, 9)``: :func:`release_caps` caps every request at what that release
  serves, for users who must not send newer versions (e.g. a proxy that lags the brokers).

The table lists, per release, the client-facing APIs whose highest stable version changed
in that release (new APIs appear at their first version). Sources (facts only): the
ApiVersions answers of real brokers up to 3.8, and the message specs shipped in the
kafka-clients jars of 3.9.1, 4.0.0, 4.1.0, 4.2.0 and 4.3.1 (versions upstream marks
unstable excluded). Broker-internal APIs (LeaderAndIsr, Envelope, ...) are left out:
KRaft brokers do not advertise them, so they cannot identify a release.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from kafkaio.errors import UnrecognizedBrokerVersionError

__all__ = [
    "KNOWN_RELEASES",
    "ReleaseTuple",
    "infer_release",
    "release_caps",
    "release_max_versions",
]

ReleaseTuple = tuple[int, ...]

_CHANGES: tuple[tuple[tuple[int, int], dict[str, int]], ...] = (
    ((0, 11), {"Produce": 3, "Fetch": 5, "ListOffsets": 2, "Metadata": 4, "OffsetCommit": 3,
               "OffsetFetch": 3, "FindCoordinator": 1, "JoinGroup": 2, "Heartbeat": 1,
               "LeaveGroup": 1, "SyncGroup": 1, "DescribeGroups": 1, "ListGroups": 1,
               "SaslHandshake": 0, "ApiVersions": 1, "CreateTopics": 2, "DeleteTopics": 1,
               "DeleteRecords": 0, "InitProducerId": 0, "OffsetForLeaderEpoch": 0,
               "AddPartitionsToTxn": 0, "AddOffsetsToTxn": 0, "EndTxn": 0,
               "TxnOffsetCommit": 0, "DescribeAcls": 0, "CreateAcls": 0, "DeleteAcls": 0,
               "DescribeConfigs": 0, "AlterConfigs": 0}),
    ((1, 0), {"Produce": 5, "Fetch": 6, "Metadata": 5, "SaslHandshake": 1,
              "AlterReplicaLogDirs": 0, "DescribeLogDirs": 0, "SaslAuthenticate": 0,
              "CreatePartitions": 0}),
    ((1, 1), {"Fetch": 7, "DescribeConfigs": 1, "CreateDelegationToken": 0,
              "RenewDelegationToken": 0, "ExpireDelegationToken": 0,
              "DescribeDelegationToken": 0, "DeleteGroups": 0}),
    ((2, 0), {"Produce": 6, "Fetch": 8, "ListOffsets": 3, "Metadata": 6, "OffsetCommit": 4,
              "OffsetFetch": 4, "FindCoordinator": 2, "JoinGroup": 3, "Heartbeat": 2,
              "LeaveGroup": 2, "SyncGroup": 2, "DescribeGroups": 2, "ListGroups": 2,
              "ApiVersions": 2, "CreateTopics": 3, "DeleteTopics": 2, "DeleteRecords": 1,
              "InitProducerId": 1, "OffsetForLeaderEpoch": 1, "AddPartitionsToTxn": 1,
              "AddOffsetsToTxn": 1, "EndTxn": 1, "TxnOffsetCommit": 1, "DescribeAcls": 1,
              "CreateAcls": 1, "DeleteAcls": 1, "DescribeConfigs": 2, "AlterConfigs": 1,
              "AlterReplicaLogDirs": 1, "DescribeLogDirs": 1, "CreatePartitions": 1,
              "CreateDelegationToken": 1, "RenewDelegationToken": 1,
              "ExpireDelegationToken": 1, "DescribeDelegationToken": 1, "DeleteGroups": 1}),
    ((2, 1), {"Produce": 7, "Fetch": 10, "ListOffsets": 4, "Metadata": 7, "OffsetCommit": 6,
              "OffsetFetch": 5, "DeleteTopics": 3, "OffsetForLeaderEpoch": 2,
              "TxnOffsetCommit": 2}),
    ((2, 2), {"ListOffsets": 5, "JoinGroup": 4, "SaslAuthenticate": 1, "ElectLeaders": 0}),
    ((2, 3), {"Fetch": 11, "Metadata": 8, "OffsetCommit": 7, "JoinGroup": 5, "Heartbeat": 3,
              "SyncGroup": 3, "DescribeGroups": 3, "OffsetForLeaderEpoch": 3,
              "IncrementalAlterConfigs": 0}),
    ((2, 4), {"Produce": 8, "Metadata": 9, "OffsetCommit": 8, "OffsetFetch": 6,
              "FindCoordinator": 3, "JoinGroup": 6, "Heartbeat": 4, "LeaveGroup": 4,
              "SyncGroup": 4, "DescribeGroups": 5, "ListGroups": 3, "ApiVersions": 3,
              "CreateTopics": 5, "DeleteTopics": 4, "InitProducerId": 2,
              "CreateDelegationToken": 2, "DeleteGroups": 2, "ElectLeaders": 2,
              "IncrementalAlterConfigs": 1, "AlterPartitionReassignments": 0,
              "ListPartitionReassignments": 0, "OffsetDelete": 0}),
    ((2, 5), {"OffsetFetch": 7, "JoinGroup": 7, "SyncGroup": 5, "InitProducerId": 3,
              "TxnOffsetCommit": 3, "DescribeAcls": 2, "CreateAcls": 2, "DeleteAcls": 2,
              "SaslAuthenticate": 2, "CreatePartitions": 2, "RenewDelegationToken": 2,
              "ExpireDelegationToken": 2, "DescribeDelegationToken": 2}),
    ((2, 6), {"ListGroups": 4, "DeleteRecords": 2, "DescribeConfigs": 3, "DescribeLogDirs": 2,
              "DescribeClientQuotas": 0, "AlterClientQuotas": 0}),
    ((2, 7), {"Fetch": 12, "CreateTopics": 6, "DeleteTopics": 5, "InitProducerId": 4,
              "AddPartitionsToTxn": 2, "AddOffsetsToTxn": 2, "EndTxn": 2,
              "CreatePartitions": 3, "DescribeUserScramCredentials": 0,
              "AlterUserScramCredentials": 0, "UpdateFeatures": 0}),
    ((2, 8), {"Produce": 9, "ListOffsets": 6, "Metadata": 11, "CreateTopics": 7,
              "DeleteTopics": 6, "OffsetForLeaderEpoch": 4, "AddPartitionsToTxn": 3,
              "AddOffsetsToTxn": 3, "EndTxn": 3, "DescribeConfigs": 4, "AlterConfigs": 2,
              "AlterReplicaLogDirs": 2, "DescribeClientQuotas": 1, "AlterClientQuotas": 1,
              "DescribeCluster": 0, "DescribeProducers": 0}),
    ((3, 0), {"ListOffsets": 7, "OffsetFetch": 8, "FindCoordinator": 4,
              "DescribeTransactions": 0, "ListTransactions": 0}),
    ((3, 1), {"Fetch": 13, "Metadata": 12}),
    ((3, 2), {"JoinGroup": 9, "LeaveGroup": 5, "DescribeLogDirs": 3}),
    ((3, 3), {"DescribeAcls": 3, "CreateAcls": 3, "DeleteAcls": 3, "DescribeLogDirs": 4,
              "CreateDelegationToken": 3, "DescribeDelegationToken": 3, "UpdateFeatures": 1}),
    # 3.4 bumped only broker-internal APIs: a KRaft 3.4 broker looks like 3.3 to a client.
    ((3, 4), {}),
    ((3, 5), {"Fetch": 15, "ListOffsets": 8}),
    ((3, 6), {"AddPartitionsToTxn": 4}),
    ((3, 7), {"Produce": 10, "Fetch": 16, "OffsetCommit": 9, "OffsetFetch": 9,
              "DescribeCluster": 1, "ConsumerGroupHeartbeat": 0}),
    ((3, 8), {"Produce": 11, "FindCoordinator": 5, "ListGroups": 5, "InitProducerId": 5,
              "AddPartitionsToTxn": 5, "AddOffsetsToTxn": 4, "EndTxn": 4,
              "TxnOffsetCommit": 4, "ListTransactions": 1, "ConsumerGroupDescribe": 0}),
    ((3, 9), {"Fetch": 17, "ListOffsets": 9, "FindCoordinator": 6, "ApiVersions": 4,
              "GetTelemetrySubscriptions": 0, "PushTelemetry": 0, "ListConfigResources": 0,
              "DescribeTopicPartitions": 0}),
    ((4, 0), {"Produce": 12, "ListOffsets": 10, "Metadata": 13, "DescribeGroups": 6,
              "EndTxn": 5, "TxnOffsetCommit": 5, "UpdateFeatures": 2, "DescribeCluster": 2,
              "ConsumerGroupHeartbeat": 1, "ConsumerGroupDescribe": 1}),
    ((4, 1), {"Produce": 13, "Fetch": 18, "AlterPartitionReassignments": 1,
              "ListTransactions": 2, "ListConfigResources": 1, "ShareGroupHeartbeat": 1,
              "ShareGroupDescribe": 1, "ShareFetch": 1, "ShareAcknowledge": 1,
              "DescribeShareGroupOffsets": 0, "AlterShareGroupOffsets": 0,
              "DeleteShareGroupOffsets": 0}),
    ((4, 2), {"ListOffsets": 11, "OffsetCommit": 10, "OffsetFetch": 10, "ShareFetch": 2,
              "ShareAcknowledge": 2, "StreamsGroupHeartbeat": 0, "StreamsGroupDescribe": 0,
              "DescribeShareGroupOffsets": 1}),
    ((4, 3), {"DescribeLogDirs": 5}),
)  # fmt: skip

# APIs a broker advertises only when a feature or plugin is enabled (share groups, streams
# groups, KIP-848 before 4.0, client telemetry): their absence says nothing about the
# release, so they never count as evidence.
_FEATURE_GATED = frozenset(
    {
        "ConsumerGroupHeartbeat",
        "ConsumerGroupDescribe",
        "ShareGroupHeartbeat",
        "ShareGroupDescribe",
        "ShareFetch",
        "ShareAcknowledge",
        "DescribeShareGroupOffsets",
        "AlterShareGroupOffsets",
        "DeleteShareGroupOffsets",
        "StreamsGroupHeartbeat",
        "StreamsGroupDescribe",
        "GetTelemetrySubscriptions",
        "PushTelemetry",
    }
)

KNOWN_RELEASES: tuple[tuple[int, int], ...] = tuple(release for release, _ in _CHANGES)
"""Every release the table knows, oldest first."""


def _api_key(name: str) -> int:
    from kafkaio.protocol.apis import API_BY_NAME

    return API_BY_NAME[name].key


@cache
def _cumulative() -> dict[tuple[int, int], dict[int, int]]:
    tables: dict[tuple[int, int], dict[int, int]] = {}
    current: dict[int, int] = {}
    for release, changes in _CHANGES:
        current = {**current, **{_api_key(name): v for name, v in changes.items()}}
        tables[release] = current
    return tables


def _resolve(release: ReleaseTuple) -> tuple[int, int]:
    """The newest known release not newer than ``release`` (``(3, 9, 1)`` -> ``(3, 9)``)."""
    if len(release) < 2:
        raise ValueError(f"api_version must have at least two parts, got {release!r}")
    major_minor = (release[0], release[1])
    candidates = [r for r in KNOWN_RELEASES if r <= major_minor]
    if not candidates:
        oldest = ".".join(map(str, KNOWN_RELEASES[0]))
        raise UnrecognizedBrokerVersionError(
            f"api_version {release!r} is older than the oldest supported release {oldest}"
        )
    return candidates[-1]


def release_max_versions(release: ReleaseTuple) -> Mapping[int, int]:
    """Highest version per API key that brokers of ``release`` serve to clients."""
    return _cumulative()[_resolve(release)]


def release_caps(release: ReleaseTuple) -> dict[int, int]:
    """Per-API caps for a user who configured ``api_version=release``.

    APIs that appeared after ``release`` are capped at ``-1`` (never sendable); APIs the
    table does not track are left uncapped.
    """
    tables = _cumulative()
    caps = dict(tables[_resolve(release)])
    for key in tables[KNOWN_RELEASES[-1]]:
        caps.setdefault(key, -1)
    return caps


def infer_release(broker_max_versions: Mapping[int, int]) -> tuple[int, int]:
    """The newest release whose whole client-facing table ``broker_max_versions`` satisfies.

    Every API that release serves (feature-gated ones aside) must be present at least at
    that release's version, so one odd entry cannot make an old broker look new. Raises
    :class:`UnrecognizedBrokerVersionError` when not even the oldest known release matches.
    """
    for release in reversed(KNOWN_RELEASES):
        if release == (3, 4):
            # No client-visible evidence distinguishes 3.4 from 3.3.
            continue
        if all(
            broker_max_versions.get(key, -1) >= version
            for key, version in _evidence()[release].items()
        ):
            return release
    raise UnrecognizedBrokerVersionError(
        "the broker's ApiVersions answer matches no known Kafka release"
        f" (max versions: {dict(sorted(broker_max_versions.items()))})"
    )


@cache
def _evidence() -> dict[tuple[int, int], dict[int, int]]:
    gated = {_api_key(name) for name in _FEATURE_GATED}
    return {
        release: {key: v for key, v in table.items() if key not in gated}
        for release, table in _cumulative().items()
    }
