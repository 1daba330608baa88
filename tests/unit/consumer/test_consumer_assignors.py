"""Assignors: the Java client's results for range and roundrobin, balance and stickiness."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kafkaio.cluster import TopicPartition as TP
from kafkaio.consumer.group.assignors import (
    CooperativeStickyAssignor,
    MemberSubscription,
    RangeAssignor,
    RoundRobinAssignor,
    StickyAssignor,
    cooperative_adjust,
)
from kafkaio.consumer.group.protocol import (
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)


def members(*specs: tuple[str, list[str]]) -> dict[str, MemberSubscription]:
    return {m: MemberSubscription(m, topics) for m, topics in specs}


def test_range_gives_consecutive_ranges_extra_to_the_first() -> None:
    result = RangeAssignor().assign({"t": 5, "u": 2}, members(("c1", ["t", "u"]), ("c0", ["t"])))
    # Members sorted by id: c0 gets t0-2, c1 gets t3-4 and all of u.
    assert result == {
        "c0": [TP("t", 0), TP("t", 1), TP("t", 2)],
        "c1": [TP("t", 3), TP("t", 4), TP("u", 0), TP("u", 1)],
    }


def test_range_orders_static_members_by_instance_id_first() -> None:
    subs = {
        "a": MemberSubscription("a", ["t"]),
        "z": MemberSubscription("z", ["t"], group_instance_id="i0"),
    }
    result = RangeAssignor().assign({"t": 2}, subs)
    assert result == {"z": [TP("t", 0)], "a": [TP("t", 1)]}


def test_roundrobin_skips_members_not_subscribed() -> None:
    result = RoundRobinAssignor().assign({"t": 3, "u": 2}, members(("a", ["t", "u"]), ("b", ["t"])))
    assert result == {"a": [TP("t", 0), TP("t", 2), TP("u", 0), TP("u", 1)], "b": [TP("t", 1)]}


def test_sticky_keeps_owned_partitions_when_a_member_joins() -> None:
    subs = {
        "a": MemberSubscription("a", ["t"], owned_partitions=[TP("t", p) for p in range(6)]),
        "b": MemberSubscription("b", ["t"], owned_partitions=[TP("t", p) for p in range(6, 12)]),
        "c": MemberSubscription("c", ["t"]),
    }
    result = StickyAssignor().assign({"t": 12}, subs)
    assert sorted(len(v) for v in result.values()) == [4, 4, 4]
    assert set(result["a"]) <= {TP("t", p) for p in range(6)}
    assert set(result["b"]) <= {TP("t", p) for p in range(6, 12)}
    # Cooperative: c gets nothing until a and b have revoked what moves to it.
    adjusted = cooperative_adjust(result, subs)
    assert adjusted["c"] == [] and adjusted["a"] == result["a"]


@settings(max_examples=60, deadline=None)
@given(
    counts=st.dictionaries(st.sampled_from("abcd"), st.integers(1, 8), min_size=1),
    n_members=st.integers(1, 5),
    data=st.data(),
)
def test_every_partition_assigned_exactly_once(
    counts: dict[str, int], n_members: int, data: st.DataObject
) -> None:
    topics = sorted(counts)
    subs = {
        f"m{i}": MemberSubscription(
            f"m{i}", data.draw(st.lists(st.sampled_from(topics), min_size=1, unique=True))
        )
        for i in range(n_members)
    }
    wanted = {TP(t, p) for s in subs.values() for t in s.topics for p in range(counts[t])}
    for assignor in (
        RangeAssignor(),
        RoundRobinAssignor(),
        StickyAssignor(),
        CooperativeStickyAssignor(),
    ):
        result = assignor.assign(counts, subs)
        assert set(result) == set(subs)
        flat = [tp for parts in result.values() for tp in parts]
        assert len(flat) == len(set(flat)) and set(flat) == wanted, assignor.name
        for member, parts in result.items():
            assert all(tp.topic in subs[member].topics for tp in parts)
        if assignor.name == "sticky" and all(s.topics == topics for s in subs.values()):
            sizes = [len(p) for p in result.values()]
            assert max(sizes) - min(sizes) <= 1


def test_subscription_and_assignment_bytes_round_trip() -> None:
    data = encode_subscription(
        ["b", "a"], owned_partitions=[TP("a", 1), TP("a", 0)], generation_id=7, rack_id="r1"
    )
    assert data[:2] == b"\x00\x03"
    sub = decode_subscription("m", "inst", data)
    assert sub.topics == ["a", "b"]
    assert sub.owned_partitions == [TP("a", 0), TP("a", 1)]
    assert (sub.generation_id, sub.rack_id, sub.group_instance_id) == (7, "r1", "inst")
    parts = [TP("x", 2), TP("y", 0), TP("x", 1)]
    assert decode_assignment(encode_assignment(parts)) == sorted(parts)
    assert decode_assignment(b"") == []


def test_decodes_a_version_0_subscription() -> None:
    # Java's v0 layout: version, topics array, user data (null).
    v0 = b"\x00\x00" + b"\x00\x00\x00\x01" + b"\x00\x01t" + b"\xff\xff\xff\xff"
    sub = decode_subscription("m", None, v0)
    assert sub.topics == ["t"] and sub.owned_partitions == [] and sub.user_data is None


def test_sticky_user_data_round_trips_and_drives_stickiness() -> None:
    from kafkaio.consumer.group.assignors import decode_sticky_user_data, encode_sticky_user_data

    parts = [TP("t", 3), TP("t", 1), TP("u", 0)]
    data = encode_sticky_user_data(parts, 9)
    # Java layout: topic count, (name, partitions)*, generation.
    assert data[:4] == b"\x00\x00\x00\x02" and data[-4:] == b"\x00\x00\x00\x09"
    assert decode_sticky_user_data(data) == (sorted(parts), 9)
    a, b = StickyAssignor(), StickyAssignor()
    a.on_assignment([TP("t", p) for p in range(4)], 3)
    subs = {
        "a": MemberSubscription("a", ["t"], user_data=a.user_data(["t"])),
        "b": MemberSubscription("b", ["t"], user_data=b.user_data(["t"])),
    }
    result = StickyAssignor().assign({"t": 4}, subs)
    assert len(result["a"]) == len(result["b"]) == 2
    assert set(result["a"]) | set(result["b"]) == {TP("t", p) for p in range(4)}
    assert CooperativeStickyAssignor().user_data(["t"]) is None


def test_newer_subscription_versions_are_read_as_the_newest_known() -> None:
    v3 = encode_subscription(["t"], owned_partitions=[TP("t", 0)], generation_id=2)
    future = b"\x00\x07" + v3[2:] + b"\x00\x00\x00\x2a"  # v7 appended an int32
    sub = decode_subscription("m", None, future)
    assert sub.topics == ["t"] and sub.owned_partitions == [TP("t", 0)]
    assert sub.generation_id == 2
