"""The argument parser: global options and one sub-command per operation."""

from __future__ import annotations

import argparse

from kafkaio import __version__
from kafkaio.cli.formatting import FORMAT_HELP
from kafkaio.cli.options import BOOTSTRAP_ENV

__all__ = ["build_parser", "non_negative_int", "positive_int"]


def positive_int(text: str) -> int:
    """An argparse type: an int > 0."""
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an int >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _offset(text: str) -> str:
    lowered = text.strip().lower()
    if lowered in ("beginning", "earliest", "end", "latest"):
        return lowered
    _int(lowered)
    return lowered


def _output_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="write JSON instead of a text table")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The ``kafkaio`` command line."""
    parser = argparse.ArgumentParser(
        prog="kafkaio",
        description="A kcat-like command-line tool over kafkaio's asyncio clients.",
        epilog=(
            "Client options: -X name=value with the library's option names "
            "(linger_ms, auto_offset_reset, security_protocol, sasl_mechanism, "
            "sasl_plain_username, sasl_plain_password, ssl_cafile, ...). "
            "Exit status: 0 ok, 1 a Kafka or delivery error, 2 bad arguments."
        ),
    )
    parser.add_argument("--version", action="version", version=f"kafkaio {__version__}")
    parser.add_argument(
        "-b",
        "--bootstrap-servers",
        metavar="HOST:PORT[,...]",
        help=f"brokers to bootstrap from (default: ${BOOTSTRAP_ENV})",
    )
    parser.add_argument(
        "-X",
        dest="client_options",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a client option (repeatable); values are read as int, float, bool or text",
    )
    parser.add_argument("--client-id", help="client id sent to the brokers")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log kafkaio's INFO (-vv: DEBUG)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    output = _output_parent()
    _add_produce(commands)
    _add_consume(commands)
    _add_topics(commands, output)
    _add_groups(commands, output)
    cluster = commands.add_parser("cluster", help="the cluster: brokers, controller, features")
    cluster_commands = cluster.add_subparsers(dest="action", metavar="ACTION", required=True)
    cluster_commands.add_parser(
        "describe", parents=[output], help="cluster id, controller, brokers and features"
    )
    metadata = commands.add_parser(
        "metadata", parents=[output], help="brokers, topics and partitions (like kcat -L)"
    )
    metadata.add_argument(
        "-t", "--topic", action="append", default=[], help="only this topic (repeatable)"
    )
    metadata.add_argument("--internal", action="store_true", help="include internal topics")
    return parser


def _add_produce(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "produce",
        help="send records read from stdin",
        description=(
            "Send one record per line of stdin (or per --delimiter). Empty records are "
            "skipped unless --keep-empty. A summary goes to stderr; the exit status is 1 "
            "if any record failed (each failure is reported with its reason)."
        ),
    )
    p.add_argument("topic")
    p.add_argument(
        "-D", "--delimiter", default="\\n", help="record delimiter (escapes allowed; default \\n)"
    )
    p.add_argument(
        "-K",
        "--key-delimiter",
        help="split each record into key and value at the first occurrence of this",
    )
    p.add_argument("-p", "--partition", type=non_negative_int, help="send every record here")
    p.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a header added to every record (repeatable)",
    )
    p.add_argument(
        "-z",
        "--compression",
        choices=["none", "gzip", "snappy", "lz4", "zstd"],
        help="compression codec (compression_type)",
    )
    p.add_argument("--acks", choices=["0", "1", "all", "-1"], help="acknowledgements to wait for")
    p.add_argument("--keep-empty", action="store_true", help="send empty records as empty values")


def _add_consume(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "consume",
        help="print records of topics",
        description=(
            "Print records, one per line (or per --format). Without --group every partition "
            "is read (no commits); with --group the consumer joins the group and commits "
            "what it printed when it exits. Stops on --count, --timeout-ms, SIGINT or SIGTERM."
        ),
    )
    p.add_argument("topics", nargs="+", metavar="TOPIC")
    p.add_argument("-G", "--group", help="consume as a member of this consumer group")
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--from-beginning",
        action="store_true",
        help="start at the earliest offset (with --group: where nothing is committed)",
    )
    start.add_argument(
        "-o",
        "--offset",
        type=_offset,
        help="beginning, end, an offset N, or -N (N before the end); without --group only",
    )
    p.add_argument(
        "-p", "--partition", type=non_negative_int, action="append", help="only this partition"
    )
    p.add_argument("-c", "--count", type=positive_int, help="exit after this many records")
    p.add_argument(
        "--timeout-ms",
        type=positive_int,
        help="exit when no record arrived for this long (with --group, joining counts)",
    )
    p.add_argument(
        "-e",
        "--exit-at-end",
        action="store_true",
        help="exit once every partition is read up to its end offset at start (no --group)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("-f", "--format", help=f"output format: {FORMAT_HELP}")
    out.add_argument("--json", action="store_true", help="one JSON object per record and line")
    p.add_argument(
        "--base64",
        action="store_true",
        help="with --json: keys, values and header values in base64 (default UTF-8 text)",
    )


def _add_topics(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
) -> None:
    topics = commands.add_parser("topics", help="list, describe, create, delete, alter topics")
    sub = topics.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", parents=[output], help="every topic")
    listing.add_argument("--internal", action="store_true", help="include internal topics")
    describe = sub.add_parser("describe", parents=[output], help="partitions and configs")
    describe.add_argument("topics", nargs="+", metavar="TOPIC")
    describe.add_argument(
        "--configs", action="store_true", help="also show the configs not at their default"
    )
    create = sub.add_parser("create", parents=[output], help="create topics")
    create.add_argument("topics", nargs="+", metavar="TOPIC")
    create.add_argument("-P", "--partitions", type=positive_int, help="default: the broker's")
    create.add_argument(
        "-R", "--replication-factor", type=positive_int, help="default: the broker's"
    )
    create.add_argument(
        "--config", action="append", default=[], metavar="NAME=VALUE", help="topic config"
    )
    create.add_argument(
        "--if-not-exists", action="store_true", help="an existing topic is not an error"
    )
    delete = sub.add_parser("delete", parents=[output], help="delete topics")
    delete.add_argument("topics", nargs="+", metavar="TOPIC")
    delete.add_argument("--if-exists", action="store_true", help="a missing topic is not an error")
    alter = sub.add_parser(
        "alter-config", parents=[output], help="set or delete topic configs (incrementally)"
    )
    alter.add_argument("topic")
    alter.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="set a config"
    )
    alter.add_argument(
        "--delete", action="append", default=[], metavar="NAME", help="revert a config"
    )
    alter.add_argument("--dry-run", action="store_true", help="validate only")


def _add_groups(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
) -> None:
    groups = commands.add_parser("groups", help="list, describe, lag, delete, reset offsets")
    sub = groups.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", parents=[output], help="every group")
    listing.add_argument("--state", action="append", help="only groups in this state")
    describe = sub.add_parser("describe", parents=[output], help="state, members, assignments")
    describe.add_argument("groups", nargs="+", metavar="GROUP")
    lag = sub.add_parser("lag", parents=[output], help="committed vs end offsets")
    lag.add_argument("group")
    delete = sub.add_parser("delete", parents=[output], help="delete empty groups")
    delete.add_argument("groups", nargs="+", metavar="GROUP")
    reset = sub.add_parser(
        "reset-offsets",
        parents=[output],
        help="move a group's committed offsets (the group must be empty)",
    )
    reset.add_argument("group")
    which = reset.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "-t",
        "--topic",
        action="append",
        help="TOPIC or TOPIC:P,P... (repeatable)",
    )
    which.add_argument(
        "--all-topics", action="store_true", help="every topic the group has committed offsets for"
    )
    to = reset.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-earliest", action="store_true")
    to.add_argument("--to-latest", action="store_true")
    to.add_argument("--to-offset", type=non_negative_int, metavar="N")
    to.add_argument(
        "--to-datetime",
        metavar="ISO-8601",
        help="the first offset at or after this time (e.g. 2026-01-31T12:00:00Z; no zone: UTC)",
    )
    reset.add_argument("--dry-run", action="store_true", help="show the new offsets only")
