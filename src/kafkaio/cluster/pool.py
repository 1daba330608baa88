"""Connections of the cluster client, one per ``(node_id, ConnectionGroup)``.

Opening a connection is guarded by a lock per key, never by one global lock: a broker
that is slow to accept (or black-holes SYNs) must not delay connections to the others.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Iterator

from kafkaio.errors import KafkaError
from kafkaio.net.connection import BrokerConnection, CloseReason, ConnectionConfig

__all__ = ["BOOTSTRAP_NODE", "ConnectionGroup", "ConnectionPool", "NodeKey"]

log = logging.getLogger("kafkaio.cluster")

BOOTSTRAP_NODE = "bootstrap"
"""Node id under which the bootstrap connection is pooled until brokers are known."""

NodeKey = int | str


class ConnectionGroup(enum.IntEnum):
    """Role of a connection: coordinator traffic never queues behind fetches."""

    DEFAULT = 0
    """Produce, fetch, metadata, admin requests."""
    COORDINATION = 1
    """Group and transaction coordinator requests (heartbeats, commits, ...)."""


_Key = tuple[NodeKey, ConnectionGroup]
OnPoolClose = Callable[[NodeKey, ConnectionGroup, BrokerConnection, CloseReason], None]


class ConnectionPool:
    """Live connections keyed by ``(node_id, group)``, opened on demand."""

    def __init__(self, config: ConnectionConfig, on_close: OnPoolClose) -> None:
        self.config = config
        self._on_close = on_close
        self._conns: dict[_Key, BrokerConnection] = {}
        self._locks: dict[_Key, asyncio.Lock] = {}
        self.last_errors: dict[_Key, KafkaError] = {}
        """The last connect failure per key (cleared on success)."""

    def get(
        self, node_id: NodeKey, group: ConnectionGroup = ConnectionGroup.DEFAULT
    ) -> BrokerConnection | None:
        """The live connection for the key, if any."""
        conn = self._conns.get((node_id, group))
        if conn is not None and conn.connected:
            return conn
        return None

    def __iter__(self) -> Iterator[tuple[_Key, BrokerConnection]]:
        return iter(list(self._conns.items()))

    def __len__(self) -> int:
        return len(self._conns)

    def adopt(self, node_id: NodeKey, group: ConnectionGroup, conn: BrokerConnection) -> None:
        """Pool an already connected connection (the bootstrap connection)."""
        old = self._conns.get((node_id, group))
        if old is not None and old is not conn:
            old.close()
        self._conns[(node_id, group)] = conn
        self._watch(node_id, group, conn)

    async def get_or_open(
        self, node_id: NodeKey, group: ConnectionGroup, host: str, port: int
    ) -> BrokerConnection:
        """The live connection for the key, opening it under the key's lock if needed.

        Raises the connect error (a :class:`~kafkaio.errors.KafkaError`).
        """
        key = (node_id, group)
        conn = self.get(node_id, group)
        if conn is not None:
            return conn
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            # Another caller may have connected while we waited for the lock.
            conn = self.get(node_id, group)
            if conn is not None:
                return conn
            conn = BrokerConnection(host, port, config=self.config, node_id=node_id)
            try:
                await conn.connect()
            except KafkaError as exc:
                self.last_errors[key] = exc
                raise
            self.last_errors.pop(key, None)
            self._conns[key] = conn
            self._watch(node_id, group, conn)
            return conn

    def _watch(self, node_id: NodeKey, group: ConnectionGroup, conn: BrokerConnection) -> None:
        def closed(c: BrokerConnection, reason: CloseReason) -> None:
            if self._conns.get((node_id, group)) is c:
                del self._conns[(node_id, group)]
            self._on_close(node_id, group, c, reason)

        conn.add_close_callback(closed)

    def close_node(self, node_id: NodeKey, reason: CloseReason = CloseReason.USER) -> None:
        """Close every connection to ``node_id``."""
        for (node, _group), conn in list(self._conns.items()):
            if node == node_id:
                conn.close(reason)

    async def close_all(self) -> None:
        """Close every connection and wait for the sockets to be released."""
        conns = list(self._conns.values())
        for conn in conns:
            conn.close(CloseReason.USER)
        if conns:
            await asyncio.gather(*(c.wait_closed() for c in conns), return_exceptions=True)
        self._conns.clear()
