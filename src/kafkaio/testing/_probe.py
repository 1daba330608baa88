"""A minimal, blocking Kafka protocol probe for the harness' readiness checks.

Deliberately independent of kafkaio's own protocol and network layers (the harness must be
able to test them): ApiVersions v0 and Metadata v1..v12 encoded by hand over a plain
socket. Only what readiness checks need is decoded (brokers, controller, topics with their
partition leaders).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from kafkaio.testing._errors import ProbeError

_API_METADATA = 3
_API_VERSIONS = 18
_METADATA_MIN = 1
_METADATA_MAX = 12
_CLIENT_ID = b"kafkaio-harness"
_MAX_RESPONSE = 64 * 1024 * 1024


@dataclass(frozen=True)
class BrokerInfo:
    """One broker as listed in a Metadata response."""

    node_id: int
    host: str
    port: int
    rack: str | None


@dataclass(frozen=True)
class PartitionInfo:
    """One partition of a topic as listed in a Metadata response."""

    partition: int
    error_code: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True)
class TopicInfo:
    """One topic as listed in a Metadata response."""

    name: str | None
    error_code: int
    is_internal: bool
    partitions: tuple[PartitionInfo, ...]


@dataclass(frozen=True)
class ClusterMetadata:
    """The parts of a Metadata response the harness uses."""

    version: int
    brokers: tuple[BrokerInfo, ...]
    cluster_id: str | None
    controller_id: int
    topics: tuple[TopicInfo, ...]

    @property
    def broker_ids(self) -> frozenset[int]:
        """Ids of the brokers the answering broker considers alive."""
        return frozenset(b.node_id for b in self.brokers)

    def topic(self, name: str) -> TopicInfo | None:
        """The topic called ``name``, if present."""
        for t in self.topics:
            if t.name == name:
                return t
        return None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, n: int) -> bytes:
        end = self._pos + n
        if n < 0 or end > len(self._data):
            raise ProbeError("truncated response from broker")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def int8(self) -> int:
        return int(struct.unpack(">b", self._take(1))[0])

    def int16(self) -> int:
        return int(struct.unpack(">h", self._take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self._take(4))[0])

    def uvarint(self) -> int:
        shift = 0
        value = 0
        while True:
            b = self._take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise ProbeError("malformed varint in response")

    def string(self, flexible: bool) -> str | None:
        n = self.uvarint() - 1 if flexible else self.int16()
        if n < 0:
            return None
        return self._take(n).decode("utf-8", errors="replace")

    def array_len(self, flexible: bool) -> int:
        n = self.uvarint() - 1 if flexible else self.int32()
        return max(n, 0)

    def int32_array(self, flexible: bool) -> tuple[int, ...]:
        return tuple(self.int32() for _ in range(self.array_len(flexible)))

    def skip_tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()  # tag
            self._take(self.uvarint())

    def skip(self, n: int) -> None:
        self._take(n)


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _header(api_key: int, version: int, correlation_id: int, flexible: bool) -> bytes:
    # Request header v1 (v2 when flexible: the client id stays a classic string, tagged
    # fields follow).
    head = struct.pack(">hhih", api_key, version, correlation_id, len(_CLIENT_ID)) + _CLIENT_ID
    return head + (b"\x00" if flexible else b"")


def _metadata_body(version: int, topics: Sequence[str] | None) -> bytes:
    flexible = version >= 9
    out = bytearray()
    if topics is None:
        out += _uvarint(0) if flexible else struct.pack(">i", -1)
    else:
        out += _uvarint(len(topics) + 1) if flexible else struct.pack(">i", len(topics))
        for name in topics:
            raw = name.encode()
            if version >= 10:
                out += bytes(16)  # topic id: zero means "by name"
            if flexible:
                out += _uvarint(len(raw) + 1) + raw + b"\x00"
            else:
                out += struct.pack(">h", len(raw)) + raw
    if version >= 4:
        out += b"\x00"  # allow_auto_topic_creation: the probe never creates topics
    if 8 <= version <= 10:
        out += b"\x00"  # include_cluster_authorized_operations
    if version >= 8:
        out += b"\x00"  # include_topic_authorized_operations
    if flexible:
        out += b"\x00"
    return bytes(out)


def _decode_metadata(version: int, r: _Reader) -> ClusterMetadata:
    flex = version >= 9
    if version >= 3:
        r.int32()  # throttle_time_ms
    brokers = []
    for _ in range(r.array_len(flex)):
        node_id = r.int32()
        host = r.string(flex) or ""
        port = r.int32()
        rack = r.string(flex)
        if flex:
            r.skip_tags()
        brokers.append(BrokerInfo(node_id, host, port, rack))
    cluster_id = r.string(flex) if version >= 2 else None
    controller_id = r.int32()
    topics = []
    for _ in range(r.array_len(flex)):
        t_error = r.int16()
        name = r.string(flex)
        if version >= 10:
            r.skip(16)  # topic id
        is_internal = r.int8() != 0
        partitions = []
        for _ in range(r.array_len(flex)):
            p_error = r.int16()
            index = r.int32()
            leader = r.int32()
            epoch = r.int32() if version >= 7 else -1
            replicas = r.int32_array(flex)
            isr = r.int32_array(flex)
            if version >= 5:
                r.int32_array(flex)  # offline replicas
            if flex:
                r.skip_tags()
            partitions.append(PartitionInfo(index, p_error, leader, epoch, replicas, isr))
        if version >= 8:
            r.int32()  # topic authorized operations
        if flex:
            r.skip_tags()
        partitions.sort(key=lambda p: p.partition)
        topics.append(TopicInfo(name, t_error, is_internal, tuple(partitions)))
    return ClusterMetadata(
        version=version,
        brokers=tuple(sorted(brokers, key=lambda b: b.node_id)),
        cluster_id=cluster_id,
        controller_id=controller_id,
        topics=tuple(topics),
    )


class _Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ProbeError(f"cannot connect to {host}:{port}: {exc}") from exc
        self._addr = f"{host}:{port}"
        self._correlation = 0

    def close(self) -> None:
        self._sock.close()

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self._sock.recv(n - len(buf))
            if not chunk:
                raise ProbeError(f"{self._addr} closed the connection")
            buf += chunk
        return bytes(buf)

    def request(self, api_key: int, version: int, body: bytes, flexible: bool) -> _Reader:
        self._correlation += 1
        frame = _header(api_key, version, self._correlation, flexible) + body
        try:
            self._sock.sendall(struct.pack(">i", len(frame)) + frame)
            size = struct.unpack(">i", self._recv_exact(4))[0]
            if not 4 <= size <= _MAX_RESPONSE:
                raise ProbeError(f"{self._addr} sent an invalid frame size {size}")
            payload = self._recv_exact(size)
        except OSError as exc:
            raise ProbeError(f"request to {self._addr} failed: {exc}") from exc
        r = _Reader(payload)
        if r.int32() != self._correlation:
            raise ProbeError(f"{self._addr} answered with a wrong correlation id")
        # ApiVersions answers with response header v0 even when flexible (KIP-511).
        if flexible and api_key != _API_VERSIONS:
            r.skip_tags()
        return r

    def api_versions(self) -> dict[int, tuple[int, int]]:
        r = self.request(_API_VERSIONS, 0, b"", flexible=False)
        error = r.int16()
        if error != 0:
            raise ProbeError(f"{self._addr} answered ApiVersions with error code {error}")
        ranges = {}
        for _ in range(r.array_len(False)):
            key, lo, hi = r.int16(), r.int16(), r.int16()
            ranges[key] = (lo, hi)
        return ranges


def api_versions(host: str, port: int, timeout: float = 5.0) -> dict[int, tuple[int, int]]:
    """Ask a broker which API versions it supports: ``{api_key: (min, max)}``."""
    conn = _Connection(host, port, timeout)
    try:
        return conn.api_versions()
    finally:
        conn.close()


def fetch_metadata(
    host: str,
    port: int,
    topics: Sequence[str] | None = (),
    timeout: float = 5.0,
    version: int | None = None,
) -> ClusterMetadata:
    """Send one Metadata request (highest version in 1..12 the broker supports).

    ``topics=()`` asks for brokers only; ``None`` asks for every topic. ``version`` forces
    a Metadata version (it must be in 1..12 and supported by the broker).
    """
    if version is not None and not _METADATA_MIN <= version <= _METADATA_MAX:
        raise ValueError(f"Metadata version {version} is outside 1..12")
    conn = _Connection(host, port, timeout)
    try:
        ranges = conn.api_versions()
        if _API_METADATA not in ranges:
            raise ProbeError(f"{host}:{port} does not support Metadata")
        lo, hi = ranges[_API_METADATA]
        if version is None:
            version = min(hi, _METADATA_MAX)
            if version < max(lo, _METADATA_MIN):
                raise ProbeError(f"{host}:{port} supports Metadata v{lo}..v{hi}, none in 1..12")
        elif not lo <= version <= hi:
            raise ProbeError(f"{host}:{port} supports Metadata v{lo}..v{hi}, not v{version}")
        body = _metadata_body(version, topics)
        r = conn.request(_API_METADATA, version, body, flexible=version >= 9)
        return _decode_metadata(version, r)
    finally:
        conn.close()
