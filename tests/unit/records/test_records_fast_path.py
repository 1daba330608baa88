"""records_as (the consumer's row builder) and records() give the same records; records()
itself is checked against the Java client's golden batches elsewhere."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.records import CompressionType, DefaultRecordBatch, RecordBatchBuilder, iter_batches

_blobs = st.one_of(st.none(), st.binary(max_size=300))
_headers = st.lists(st.tuples(st.text(max_size=8), st.binary(max_size=20)), max_size=3)
_rows = st.lists(
    st.tuples(st.integers(0, 10**7), _blobs, _blobs, _headers), min_size=1, max_size=40
)


def _row(*fields: Any) -> tuple[Any, ...]:
    return fields


@settings(max_examples=60, deadline=None)
@given(rows=_rows, codec=st.sampled_from(list(CompressionType)), base=st.integers(0, 2**40))
def test_records_as_matches_records(
    rows: list[tuple[int, bytes | None, bytes | None, list[tuple[str, bytes]]]],
    codec: CompressionType,
    base: int,
) -> None:
    builder = RecordBatchBuilder(compression=codec, base_offset=base)
    for delta, key, value, headers in rows:
        builder.append(1_700_000_000_000 + delta, key, value, headers)
    data = builder.build()

    (fresh,) = iter_batches(data)
    assert isinstance(fresh, DefaultRecordBatch)
    fast = fresh.records_as(_row, "t", 3, 7)

    (reference_batch,) = iter_batches(data)
    assert isinstance(reference_batch, DefaultRecordBatch)
    expected = [
        (
            "t",
            3,
            r.offset,
            r.timestamp,
            r.timestamp_type,
            r.key,
            r.value,
            r.headers,
            7,
            -1 if r.key is None else len(r.key),
            -1 if r.value is None else len(r.value),
        )
        for r in reference_batch.records()
    ]
    assert fast == expected
    # Once records() is cached, records_as reuses it and still agrees.
    assert reference_batch.records_as(_row, "t", 3, 7) == expected
