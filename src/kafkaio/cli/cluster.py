"""``kafkaio cluster describe`` and ``kafkaio metadata`` (kcat -L)."""

from __future__ import annotations

from typing import Any

from kafkaio.admin import Admin, ClusterDescription, TopicDescription
from kafkaio.cli.formatting import table
from kafkaio.cli.runtime import EXIT_FAILED, EXIT_OK, Context

__all__ = ["metadata_text", "run_cluster_describe", "run_metadata"]


def _admin(ctx: Context) -> Admin:
    return ctx.create(Admin, **ctx.client_kwargs("admin"))


async def run_cluster_describe(ctx: Context) -> int:
    """Cluster id, controller, brokers and feature levels."""
    async with _admin(ctx) as admin:
        cluster = await admin.describe_cluster()
        features = await admin.describe_features()
    if ctx.args.json:
        ctx.out_json(
            {
                "cluster_id": cluster.cluster_id,
                "controller_id": cluster.controller_id,
                "brokers": cluster.brokers,
                "features": {
                    "finalized_epoch": features.finalized_epoch,
                    "finalized": features.finalized,
                    "supported": features.supported,
                },
            }
        )
        return EXIT_OK
    ctx.out(f"Cluster id: {cluster.cluster_id}")
    ctx.out(f"Controller: {cluster.controller_id}")
    ctx.out()
    ctx.out(
        table(
            ["BROKER", "HOST", "PORT", "RACK", "FENCED", "CONTROLLER"],
            [
                [b.node_id, b.host, b.port, b.rack, b.is_fenced, b.node_id == cluster.controller_id]
                for b in cluster.brokers
            ],
        )
    )
    ctx.out()
    names = sorted(set(features.finalized) | set(features.supported))
    ctx.out(
        table(
            ["FEATURE", "FINALIZED", "SUPPORTED"],
            [
                [
                    name,
                    _range(features.finalized.get(name)),
                    _range(features.supported.get(name)),
                ]
                for name in names
            ],
        )
    )
    ctx.out(f"Finalized features epoch: {features.finalized_epoch}")
    return EXIT_OK


def _range(r: Any) -> str | None:
    if r is None:
        return None
    return str(r.max) if r.min == r.max else f"{r.min}..{r.max}"


def metadata_text(cluster: ClusterDescription, topics: list[TopicDescription]) -> str:
    """Metadata in kcat -L's layout."""
    lines = [f"Metadata for cluster {cluster.cluster_id}:"]
    lines.append(f" {len(cluster.brokers)} broker(s):")
    for b in cluster.brokers:
        suffix = " (controller)" if b.node_id == cluster.controller_id else ""
        rack = f" rack {b.rack}" if b.rack else ""
        lines.append(f"  broker {b.node_id} at {b.host}:{b.port}{rack}{suffix}")
    lines.append(f" {len(topics)} topic(s):")
    for t in topics:
        if t.error is not None:
            lines.append(f'  topic "{t.name}" error: {type(t.error).__name__}: {t.error}')
            continue
        lines.append(f'  topic "{t.name}" with {len(t.partitions)} partition(s):')
        for p in t.partitions:
            error = f", error {type(p.error).__name__}" if p.error is not None else ""
            lines.append(
                f"    partition {p.partition}, leader {p.leader if p.leader is not None else -1},"
                f" replicas: {','.join(map(str, p.replicas))},"
                f" isrs: {','.join(map(str, p.isr))}{error}"
            )
    return "\n".join(lines)


async def run_metadata(ctx: Context) -> int:
    """Brokers and topics with their partitions (only the ``--topic`` ones if given)."""
    args = ctx.args
    async with _admin(ctx) as admin:
        cluster = await admin.describe_cluster()
        names = args.topic or list(await admin.list_topics(include_internal=args.internal))
        described = await admin.describe_topics(names) if names else {}
    topics = [described[n] for n in names]
    status = EXIT_FAILED if any(t.error is not None for t in topics) else EXIT_OK
    if args.json:
        ctx.out_json(
            {
                "cluster_id": cluster.cluster_id,
                "controller_id": cluster.controller_id,
                "brokers": cluster.brokers,
                "topics": [
                    {
                        "name": t.name,
                        "topic_id": t.topic_id,
                        "internal": t.is_internal,
                        "partitions": t.partitions,
                        "error": t.error,
                    }
                    for t in topics
                ],
            }
        )
    else:
        ctx.out(metadata_text(cluster, topics))
    for t in topics:
        if t.error is not None:
            ctx.report(t.error)
    return status
