"""A scriptable fake Kafka broker on 127.0.0.1 for connection-layer unit tests.

It speaks just enough of the protocol: reads size-prefixed frames, decodes request
headers, answers ApiVersions with a configurable table and hands every other request to a
handler. Handlers can answer normally, answer with a wrong correlation id, send garbage,
close mid-response or never answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from kafkaio.protocol.api import Request, Response
from kafkaio.protocol.apis import API_BY_KEY, request_type
from kafkaio.protocol.headers import decode_request_header, encode_response_header
from kafkaio.protocol.messages import ApiVersionsResponse, MetadataResponse
from kafkaio.protocol.messages.api_versions import ApiVersion
from kafkaio.protocol.messages.metadata import (
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)

_SIZE = struct.Struct(">i")


def full_version_table() -> dict[int, tuple[int, int]]:
    """Every API kafkaio knows at kafkaio's full range (a broker of the pinned release)."""
    return {k: (i.min_version, i.max_version) for k, i in API_BY_KEY.items()}


@dataclass
class Received:
    """One request the fake broker read."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    request: Request
    at: float


@dataclass
class FakeConn:
    """The broker side of one client connection."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: list[Received] = field(default_factory=list)

    def respond(self, req: Received, response: Response, version: int | None = None) -> None:
        """Write ``response`` for ``req`` (at the request's version unless given)."""
        v = req.api_version if version is None else version
        header = encode_response_header(req.correlation_id, type(response).header_version(v))
        self.send_payload(header + response.encode(v))

    def send_payload(self, payload: bytes) -> None:
        """Write one frame with ``payload``."""
        self.writer.write(_SIZE.pack(len(payload)) + payload)

    def send_raw(self, data: bytes) -> None:
        """Write raw bytes (no framing)."""
        self.writer.write(data)

    def close(self) -> None:
        """Hang up."""
        self.writer.close()


Handler = Callable[[FakeConn, Received], Awaitable[None] | None]


class FakeBroker:
    """A fake broker: ``async with FakeBroker() as b: ... b.port ...``."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        versions: dict[int, tuple[int, int]] | None = None,
        node_id: int = 1,
        api_versions_handler: Handler | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.ssl_context = ssl_context
        self.handler = handler
        self.versions = versions if versions is not None else full_version_table()
        self.node_id = node_id
        self.api_versions_handler = api_versions_handler
        self.conns: list[FakeConn] = []
        self.received: list[Received] = []
        self.topics: dict[str, int] = {}
        """Topic name -> partition count, for the default Metadata answer."""
        self.peers: list[tuple[int, int]] = []
        """Extra (node_id, port) brokers to list in Metadata answers."""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> FakeBroker:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in self.conns:
            conn.writer.close()
        if self._tasks:
            # Closing the writers ends the serving loops; cancel only stragglers (handlers
            # that sleep), since cancelling a serving task makes asyncio log an error.
            _, pending = await asyncio.wait(set(self._tasks), timeout=1)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def requests(self, api_key: int) -> list[Received]:
        """Requests of one API received so far."""
        return [r for r in self.received if r.api_key == api_key]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = FakeConn(reader, writer)
        self.conns.append(conn)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    size = _SIZE.unpack(await reader.readexactly(4))[0]
                    payload = await reader.readexactly(size)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                api_key, api_version = struct.unpack_from(">hh", payload, 0)
                rtype = request_type(api_key)
                hv = rtype.header_version(api_version)
                _, _, corr, client_id, off = decode_request_header(payload, hv)
                request: Request = rtype.decode(payload[off:], api_version)
                rec = Received(api_key, api_version, corr, client_id, request, loop.time())
                conn.received.append(rec)
                self.received.append(rec)
                if api_key == 18:
                    handler = self.api_versions_handler or self._answer_api_versions
                else:
                    handler = self.handler or self.default_handler
                result = handler(conn, rec)
                if result is not None:
                    await result
        finally:
            self._tasks.discard(task)
            writer.close()

    def _answer_api_versions(self, conn: FakeConn, req: Received) -> None:
        conn.respond(req, self.api_versions_response())

    def api_versions_response(self, error_code: int = 0) -> ApiVersionsResponse:
        return ApiVersionsResponse(
            error_code=error_code,
            api_keys=[ApiVersion(k, lo, hi) for k, (lo, hi) in sorted(self.versions.items())],
        )

    def metadata_response(self, request: Request | None = None) -> MetadataResponse:
        """Metadata listing this broker, :attr:`peers` and the topics ``request`` asks for."""
        wanted: list[str] | None = None
        if request is not None and getattr(request, "topics", None) is not None:
            wanted = [t.name for t in request.topics]  # type: ignore[attr-defined]
        brokers = [MetadataResponseBroker(self.node_id, "127.0.0.1", self.port)]
        brokers += [MetadataResponseBroker(n, "127.0.0.1", p) for n, p in self.peers]
        topics = [
            MetadataResponseTopic(
                name=name,
                partitions=[
                    MetadataResponsePartition(
                        partition_index=i,
                        leader_id=self.node_id,
                        leader_epoch=0,
                        replica_nodes=[self.node_id],
                        isr_nodes=[self.node_id],
                    )
                    for i in range(count)
                ],
            )
            for name, count in sorted(self.topics.items())
            if wanted is None or name in wanted
        ]
        topics += [
            MetadataResponseTopic(error_code=3, name=name)
            for name in wanted or []
            if name not in self.topics
        ]
        return MetadataResponse(
            brokers=brokers, cluster_id="fake", controller_id=self.node_id, topics=topics
        )

    def default_handler(self, conn: FakeConn, req: Received) -> None:
        """Answer Metadata from :attr:`topics`; ignore everything else (never answer)."""
        if req.api_key == 3:
            conn.respond(req, self.metadata_response(req.request))
