"""What every command runs with: output streams, client construction, signals, errors."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from kafkaio.cli.formatting import to_json
from kafkaio.cli.options import ClientKind, ClientOptions, UsageError
from kafkaio.errors import BrokerResponseError, ConfigurationError, KafkaError

__all__ = ["Context", "error_line", "run_command"]

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def error_line(exc: BaseException) -> str:
    """``ClassName: message``, as the CLI reports a kafkaio error (a broker error also
    names its Kafka error code)."""
    name = type(exc).__name__
    if isinstance(exc, BrokerResponseError):
        return f"{name}: {exc.description or exc.message} ({exc.code_name}, code {exc.errno})"
    text = str(exc)
    return f"{name}: {text}" if text else name


@dataclass
class Context:
    """One command's environment (streams are injectable for tests)."""

    args: argparse.Namespace
    options: ClientOptions
    stdin: IO[bytes] = field(default_factory=lambda: sys.stdin.buffer)
    stdout: IO[bytes] = field(default_factory=lambda: sys.stdout.buffer)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by SIGINT/SIGTERM; commands that stream (produce, consume) finish cleanly."""
    graceful: bool = False
    """Whether the running command watches :attr:`stop` (else a signal cancels it)."""

    # ------------------------------------------------------------------ output

    def out(self, text: str = "") -> None:
        """Write a line of text to stdout."""
        self.stdout.write(text.encode() + b"\n")

    def out_json(self, value: object) -> None:
        """Write ``value`` as indented JSON to stdout."""
        self.out(to_json(value, indent=2))

    def warn(self, message: str) -> None:
        """A line on stderr (credentials given with -X are hidden)."""
        self.stderr.write(self.options.hide(message) + "\n")
        self.stderr.flush()

    def report(self, exc: BaseException, prefix: str = "") -> None:
        """Report a failure as ``[prefix]ClassName: message`` on stderr."""
        self.warn(prefix + error_line(exc))

    def report_errors(self, errors: Iterable[tuple[object, BaseException]]) -> int:
        """Report per-item failures; the exit status (1 if any)."""
        status = EXIT_OK
        for _item, exc in errors:
            self.report(exc)
            status = EXIT_FAILED
        return status

    # ------------------------------------------------------------------ clients

    def client_kwargs(self, kind: ClientKind, **overrides: object) -> dict[str, Any]:
        """Keyword arguments for a ``kind`` client; -X options it does not take are
        reported (once) and left out."""
        kwargs, ignored = self.options.for_client(kind, **overrides)
        for name in ignored:
            self.warn(f"kafkaio: warning: -X {name} does not apply to the {kind}; ignored")
        return kwargs

    def create(self, factory: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Construct a client; a bad option becomes a usage error (exit 2) naming it."""
        try:
            return factory(*args, **kwargs)
        except (TypeError, ValueError, ConfigurationError) as exc:
            raise UsageError(self.options.hide(str(exc))) from None


def _install_signals(ctx: Context, task: asyncio.Task[int]) -> list[int]:
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if ctx.graceful and not ctx.stop.is_set():
            ctx.stop.set()
        else:
            task.cancel()

    installed: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal)
            installed.append(signum)
    return installed


async def _supervise(ctx: Context, command: Callable[[Context], Awaitable[int]]) -> int:
    task = asyncio.ensure_future(command(ctx))
    installed = _install_signals(ctx, task)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled():
            return EXIT_INTERRUPTED
        raise
    finally:
        loop = asyncio.get_running_loop()
        for signum in installed:
            loop.remove_signal_handler(signum)


def run_command(ctx: Context, command: Callable[[Context], Awaitable[int]]) -> int:
    """Run ``command`` to its exit status: kafkaio errors print ``ClassName: message`` and
    give 1, usage errors give 2, an interrupt outside a streaming command gives 130."""
    try:
        return asyncio.run(_supervise(ctx, command))
    except UsageError as exc:
        ctx.warn(f"kafkaio: error: {exc}")
        return EXIT_USAGE
    except KafkaError as exc:
        ctx.report(exc)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    """After the reader of stdout went away: no error when Python flushes it at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
