"""The partitioners, checked against the Java client's own choices."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.producer.partitioner import (
    BuiltInPartitioner,
    RoundRobinPartitioner,
    UserPartitioner,
    murmur2,
    partition_for_key,
    to_positive,
)

GOLDEN = Path(__file__).with_name("golden_partitions.txt")


def _golden() -> list[tuple[bytes, int, int, int]]:
    rows = []
    for line in GOLDEN.read_text().splitlines():
        if line.startswith("#"):
            continue
        hexkey, hashed, count, partition = line.split()
        key = b"" if hexkey == "-" else bytes.fromhex(hexkey)
        rows.append((key, int(hashed), int(count), int(partition)))
    return rows


def test_golden_file_covers_thousands_of_keys_and_all_tail_lengths() -> None:
    rows = _golden()
    assert len(rows) >= 3000
    assert {len(key) % 4 for key, *_ in rows} == {0, 1, 2, 3}
    assert any(key == b"" for key, *_ in rows)
    assert any(any(b >= 0x80 for b in key) for key, *_ in rows)


def test_murmur2_matches_java_utils_murmur2() -> None:
    mismatches = [(k, h, murmur2(k)) for k, h, _, _ in _golden() if murmur2(k) != h]
    assert mismatches == []


def test_partition_for_key_matches_java_built_in_partitioner() -> None:
    mismatches = [
        (k, n, p, partition_for_key(k, n))
        for k, _, n, p in _golden()
        if partition_for_key(k, n) != p
    ]
    assert mismatches == []


def test_builtin_partitioner_uses_murmur2_for_keys_over_all_partitions() -> None:
    part = BuiltInPartitioner(batch_size=100)
    for key, _, count, expected in _golden()[:500]:
        # Availability does not matter for keyed records (the Java rule).
        assert part.partition("t", key, count, available=[]) == expected


def test_to_positive_clears_sign_bit() -> None:
    assert to_positive(-1) == 0x7FFFFFFF
    assert to_positive(-(2**31)) == 0
    assert to_positive(5) == 5


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=1, max_value=5000))
def test_partition_for_key_is_in_range_and_stable(key: bytes, count: int) -> None:
    p = partition_for_key(key, count)
    assert 0 <= p < count
    assert p == partition_for_key(bytearray(key), count)
    assert -(2**31) <= murmur2(key) < 2**31


def test_sticky_partition_switches_after_batch_size_bytes() -> None:
    part = BuiltInPartitioner(batch_size=1000, rng=random.Random(7))
    available = list(range(8))
    first = part.partition("t", None, 8, available)
    for _ in range(9):
        assert part.partition("t", None, 8, available) == first
        part.on_append("t", first, 100)
    assert part.partition("t", None, 8, available) == first
    part.on_append("t", first, 100)  # 1000 bytes reached: the next record may move
    choices = set()
    for _ in range(50):
        p = part.partition("t", None, 8, available)
        choices.add(p)
        part.on_append("t", p, 1000)
    assert len(choices) > 1


def test_sticky_partition_is_uniform_and_only_picks_available_partitions() -> None:
    part = BuiltInPartitioner(batch_size=10, rng=random.Random(1))
    available = [1, 3, 4]
    counts: Counter[int] = Counter()
    for _ in range(3000):
        p = part.partition("t", None, 6, available)
        counts[p] += 1
        part.on_append("t", p, 10)
    assert set(counts) == set(available)
    assert min(counts.values()) > 800


def test_sticky_partition_falls_back_to_all_partitions_without_leaders() -> None:
    part = BuiltInPartitioner(batch_size=1, rng=random.Random(3))
    seen = set()
    for _ in range(200):
        p = part.partition("t", None, 4, [])
        seen.add(p)
        part.on_append("t", p, 1)
    assert seen == {0, 1, 2, 3}


def test_sticky_state_is_per_topic_and_survives_fewer_partitions() -> None:
    part = BuiltInPartitioner(batch_size=10**6, rng=random.Random(5))
    a = part.partition("a", None, 100, list(range(100)))
    assert part.partition("a", None, 100, list(range(100))) == a
    assert 0 <= part.partition("a", None, 1, [0]) < 1  # partition count shrank
    part.on_append("b", 0, 10**7)  # another topic's appends do not move "a"
    assert part.partition("a", None, 1, [0]) == 0


def test_round_robin_cycles_available_partitions_ignoring_keys() -> None:
    part = RoundRobinPartitioner()
    got = [part.partition("t", b"same-key", 5, [0, 2, 4]) for _ in range(6)]
    assert got == [0, 2, 4, 0, 2, 4]
    assert [part.partition("u", None, 3, []) for _ in range(4)] == [0, 1, 2, 0]


def test_user_partitioner_gets_topic_key_and_partition_lists() -> None:
    calls = []

    def choose(topic: str, key: bytes | None, all_p: Sequence[int], avail: Sequence[int]) -> int:
        calls.append((topic, key, all_p, avail))
        return len(all_p) - 1

    part = UserPartitioner(choose)
    assert part.partition("t", b"k", 3, [0, 1]) == 2
    assert calls == [("t", b"k", [0, 1, 2], [0, 1])]


@pytest.mark.parametrize("answer", [3, -1, "0", True, None])
def test_user_partitioner_answer_is_checked(answer: object) -> None:
    part = UserPartitioner(lambda *_: answer)  # type: ignore[arg-type]
    with pytest.raises((ValueError, TypeError), match="partitioner"):
        part.partition("t", None, 3, [0, 1, 2])


def test_adaptive_sticky_choice_favours_short_queues() -> None:
    queued = {0: 9, 1: 0, 2: 9}

    def sizes(topic: str, partitions: Sequence[int]) -> list[int]:
        return [queued[p] for p in partitions]

    part = BuiltInPartitioner(batch_size=1, rng=random.Random(11), queue_sizes=sizes)
    counts: Counter[int] = Counter()
    for _ in range(3000):
        p = part.partition("t", None, 3, [0, 1, 2])
        counts[p] += 1
        part.on_append("t", p, 1)
    # weights 10-9=1, 10-0=10, 1: partition 1 gets ~10/12 of the switches
    assert counts[1] > 2200
    assert counts[0] > 0 and counts[2] > 0


def test_adaptive_sticky_choice_is_uniform_with_equal_queues() -> None:
    part = BuiltInPartitioner(
        batch_size=1, rng=random.Random(2), queue_sizes=lambda t, ps: [4] * len(ps)
    )
    counts: Counter[int] = Counter()
    for _ in range(3000):
        p = part.partition("t", None, 3, [0, 1, 2])
        counts[p] += 1
        part.on_append("t", p, 1)
    assert min(counts.values()) > 850


def test_ignore_keys_makes_keyed_records_sticky() -> None:
    part = BuiltInPartitioner(batch_size=10**6, rng=random.Random(4), ignore_keys=True)
    chosen = {part.partition("t", b"k%d" % i, 50, list(range(50))) for i in range(100)}
    assert len(chosen) == 1


@settings(max_examples=50, deadline=None)
@given(
    sends=st.lists(
        st.tuples(st.one_of(st.none(), st.binary(max_size=8)), st.integers(1, 400)), max_size=60
    ),
    seed=st.integers(0, 1000),
)
def test_place_is_partition_then_on_append(
    sends: list[tuple[bytes | None, int]], seed: int
) -> None:
    placed = BuiltInPartitioner(1000, random.Random(seed))
    stepwise = BuiltInPartitioner(1000, random.Random(seed))
    for key, size in sends:
        expected = stepwise.partition("t", key, 6, [0, 1, 2, 3, 4, 5])
        if key is None:  # as in Java, keyed records do not count towards the sticky choice
            stepwise.on_append("t", expected, size)
        assert placed.place("t", key, 6, [0, 1, 2, 3, 4, 5], size) == expected
    rr = RoundRobinPartitioner()
    assert [rr.place("t", None, 3, [0, 1, 2], 10) for _ in range(4)] == [0, 1, 2, 0]
