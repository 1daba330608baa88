"""One asyncio connection to one Kafka broker.

Design:

* **Framing and ordering.** Requests are int32 size-prefixed frames; the broker answers
  requests on one connection strictly in order, so responses are matched against a FIFO of
  in-flight requests. A response whose correlation id is not the oldest in flight means the
  stream is corrupt: the connection is closed and every in-flight request fails.
* **One reader task** per connection reads frames and resolves the waiting futures; writers
  write synchronously (correlation id assignment, FIFO registration and the write happen
  without an ``await`` in between, so the FIFO order is the wire order) and only await
  ``drain()`` when the transport buffer is above a threshold.
* **Pipelining** is capped by ``max_in_flight_requests_per_connection`` (a semaphore).
* **Timeouts.** Each request has a deadline (``request_timeout_ms``). A request that misses
  it closes the connection, failing every in-flight request with
  :class:`~kafkaio.errors.RequestTimedOutError`: the stream cannot be resynchronised once a
  response is owed, and whether the broker processed those requests is unknown.
* **Versions.** ApiVersions is exchanged on connect (v3+ carries the client software name
  and version, KIP-511); each request goes out at the highest version both sides support,
  optionally capped by the user.
* **Throttling** (KIP-219): a response with ``throttle_time_ms > 0`` delays further sends.
* **Idle connections** (nothing in flight, no traffic for ``connections_max_idle_ms``) close.
* **Security seam.** ``security_protocol`` PLAINTEXT or SSL (with an ``ssl.SSLContext``);
  SASL plugs in as an :class:`Authenticator` run right after ApiVersions. TLS failures
  raise :class:`~kafkaio.errors.SslError`. Re-authentication (KIP-368) runs through
  :meth:`BrokerConnection.run_exclusive`: new requests of other tasks queue while the
  SASL exchange is on the wire; requests already in flight complete normally (the broker
  answers a connection's requests in order). SASL traffic does not count as activity for
  the idle timer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import ssl
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from kafkaio import __version__
from kafkaio.errors import (
    IncompatibleBrokerVersionError,
    KafkaConnectionError,
    KafkaError,
    ProtocolDecodeError,
    RequestTimedOutError,
    SslError,
    UnsupportedVersionError,
    for_code,
)
from kafkaio.net.framing import (
    CORRELATION_ID_OFFSET,
    DEFAULT_MAX_FRAME_SIZE,
    encode_request_frame,
    read_frame,
)
from kafkaio.net.throttle import client_throttles
from kafkaio.net.versions import BrokerApiVersions, VersionRange, negotiate_version
from kafkaio.protocol.api import Request, Response
from kafkaio.protocol.headers import decode_response_header
from kafkaio.protocol.messages import ApiVersionsRequest, ApiVersionsResponse

__all__ = [
    "Authenticator",
    "BrokerConnection",
    "CloseReason",
    "ConnectionConfig",
    "SecurityProtocol",
]

log = logging.getLogger("kafkaio.net")

CLIENT_SOFTWARE_NAME = "kafkaio"
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_UNSUPPORTED_VERSION = 35
# SaslHandshake and SaslAuthenticate: re-authentication traffic, not user activity.
_SASL_API_KEYS = frozenset({17, 36})
_T = TypeVar("_T")
# Above this many buffered bytes a writer waits for the socket to catch up; below it,
# writes just queue (a drain per small request would cost a loop iteration each).
_DRAIN_THRESHOLD = 256 * 1024


class SecurityProtocol(str, enum.Enum):
    """How bytes travel to the broker (``security.protocol`` in the Java client)."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def uses_tls(self) -> bool:
        """Whether the stream is wrapped in TLS."""
        return self in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)

    @property
    def uses_sasl(self) -> bool:
        """Whether a SASL exchange follows ApiVersions."""
        return self in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)


class CloseReason(enum.Enum):
    """Why a connection closed (passed to ``on_close`` callbacks)."""

    USER = "closed by its owner"
    IDLE = "idle for longer than connections_max_idle_ms"
    TIMEOUT = "a request timed out"
    CONNECTION_LOST = "the broker closed the connection or the network failed"
    PROTOCOL_ERROR = "the broker sent bytes that are not a valid response"
    SETUP_FAILED = "the connection could not be set up"

    @property
    def suggests_stale_metadata(self) -> bool:
        """Whether this closure hints that the broker moved or died (refresh metadata)."""
        return self in (
            CloseReason.TIMEOUT,
            CloseReason.CONNECTION_LOST,
            CloseReason.PROTOCOL_ERROR,
            CloseReason.SETUP_FAILED,
        )


class Authenticator(Protocol):
    """A step run on every new connection after ApiVersions, before it is handed out.

    SASL mechanisms implement this: they exchange SaslHandshake / SaslAuthenticate with
    ``connection.send`` and raise a :class:`~kafkaio.errors.KafkaError` on failure.
    """

    async def authenticate(self, connection: BrokerConnection) -> None:
        """Authenticate ``connection`` or raise."""
        ...


@dataclass(frozen=True)
class ConnectionConfig:
    """Settings of a :class:`BrokerConnection` (the cluster client builds one from its options)."""

    client_id: str | None = "kafkaio"
    request_timeout_ms: int = 40_000
    """Deadline of each request, from the moment it is written."""
    connect_timeout_ms: int | None = None
    """Deadline of TCP/TLS setup plus the ApiVersions exchange (default: request timeout)."""
    max_in_flight_requests_per_connection: int = 5
    connections_max_idle_ms: int | None = 540_000
    """Close after this long without traffic and nothing in flight; ``None`` disables."""
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    ssl_context: ssl.SSLContext | None = None
    """TLS settings for SSL / SASL_SSL (default: ``ssl.create_default_context()``)."""
    authenticator: Authenticator | None = None
    version_caps: Mapping[int, int] = field(default_factory=dict)
    """Highest version to use per API key (user caps); absent keys are uncapped."""
    max_response_size: int = DEFAULT_MAX_FRAME_SIZE
    client_software_version: str = __version__


@dataclass(eq=False)
class _Pending:
    correlation_id: int
    future: asyncio.Future[Response]
    request_type: type[Request]
    version: int
    header_version: int
    timeout_ms: int = 0
    timer: asyncio.TimerHandle | None = None


OnClose = Callable[["BrokerConnection", CloseReason], None]


class BrokerConnection:
    """A pipelined request/response connection to one broker.

    Create it, ``await connect()``, then ``await send(request)``. ``close()`` fails every
    pending request with :class:`~kafkaio.errors.KafkaConnectionError` (or the error that
    caused the closure) and runs the ``on_close`` callbacks once.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        config: ConnectionConfig | None = None,
        node_id: int | str | None = None,
        on_close: OnClose | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.node_id = node_id
        self.config = config or ConnectionConfig()
        self._on_close: list[OnClose] = [on_close] if on_close is not None else []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._in_flight: collections.deque[_Pending] = collections.deque()
        self._slots = asyncio.Semaphore(self.config.max_in_flight_requests_per_connection)
        self._correlation_id = 0
        self._connected = False
        self._closed = False
        self._close_reason: CloseReason | None = None
        self._close_error: KafkaError | None = None
        self._closed_event = asyncio.Event()
        self._throttle_until = 0.0
        self._last_activity = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._api_versions: BrokerApiVersions | None = None
        # While set, only _gate_owner may write requests (re-authentication in progress).
        self._gate: asyncio.Event | None = None
        self._gate_owner: asyncio.Task[object] | None = None

    # ------------------------------------------------------------------ properties

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self._connected else "new"
        return f"<BrokerConnection node={self.node_id} {self.host}:{self.port} {state}>"

    @property
    def description(self) -> str:
        """Human-readable peer description for messages and logs."""
        if self.node_id is None:
            return f"{self.host}:{self.port}"
        return f"node {self.node_id} ({self.host}:{self.port})"

    @property
    def connected(self) -> bool:
        """Set up (ApiVersions and authentication done) and not closed."""
        return self._connected and not self._closed

    @property
    def closed(self) -> bool:
        """Whether the connection has been closed (it is never reopened)."""
        return self._closed

    @property
    def close_reason(self) -> CloseReason | None:
        """Why the connection closed, once closed."""
        return self._close_reason

    @property
    def in_flight(self) -> int:
        """Number of requests written and awaiting a response."""
        return len(self._in_flight)

    @property
    def last_activity(self) -> float:
        """Loop time of the last write or read."""
        return self._last_activity

    @property
    def api_versions(self) -> BrokerApiVersions:
        """The broker's ApiVersions answer (available once connected)."""
        if self._api_versions is None:
            raise KafkaConnectionError(f"{self.description}: not connected yet")
        return self._api_versions

    def add_close_callback(self, callback: OnClose) -> None:
        """Run ``callback(connection, reason)`` when the connection closes (once)."""
        self._on_close.append(callback)

    def version_for(self, request_type: type[Request]) -> int:
        """Version at which ``request_type`` would be sent on this connection."""
        return negotiate_version(request_type, self._api_versions, self.config.version_caps)

    # ------------------------------------------------------------------ setup

    async def connect(self) -> None:
        """Open the stream, exchange ApiVersions and authenticate.

        Raises :class:`~kafkaio.errors.KafkaConnectionError` when the broker cannot be
        reached or answers the handshake with garbage, within ``connect_timeout_ms``.
        """
        if self._writer is not None or self._closed:
            raise KafkaConnectionError(f"{self.description}: connect() may only be called once")
        timeout_ms = self.config.connect_timeout_ms or self.config.request_timeout_ms
        try:
            await asyncio.wait_for(self._setup(), timeout_ms / 1000)
        except asyncio.TimeoutError:
            # Also covers a TCP connect that timed out in the OS (TimeoutError is an OSError).
            error = KafkaConnectionError(
                f"{self.description}: connection setup timed out after {timeout_ms} ms"
            )
            self.close(CloseReason.SETUP_FAILED, error)
            raise error from None
        except KafkaError as exc:
            self.close(CloseReason.SETUP_FAILED, _as_connection_error(exc, self))
            raise
        except asyncio.CancelledError:
            self.close(CloseReason.SETUP_FAILED)
            raise
        except ssl.SSLError as exc:
            tls_error = _ssl_error(exc, self)
            self.close(CloseReason.SETUP_FAILED, tls_error)
            raise tls_error from exc
        except (OSError, EOFError) as exc:
            error = KafkaConnectionError(f"{self.description}: cannot connect: {exc}")
            self.close(CloseReason.SETUP_FAILED, error)
            raise error from exc
        if self._closed:
            # The broker hung up right after the handshake.
            raise _fresh(self._close_error or KafkaConnectionError(f"{self.description}: closed"))
        self._connected = True
        self._schedule_idle_check()
        log.debug("connected to %s", self.description)

    async def _setup(self) -> None:
        await self._open_stream()
        await self._exchange_api_versions()
        if self.config.authenticator is not None:
            await self.config.authenticator.authenticate(self)

    async def _open_stream(self) -> None:
        ssl_ctx: ssl.SSLContext | None = None
        if self.config.security_protocol.uses_tls:
            ssl_ctx = self.config.ssl_context or ssl.create_default_context()
        reader, writer = await asyncio.open_connection(
            self.host,
            self.port,
            ssl=ssl_ctx,
            server_hostname=self.host if ssl_ctx is not None else None,
            limit=2**16,
        )
        self._reader, self._writer = reader, writer
        self._last_activity = asyncio.get_running_loop().time()
        self._reader_task = asyncio.get_running_loop().create_task(
            self._read_loop(reader), name=f"kafkaio-reader-{self.host}:{self.port}"
        )

    async def _exchange_api_versions(self) -> None:
        version = min(ApiVersionsRequest.MAX_VERSION, self.config.version_caps.get(18, 1 << 15))
        while True:
            request = ApiVersionsRequest(
                client_software_name=CLIENT_SOFTWARE_NAME,
                client_software_version=self.config.client_software_version,
            )
            response = await self._send(request, version)
            assert isinstance(response, ApiVersionsResponse)
            ranges = {
                entry.api_key: VersionRange(entry.min_version, entry.max_version)
                for entry in response.api_keys
            }
            if response.error_code == _UNSUPPORTED_VERSION and version > 0:
                # The broker does not know our ApiVersions version; it answered in v0 and
                # listed the ApiVersions range it does support (KIP-511).
                theirs = ranges.get(ApiVersionsRequest.API_KEY)
                retry = min(version - 1, theirs.max) if theirs is not None else 0
                log.debug(
                    "%s: ApiVersions v%d unsupported, retrying at v%d",
                    self.description,
                    version,
                    retry,
                )
                version = max(retry, 0)
                continue
            if response.error_code != 0:
                raise for_code(response.error_code)(
                    f"{self.description}: ApiVersions v{version} failed"
                )
            features = {
                f.name: f.max_version_level
                for f in (getattr(response, "finalized_features", None) or [])
            }
            self._api_versions = BrokerApiVersions(ranges, features, version)
            return

    # ------------------------------------------------------------------ sending

    async def send(
        self,
        request: Request,
        *,
        version: int | None = None,
        expect_response: bool | None = None,
        timeout_ms: int | None = None,
    ) -> Response | None:
        """Send ``request`` and return its response (``None`` when none is expected).

        The version is negotiated unless given. A Produce request with ``acks=0`` gets no
        response from the broker; then (or with ``expect_response=False``) the call
        returns once the request is handed to the socket. ``timeout_ms`` replaces
        ``request_timeout_ms`` for this request (for requests the broker may hold longer,
        such as JoinGroup during a rebalance).

        Raises :class:`~kafkaio.errors.RequestTimedOutError` when no response arrives in
        ``request_timeout_ms`` (the connection is closed), :class:`KafkaConnectionError`
        when the connection is or becomes closed, and
        :class:`~kafkaio.errors.IncompatibleBrokerVersionError` /
        :class:`~kafkaio.errors.UnsupportedVersionError` before writing anything when the
        request cannot be expressed at a version the broker supports.
        """
        if self._api_versions is None:
            # Before ApiVersions completes, only the handshake itself may send.
            raise KafkaConnectionError(f"{self.description}: not connected")
        request_type = type(request)
        if version is None:
            version = self.version_for(request_type)
        else:
            supported = self.api_versions.get(request_type.API_KEY)
            if supported is None or not supported.min <= version <= supported.max:
                raise UnsupportedVersionError(
                    f"{request_type.API_NAME} v{version} is not supported by {self.description}"
                )
        if expect_response is None:
            expect_response = _expects_response(request)
        if timeout_ms is not None and timeout_ms <= 0:
            raise ValueError(f"timeout_ms must be positive, got {timeout_ms}")
        return await self._send(request, version, expect_response, timeout_ms)

    async def _send(
        self,
        request: Request,
        version: int,
        expect_response: bool = True,
        timeout_ms: int | None = None,
    ) -> Response | None:
        self._check_open()
        # Encode before taking a slot: an unencodable request fails alone, nothing written.
        frame = encode_request_frame(request, version, 0, self.config.client_id)
        loop = asyncio.get_running_loop()
        while True:
            while self._gate_closed_for_caller():
                assert self._gate is not None
                await self._gate.wait()
                self._check_open()
            delay = self._throttle_until - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self._slots.acquire()
            try:
                self._check_open()
            except BaseException:
                self._slots.release()
                raise
            if not self._gate_closed_for_caller():
                break
            # A re-authentication started while we waited: nothing may be written between
            # its SASL requests, so queue again (no await from here to the write).
            self._slots.release()
        correlation_id = self._next_correlation_id()
        _INT32.pack_into(frame, CORRELATION_ID_OFFSET, correlation_id)
        request_type = type(request)
        pending: _Pending | None = None
        if expect_response:
            response_type = request_type.RESPONSE_TYPE
            pending = _Pending(
                correlation_id,
                loop.create_future(),
                request_type,
                version,
                response_type.header_version(version),
            )
            pending.timeout_ms = timeout_ms or self.config.request_timeout_ms
            pending.timer = loop.call_later(pending.timeout_ms / 1000, self._on_timeout, pending)
            self._in_flight.append(pending)
        writer = self._writer
        assert writer is not None
        writer.write(frame)
        if request_type.API_KEY not in _SASL_API_KEYS:
            self._last_activity = loop.time()
        if pending is None:
            self._slots.release()
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "-> %s %s v%d corr=%d (%d bytes)",
                self.description,
                request_type.API_NAME,
                version,
                correlation_id,
                len(frame),
            )
        transport = writer.transport
        if transport.get_write_buffer_size() > _DRAIN_THRESHOLD:
            try:
                await writer.drain()
            except (ConnectionError, OSError) as exc:
                error = KafkaConnectionError(f"{self.description}: write failed: {exc}")
                self.close(CloseReason.CONNECTION_LOST, error)
                if pending is None:
                    raise error from exc
        if pending is None:
            return None
        return await pending.future

    def _next_correlation_id(self) -> int:
        self._correlation_id = (self._correlation_id + 1) & 0x7FFFFFFF
        return self._correlation_id

    def _gate_closed_for_caller(self) -> bool:
        return self._gate is not None and asyncio.current_task() is not self._gate_owner

    async def run_exclusive(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Await ``operation()`` with the connection reserved for the calling task.

        Requests other tasks send meanwhile wait (unwritten) until it finishes; requests
        already in flight complete normally. Used for SASL re-authentication (KIP-368),
        during which the broker accepts nothing but the SASL exchange.
        """
        while self._gate is not None:
            await self._gate.wait()
        self._check_open()
        gate = asyncio.Event()
        self._gate, self._gate_owner = gate, asyncio.current_task()
        try:
            return await operation()
        finally:
            self._gate, self._gate_owner = None, None
            gate.set()

    def _check_open(self) -> None:
        if self._closed:
            reason = self._close_reason.value if self._close_reason else "closed"
            raise KafkaConnectionError(f"{self.description}: connection closed ({reason})")

    # ------------------------------------------------------------------ receiving

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                payload = await read_frame(reader, self.config.max_response_size)
                oldest = self._in_flight[0] if self._in_flight else None
                if oldest is None or oldest.request_type.API_KEY not in _SASL_API_KEYS:
                    self._last_activity = loop.time()
                self._handle_frame(payload)
                if self._closed:
                    return
        except asyncio.IncompleteReadError as exc:
            where = "in the middle of a response" if exc.partial else "between responses"
            if self._in_flight and not exc.partial:
                where = "before answering"
            self.close(
                CloseReason.CONNECTION_LOST,
                KafkaConnectionError(
                    f"{self.description}: connection closed by the broker {where}"
                ),
            )
        except ProtocolDecodeError as exc:
            self.close(
                CloseReason.PROTOCOL_ERROR,
                KafkaConnectionError(f"{self.description}: invalid data from the broker: {exc}"),
            )
        except ssl.SSLError as exc:
            error: KafkaError
            if self._connected:
                error = KafkaConnectionError(f"{self.description}: TLS error: {exc}")
            else:
                # E.g. TLS 1.3: the broker rejects our client certificate after the handshake.
                error = _ssl_error(exc, self)
            self.close(CloseReason.CONNECTION_LOST, error)
        except (ConnectionError, OSError) as exc:
            self.close(
                CloseReason.CONNECTION_LOST,
                KafkaConnectionError(f"{self.description}: connection lost: {exc}"),
            )
        except Exception as exc:
            # A bug must not leave requests hanging until their timeouts.
            log.exception("reader of %s failed", self.description)
            self.close(
                CloseReason.PROTOCOL_ERROR,
                KafkaConnectionError(f"{self.description}: reader failed: {exc!r}"),
            )

    def _handle_frame(self, payload: bytes) -> None:
        if not self._in_flight:
            raise ProtocolDecodeError("received a response while no request was in flight")
        pending = self._in_flight[0]
        correlation_id, offset = decode_response_header(payload, pending.header_version)
        if correlation_id != pending.correlation_id:
            raise ProtocolDecodeError(
                f"correlation id mismatch: expected {pending.correlation_id}, got {correlation_id}"
            )
        self._in_flight.popleft()
        self._finish(pending)
        body = memoryview(payload)[offset:]
        response_type = pending.request_type.RESPONSE_TYPE
        try:
            response = _decode_response(response_type, body, pending.version)
        except ProtocolDecodeError as exc:
            if not pending.future.done():
                pending.future.set_exception(
                    ProtocolDecodeError(
                        f"{self.description}: cannot decode {response_type.API_NAME}"
                        f" v{pending.version}: {exc}"
                    )
                )
            raise
        throttle_ms = getattr(response, "throttle_time_ms", 0)
        if throttle_ms and throttle_ms > 0 and client_throttles(response.API_KEY, pending.version):
            until = asyncio.get_running_loop().time() + throttle_ms / 1000
            self._throttle_until = max(self._throttle_until, until)
            log.info("%s throttled this client for %d ms", self.description, throttle_ms)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "<- %s %s v%d corr=%d",
                self.description,
                response_type.API_NAME,
                pending.version,
                correlation_id,
            )
        if not pending.future.done():
            pending.future.set_result(response)

    def _finish(self, pending: _Pending) -> None:
        if pending.timer is not None:
            pending.timer.cancel()
            pending.timer = None
        self._slots.release()

    def _on_timeout(self, pending: _Pending) -> None:
        if self._closed or pending not in self._in_flight:
            return
        ms = pending.timeout_ms
        log.warning(
            "%s: %s v%d (correlation id %d) got no response in %d ms; closing the connection",
            self.description,
            pending.request_type.API_NAME,
            pending.version,
            pending.correlation_id,
            ms,
        )
        self.close(
            CloseReason.TIMEOUT,
            RequestTimedOutError(
                f"{self.description}: {pending.request_type.API_NAME} v{pending.version}"
                f" got no response within {ms} ms"
            ),
        )

    # ------------------------------------------------------------------ idle reaping

    def _schedule_idle_check(self) -> None:
        idle_ms = self.config.connections_max_idle_ms
        if idle_ms is None or self._closed:
            return
        loop = asyncio.get_running_loop()
        due = self._last_activity + idle_ms / 1000
        self._idle_timer = loop.call_at(max(due, loop.time()), self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        idle_ms = self.config.connections_max_idle_ms
        if self._closed or idle_ms is None:
            return
        loop = asyncio.get_running_loop()
        if not self._in_flight and loop.time() - self._last_activity >= idle_ms / 1000:
            log.debug("%s idle for %d ms; closing", self.description, idle_ms)
            self.close(CloseReason.IDLE)
            return
        if self._in_flight:
            # Activity is pending; look again one idle period from now.
            self._idle_timer = loop.call_later(idle_ms / 1000, self._check_idle)
        else:
            self._schedule_idle_check()

    # ------------------------------------------------------------------ closing

    def close(
        self, reason: CloseReason = CloseReason.USER, error: KafkaError | None = None
    ) -> None:
        """Close now: fail every pending request, then run the close callbacks once.

        Pending requests fail with ``error`` (default: a :class:`KafkaConnectionError`
        naming the reason). Safe to call more than once.
        """
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason
        if error is None:
            error = KafkaConnectionError(f"{self.description}: connection closed ({reason.value})")
        self._close_error = error
        if reason in (CloseReason.USER, CloseReason.IDLE, CloseReason.SETUP_FAILED):
            # Setup failures are raised to the caller, who decides how loud to be.
            log.debug("closing connection to %s: %s", self.description, error)
        else:
            log.info("closing connection to %s: %s", self.description, error)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._gate is not None:
            # Requests queued behind a re-authentication now fail in _check_open.
            self._gate.set()
        in_flight, self._in_flight = self._in_flight, collections.deque()
        for pending in in_flight:
            self._finish(pending)
            if not pending.future.done():
                pending.future.set_exception(_fresh(error))
                # Nobody may be awaiting (caller cancelled); don't log "never retrieved".
                pending.future.exception()
        if self._writer is not None:
            self._writer.close()
        task = self._reader_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
        self._closed_event.set()
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            try:
                callback(self, reason)
            except Exception:
                log.exception("on_close callback of %s failed", self.description)

    async def wait_closed(self) -> None:
        """Wait until the connection is closed and its socket released."""
        await self._closed_event.wait()
        task = self._reader_task
        if task is not None and not task.done():
            await asyncio.gather(task, return_exceptions=True)
        if self._writer is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()

    async def aclose(self) -> None:
        """Close (reason USER) and wait for the socket to be released."""
        self.close(CloseReason.USER)
        await self.wait_closed()


def _expects_response(request: Request) -> bool:
    # Produce with acks=0: the broker never answers, so nothing may wait in the FIFO.
    return not (request.API_KEY == 0 and getattr(request, "acks", -1) == 0)


def _decode_response(response_type: type[Response], body: memoryview, version: int) -> Response:
    if response_type.API_KEY == ApiVersionsResponse.API_KEY and version > 0 and len(body) >= 2:
        # A broker that does not support our ApiVersions version answers in v0 with
        # UNSUPPORTED_VERSION, whatever version we asked in.
        (error_code,) = _INT16.unpack_from(body, 0)
        if error_code == _UNSUPPORTED_VERSION:
            return response_type.decode(body, 0)
    return response_type.decode(body, version)


def _fresh(error: KafkaError) -> KafkaError:
    """A new exception of the same type and message (one instance per failed future)."""
    try:
        clone = type(error)(*error.args)
    except Exception:
        return error
    clone.__cause__ = error.__cause__
    return clone


def _ssl_error(exc: ssl.SSLError, conn: BrokerConnection) -> SslError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = str(exc.verify_message or exc.reason)
        cause = f"the broker's certificate was rejected: {detail}"
        if "mismatch" not in detail:
            cause += " (is option 'ssl_cafile' the CA that signed it?)"
    else:
        cause = str(exc.reason or exc)
        if "ALERT" in cause and "CERTIFICATE" in cause:
            cause += " (the broker refused our client certificate or its absence)"
    return SslError(f"{conn.description}: TLS handshake failed: {cause}")


def _as_connection_error(exc: KafkaError, conn: BrokerConnection) -> KafkaError:
    if isinstance(exc, (KafkaConnectionError, IncompatibleBrokerVersionError)):
        return exc
    return KafkaConnectionError(f"{conn.description}: connection setup failed: {exc}")
