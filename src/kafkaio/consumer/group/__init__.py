"""Consumer groups: the classic protocol (coordinator, assignors), the KIP-848 consumer
protocol member, and the rebalance listener."""

from kafkaio.consumer.group.assignors import (
    ASSIGNORS,
    CooperativeStickyAssignor,
    MemberSubscription,
    PartitionAssignor,
    RangeAssignor,
    RebalanceProtocol,
    RoundRobinAssignor,
    StickyAssignor,
)
from kafkaio.consumer.group.listener import ConsumerRebalanceListener

__all__ = [
    "ASSIGNORS",
    "ConsumerRebalanceListener",
    "CooperativeStickyAssignor",
    "MemberSubscription",
    "PartitionAssignor",
    "RangeAssignor",
    "RebalanceProtocol",
    "RoundRobinAssignor",
    "StickyAssignor",
]
