"""``kafkaio groups list|describe|lag|delete|reset-offsets``."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from kafkaio.admin import (
    Admin,
    ConsumerGroupDescription,
    GroupDescription,
    OffsetSpec,
)
from kafkaio.cli.formatting import table
from kafkaio.cli.options import UsageError
from kafkaio.cli.runtime import EXIT_FAILED, EXIT_OK, Context
from kafkaio.cluster import TopicPartition
from kafkaio.errors import GroupIdNotFoundError, KafkaError, NonEmptyGroupError

__all__ = ["GROUP_ACTIONS", "parse_datetime_ms", "parse_topic_partitions"]

_INACTIVE_STATES = frozenset({"", "empty", "dead"})


def _admin(ctx: Context) -> Admin:
    return ctx.create(Admin, **ctx.client_kwargs("admin"))


def parse_datetime_ms(text: str) -> int:
    """Milliseconds since the epoch of an ISO-8601 date/time (UTC when no zone is given)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--to-datetime: not an ISO-8601 date/time: {text!r} (e.g. 2026-01-31T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)


def parse_topic_partitions(text: str) -> tuple[str, list[int] | None]:
    """``TOPIC`` (every partition) or ``TOPIC:0,2`` (those partitions)."""
    topic, sep, rest = text.rpartition(":")
    if not sep:
        return text, None
    try:
        partitions = sorted({int(p, 10) for p in rest.split(",") if p.strip()})
    except ValueError:
        raise UsageError(f"--topic expects TOPIC or TOPIC:P,P..., got {text!r}") from None
    if not topic or not partitions or partitions[0] < 0:
        raise UsageError(f"--topic expects TOPIC or TOPIC:P,P..., got {text!r}")
    return topic, partitions


# ---------------------------------------------------------------- list / describe


async def _list(ctx: Context) -> int:
    async with _admin(ctx) as admin:
        result = await admin.list_groups(states=ctx.args.state)
    status = ctx.report_errors(result.errors.items())
    groups = sorted(result.groups, key=lambda g: g.group_id)
    if ctx.args.json:
        ctx.out_json(list(groups))
    else:
        ctx.out(
            table(
                ["GROUP", "TYPE", "STATE", "PROTOCOL_TYPE"],
                [[g.group_id, g.type, g.state, g.protocol_type] for g in groups],
            )
        )
    return status


def _assignment_text(tps: Sequence[TopicPartition] | None) -> str:
    if not tps:
        return "-"
    by_topic: dict[str, list[int]] = {}
    for tp in tps:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return " ".join(f"{t}:{','.join(map(str, sorted(ps)))}" for t, ps in sorted(by_topic.items()))


def _describe_text(d: GroupDescription | ConsumerGroupDescription) -> str:
    if isinstance(d, ConsumerGroupDescription):
        head = (
            f"Group: {d.group_id}  Type: consumer  State: {d.state}  Assignor: "
            f"{d.assignor_name}  Epoch: {d.group_epoch}  Coordinator: {d.coordinator}"
        )
        rows = [
            [m.member_id, m.instance_id, m.client_id, m.client_host, _assignment_text(m.assignment)]
            for m in d.members
        ]
    else:
        head = (
            f"Group: {d.group_id}  Type: classic  State: {d.state}  Protocol: "
            f"{d.protocol_type}/{d.protocol}  Coordinator: {d.coordinator}"
        )
        rows = [
            [
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                _assignment_text(m.assignment),
            ]
            for m in d.members
        ]
    members = table(["MEMBER_ID", "INSTANCE_ID", "CLIENT_ID", "HOST", "ASSIGNMENT"], rows)
    return f"{head}\n{members}"


async def _describe_one(
    admin: Admin, groups: list[str]
) -> Mapping[str, GroupDescription | ConsumerGroupDescription]:
    """KIP-848 groups through ConsumerGroupDescribe, the others through DescribeGroups."""
    out: dict[str, GroupDescription | ConsumerGroupDescription] = {}
    try:
        modern = await admin.describe_consumer_groups(groups)
    except KafkaError:
        modern = None  # the broker predates KIP-848: every group is classic
    classic = [g for g in groups if modern is None or modern[g].error is not None]
    if modern is not None:
        out.update({g: d for g, d in modern.items() if d.error is None})
    if classic:
        out.update(await admin.describe_groups(classic))
    return {g: out[g] for g in groups}


async def _describe(ctx: Context) -> int:
    async with _admin(ctx) as admin:
        described = await _describe_one(admin, ctx.args.groups)
    status = EXIT_OK
    docs = []
    for g, d in described.items():
        if d.error is not None:
            ctx.report(d.error)
            status = EXIT_FAILED
            continue
        if isinstance(d, GroupDescription) and d.state == "Dead" and not d.protocol_type:
            # DescribeGroups answers "Dead" with no error for a group that never existed.
            ctx.report(GroupIdNotFoundError(f"group {g!r} does not exist"))
            status = EXIT_FAILED
            continue
        docs.append(d)
        if not ctx.args.json:
            ctx.out(_describe_text(d))
            ctx.out()
    if ctx.args.json:
        ctx.out_json(docs)
    return status


# ---------------------------------------------------------------- lag / delete


async def _lag(ctx: Context) -> int:
    group = ctx.args.group
    async with _admin(ctx) as admin:
        lags = await admin.consumer_group_lag(group)
    status = ctx.report_errors((tp, lag.error) for tp, lag in lags.items() if lag.error)
    rows: list[dict[str, Any]] = [
        {
            "topic": tp.topic,
            "partition": tp.partition,
            "committed": lag.committed,
            "end_offset": lag.end_offset,
            "lag": lag.lag,
        }
        for tp, lag in sorted(lags.items())
    ]
    total = sum(r["lag"] or 0 for r in rows)
    if ctx.args.json:
        ctx.out_json({"group": group, "total_lag": total, "partitions": rows})
    else:
        ctx.out(
            table(
                ["TOPIC", "PARTITION", "COMMITTED", "END", "LAG"],
                [
                    [r["topic"], r["partition"], r["committed"], r["end_offset"], r["lag"]]
                    for r in rows
                ],
            )
        )
        ctx.out(f"Total lag of group {group!r}: {total}")
    return status


async def _delete(ctx: Context) -> int:
    async with _admin(ctx) as admin:
        results = await admin.delete_groups(ctx.args.groups)
    status = ctx.report_errors((g, r.error) for g, r in results.items() if r.error)
    deleted = [g for g, r in results.items() if r.error is None]
    if ctx.args.json:
        ctx.out_json({"deleted": deleted})
    else:
        for g in deleted:
            ctx.out(f"deleted group {g!r}")
    return status


# ---------------------------------------------------------------- reset-offsets


async def _targets(ctx: Context, admin: Admin) -> list[TopicPartition]:
    args = ctx.args
    group = args.group
    if args.all_topics:
        committed = (await admin.list_consumer_group_offsets([group]))[group]
        if committed.error is not None:
            raise committed.error
        if not committed.offsets:
            raise UsageError(f"group {group!r} has no committed offsets: name topics with --topic")
        return sorted(committed.offsets)
    wanted = [parse_topic_partitions(t) for t in args.topic]
    described = await admin.describe_topics(sorted({t for t, _ in wanted}))
    described.raise_on_error()
    tps: set[TopicPartition] = set()
    for topic, partitions in wanted:
        existing = {p.partition for p in described[topic].partitions}
        for p in partitions if partitions is not None else sorted(existing):
            if p not in existing:
                raise UsageError(f"--topic {topic}:{p}: the topic has {len(existing)} partition(s)")
            tps.add(TopicPartition(topic, p))
    return sorted(tps)


async def _offsets(
    admin: Admin, tps: list[TopicPartition], spec: OffsetSpec
) -> dict[TopicPartition, int | None]:
    found = await admin.list_offsets({tp: spec for tp in tps})
    found.raise_on_error()
    return {tp: found[tp].offset for tp in tps}


async def _check_inactive(admin: Admin, group: str) -> None:
    """Refuse to move the offsets of a group with members (they would overwrite them)."""
    try:
        described = (await _describe_one(admin, [group]))[group]
    except KafkaError:
        return  # the broker's own answer to the change will tell
    if described.error is None and described.state.lower() not in _INACTIVE_STATES:
        raise NonEmptyGroupError(
            f"group {group!r} is {described.state} with {len(described.members)} member(s):"
            " stop its consumers before resetting its offsets"
        )


async def _reset_offsets(ctx: Context) -> int:
    args = ctx.args
    group = args.group
    timestamp = parse_datetime_ms(args.to_datetime) if args.to_datetime is not None else None
    async with _admin(ctx) as admin:
        tps = await _targets(ctx, admin)
        committed = (await admin.list_consumer_group_offsets({group: tps}))[group]
        if committed.error is not None:
            raise committed.error
        earliest = await _offsets(admin, tps, OffsetSpec.earliest())
        latest = await _offsets(admin, tps, OffsetSpec.latest())
        if args.to_earliest:
            new = earliest
        elif args.to_latest:
            new = latest
        elif args.to_offset is not None:
            # Like Kafka's own tool: an offset outside the log is clamped into it.
            new = {tp: min(max(args.to_offset, earliest[tp] or 0), latest[tp] or 0) for tp in tps}
        else:
            assert timestamp is not None
            at = await _offsets(admin, tps, OffsetSpec.for_timestamp(timestamp))
            # No record at or after the time: the end of the partition.
            new = {tp: at[tp] if at[tp] is not None else latest[tp] for tp in tps}
        plan = {tp: off for tp, off in new.items() if off is not None}
        status = EXIT_OK
        if not args.dry_run:
            await _check_inactive(admin, group)
            results = await admin.alter_consumer_group_offsets(group, plan)
            status = ctx.report_errors((tp, r.error) for tp, r in results.items() if r.error)
    rows: list[dict[str, Any]] = []
    for tp in tps:
        om = committed.offsets.get(tp)
        rows.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "current": om.offset if om is not None else None,
                "new": new[tp],
            }
        )
    if args.json:
        ctx.out_json({"group": group, "dry_run": args.dry_run, "partitions": rows})
    else:
        ctx.out(
            table(
                ["TOPIC", "PARTITION", "CURRENT", "NEW"],
                [[r["topic"], r["partition"], r["current"], r["new"]] for r in rows],
            )
        )
        if args.dry_run:
            ctx.out("(dry run: nothing changed)")
    return status


GROUP_ACTIONS: dict[str, Callable[[Context], Awaitable[int]]] = {
    "list": _list,
    "describe": _describe,
    "lag": _lag,
    "delete": _delete,
    "reset-offsets": _reset_offsets,
}
