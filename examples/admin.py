"""Tour of kafkaio's admin client against a running cluster.

    python -m kafkaio.testing start --detach      # prints bootstrap=127.0.0.1:PORT
    python examples/admin.py 127.0.0.1:PORT

Creates a topic (and shows a per-item error for an invalid one), changes a config and
reads it back, writes offsets for a group and shows its lag, then cleans up.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from kafkaio.admin import (
    Admin,
    AlterConfigOp,
    ConfigResource,
    NewTopic,
    OffsetSpec,
    TopicPartition,
)


async def main(bootstrap: str) -> None:
    topic = f"admin-example-{uuid.uuid4().hex[:6]}"
    group = f"{topic}-group"
    async with Admin(bootstrap_servers=bootstrap) as admin:
        cluster = await admin.describe_cluster()
        print(
            f"cluster {cluster.cluster_id}: brokers {[b.node_id for b in cluster.brokers]},"
            f" controller {cluster.controller_id}"
        )

        created = await admin.create_topics(
            [
                NewTopic(
                    topic,
                    num_partitions=3,
                    replication_factor=1,
                    configs={"retention.ms": 3_600_000},
                ),
                NewTopic("not a valid name!", num_partitions=1),
            ]
        )
        for name, result in created.items():
            print(f"create {name!r}: {'ok' if result.error is None else result.error}")

        # Brokers apply new metadata a moment after the controller commits it.
        for _ in range(50):
            description = (await admin.describe_topics([topic]))[topic]
            if description.error is None and all(
                p.leader is not None for p in description.partitions
            ):
                break
            await asyncio.sleep(0.1)
        for p in description.partitions:
            print(
                f"  partition {p.partition}: leader {p.leader}, replicas {p.replicas}, isr {p.isr}"
            )

        resource = ConfigResource.topic(topic)
        (
            await admin.incremental_alter_configs(
                {resource: [AlterConfigOp.set("retention.ms", 7_200_000)]}
            )
        ).raise_on_error()
        await asyncio.sleep(0.5)
        entry = (await admin.describe_configs([resource], keys=["retention.ms"]))[resource]
        print(f"retention.ms is now {entry.value('retention.ms')}")

        tps = [TopicPartition(topic, p) for p in range(3)]
        ends = await admin.list_offsets({tp: OffsetSpec.latest() for tp in tps})
        print("end offsets:", {tp.partition: r.offset for tp, r in ends.items()})
        (await admin.alter_consumer_group_offsets(group, {tp: 0 for tp in tps})).raise_on_error()
        lag = await admin.consumer_group_lag(group)
        print("group lag:", {tp.partition: info.lag for tp, info in lag.items()})

        (await admin.delete_groups([group])).raise_on_error()
        (await admin.delete_topics([topic])).raise_on_error()
        print(f"deleted {topic} and {group}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} BOOTSTRAP_SERVERS")
    asyncio.run(main(sys.argv[1]))
