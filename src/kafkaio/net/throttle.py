"""Which responses ask the client to hold back (KIP-219).

Before KIP-219 a broker that throttled a client delayed its *response*; since then it
answers at once with ``throttle_time_ms`` and expects the client not to send anything more
on that connection for that long. Which applies depends on the response version; the
first version with client-side throttling per API is taken from the comments of Apache
Kafka's message specs ("Starting in version N, on quota violation, brokers send out
responses before throttling"). APIs added after KIP-219 always use client-side throttling.
"""

from __future__ import annotations

__all__ = ["client_throttles"]

_FIRST_CLIENT_THROTTLED_VERSION: dict[int, int] = {
    0: 6,  # Produce
    1: 8,  # Fetch
    2: 3,  # ListOffsets
    3: 6,  # Metadata
    8: 4,  # OffsetCommit
    9: 4,  # OffsetFetch
    10: 2,  # FindCoordinator
    11: 3,  # JoinGroup
    12: 2,  # Heartbeat
    13: 2,  # LeaveGroup
    14: 2,  # SyncGroup
    15: 2,  # DescribeGroups
    16: 2,  # ListGroups
    18: 2,  # ApiVersions
    19: 3,  # CreateTopics
    20: 2,  # DeleteTopics
    21: 1,  # DeleteRecords
    22: 1,  # InitProducerId
    24: 1,  # AddPartitionsToTxn
    25: 1,  # AddOffsetsToTxn
    26: 1,  # EndTxn
    28: 1,  # TxnOffsetCommit
    29: 1,  # DescribeAcls
    30: 1,  # CreateAcls
    31: 1,  # DeleteAcls
    32: 2,  # DescribeConfigs
    33: 1,  # AlterConfigs
    34: 1,  # AlterReplicaLogDirs
    35: 1,  # DescribeLogDirs
    37: 1,  # CreatePartitions
    38: 1,  # CreateDelegationToken
    39: 1,  # RenewDelegationToken
    40: 1,  # ExpireDelegationToken
    41: 1,  # DescribeDelegationToken
    42: 1,  # DeleteGroups
}


def client_throttles(api_key: int, version: int) -> bool:
    """Whether a ``throttle_time_ms`` in this response means "do not send for that long"."""
    first = _FIRST_CLIENT_THROTTLED_VERSION.get(api_key)
    return first is None or version >= first
