"""Builder -> reader round trips over generated records, flags and codecs."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkaio.records import (
    CompressionType,
    Record,
    RecordBatchBuilder,
    TimestampType,
    iter_batches,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

nullable_bytes = st.none() | st.binary(max_size=300)
headers = st.lists(st.tuples(st.text(max_size=12), st.none() | st.binary(max_size=40)), max_size=4)
timestamps = st.integers(min_value=0, max_value=2**62) | st.just(-1)
record = st.tuples(timestamps, nullable_bytes, nullable_bytes, headers)


@SETTINGS
@given(
    records=st.lists(record, min_size=1, max_size=40),
    codec=st.sampled_from(list(CompressionType)),
    transactional=st.booleans(),
    control=st.booleans(),
    producer=st.tuples(
        st.integers(-1, 2**63 - 1), st.integers(-1, 2**15 - 1), st.integers(-1, 2**31 - 1)
    ),
    base_offset=st.integers(0, 2**62),
    leader_epoch=st.integers(-1, 2**31 - 1),
    log_append=st.booleans(),
)
def test_round_trip(
    records: list[tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]],
    codec: CompressionType,
    transactional: bool,
    control: bool,
    producer: tuple[int, int, int],
    base_offset: int,
    leader_epoch: int,
    log_append: bool,
) -> None:
    ts_type = TimestampType.LOG_APPEND_TIME if log_append else TimestampType.CREATE_TIME
    builder = RecordBatchBuilder(
        compression=codec,
        is_transactional=transactional,
        is_control=control,
        producer_id=producer[0],
        producer_epoch=producer[1],
        base_sequence=producer[2],
        base_offset=base_offset,
        partition_leader_epoch=leader_epoch,
        timestamp_type=ts_type,
        max_bytes=1 << 30,
    )
    for i, (ts, key, value, hdrs) in enumerate(records):
        result = builder.append(ts, key, value, hdrs)
        assert result is not None
        assert result.offset_delta == i
        assert result.timestamp == ts
    assert builder.record_count == len(records)
    data = builder.build()
    assert builder.build() is data  # idempotent

    (batch,) = list(iter_batches(data))
    max_ts = max(r[0] for r in records)
    assert batch.magic == 2
    assert batch.base_offset == base_offset
    assert batch.last_offset == base_offset + len(records) - 1
    assert batch.next_offset == base_offset + len(records)
    assert batch.compression == codec
    assert batch.timestamp_type == ts_type
    assert batch.is_transactional == transactional
    assert batch.is_control == control
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == producer
    assert batch.partition_leader_epoch == leader_epoch
    assert batch.max_timestamp == max_ts
    assert batch.size_in_bytes == len(data)
    assert batch.is_valid()
    expected = [
        Record(
            base_offset + i,
            max_ts if log_append else ts,
            ts_type,
            key,
            value,
            tuple(hdrs),
        )
        for i, (ts, key, value, hdrs) in enumerate(records)
    ]
    assert batch.records() == expected


@SETTINGS
@given(
    batches=st.lists(
        st.tuples(st.sampled_from(list(CompressionType)), st.lists(record, min_size=1, max_size=5)),
        min_size=1,
        max_size=5,
    ),
    cut=st.integers(min_value=1, max_value=200),
)
def test_concatenated_batches_with_truncated_tail(
    batches: list[
        tuple[
            CompressionType,
            list[tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]],
        ]
    ],
    cut: int,
) -> None:
    """A fetch response: whole batches, then a partial one that is dropped silently."""
    data = b""
    offset = 0
    counts = []
    for codec, recs in batches:
        b = RecordBatchBuilder(compression=codec, base_offset=offset)
        for ts, key, value, hdrs in recs:
            assert b.append(ts, key, value, hdrs)
        data += b.build()
        offset += len(recs)
        counts.append(len(recs))
    whole = [len(b.records()) for b in iter_batches(data)]
    assert whole == counts
    truncated = data[: max(0, len(data) - cut)]
    seen = [b.records() for b in iter_batches(truncated)]
    assert len(seen) <= len(counts)
    assert [len(r) for r in seen] == counts[: len(seen)]
    # Every batch that fits entirely in the truncated buffer is returned.
    size_sum = 0
    complete = 0
    for batch in iter_batches(data):
        size_sum += batch.size_in_bytes
        if size_sum <= len(truncated):
            complete += 1
    assert len(seen) == complete
