"""API version negotiation: which version of a request to put on the wire.

A broker advertises ``[min, max]`` per API key in its ApiVersions response; kafkaio's
generated classes support ``[MIN_VERSION, MAX_VERSION]``; the user may cap versions (per
API, or by naming a broker release, see :mod:`kafkaio.net.releases`). A request is sent at
the highest version inside all three ranges, and refused before anything is written when
the ranges do not overlap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from kafkaio.errors import IncompatibleBrokerVersionError
from kafkaio.protocol.api import Request

__all__ = ["BrokerApiVersions", "VersionRange", "negotiate_version"]


@dataclass(frozen=True, slots=True)
class VersionRange:
    """An inclusive range of versions of one API."""

    min: int
    max: int


@dataclass(frozen=True)
class BrokerApiVersions(Mapping[int, VersionRange]):
    """What one broker answered to ApiVersions: version range per API key, plus features."""

    ranges: Mapping[int, VersionRange]
    """Version range per API key."""
    finalized_features: Mapping[str, int] = field(default_factory=dict)
    """Finalized feature levels (``max_version_level`` per feature name), when reported."""
    api_versions_version: int = 0
    """Version of the ApiVersions exchange that produced this answer."""

    def __getitem__(self, api_key: int) -> VersionRange:
        return self.ranges[api_key]

    def __iter__(self) -> Iterator[int]:
        return iter(self.ranges)

    def __len__(self) -> int:
        return len(self.ranges)

    def max_versions(self) -> dict[int, int]:
        """Highest version per API key."""
        return {key: rng.max for key, rng in self.ranges.items()}


def negotiate_version(
    request_type: type[Request],
    broker: Mapping[int, VersionRange] | None,
    caps: Mapping[int, int] | None = None,
) -> int:
    """Highest version of ``request_type`` that kafkaio, the broker and the caps all allow.

    ``broker`` is ``None`` only while the ApiVersions exchange itself is being set up; the
    client's own range then applies. Raises :class:`IncompatibleBrokerVersionError`
    naming the API when the ranges do not overlap or the broker lacks the API.
    """
    lo = request_type.MIN_VERSION
    hi = request_type.MAX_VERSION
    name = request_type.API_NAME
    if caps is not None:
        cap = caps.get(request_type.API_KEY)
        if cap is not None:
            if cap < 0:
                raise IncompatibleBrokerVersionError(
                    f"{name} is not available at the configured api_version"
                )
            if cap < lo:
                raise IncompatibleBrokerVersionError(
                    f"{name}: the configured cap v{cap} is below kafkaio's minimum v{lo}"
                )
            hi = min(hi, cap)
    if broker is not None:
        rng = broker.get(request_type.API_KEY)
        if rng is None:
            raise IncompatibleBrokerVersionError(
                f"the broker does not support the {name} API (key {request_type.API_KEY})"
            )
        if rng.max < lo or rng.min > hi:
            raise IncompatibleBrokerVersionError(
                f"no common version of {name}: broker supports v{rng.min}-v{rng.max},"
                f" kafkaio supports v{lo}-v{hi}"
            )
        hi = min(hi, rng.max)
    return hi
