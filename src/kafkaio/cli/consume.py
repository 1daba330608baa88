"""``kafkaio consume``: print records of topics."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from kafkaio.admin import Admin
from kafkaio.cli.formatting import (
    BytesCodec,
    RecordFormatter,
    RecordLike,
    UsageFormatError,
    record_to_json,
)
from kafkaio.cli.options import UsageError
from kafkaio.cli.runtime import EXIT_FAILED, EXIT_OK, Context, error_line
from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer, ConsumerRecord
from kafkaio.errors import KafkaError

__all__ = ["run_consume", "start_offset"]

_POLL_MS = 200
_BATCH = 500
_NAMED_OFFSETS = ("beginning", "earliest", "end", "latest")


def start_offset(spec: str, beginning: int, end: int) -> int:
    """The offset ``--offset spec`` names for a partition whose log spans [beginning, end):
    ``beginning``/``end``, an absolute offset, or ``-N`` (N before the end, not before the
    beginning)."""
    if spec in ("beginning", "earliest"):
        return beginning
    if spec in ("end", "latest"):
        return end
    value = int(spec)
    if value < 0:
        return max(beginning, end + value)
    return value


def _renderer(ctx: Context) -> Callable[[ConsumerRecord[bytes, bytes]], bytes]:
    args = ctx.args
    if args.json:
        warned = False

        def lossy() -> None:
            nonlocal warned
            if not warned:
                warned = True
                ctx.warn(
                    "% some keys/values are not valid UTF-8: written with \\x escapes"
                    " (use --base64 for exact bytes)"
                )

        encode = BytesCodec(args.base64, lossy)

        def as_json(record: ConsumerRecord[bytes, bytes]) -> bytes:
            doc = record_to_json(
                _as_record(record), encode, timestamp_type=record.timestamp_type.name
            )
            return json.dumps(doc, ensure_ascii=False).encode() + b"\n"

        return as_json
    if args.base64:
        raise UsageError("--base64 applies to --json output")
    try:
        formatter = RecordFormatter(args.format if args.format is not None else "%s\\n")
    except UsageFormatError as exc:
        raise UsageError(f"--format: {exc}") from None
    return lambda record: formatter.format(_as_record(record))


def _as_record(record: ConsumerRecord[bytes, bytes]) -> RecordLike:
    return record


async def _assign(ctx: Context, consumer: Consumer) -> list[TopicPartition]:
    """Without a group: every partition of the topics (or the ones given), positioned."""
    args = ctx.args
    admin = Admin(client=consumer.client)
    described = await admin.describe_topics(args.topics)
    described.raise_on_error()
    wanted: list[TopicPartition] = []
    for topic in args.topics:
        numbers = [p.partition for p in described[topic].partitions]
        if args.partition:
            missing = sorted(set(args.partition) - set(numbers))
            if missing:
                raise UsageError(
                    f"--partition {missing[0]}: topic {topic!r} has {len(numbers)} partition(s)"
                )
            numbers = [p for p in numbers if p in set(args.partition)]
        wanted.extend(TopicPartition(topic, p) for p in numbers)
    consumer.assign(wanted)
    spec = args.offset
    if spec is None or spec in _NAMED_OFFSETS:
        return wanted  # auto_offset_reset places them
    beginnings = await consumer.beginning_offsets(wanted)
    ends = await consumer.end_offsets(wanted)
    for tp in wanted:
        consumer.seek(tp, start_offset(spec, beginnings[tp], ends[tp]))
    return wanted


async def _at_end(consumer: Consumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def run_consume(ctx: Context) -> int:
    """Print records until --count, --timeout-ms or a signal; commit for a group."""
    args = ctx.args
    render = _renderer(ctx)
    if args.group is not None:
        if args.partition:
            raise UsageError(
                "--partition cannot be combined with --group (the group assigns partitions)"
            )
        if args.exit_at_end:
            raise UsageError("--exit-at-end needs a consumer without --group")
        if args.offset is not None and args.offset not in _NAMED_OFFSETS:
            raise UsageError(
                "--offset N cannot be combined with --group: move the group's offsets with"
                " 'kafkaio groups reset-offsets'"
            )
    earliest = args.from_beginning or args.offset in ("beginning", "earliest")
    kwargs = ctx.client_kwargs(
        "consumer",
        group_id=args.group,
        auto_offset_reset="earliest" if earliest else None,
    )
    kwargs.setdefault("auto_offset_reset", "latest")
    if args.group is not None:
        consumer = ctx.create(Consumer, *args.topics, **kwargs)
    else:
        consumer = ctx.create(Consumer, **kwargs)
    ctx.graceful = True
    loop_time = asyncio.get_running_loop().time
    count = 0
    status = EXIT_OK
    out = ctx.stdout
    async with consumer:
        ends: dict[TopicPartition, int] | None = None
        if args.group is None:
            assigned = await _assign(ctx, consumer)
            if args.exit_at_end:
                ends = await consumer.end_offsets(assigned)
        idle_since = loop_time()
        timeout = args.timeout_ms / 1000 if args.timeout_ms is not None else None
        while not ctx.stop.is_set():
            if ends is not None and await _at_end(consumer, ends):
                break
            wait_ms = _POLL_MS
            if timeout is not None:
                left = timeout - (loop_time() - idle_since)
                if left <= 0:
                    break
                wait_ms = max(1, min(wait_ms, int(left * 1000)))
            limit = _BATCH if args.count is None else min(_BATCH, args.count - count)
            # Taking no more than still wanted keeps the positions (what a group commits)
            # equal to what was printed.
            batch = await consumer.getmany(timeout_ms=wait_ms, max_records=limit)
            if not batch:
                continue
            for records in batch.values():
                out.write(b"".join(render(r) for r in records))
                count += len(records)
            out.flush()
            idle_since = loop_time()
            if args.count is not None and count >= args.count:
                break
        if args.group is not None:
            try:
                await consumer.commit()
            except KafkaError as exc:
                ctx.warn(f"% committing the group's offsets failed: {error_line(exc)}")
                status = EXIT_FAILED
    ctx.warn(f"% {count} record(s) consumed")
    return status
