"""-b / -X / --client-id handling of the command-line tool (no broker)."""

from __future__ import annotations

import pytest

from kafkaio.cli.options import (
    BOOTSTRAP_ENV,
    ClientOptions,
    UsageError,
    known_options,
    parse_assignment,
    parse_value,
    redact,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("-1", -1),
        ("0.5", 0.5),
        ("true", True),
        ("False", False),
        ("yes", True),
        ("off", False),
        ("none", None),
        ("gzip", "gzip"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_parse_value_types_text(text: str, expected: object) -> None:
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_parse_value_keeps_text_for_string_options() -> None:
    assert parse_value("123456", typed=False, optional=True) == "123456"
    assert parse_value("true", typed=False, optional=False) == "true"
    assert parse_value("null", typed=False, optional=True) is None
    assert parse_value("null", typed=True, optional=False) == "null"


def test_parse_assignment_splits_at_first_equals() -> None:
    assert parse_assignment("name=a=b") == ("name", "a=b")
    assert parse_assignment(" name =") == ("name", "")
    with pytest.raises(UsageError, match="expects name=value"):
        parse_assignment("novalue")
    with pytest.raises(UsageError, match="expects name=value"):
        parse_assignment("=x")


def test_known_options_cover_every_client() -> None:
    known = known_options()
    assert known["linger_ms"] == frozenset({"producer"})
    assert known["auto_offset_reset"] == frozenset({"consumer"})
    assert known["default_api_timeout_ms"] == frozenset({"admin"})
    assert known["security_protocol"] == frozenset({"producer", "consumer", "admin"})
    assert "sasl_plain_password" in known


def test_bootstrap_from_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BOOTSTRAP_ENV, "env-host:9092")
    assert ClientOptions.from_arguments(None, None, []).bootstrap_servers == "env-host:9092"
    assert ClientOptions.from_arguments("flag:1", None, []).bootstrap_servers == "flag:1"
    monkeypatch.delenv(BOOTSTRAP_ENV)
    with pytest.raises(UsageError, match=r"-b/--bootstrap-servers.*KAFKAIO_BOOTSTRAP_SERVERS"):
        ClientOptions.from_arguments(None, None, [])


def test_unknown_option_is_rejected_with_the_library_message() -> None:
    with pytest.raises(UsageError) as info:
        ClientOptions.from_arguments("h:1", None, ["lingr_ms=5"])
    assert str(info.value) == (
        "-X lingr_ms: kafkaio got an unknown option 'lingr_ms'; did you mean 'linger_ms'?"
    )


def test_bootstrap_is_not_an_x_option() -> None:
    with pytest.raises(UsageError, match="-b/--bootstrap-servers"):
        ClientOptions.from_arguments("h:1", None, ["bootstrap_servers=x:1"])


def test_typed_values_and_java_style_names() -> None:
    options = ClientOptions.from_arguments(
        "h:1",
        "cli",
        [
            "linger_ms=20",
            "enable_idempotence=false",
            "security.protocol=SASL_SSL",
            "sasl_plain_password=123456",
            "client_rack=none",
            "group_instance_id=null",
            "acks=all",
        ],
    )
    assert options.extra == {
        "linger_ms": 20,
        "enable_idempotence": False,
        "security_protocol": "SASL_SSL",
        "sasl_plain_password": "123456",
        "client_rack": "none",
        "group_instance_id": None,
        "acks": "all",
    }
    assert options.secrets == ["123456"]
    assert options.client_id == "cli"


def test_for_client_filters_options_and_flags_win() -> None:
    options = ClientOptions.from_arguments(
        "h:1", "me", ["linger_ms=20", "auto_offset_reset=earliest", "request_timeout_ms=5000"]
    )
    kwargs, ignored = options.for_client("producer", compression_type="gzip", acks=None)
    assert kwargs == {
        "bootstrap_servers": "h:1",
        "client_id": "me",
        "linger_ms": 20,
        "request_timeout_ms": 5000,
        "compression_type": "gzip",
    }
    assert ignored == ["auto_offset_reset"]
    kwargs, ignored = options.for_client("consumer", auto_offset_reset="latest")
    assert kwargs["auto_offset_reset"] == "latest"
    assert ignored == ["linger_ms"]
    _, ignored = options.for_client("admin")
    assert ignored == ["linger_ms", "auto_offset_reset"]


def test_secrets_are_hidden() -> None:
    options = ClientOptions.from_arguments("h:1", None, ["sasl_plain_password=hunter2"])
    assert options.hide("bad password 'hunter2'") == "bad password '***'"
    assert redact("a-secret and secret", ["a-secret", "secret"]) == "*** and ***"
    with pytest.raises(UsageError) as info:
        parse_assignment("sasl_plain_password")
    assert "sasl_plain_password" in str(info.value)
