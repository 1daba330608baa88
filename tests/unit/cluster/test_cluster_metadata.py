"""ClusterMetadata: updates from Metadata responses, KIP-320 epochs, re-created topics."""

from __future__ import annotations

import uuid

from kafkaio.cluster import ClusterMetadata, MetadataUpdate, TopicPartition
from kafkaio.protocol.messages import MetadataResponse
from kafkaio.protocol.messages.metadata import (
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)

T1 = uuid.uuid4()


def response(
    leader: int = 1,
    epoch: int = 5,
    topic_id: uuid.UUID = T1,
    extra_topics: list[MetadataResponseTopic] | None = None,
    brokers: tuple[int, ...] = (1, 2),
    controller: int = 2,
) -> MetadataResponse:
    topic = MetadataResponseTopic(
        name="t",
        topic_id=topic_id,
        partitions=[
            MetadataResponsePartition(
                partition_index=0,
                leader_id=leader,
                leader_epoch=epoch,
                replica_nodes=[1, 2],
                isr_nodes=[1, 2],
                offline_replicas=[],
            ),
            MetadataResponsePartition(
                partition_index=1, leader_id=-1, leader_epoch=3, replica_nodes=[2], isr_nodes=[]
            ),
        ],
    )
    return MetadataResponse(
        brokers=[MetadataResponseBroker(n, f"h{n}", 9000 + n, "rack-a") for n in brokers],
        cluster_id="cid",
        controller_id=controller,
        topics=[topic, *(extra_topics or [])],
    )


def test_update_fills_brokers_topics_partitions() -> None:
    md = ClusterMetadata()
    change = md.update(response())
    assert [b.node_id for b in md.brokers()] == [1, 2]
    b1 = md.broker(1)
    assert b1 is not None and (b1.host, b1.port, b1.rack) == ("h1", 9001, "rack-a")
    assert md.cluster_id == "cid" and md.controller_id == 2
    assert md.topics() == {"t"}
    assert md.partitions_for_topic("t") == {0, 1}
    assert md.available_partitions_for_topic("t") == {0}
    assert md.leader_for_partition(TopicPartition("t", 0)) == 1
    assert md.leader_for_partition(TopicPartition("t", 1)) is None
    assert md.leader_epoch(TopicPartition("t", 0)) == 5
    part = md.partition(TopicPartition("t", 0))
    assert part is not None and part.replicas == (1, 2) and part.isr == (1, 2)
    assert md.topic_id("t") == T1 and md.topic_name(T1) == "t"
    assert md.partitions_for_broker(1) == {TopicPartition("t", 0)}
    assert change.brokers_changed
    assert change.leaders_changed == {TopicPartition("t", 0), TopicPartition("t", 1)}
    assert md.partitions_for_topic("missing") is None


def test_older_leader_epoch_is_ignored_kip_320() -> None:
    md = ClusterMetadata()
    md.update(response(leader=1, epoch=5))
    change = md.update(response(leader=2, epoch=4))
    assert md.leader_for_partition(TopicPartition("t", 0)) == 1
    assert md.leader_epoch(TopicPartition("t", 0)) == 5
    assert change.stale_partitions_ignored == {TopicPartition("t", 0)}
    change = md.update(response(leader=2, epoch=6))
    assert md.leader_for_partition(TopicPartition("t", 0)) == 2
    assert change.leaders_changed == {TopicPartition("t", 0)}
    assert not change.stale_partitions_ignored


def test_epoch_is_remembered_while_topic_is_untracked() -> None:
    md = ClusterMetadata()
    md.update(response(epoch=7))
    md.update(MetadataResponse(brokers=[MetadataResponseBroker(1, "h1", 1)], topics=[]))
    assert md.topics() == set()
    md.update(response(leader=2, epoch=3))
    # The held epoch 7 still wins: the partition stays listed, without a leader.
    assert md.partitions_for_topic("t") == {0, 1}
    assert md.leader_for_partition(TopicPartition("t", 0)) is None
    assert md.leader_epoch(TopicPartition("t", 0)) == 7
    md.update(response(leader=2, epoch=8))
    assert md.leader_for_partition(TopicPartition("t", 0)) == 2


def test_recreated_topic_resets_epochs() -> None:
    md = ClusterMetadata()
    md.update(response(epoch=9))
    new_id = uuid.uuid4()
    change = md.update(response(leader=2, epoch=0, topic_id=new_id))
    assert change.recreated_topics == {"t"}
    assert md.leader_for_partition(TopicPartition("t", 0)) == 2
    assert md.topic_id("t") == new_id and md.topic_name(T1) is None


def test_topic_errors_are_classified() -> None:
    md = ClusterMetadata()
    md.update(
        response(
            extra_topics=[
                MetadataResponseTopic(error_code=29, name="secret"),
                MetadataResponseTopic(error_code=3, name="nope"),
                MetadataResponseTopic(error_code=17, name="bad name"),
                MetadataResponseTopic(error_code=5, name="creating"),
            ]
        )
    )
    assert md.unauthorized_topics == {"secret"}
    assert md.unknown_topics == {"nope"}
    assert md.invalid_topics == {"bad name"}
    assert md.unavailable_topics == {"creating"}
    assert md.topics() == {"t"}


def test_listeners_and_coordinator_brokers() -> None:
    md = ClusterMetadata()
    seen: list[MetadataUpdate] = []
    md.add_listener(lambda m, u: seen.append(u))
    from kafkaio.cluster import BrokerMetadata

    md.add_coordinator_broker(BrokerMetadata(7, "coord", 1234))
    b7 = md.broker(7)
    assert b7 is not None and b7.host == "coord"
    md.update(response(brokers=(1, 7)))
    b7 = md.broker(7)
    assert b7 is not None and b7.host == "h7"
    assert len(seen) == 1
    md.update(response(brokers=(1, 7)))
    assert not seen[-1].brokers_changed and not seen[-1].leaders_changed


def test_leader_hint_kip_951_takes_only_newer_epochs() -> None:
    from kafkaio.cluster.metadata import BrokerMetadata

    md = ClusterMetadata()
    md.update(response(leader=1, epoch=5))
    changes: list[MetadataUpdate] = []
    md.add_listener(lambda _md, change: changes.append(change))
    tp = TopicPartition("t", 0)
    assert not md.apply_leader_hint(tp, 2, 5)  # not newer
    assert not md.apply_leader_hint(tp, 3, 6)  # no address for broker 3
    assert not md.apply_leader_hint(TopicPartition("other", 0), 2, 9)
    assert md.apply_leader_hint(tp, 2, 6)
    assert md.leader_for_partition(tp) == 2 and md.leader_epoch(tp) == 6
    part = md.partition(tp)
    assert part is not None and part.replicas == (1, 2)  # the rest of the view is kept
    assert changes[-1].leaders_changed == {tp} and not changes[-1].brokers_changed
    assert md.apply_leader_hint(tp, 3, 7, [BrokerMetadata(3, "h3", 9003, None)])
    b3 = md.broker(3)
    assert b3 is not None and b3.host == "h3" and changes[-1].brokers_changed
    # A Metadata response from a broker that lags behind the hint does not undo it.
    md.update(response(leader=1, epoch=6, brokers=(1, 2, 3)))
    assert md.leader_for_partition(tp) == 3
