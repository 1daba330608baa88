"""Version negotiation and broker-release inference."""

from __future__ import annotations

import pytest

from kafkaio.errors import IncompatibleBrokerVersionError, UnrecognizedBrokerVersionError
from kafkaio.net import VersionRange, infer_release, negotiate_version, release_caps
from kafkaio.net.releases import KNOWN_RELEASES, release_max_versions
from kafkaio.net.throttle import client_throttles
from kafkaio.protocol.apis import API_BY_KEY
from kafkaio.protocol.messages import FetchRequest, MetadataRequest, ProduceRequest


def test_negotiate_picks_the_highest_common_version() -> None:
    broker = {3: VersionRange(0, 9), 0: VersionRange(0, 20)}
    assert negotiate_version(MetadataRequest, broker) == 9
    assert negotiate_version(ProduceRequest, broker) == ProduceRequest.MAX_VERSION
    assert negotiate_version(MetadataRequest, broker, {3: 4}) == 4
    assert negotiate_version(MetadataRequest, None) == MetadataRequest.MAX_VERSION


def test_negotiate_without_overlap_names_the_api() -> None:
    with pytest.raises(IncompatibleBrokerVersionError, match="Produce"):
        negotiate_version(ProduceRequest, {0: VersionRange(0, 2)})
    with pytest.raises(IncompatibleBrokerVersionError, match="does not support the Fetch"):
        negotiate_version(FetchRequest, {})
    with pytest.raises(IncompatibleBrokerVersionError, match="not available"):
        negotiate_version(FetchRequest, {1: VersionRange(0, 17)}, {1: -1})
    with pytest.raises(IncompatibleBrokerVersionError, match="below kafkaio's minimum"):
        negotiate_version(FetchRequest, {1: VersionRange(0, 17)}, {1: 2})


def test_every_release_table_infers_itself() -> None:
    for release in KNOWN_RELEASES:
        expected = (3, 3) if release == (3, 4) else release
        assert infer_release(release_max_versions(release)) == expected


def test_pinned_release_table_matches_generated_max_versions() -> None:
    newest = release_max_versions(KNOWN_RELEASES[-1])
    for key, version in newest.items():
        assert API_BY_KEY[key].max_version == version, API_BY_KEY[key].name


def test_infer_release_examples() -> None:
    table = dict(release_max_versions((3, 9)))
    assert infer_release(table) == (3, 9)
    table[0] = 12  # Produce v12 alone does not make a 4.0 broker
    assert infer_release(table) == (3, 9)
    with pytest.raises(UnrecognizedBrokerVersionError):
        infer_release({18: 0})


def test_release_caps() -> None:
    caps = release_caps((2, 8))
    assert caps[0] == 9 and caps[1] == 12 and caps[3] == 11
    assert caps[75] == -1  # DescribeTopicPartitions appeared in 3.9
    assert release_caps((3, 9, 1)) == release_caps((3, 9))
    assert release_caps((9, 9)) == release_caps(KNOWN_RELEASES[-1])
    with pytest.raises(UnrecognizedBrokerVersionError):
        release_caps((0, 10))


def test_client_side_throttling_versions() -> None:
    assert not client_throttles(0, 5) and client_throttles(0, 6)
    assert not client_throttles(1, 7) and client_throttles(1, 8)
    assert client_throttles(68, 0)  # APIs newer than KIP-219 always throttle client-side
