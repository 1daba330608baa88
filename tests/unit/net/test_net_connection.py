"""BrokerConnection against a fake broker on 127.0.0.1."""

from __future__ import annotations

import asyncio
import struct

import pytest
from _fakebroker import FakeBroker, FakeConn, Received

from kafkaio.errors import (
    IncompatibleBrokerVersionError,
    KafkaConnectionError,
    ProtocolDecodeError,
    RequestTimedOutError,
    UnsupportedVersionError,
)
from kafkaio.net import BrokerConnection, CloseReason, ConnectionConfig
from kafkaio.net.framing import FrameTooLargeError, encode_request_frame, read_frame
from kafkaio.protocol.messages import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    MetadataRequest,
    MetadataResponse,
    ProduceRequest,
)
from kafkaio.protocol.messages.find_coordinator import Coordinator


def fc(key: str) -> FindCoordinatorRequest:
    return FindCoordinatorRequest(key_type=0, coordinator_keys=[key])


def fcr(node_id: int = 0, host: str = "", throttle_time_ms: int = 0) -> FindCoordinatorResponse:
    coordinator = Coordinator(key="k", node_id=node_id, host=host)
    return FindCoordinatorResponse(throttle_time_ms=throttle_time_ms, coordinators=[coordinator])


def config(**kw: object) -> ConnectionConfig:
    base: dict[str, object] = {"request_timeout_ms": 2000}
    base.update(kw)
    return ConnectionConfig(**base)  # type: ignore[arg-type]


async def connect(broker: FakeBroker, **kw: object) -> BrokerConnection:
    conn = BrokerConnection("127.0.0.1", broker.port, config=config(**kw), node_id=1)
    await conn.connect()
    return conn


# ---------------------------------------------------------------------- framing


async def test_frame_roundtrip_and_header_layout() -> None:
    frame = encode_request_frame(MetadataRequest(topics=None), 12, 77, "cid")
    (size,) = struct.unpack_from(">i", frame, 0)
    assert size == len(frame) - 4
    assert struct.unpack_from(">hhi", frame, 4) == (3, 12, 77)
    reader = asyncio.StreamReader()
    reader.feed_data(frame)
    assert await read_frame(reader) == frame[4:]


@pytest.mark.parametrize("size", [-1, 1 << 30])
async def test_read_frame_rejects_impossible_sizes(size: int) -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">i", size))
    with pytest.raises(FrameTooLargeError, match="outside"):
        await read_frame(reader, max_size=1 << 20)


async def test_read_frame_truncated() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(struct.pack(">i", 10) + b"abc")
    reader.feed_eof()
    with pytest.raises(asyncio.IncompleteReadError):
        await read_frame(reader)


# ---------------------------------------------------------------------- handshake


async def test_connect_exchanges_api_versions_with_software_name() -> None:
    async with FakeBroker() as broker:
        conn = await connect(broker, client_id="my-client")
        try:
            (req,) = broker.requests(18)
            assert req.api_version == ApiVersionsRequest.MAX_VERSION
            assert isinstance(req.request, ApiVersionsRequest)
            assert req.request.client_software_name == "kafkaio"
            assert req.request.client_software_version
            assert req.client_id == "my-client"
            assert conn.connected
            assert conn.api_versions[3].max == MetadataRequest.MAX_VERSION
        finally:
            await conn.aclose()


async def test_api_versions_falls_back_when_broker_answers_unsupported_version() -> None:
    def old_broker(conn: FakeConn, req: Received) -> None:
        # A 2.3-era broker: knows ApiVersions up to v2 and answers newer requests in v0
        # with UNSUPPORTED_VERSION and its own range.
        if req.api_version > 2:
            conn.respond(req, broker.api_versions_response(error_code=35), version=0)
        else:
            conn.respond(req, broker.api_versions_response())

    versions = FakeBroker().versions
    versions[18] = (0, 2)
    versions[3] = (0, 8)
    async with FakeBroker(versions=versions, api_versions_handler=old_broker) as broker:
        conn = await connect(broker)
        try:
            assert [r.api_version for r in broker.requests(18)] == [4, 2]
            assert conn.version_for(MetadataRequest) == 8
        finally:
            await conn.aclose()


async def test_versions_negotiated_and_capped() -> None:
    versions = FakeBroker().versions
    versions[3] = (0, 5)
    async with FakeBroker(versions=versions) as broker:
        conn = await connect(broker, version_caps={10: 2})
        try:
            assert conn.version_for(MetadataRequest) == 5
            assert conn.version_for(FindCoordinatorRequest) == 2
            response = await conn.send(MetadataRequest(topics=None))
            assert isinstance(response, MetadataResponse)
            assert broker.requests(3)[0].api_version == 5
        finally:
            await conn.aclose()


async def test_no_version_overlap_fails_before_writing() -> None:
    versions = FakeBroker().versions
    versions[0] = (0, 2)  # kafkaio needs Produce v3+
    del versions[10]
    async with FakeBroker(versions=versions) as broker:
        conn = await connect(broker)
        try:
            with pytest.raises(IncompatibleBrokerVersionError, match="Produce"):
                await conn.send(ProduceRequest(acks=1))
            with pytest.raises(IncompatibleBrokerVersionError, match="FindCoordinator"):
                await conn.send(fc("g"))
            with pytest.raises(UnsupportedVersionError):
                await conn.send(MetadataRequest(), version=99)
            assert broker.requests(0) == [] and broker.requests(10) == []
            assert conn.connected
        finally:
            await conn.aclose()


async def test_connect_refused_raises_connection_error() -> None:
    async with FakeBroker() as broker:
        port = broker.port
    conn = BrokerConnection("127.0.0.1", port, config=config())
    with pytest.raises(KafkaConnectionError, match="cannot connect"):
        await conn.connect()
    assert conn.closed and conn.close_reason is CloseReason.SETUP_FAILED


async def test_handshake_never_answered_times_out() -> None:
    async def silent(conn: FakeConn, req: Received) -> None:
        return None

    async with FakeBroker(api_versions_handler=silent) as broker:
        conn = BrokerConnection(
            "127.0.0.1", broker.port, config=config(connect_timeout_ms=300, request_timeout_ms=5000)
        )
        start = asyncio.get_running_loop().time()
        with pytest.raises(KafkaConnectionError, match="timed out"):
            await conn.connect()
        assert asyncio.get_running_loop().time() - start < 2


# ---------------------------------------------------------------------- request / response


async def test_pipelined_requests_are_matched_in_order() -> None:
    held: list[tuple[FakeConn, Received]] = []

    def hold(conn: FakeConn, req: Received) -> None:
        held.append((conn, req))
        if len(held) == 3:
            for c, r in held:
                c.respond(r, fcr(node_id=r.correlation_id))

    async with FakeBroker(hold) as broker:
        conn = await connect(broker)
        try:
            results = await asyncio.gather(*(conn.send(fc(f"g{i}")) for i in range(3)))
            corr = [r.correlation_id for _, r in held]
            assert [r.coordinators[0].node_id for r in results] == corr  # type: ignore[union-attr]
            assert conn.in_flight == 0
        finally:
            await conn.aclose()


async def test_correlation_mismatch_closes_and_fails_all_in_flight() -> None:
    held: list[tuple[FakeConn, Received]] = []

    def wrong(conn: FakeConn, req: Received) -> None:
        held.append((conn, req))
        if len(held) == 2:
            c, r = held[1]  # answer the second request first
            c.respond(r, fcr())

    async with FakeBroker(wrong) as broker:
        conn = await connect(broker)
        results = await asyncio.gather(
            conn.send(fc("a")),
            conn.send(fc("b")),
            return_exceptions=True,
        )
        assert all(isinstance(r, KafkaConnectionError) for r in results), results
        assert "correlation id mismatch" in str(results[0])
        assert conn.closed and conn.close_reason is CloseReason.PROTOCOL_ERROR
        with pytest.raises(KafkaConnectionError, match="closed"):
            await conn.send(fc("c"))


async def test_garbage_body_fails_request_with_decode_error() -> None:
    def garbage(conn: FakeConn, req: Received) -> None:
        # A valid flexible response header (no tagged fields), then a body that is not one.
        conn.send_payload(struct.pack(">i", req.correlation_id) + b"\x00" + b"\xff\x13garbage")

    async with FakeBroker(garbage) as broker:
        conn = await connect(broker)
        with pytest.raises(ProtocolDecodeError, match="FindCoordinator"):
            await conn.send(fc("a"))
        assert conn.closed and conn.close_reason is CloseReason.PROTOCOL_ERROR


async def test_garbage_header_closes_connection() -> None:
    def garbage(conn: FakeConn, req: Received) -> None:
        conn.send_payload(b"\x00\x01")

    async with FakeBroker(garbage) as broker:
        conn = await connect(broker)
        with pytest.raises(KafkaConnectionError, match="invalid data"):
            await conn.send(fc("a"))
        assert conn.closed and conn.close_reason is CloseReason.PROTOCOL_ERROR


async def test_garbage_frame_length_closes_connection() -> None:
    def garbage(conn: FakeConn, req: Received) -> None:
        conn.send_raw(b"\x7f\xff\xff\xffHTTP/1.1 400 Bad Request\r\n")

    async with FakeBroker(garbage) as broker:
        conn = await connect(broker, max_response_size=1 << 20)
        with pytest.raises(KafkaConnectionError, match="invalid data"):
            await conn.send(fc("a"))
        assert conn.closed


async def test_close_mid_response() -> None:
    def half(conn: FakeConn, req: Received) -> None:
        body = fcr(host="x" * 100).encode(req.api_version)
        frame = struct.pack(">ii", len(body) + 5, req.correlation_id) + b"\x00" + body
        conn.send_raw(frame[: len(frame) // 2])
        conn.close()

    async with FakeBroker(half) as broker:
        conn = await connect(broker)
        with pytest.raises(KafkaConnectionError, match="middle of a response"):
            await conn.send(fc("a"))
        assert conn.close_reason is CloseReason.CONNECTION_LOST


async def test_broker_closes_before_answering() -> None:
    def hang_up(conn: FakeConn, req: Received) -> None:
        conn.close()

    async with FakeBroker(hang_up) as broker:
        conn = await connect(broker)
        with pytest.raises(KafkaConnectionError, match="before answering"):
            await conn.send(fc("a"))


async def test_never_answering_times_out_and_fails_every_in_flight_request() -> None:
    async with FakeBroker() as broker:  # default handler ignores FindCoordinator
        closed: list[CloseReason] = []
        conn = BrokerConnection(
            "127.0.0.1",
            broker.port,
            config=config(request_timeout_ms=300),
            on_close=lambda c, r: closed.append(r),
        )
        await conn.connect()
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.gather(
            conn.send(fc("a")),
            conn.send(fc("b")),
            return_exceptions=True,
        )
        elapsed = loop.time() - start
        assert all(isinstance(r, RequestTimedOutError) for r in results), results
        assert 0.25 <= elapsed < 2
        assert closed == [CloseReason.TIMEOUT]
        # A fresh connection to the same broker works.
        conn2 = await connect(broker)
        try:
            assert isinstance(await conn2.send(MetadataRequest(topics=None)), MetadataResponse)
        finally:
            await conn2.aclose()


async def test_close_fails_pending_requests() -> None:
    async with FakeBroker() as broker:
        conn = await connect(broker)
        task = asyncio.ensure_future(conn.send(fc("a")))
        await asyncio.sleep(0.05)
        assert conn.in_flight == 1
        await conn.aclose()
        with pytest.raises(KafkaConnectionError, match="closed by its owner"):
            await task


async def test_in_flight_cap() -> None:
    outstanding = 0
    peak = 0
    held: list[tuple[FakeConn, Received]] = []

    def answer_oldest() -> None:
        nonlocal outstanding
        c, r = held.pop(0)
        outstanding -= 1
        c.respond(r, fcr(node_id=7))

    def slow(conn: FakeConn, req: Received) -> None:
        nonlocal outstanding, peak
        outstanding += 1
        peak = max(peak, outstanding)
        held.append((conn, req))
        asyncio.get_running_loop().call_later(0.02, answer_oldest)

    async with FakeBroker(slow) as broker:
        conn = await connect(broker, max_in_flight_requests_per_connection=2)
        try:
            tasks = [conn.send(fc(str(i))) for i in range(6)]
            results = await asyncio.gather(*tasks)
            assert len(results) == 6
            assert peak == 2
            assert len(broker.requests(10)) == 6
        finally:
            await conn.aclose()


async def test_produce_acks_zero_expects_no_response() -> None:
    async with FakeBroker() as broker:
        conn = await connect(broker)
        try:
            assert await conn.send(ProduceRequest(acks=0, timeout_ms=1000)) is None
            assert conn.in_flight == 0
            # The next request's response is still matched correctly.
            response = await conn.send(MetadataRequest(topics=None))
            assert isinstance(response, MetadataResponse)
            assert [r.api_key for r in broker.received] == [18, 0, 3]
        finally:
            await conn.aclose()


async def test_throttle_time_delays_next_send() -> None:
    def throttling(conn: FakeConn, req: Received) -> None:
        conn.respond(req, fcr(throttle_time_ms=300))

    async with FakeBroker(throttling) as broker:
        conn = await connect(broker)
        try:
            await conn.send(fc("a"))
            await conn.send(fc("b"))
            first, second = broker.requests(10)
            assert second.at - first.at >= 0.28
        finally:
            await conn.aclose()


async def test_idle_connection_is_reaped() -> None:
    async with FakeBroker() as broker:
        reasons: list[CloseReason] = []
        conn = BrokerConnection(
            "127.0.0.1",
            broker.port,
            config=config(connections_max_idle_ms=400),
            on_close=lambda c, r: reasons.append(r),
        )
        await conn.connect()
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.25)
        await conn.send(MetadataRequest(topics=None))  # activity postpones reaping
        active_at = loop.time()
        await asyncio.sleep(0.25)
        # Reaping counts from the last activity, not from the connect.
        assert conn.connected or loop.time() - active_at >= 0.4
        for _ in range(100):
            if conn.closed:
                break
            await asyncio.sleep(0.02)
        assert conn.closed and reasons == [CloseReason.IDLE]
        assert loop.time() - active_at >= 0.4


async def test_idle_reaper_spares_connections_with_requests_in_flight() -> None:
    async def late(conn: FakeConn, req: Received) -> None:
        await asyncio.sleep(0.4)
        conn.respond(req, fcr(node_id=3))

    async with FakeBroker(late) as broker:
        conn = await connect(broker, connections_max_idle_ms=100)
        response = await conn.send(fc("a"))
        assert isinstance(response, FindCoordinatorResponse)
        assert response.coordinators[0].node_id == 3
        await asyncio.sleep(0.3)
        assert conn.closed and conn.close_reason is CloseReason.IDLE


async def test_cancelled_caller_does_not_desynchronise_the_stream() -> None:
    async def late(conn: FakeConn, req: Received) -> None:
        key = req.request.coordinator_keys[0]  # type: ignore[attr-defined]
        await asyncio.sleep(0.1 if key == "slow" else 0)
        conn.respond(req, fcr(host=key))

    async with FakeBroker(late) as broker:
        conn = await connect(broker)
        try:
            task = asyncio.ensure_future(conn.send(fc("slow")))
            await asyncio.sleep(0.02)
            task.cancel()
            response = await conn.send(fc("next"))
            assert isinstance(response, FindCoordinatorResponse)
            assert response.coordinators[0].host == "next"
            assert conn.connected
        finally:
            await conn.aclose()


async def test_api_versions_response_is_decoded_as_v0_on_error() -> None:
    body = ApiVersionsResponse(error_code=35).encode(0)
    from kafkaio.net.connection import _decode_response

    decoded = _decode_response(ApiVersionsResponse, memoryview(body), 3)
    assert decoded.error_code == 35  # type: ignore[attr-defined]


async def test_per_request_timeout_override() -> None:
    async def late(conn: FakeConn, req: Received) -> None:
        await asyncio.sleep(0.3)
        conn.respond(req, fcr(node_id=5))

    async with FakeBroker(late) as broker:
        conn = await connect(broker, request_timeout_ms=100)
        try:
            response = await conn.send(fc("a"), timeout_ms=2000)
            assert isinstance(response, FindCoordinatorResponse)
            with pytest.raises(RequestTimedOutError, match="within 100 ms"):
                await conn.send(fc("b"))
        finally:
            await conn.aclose()
