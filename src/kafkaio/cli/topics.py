"""``kafkaio topics list|describe|create|delete|alter-config``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kafkaio.admin import (
    Admin,
    AlterConfigOp,
    ConfigResource,
    NewTopic,
    TopicDescription,
)
from kafkaio.cli.formatting import table
from kafkaio.cli.options import UsageError, parse_assignment
from kafkaio.cli.runtime import EXIT_FAILED, EXIT_OK, Context
from kafkaio.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

__all__ = ["TOPIC_ACTIONS", "describe_text"]


def _admin(ctx: Context) -> Admin:
    return ctx.create(Admin, **ctx.client_kwargs("admin"))


def _replication(d: TopicDescription) -> int | None:
    return max((len(p.replicas) for p in d.partitions), default=None)


async def _list(ctx: Context) -> int:
    async with _admin(ctx) as admin:
        listing = await admin.list_topics(include_internal=ctx.args.internal)
        described = await admin.describe_topics(list(listing)) if listing else {}
    rows = []
    for name, topic in listing.items():
        d = described.get(name)
        ok = d is not None and d.error is None
        rows.append(
            {
                "name": name,
                "topic_id": str(topic.topic_id) if topic.topic_id else None,
                "internal": topic.is_internal,
                "partitions": len(d.partitions) if ok and d is not None else None,
                "replication_factor": _replication(d) if ok and d is not None else None,
            }
        )
    if ctx.args.json:
        ctx.out_json(rows)
    else:
        ctx.out(
            table(
                ["TOPIC", "PARTITIONS", "REPLICATION", "INTERNAL", "TOPIC_ID"],
                [
                    [
                        r["name"],
                        r["partitions"],
                        r["replication_factor"],
                        r["internal"],
                        r["topic_id"],
                    ]
                    for r in rows
                ],
            )
        )
    return EXIT_OK


def describe_text(d: TopicDescription, configs: dict[str, str | None] | None) -> str:
    """A described topic as text: a summary line and a partition table."""
    lines = [
        f"Topic: {d.name}  TopicId: {d.topic_id}  Partitions: {len(d.partitions)}  "
        f"ReplicationFactor: {_replication(d)}" + ("  Internal: yes" if d.is_internal else "")
    ]
    if configs is not None:
        shown = ",".join(f"{k}={v if v is not None else '(sensitive)'}" for k, v in configs.items())
        lines.append(f"Configs: {shown or '(all defaults)'}")
    rows = [
        [
            p.partition,
            p.leader,
            p.leader_epoch,
            p.replicas,
            p.isr,
            p.offline_replicas,
            type(p.error).__name__ if p.error is not None else None,
        ]
        for p in d.partitions
    ]
    lines.append(
        table(["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "OFFLINE", "ERROR"], rows)
    )
    return "\n".join(lines)


async def _describe(ctx: Context) -> int:
    args = ctx.args
    status = EXIT_OK
    configs: dict[str, dict[str, str | None]] = {}
    async with _admin(ctx) as admin:
        described = await admin.describe_topics(args.topics)
        good = [t for t in args.topics if described[t].error is None]
        if args.configs and good:
            found = await admin.describe_configs([ConfigResource.topic(t) for t in good])
            for t in good:
                result = found[ConfigResource.topic(t)]
                if result.error is not None:
                    ctx.report(result.error)
                    status = EXIT_FAILED
                    continue
                configs[t] = {
                    name: entry.value
                    for name, entry in sorted(result.entries.items())
                    if not entry.is_default
                }
    docs: list[dict[str, Any]] = []
    for t in args.topics:
        d = described[t]
        if d.error is not None:
            ctx.report(d.error)
            status = EXIT_FAILED
            continue
        if args.json:
            doc: dict[str, Any] = {
                "name": d.name,
                "topic_id": d.topic_id,
                "internal": d.is_internal,
                "partitions": d.partitions,
            }
            if args.configs:
                doc["configs"] = configs.get(t, {})
            docs.append(doc)
        else:
            ctx.out(describe_text(d, configs.get(t) if args.configs else None))
            ctx.out()
    if args.json:
        ctx.out_json(docs)
    return status


def _configs(pairs: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in pairs:
        name, value = parse_assignment(text, what)
        out[name] = value
    return out


async def _create(ctx: Context) -> int:
    args = ctx.args
    configs = _configs(args.config, "--config")
    new = [
        NewTopic(t, args.partitions, args.replication_factor, configs=configs) for t in args.topics
    ]
    async with _admin(ctx) as admin:
        results = await admin.create_topics(new)
    status = EXIT_OK
    docs = []
    for t in args.topics:
        r = results[t]
        if r.error is not None and not (
            args.if_not_exists and isinstance(r.error, TopicAlreadyExistsError)
        ):
            ctx.report(r.error)
            status = EXIT_FAILED
            continue
        created = r.error is None
        docs.append(
            {
                "name": t,
                "created": created,
                "topic_id": r.topic_id,
                "partitions": r.num_partitions,
                "replication_factor": r.replication_factor,
            }
        )
        if not args.json:
            ctx.out(
                f"created topic {t!r} ({r.num_partitions} partition(s), replication factor "
                f"{r.replication_factor}, id {r.topic_id})"
                if created
                else f"topic {t!r} already exists"
            )
    if args.json:
        ctx.out_json(docs)
    return status


async def _delete(ctx: Context) -> int:
    args = ctx.args
    async with _admin(ctx) as admin:
        results = await admin.delete_topics(args.topics)
    status = EXIT_OK
    docs = []
    for t in args.topics:
        r = results[t]
        if r.error is not None and not (
            args.if_exists and isinstance(r.error, UnknownTopicOrPartitionError)
        ):
            ctx.report(r.error)
            status = EXIT_FAILED
            continue
        deleted = r.error is None
        docs.append({"name": t, "deleted": deleted})
        if not args.json:
            ctx.out(f"deleted topic {t!r}" if deleted else f"topic {t!r} does not exist")
    if args.json:
        ctx.out_json(docs)
    return status


async def _alter_config(ctx: Context) -> int:
    args = ctx.args
    sets = _configs(args.set, "--set")
    if not sets and not args.delete:
        raise UsageError("alter-config needs --set NAME=VALUE and/or --delete NAME")
    ops = [AlterConfigOp.set(k, v) for k, v in sets.items()]
    ops += [AlterConfigOp.delete(k) for k in args.delete]
    resource = ConfigResource.topic(args.topic)
    async with _admin(ctx) as admin:
        results = await admin.incremental_alter_configs({resource: ops}, validate_only=args.dry_run)
    error = results[resource].error
    if error is not None:
        ctx.report(error)
        return EXIT_FAILED
    if args.json:
        ctx.out_json(
            {"topic": args.topic, "set": sets, "deleted": args.delete, "dry_run": args.dry_run}
        )
    else:
        changes = [f"{k}={v}" for k, v in sets.items()] + [f"-{k}" for k in args.delete]
        verb = "would alter (dry run)" if args.dry_run else "altered"
        ctx.out(f"{verb} topic {args.topic!r}: {', '.join(changes)}")
    return EXIT_OK


TOPIC_ACTIONS: dict[str, Callable[[Context], Awaitable[int]]] = {
    "list": _list,
    "describe": _describe,
    "create": _create,
    "delete": _delete,
    "alter-config": _alter_config,
}
