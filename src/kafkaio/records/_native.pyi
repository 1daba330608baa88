# Type stub of the compiled module built from _native.c (see kafkaio/records/v2.py).
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

_R = TypeVar("_R")

class RowType(Generic[_R]):
    def __init__(
        self, cls: type[_R], fields: Sequence[str | None], *, untrack: bool = False
    ) -> None: ...
    @property
    def cls(self) -> type[_R]: ...
    def __call__(self, *row: Any) -> _R: ...

def decode_rows(
    data: bytes | bytearray | memoryview,
    pos: int,
    end: int,
    count: int,
    base_offset: int,
    base_timestamp: int,
    timestamp_type: Any,
    log_append_time: int | None,
    make: Callable[..., _R],
    topic: str,
    partition: int,
    leader_epoch: int | None,
) -> list[_R]: ...
def append_record(
    buf: bytearray,
    offset_delta: int,
    timestamp_delta: int,
    key: Any,
    value: Any,
    headers: Any,
    room: int,
) -> int: ...
def append_tracked(
    builder: Any,
    timestamp_ms: int,
    key: Any,
    value: Any,
    headers: Any,
    entries: list[Any],
    target: Any,
    index: int,
) -> int: ...

class BuilderCore:
    _buf: bytearray
    _count: int
    _last_offset_delta: int
    _base_timestamp: int | None
    _max_timestamp: int
    _max_bytes: int
    _built: bytes | None
    _delete_horizon_ms: int | None

def append_tracked_many(
    builder: Any,
    timestamp_ms: int,
    keys: list[Any] | None,
    values: list[Any],
    headers: Any,
    entries: list[Any],
    target: Any,
    start: int,
    stop: int,
) -> int: ...
def complete_entries(
    entries: list[Any],
    metadata_cls: type[tuple[Any, ...]],
    topic: str,
    partition: int,
    base_offset: int,
    log_append_time: int,
    timestamp_type: Any,
    log_start_offset: int,
) -> None: ...
