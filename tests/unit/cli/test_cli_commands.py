"""Argument parsing, exit codes and the command helpers of the CLI (no broker)."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import subprocess
import sys

import pytest

from kafkaio.cli.consume import run_consume, start_offset
from kafkaio.cli.groups import parse_datetime_ms, parse_topic_partitions
from kafkaio.cli.main import main
from kafkaio.cli.options import ClientOptions, UsageError
from kafkaio.cli.parser import build_parser
from kafkaio.cli.produce import DelimitedReader, ProduceStats, run_produce, split_key
from kafkaio.cli.runtime import Context, error_line, run_command
from kafkaio.errors import KafkaTimeoutError, TopicAlreadyExistsError


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def exit_code(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    code = info.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def test_produce_arguments() -> None:
    args = parse(
        "-b",
        "h:1",
        "-X",
        "linger_ms=1",
        "produce",
        "t",
        "-K",
        ":",
        "-H",
        "a=1",
        "-H",
        "b=2",
        "-z",
        "zstd",
        "--acks",
        "1",
        "-p",
        "3",
    )
    assert (args.command, args.topic, args.key_delimiter, args.header) == (
        "produce",
        "t",
        ":",
        ["a=1", "b=2"],
    )
    assert (args.compression, args.acks, args.partition, args.delimiter) == ("zstd", "1", 3, "\\n")
    assert args.client_options == ["linger_ms=1"]


def test_consume_arguments() -> None:
    args = parse(
        "consume",
        "a",
        "b",
        "-G",
        "g",
        "--from-beginning",
        "-c",
        "10",
        "--timeout-ms",
        "500",
        "--json",
        "--base64",
    )
    assert args.topics == ["a", "b"]
    assert (args.group, args.from_beginning, args.count, args.timeout_ms) == ("g", True, 10, 500)
    assert args.json and args.base64
    assert parse("consume", "t", "-o", "-5").offset == "-5"
    assert parse("consume", "t", "-o", "Beginning").offset == "beginning"
    assert parse("consume", "t", "-p", "1", "-p", "2").partition == [1, 2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["consume", "t", "--from-beginning", "-o", "5"], "not allowed with argument"),
        (["consume", "t", "--json", "-f", "%s"], "not allowed with argument"),
        (["consume", "t", "-c", "0"], "must be > 0"),
        (["consume", "t", "-o", "soon"], "not an integer"),
        (["produce", "t", "-p", "-1"], "must be >= 0"),
        (["produce", "t", "-z", "brotli"], "invalid choice"),
        (["groups", "reset-offsets", "g", "--to-earliest"], "one of the arguments"),
        (["groups", "reset-offsets", "g", "--all-topics"], "one of the arguments"),
        (["topics"], "required"),
        (["nosuch"], "invalid choice"),
        (["-X", "lingr_ms=1", "topics", "list"], "did you mean 'linger_ms'"),
        (["-X", "linger_ms", "topics", "list"], "expects name=value"),
    ],
)
def test_bad_arguments_exit_2_with_argparse_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, err = exit_code(capsys, "-b", "h:1", *argv)
    assert code == 2
    assert message in err
    assert err.splitlines()[-1].startswith("kafkaio")


def test_missing_bootstrap_names_the_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKAIO_BOOTSTRAP_SERVERS", raising=False)
    code, err = exit_code(capsys, "topics", "list")
    assert code == 2
    assert "-b/--bootstrap-servers" in err


def context(argv: list[str], stdin: bytes = b"") -> tuple[Context, io.BytesIO, io.StringIO]:
    args = build_parser().parse_args(["-b", "h:1", *argv])
    options = ClientOptions.from_arguments(args.bootstrap_servers, None, args.client_options)
    out, err = io.BytesIO(), io.StringIO()
    return Context(args, options, stdin=io.BytesIO(stdin), stdout=out, stderr=err), out, err


def test_kafka_errors_exit_1_with_class_and_message() -> None:
    ctx, _, err = context(["-X", "sasl_plain_password=pw123", "topics", "list"])

    async def broker_error(_ctx: Context) -> int:
        raise TopicAlreadyExistsError("topic 't': exists (password pw123)")

    assert run_command(ctx, broker_error) == 1
    assert err.getvalue() == (
        "TopicAlreadyExistsError: topic 't': exists (password ***)"
        " (TOPIC_ALREADY_EXISTS, code 36)\n"
    )

    async def client_error(_ctx: Context) -> int:
        raise KafkaTimeoutError("took too long")

    ctx, _, err = context(["topics", "list"])
    assert run_command(ctx, client_error) == 1
    assert err.getvalue() == "KafkaTimeoutError: took too long\n"


def test_usage_errors_from_commands_exit_2() -> None:
    ctx, _, err = context(["topics", "list"])

    async def bad(c: Context) -> int:
        c.create(dict, 1)  # a constructor refusing its arguments
        return 0

    assert run_command(ctx, bad) == 2
    assert err.getvalue().startswith("kafkaio: error: ")


def test_error_line() -> None:
    assert error_line(KafkaTimeoutError("slow")) == "KafkaTimeoutError: slow"
    assert error_line(KafkaTimeoutError()) == "KafkaTimeoutError"
    assert error_line(TopicAlreadyExistsError()).startswith("TopicAlreadyExistsError: ")


async def collect(reader: DelimitedReader) -> list[bytes]:
    out: list[bytes] = []
    async for batch in reader.batches():
        out.extend(batch)
    return out


@pytest.mark.parametrize(
    ("data", "delimiter", "records"),
    [
        (b"a\nb\nc\n", b"\n", [b"a", b"b", b"c"]),
        (b"a\nb", b"\n", [b"a", b"b"]),
        (b"a\n\nb\n", b"\n", [b"a", b"", b"b"]),
        (b"x||y||", b"||", [b"x", b"y"]),
        (b"", b"\n", []),
    ],
)
async def test_delimited_reader(data: bytes, delimiter: bytes, records: list[bytes]) -> None:
    assert await collect(DelimitedReader(io.BytesIO(data), delimiter)) == records


async def test_delimited_reader_across_chunks() -> None:
    data = b"".join(f"record-{i:06d}|".encode() for i in range(20_000))  # several 64 KiB reads
    records = await collect(DelimitedReader(io.BytesIO(data), b"|"))
    assert records == [f"record-{i:06d}".encode() for i in range(20_000)]


def test_empty_delimiters_are_rejected() -> None:
    with pytest.raises(UsageError):
        DelimitedReader(io.BytesIO(), b"")
    ctx, _, err = context(["produce", "t", "-K", ""])
    assert run_command(ctx, run_produce) == 2
    assert "key delimiter must not be empty" in err.getvalue()


def test_split_key() -> None:
    assert split_key(b"k:v:w", b":") == (b"k", b"v:w")
    assert split_key(b"novalue", b":") == (None, b"novalue")
    assert split_key(b"k:v", None) == (None, b"k:v")
    assert split_key(b":v", b":") == (b"", b"v")


def test_produce_summary() -> None:
    stats = ProduceStats(sent=10, delivered=8, failed=2, delivered_bytes=2 << 20)
    stats.failures_by_class.update({"MessageTooLargeError": 2})
    text = stats.summary(2.0, interrupted=False)
    assert text == (
        "% 8 record(s) delivered (2097152 bytes) in 2.00 s: 4 records/s, 1.00 MiB/s;"
        " 2 FAILED (2 MessageTooLargeError)"
    )
    assert stats.summary(0.0, interrupted=True).endswith(
        "interrupted: the rest of the input was not read"
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("beginning", 10),
        ("earliest", 10),
        ("end", 50),
        ("latest", 50),
        ("7", 7),
        ("-5", 45),
        ("-100", 10),
    ],
)
def test_start_offset(spec: str, expected: int) -> None:
    assert start_offset(spec, 10, 50) == expected


def test_parse_datetime_ms() -> None:
    assert parse_datetime_ms("2024-01-01T00:00:00Z") == 1_704_067_200_000
    assert parse_datetime_ms("2024-01-01T00:00:00") == 1_704_067_200_000
    assert parse_datetime_ms("2024-01-01T01:00:00+01:00") == 1_704_067_200_000
    assert parse_datetime_ms("2024-01-01") == 1_704_067_200_000
    with pytest.raises(UsageError, match="ISO-8601"):
        parse_datetime_ms("yesterday")


def test_parse_topic_partitions() -> None:
    assert parse_topic_partitions("orders") == ("orders", None)
    assert parse_topic_partitions("orders:2,0,2") == ("orders", [0, 2])
    for bad in ("orders:", "orders:x", ":1", "orders:-1"):
        with pytest.raises(UsageError):
            parse_topic_partitions(bad)


def test_python_m_kafkaio_cli_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kafkaio.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for command in ("produce", "consume", "topics", "groups", "cluster", "metadata"):
        assert command in done.stdout


def test_signal_cancels_a_non_streaming_command() -> None:
    ctx, _, _ = context(["topics", "list"])

    async def hangs(c: Context) -> int:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        await asyncio.sleep(30)
        return 0

    assert run_command(ctx, hangs) == 130


def test_signal_stops_a_streaming_command_cleanly() -> None:
    ctx, _, _ = context(["topics", "list"])

    async def streams(c: Context) -> int:
        c.graceful = True
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(c.stop.wait(), 10)
        return 0

    assert run_command(ctx, streams) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-G", "g", "-e"], "--exit-at-end needs a consumer without --group"),
        (["-G", "g", "-o", "5"], "groups reset-offsets"),
        (["-G", "g", "-p", "0"], "--partition cannot be combined with --group"),
        (["--base64"], "--base64 applies to --json output"),
        (["-f", "%z"], "unknown placeholder %z"),
    ],
)
def test_consume_usage_errors_before_connecting(argv: list[str], message: str) -> None:
    ctx, out, err = context(["consume", "t", *argv])
    assert run_command(ctx, run_consume) == 2
    assert message in err.getvalue()
    assert out.getvalue() == b""
