"""Entry point: parse the arguments, pick the command, run it, map errors to exit codes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Sequence

from kafkaio.cli.options import ClientOptions, UsageError
from kafkaio.cli.parser import build_parser
from kafkaio.cli.runtime import Context, run_command

__all__ = ["main"]

Command = Callable[[Context], Awaitable[int]]


def _command(command: str, action: str | None) -> Command:
    # Imported on demand: `kafkaio --help` and argument errors stay fast.
    if command == "produce":
        from kafkaio.cli.produce import run_produce

        return run_produce
    if command == "consume":
        from kafkaio.cli.consume import run_consume

        return run_consume
    if command == "topics":
        from kafkaio.cli.topics import TOPIC_ACTIONS

        return TOPIC_ACTIONS[str(action)]
    if command == "groups":
        from kafkaio.cli.groups import GROUP_ACTIONS

        return GROUP_ACTIONS[str(action)]
    if command == "cluster":
        from kafkaio.cli.cluster import run_cluster_describe

        return run_cluster_describe
    from kafkaio.cli.cluster import run_metadata

    return run_metadata


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kafkaio`` with ``argv`` (default: the process's); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = ClientOptions.from_arguments(
            args.bootstrap_servers, args.client_id, args.client_options
        )
    except UsageError as exc:
        parser.error(str(exc))
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx = Context(args=args, options=options)
    return run_command(ctx, _command(args.command, getattr(args, "action", None)))
