"""The classic consumer group protocol: coordinator, assignors, rebalance listener."""

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
