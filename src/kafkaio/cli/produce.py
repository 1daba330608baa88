"""``kafkaio produce``: records from stdin to a topic."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import os
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import IO

from kafkaio.cli.formatting import UsageFormatError, unescape
from kafkaio.cli.options import UsageError, parse_assignment
from kafkaio.cli.runtime import EXIT_FAILED, EXIT_OK, Context, error_line
from kafkaio.errors import KafkaError
from kafkaio.producer import Producer, RecordMetadata

__all__ = ["DelimitedReader", "ProduceStats", "run_produce", "split_key"]

_CHUNK = 64 * 1024
_QUEUED_CHUNKS = 16
_FAILURES_SHOWN = 100
_SIGNAL_GRACE_S = 5.0


class DelimitedReader:
    """Records of a binary stream split on ``delimiter``, read by a daemon thread so that a
    blocking stdin never holds up the event loop (nor process exit on a signal)."""

    def __init__(self, stream: IO[bytes], delimiter: bytes) -> None:
        if not delimiter:
            raise UsageError("the record delimiter must not be empty")
        self._stream = stream
        self._delimiter = delimiter

    def _reader(self) -> Callable[[int], bytes]:
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return getattr(self._stream, "read1", self._stream.read)
        # The raw descriptor, not the buffered object: a daemon thread blocked in a buffered
        # read holds its lock, which makes the interpreter abort at exit.
        return functools.partial(os.read, fd)

    def _pump(
        self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | BaseException | None]
    ) -> None:
        read = self._reader()
        item: bytes | BaseException | None
        while True:
            try:
                chunk = read(_CHUNK)
                item = chunk if chunk else None
            except BaseException as exc:  # handed to the loop, which raises it
                item = exc
            try:
                asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
            except (RuntimeError, asyncio.CancelledError):
                return  # the loop is gone: nobody wants more input
            if not isinstance(item, bytes):
                return

    async def batches(self) -> AsyncGenerator[list[bytes], None]:
        """The records, a list per chunk read (the last record also without a trailing
        delimiter)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(_QUEUED_CHUNKS)
        threading.Thread(
            target=self._pump, args=(loop, queue), name="kafkaio-cli-stdin", daemon=True
        ).start()
        pending = b""
        delimiter = self._delimiter
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                break
            parts = (pending + item).split(delimiter)
            pending = parts.pop()
            if parts:
                yield parts
        if pending:
            yield [pending]


def split_key(record: bytes, key_delimiter: bytes | None) -> tuple[bytes | None, bytes]:
    """``(key, value)``: split at the first ``key_delimiter`` (no delimiter: no key)."""
    if key_delimiter is None:
        return None, record
    key, sep, value = record.partition(key_delimiter)
    if not sep:
        return None, record
    return key, value


@dataclass
class ProduceStats:
    """Counts of one produce run (bytes are keys plus values)."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    delivered_bytes: int = 0
    failures_by_class: collections.Counter[str] = field(default_factory=collections.Counter)

    def summary(self, seconds: float, interrupted: bool) -> str:
        """One line: records, bytes, rate and failures."""
        rate = self.delivered / seconds if seconds > 0 else 0.0
        mib = self.delivered_bytes / seconds / (1 << 20) if seconds > 0 else 0.0
        text = (
            f"% {self.delivered} record(s) delivered ({self.delivered_bytes} bytes) in "
            f"{seconds:.2f} s: {rate:,.0f} records/s, {mib:.2f} MiB/s"
        )
        if self.failed:
            kinds = ", ".join(f"{n} {name}" for name, n in self.failures_by_class.most_common())
            text += f"; {self.failed} FAILED ({kinds})"
        if interrupted:
            text += "; interrupted: the rest of the input was not read"
        return text


async def run_produce(ctx: Context) -> int:
    """Send stdin's records to the topic; exit 1 if any record failed."""
    args = ctx.args
    try:
        delimiter = unescape(args.delimiter).encode()
        key_delimiter = (
            unescape(args.key_delimiter).encode() if args.key_delimiter is not None else None
        )
    except UsageFormatError as exc:
        raise UsageError(str(exc)) from None
    if key_delimiter == b"":
        raise UsageError("the key delimiter must not be empty")
    headers = []
    for text in args.header:
        header_name, header_value = parse_assignment(text, "--header")
        headers.append((header_name, header_value.encode()))
    reader = DelimitedReader(ctx.stdin, delimiter)
    kwargs = ctx.client_kwargs(
        "producer",
        compression_type=args.compression,
        acks=(int(args.acks) if args.acks in ("0", "1", "-1") else args.acks),
    )
    producer = ctx.create(Producer, **kwargs)
    stats = ProduceStats()
    loop = asyncio.get_running_loop()
    started = loop.time()
    interrupted = False
    ctx.graceful = True

    def failed(number: int, exc: BaseException) -> None:
        stats.failed += 1
        stats.failures_by_class[type(exc).__name__] += 1
        if stats.failed <= _FAILURES_SHOWN:
            ctx.warn(f"% record {number} not delivered: {error_line(exc)}")
        elif stats.failed == _FAILURES_SHOWN + 1:
            ctx.warn(f"% more than {_FAILURES_SHOWN} failures: the summary counts them all")

    def on_done(number: int, size: int, future: asyncio.Future[RecordMetadata]) -> None:
        if future.cancelled():
            failed(number, asyncio.CancelledError("the delivery was cancelled"))
            return
        exc = future.exception()
        if exc is not None:
            failed(number, exc)
            return
        stats.delivered += 1
        stats.delivered_bytes += size

    await producer.start()
    try:
        partitions = await producer.partitions_for(args.topic)
        if args.partition is not None and args.partition not in partitions:
            raise UsageError(
                f"--partition {args.partition}: topic {args.topic!r} has "
                f"{len(partitions)} partition(s)"
            )
        batches = reader.batches()
        stop_wait = asyncio.ensure_future(ctx.stop.wait())
        try:
            while not interrupted:
                # Waiting for input is the only wait a signal must cut short.
                next_batch = asyncio.ensure_future(anext(batches))
                done, _ = await asyncio.wait(
                    {next_batch, stop_wait}, return_when=asyncio.FIRST_COMPLETED
                )
                if next_batch not in done:
                    next_batch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await next_batch
                    interrupted = True
                    break
                try:
                    batch = next_batch.result()
                except StopAsyncIteration:
                    break
                for record in batch:
                    if ctx.stop.is_set():
                        interrupted = True
                        break
                    if not record and not args.keep_empty:
                        continue
                    key, value = split_key(record, key_delimiter)
                    stats.sent += 1
                    number = stats.sent
                    size = len(value) + (len(key) if key is not None else 0)
                    try:
                        future = await producer.send(
                            args.topic, value, key, partition=args.partition, headers=headers
                        )
                    except KafkaError as exc:
                        failed(number, exc)
                        continue
                    future.add_done_callback(functools.partial(on_done, number, size))
            flush = asyncio.ensure_future(producer.flush())
            await asyncio.wait({flush, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not flush.done():
                flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flush
        finally:
            stop_wait.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stop_wait
            await batches.aclose()
    finally:
        # After a signal, what is not acknowledged within a grace period fails (and is
        # reported below) rather than holding the exit for up to delivery_timeout_ms.
        await producer.stop(timeout=_SIGNAL_GRACE_S if ctx.stop.is_set() else None)
    # stop() waited for every record: each has succeeded or failed by now.
    await asyncio.sleep(0)
    ctx.warn(stats.summary(loop.time() - started, interrupted))
    if stats.delivered + stats.failed != stats.sent:
        ctx.warn(f"% {stats.sent - stats.delivered - stats.failed} record(s) in an unknown state")
        return EXIT_FAILED
    return EXIT_FAILED if stats.failed else EXIT_OK
