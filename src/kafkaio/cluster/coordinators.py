"""Finding and caching group / transaction / share coordinators (FindCoordinator).

Lookups for the same coordination type made in the same event-loop iteration are batched
into one FindCoordinator request when the broker supports ``coordinator_keys`` (v4+,
KIP-699); older brokers get one request per key. Concurrent lookups of the same key share
one request. Results are cached until :meth:`CoordinatorDirectory.invalidate` is called
(on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE, or when the coordinator's connection
breaks).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable

from kafkaio.cluster.metadata import BrokerMetadata, ClusterMetadata
from kafkaio.errors import KafkaError, for_code
from kafkaio.net.connection import BrokerConnection
from kafkaio.protocol.messages import FindCoordinatorRequest, FindCoordinatorResponse

__all__ = ["CoordinationType", "CoordinatorDirectory"]

log = logging.getLogger("kafkaio.cluster")

_BATCH_MIN_VERSION = 4


class CoordinationType(enum.IntEnum):
    """What a coordinator coordinates (FindCoordinator ``key_type``)."""

    GROUP = 0
    """A consumer group (key: group id)."""
    TRANSACTION = 1
    """A transactional producer (key: transactional id)."""
    SHARE = 2
    """A share-group partition's state (key: ``"group:topic_id:partition"``)."""


_Key = tuple[CoordinationType, str]


class CoordinatorDirectory:
    """Cache of coordinator node ids, filled by batched FindCoordinator lookups."""

    def __init__(
        self,
        metadata: ClusterMetadata,
        any_connection: Callable[[], Awaitable[BrokerConnection]],
    ) -> None:
        self._metadata = metadata
        self._any_connection = any_connection
        self._cache: dict[_Key, int] = {}
        self._inflight: dict[_Key, asyncio.Future[int]] = {}
        self._queued: dict[CoordinationType, dict[str, asyncio.Future[int]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def cached(self, kind: CoordinationType, key: str) -> int | None:
        """The cached coordinator of ``key``, if any."""
        return self._cache.get((kind, key))

    def invalidate(self, kind: CoordinationType, key: str) -> None:
        """Forget the coordinator of ``key`` (it moved or is unavailable)."""
        if self._cache.pop((kind, key), None) is not None:
            log.debug("forgot the %s coordinator of %r", kind.name, key)

    def invalidate_node(self, node_id: int) -> None:
        """Forget every coordinator hosted on ``node_id``."""
        for k in [k for k, node in self._cache.items() if node == node_id]:
            del self._cache[k]

    async def lookup(self, kind: CoordinationType, key: str) -> int:
        """Node id of the coordinator of ``key``; raises the broker's error by code."""
        cached = self._cache.get((kind, key))
        if cached is not None:
            return cached
        return await asyncio.shield(self._future_for(kind, key))

    async def lookup_many(
        self, kind: CoordinationType, keys: Iterable[str]
    ) -> dict[str, int | KafkaError]:
        """Coordinators of several keys at once; per-key errors are returned, not raised."""
        keys = list(dict.fromkeys(keys))
        futures = {
            key: self._future_for(kind, key) for key in keys if (kind, key) not in self._cache
        }
        results: dict[str, int | KafkaError] = {}
        for key in keys:
            fut = futures.get(key)
            if fut is None:
                results[key] = self._cache[(kind, key)]
                continue
            try:
                results[key] = await asyncio.shield(fut)
            except KafkaError as exc:
                results[key] = exc
        return results

    def _future_for(self, kind: CoordinationType, key: str) -> asyncio.Future[int]:
        fut = self._inflight.get((kind, key))
        if fut is not None:
            return fut
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._inflight[(kind, key)] = fut
        queue = self._queued.get(kind)
        if queue is None:
            queue = self._queued[kind] = {}
            # Flush on the next loop iteration so lookups made together share a request.
            loop.call_soon(self._flush, kind)
        queue[key] = fut
        return fut

    def _flush(self, kind: CoordinationType) -> None:
        queue = self._queued.pop(kind, {})
        if not queue:
            return
        task = asyncio.get_running_loop().create_task(self._run(kind, queue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, kind: CoordinationType, queue: dict[str, asyncio.Future[int]]) -> None:
        try:
            conn = await self._any_connection()
            version = conn.version_for(FindCoordinatorRequest)
            if version >= _BATCH_MIN_VERSION:
                await self._send_batch(conn, version, kind, queue)
            else:
                await asyncio.gather(
                    *(self._send_single(conn, version, kind, k, f) for k, f in queue.items())
                )
        except KafkaError as exc:
            for key, fut in queue.items():
                self._resolve(kind, key, fut, error=exc)
        except BaseException as exc:
            for key, fut in queue.items():
                self._resolve(
                    kind, key, fut, error=KafkaError(f"coordinator lookup failed: {exc!r}")
                )
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _send_batch(
        self,
        conn: BrokerConnection,
        version: int,
        kind: CoordinationType,
        queue: dict[str, asyncio.Future[int]],
    ) -> None:
        request = FindCoordinatorRequest(key_type=int(kind), coordinator_keys=list(queue))
        response = await conn.send(request, version=version)
        assert isinstance(response, FindCoordinatorResponse)
        seen: set[str] = set()
        for c in response.coordinators:
            fut = queue.get(c.key)
            if fut is None:
                continue
            seen.add(c.key)
            if c.error_code:
                self._resolve(
                    kind, c.key, fut, error=for_code(c.error_code)(c.error_message or None)
                )
            else:
                self._record(kind, c.key, c.node_id, c.host, c.port)
                self._resolve(kind, c.key, fut, node_id=c.node_id)
        for key, fut in queue.items():
            if key not in seen:
                self._resolve(
                    kind,
                    key,
                    fut,
                    error=KafkaError(f"FindCoordinator response omitted key {key!r}"),
                )

    async def _send_single(
        self,
        conn: BrokerConnection,
        version: int,
        kind: CoordinationType,
        key: str,
        fut: asyncio.Future[int],
    ) -> None:
        if kind is not CoordinationType.GROUP and version < 1:
            self._resolve(
                kind,
                key,
                fut,
                error=KafkaError(f"the broker cannot look up {kind.name} coordinators"),
            )
            return
        request = FindCoordinatorRequest(key=key, key_type=int(kind))
        try:
            response = await conn.send(request, version=version)
        except KafkaError as exc:
            self._resolve(kind, key, fut, error=exc)
            return
        assert isinstance(response, FindCoordinatorResponse)
        if response.error_code:
            self._resolve(
                kind, key, fut, error=for_code(response.error_code)(response.error_message or None)
            )
            return
        self._record(kind, key, response.node_id, response.host, response.port)
        self._resolve(kind, key, fut, node_id=response.node_id)

    def _record(self, kind: CoordinationType, key: str, node_id: int, host: str, port: int) -> None:
        self._cache[(kind, key)] = node_id
        self._metadata.add_coordinator_broker(BrokerMetadata(node_id, host, port))
        log.debug("%s coordinator of %r is node %d (%s:%d)", kind.name, key, node_id, host, port)

    def _resolve(
        self,
        kind: CoordinationType,
        key: str,
        fut: asyncio.Future[int],
        *,
        node_id: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        if self._inflight.get((kind, key)) is fut:
            del self._inflight[(kind, key)]
        if fut.done():
            return
        if error is not None:
            fut.set_exception(error)
            fut.exception()  # a batch member may have no awaiter left; don't warn
        else:
            assert node_id is not None
            fut.set_result(node_id)

    async def close(self) -> None:
        """Cancel lookups in progress."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
