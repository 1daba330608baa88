"""The cluster client: one view of the cluster for the producer, consumer and admin client.

Request flow: ``send(node, request)`` -> get or open the pooled connection for
``(node, group)`` from the broker's host/port in metadata -> write the request (at the
negotiated version) -> await the response. A timeout closes the connection; a closed or
broken connection forces a metadata refresh (a leader may have moved), and the next
request re-opens it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kafkaio.cluster.coordinators import CoordinationType, CoordinatorDirectory
from kafkaio.cluster.metadata import ClusterMetadata, TopicPartition
from kafkaio.cluster.options import ClusterOptions
from kafkaio.cluster.pool import BOOTSTRAP_NODE, ConnectionGroup, ConnectionPool, NodeKey
from kafkaio.cluster.sync import MetadataSynchronizer
from kafkaio.errors import (
    AuthenticationError,
    CoordinatorNotAvailableError,
    IllegalStateError,
    InvalidTopicError,
    KafkaConnectionError,
    KafkaError,
    NodeNotReadyError,
    NotCoordinatorError,
    StaleMetadataError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from kafkaio.net.connection import (
    Authenticator,
    BrokerConnection,
    CloseReason,
    ConnectionConfig,
)
from kafkaio.net.releases import ReleaseTuple, infer_release
from kafkaio.net.sasl import TokenProvider
from kafkaio.net.versions import BrokerApiVersions
from kafkaio.protocol.api import Request, Response, RoutingKind
from kafkaio.protocol.messages import MetadataRequest, MetadataResponse
from kafkaio.protocol.messages.metadata import MetadataRequestTopic

__all__ = ["ClusterClient"]

log = logging.getLogger("kafkaio.cluster")

_COORDINATOR_ROUTING = {
    RoutingKind.GROUP_COORDINATOR: CoordinationType.GROUP,
    RoutingKind.TRANSACTION_COORDINATOR: CoordinationType.TRANSACTION,
    RoutingKind.SHARE_COORDINATOR: CoordinationType.SHARE,
}
_COORDINATOR_KEY_FIELDS = {
    CoordinationType.GROUP: ("group_id",),
    CoordinationType.TRANSACTION: ("transactional_id",),
    CoordinationType.SHARE: (),
}
_COORDINATOR_MOVED = (NotCoordinatorError.errno, CoordinatorNotAvailableError.errno)


class ClusterClient:
    """An asyncio client for a Kafka cluster: metadata, pooled connections, routing.

    Typical use::

        async with ClusterClient(bootstrap_servers="localhost:9092") as client:
            partitions = await client.partitions_for("my-topic")
            leader = client.leader_for(TopicPartition("my-topic", 0))
            response = await client.send(leader, request)

    Options are validated at construction (see :class:`ClusterOptions` for their
    meaning): unknown names and wrong types raise :class:`TypeError`, bad values
    :class:`ValueError`, both naming the option.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str | Sequence[str] = "localhost",
        client_id: str | None = "kafkaio",
        metadata_max_age_ms: int = 300_000,
        request_timeout_ms: int = 40_000,
        retry_backoff_ms: int = 100,
        retry_backoff_max_ms: int = 1_000,
        socket_connection_setup_timeout_ms: int = 10_000,
        connections_max_idle_ms: int = 540_000,
        max_in_flight_requests_per_connection: int = 5,
        api_version: str | tuple[int, ...] = "auto",
        api_version_caps: Mapping[str | int, int] | None = None,
        security_protocol: str = "PLAINTEXT",
        ssl_context: ssl.SSLContext | None = None,
        ssl_cafile: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_password: str | None = None,
        ssl_check_hostname: bool = True,
        ssl_crlfile: str | None = None,
        sasl_mechanism: str = "PLAIN",
        sasl_plain_username: str | None = None,
        sasl_plain_password: str | None = None,
        sasl_oauth_token_provider: TokenProvider | None = None,
        authenticator: Authenticator | None = None,
        allow_auto_create_topics: bool = True,
    ) -> None:
        options = ClusterOptions(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            metadata_max_age_ms=metadata_max_age_ms,
            request_timeout_ms=request_timeout_ms,
            retry_backoff_ms=retry_backoff_ms,
            retry_backoff_max_ms=retry_backoff_max_ms,
            socket_connection_setup_timeout_ms=socket_connection_setup_timeout_ms,
            connections_max_idle_ms=connections_max_idle_ms,
            max_in_flight_requests_per_connection=max_in_flight_requests_per_connection,
            api_version=api_version,
            api_version_caps=api_version_caps,
            security_protocol=security_protocol,
            ssl_context=ssl_context,
            ssl_cafile=ssl_cafile,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            ssl_password=ssl_password,
            ssl_check_hostname=ssl_check_hostname,
            ssl_crlfile=ssl_crlfile,
            sasl_mechanism=sasl_mechanism,
            sasl_plain_username=sasl_plain_username,
            sasl_plain_password=sasl_plain_password,
            sasl_oauth_token_provider=sasl_oauth_token_provider,
            authenticator=authenticator,
            allow_auto_create_topics=allow_auto_create_topics,
        )
        self._init(options)

    @classmethod
    def from_options(cls, options: ClusterOptions | Mapping[str, Any]) -> ClusterClient:
        """Build from :class:`ClusterOptions` or a mapping of option names (validated)."""
        if not isinstance(options, ClusterOptions):
            options = ClusterOptions.from_mapping(options)
        self = cls.__new__(cls)
        self._init(options)
        return self

    def _init(self, options: ClusterOptions) -> None:
        self._options = options
        self._addresses = options.addresses
        idle = options.connections_max_idle_ms
        ssl_context, authenticator = options.connection_security()
        self._conn_config = ConnectionConfig(
            client_id=options.client_id,
            request_timeout_ms=options.request_timeout_ms,
            connect_timeout_ms=options.socket_connection_setup_timeout_ms,
            max_in_flight_requests_per_connection=options.max_in_flight_requests_per_connection,
            connections_max_idle_ms=None if idle < 0 else idle,
            security_protocol=options.protocol,
            ssl_context=ssl_context,
            authenticator=authenticator,
            version_caps=options.version_caps(),
        )
        self._cluster = ClusterMetadata()
        self._pool = ConnectionPool(self._conn_config, self._on_connection_closed)
        self._coordinators = CoordinatorDirectory(self._cluster, self._any_connection)
        self._topics: set[str] = set()
        self._all_topics = False
        self._topics_version = 0
        self._sync = MetadataSynchronizer(
            self._metadata_update,
            lambda: self._topics_version,
            max_age_ms=options.metadata_max_age_ms,
            retry_backoff_ms=options.retry_backoff_ms,
            retry_backoff_max_ms=options.retry_backoff_max_ms,
        )
        self._api_version: ReleaseTuple | None = options.api_release
        self._bootstrapped = False
        self._bootstrap_lock = asyncio.Lock()
        self._closed = False

    # ------------------------------------------------------------------ properties

    @property
    def options(self) -> ClusterOptions:
        """The validated options."""
        return self._options

    @property
    def cluster(self) -> ClusterMetadata:
        """The current cluster metadata."""
        return self._cluster

    @property
    def api_version(self) -> ReleaseTuple | None:
        """The broker release in use: configured, or detected by :meth:`bootstrap`."""
        return self._api_version

    @property
    def topics(self) -> frozenset[str]:
        """Topics whose metadata is kept up to date."""
        return frozenset(self._topics)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        return f"<ClusterClient bootstrap={self._addresses} {self._cluster!r}>"

    # ------------------------------------------------------------------ lifecycle

    async def bootstrap(self) -> None:
        """Connect to the first reachable bootstrap address and load metadata.

        Detects the broker release when ``api_version="auto"`` and starts the background
        metadata synchronizer. Raises :class:`~kafkaio.errors.KafkaConnectionError`
        ("Unable to bootstrap from ...") when no address answers, and
        :class:`~kafkaio.errors.UnrecognizedBrokerVersionError` when the broker's
        release cannot be determined.
        """
        self._check_open()
        async with self._bootstrap_lock:
            if not self._bootstrapped:
                await self._bootstrap()

    async def _bootstrap(self) -> None:
        failures: list[str] = []
        for host, port in self._addresses:
            try:
                conn, response = await self._bootstrap_from(host, port)
            except AuthenticationError:
                # Wrong credentials or untrusted TLS fail alike on every broker: say so now.
                raise
            except KafkaError as exc:
                log.info("bootstrap from %s:%d failed: %s", host, port, exc)
                failures.append(f"{_fmt(host, port)}: {exc}")
                continue
            break
        else:
            addresses = ", ".join(_fmt(h, p) for h, p in self._addresses)
            raise KafkaConnectionError(
                f"Unable to bootstrap from [{addresses}]: " + "; ".join(failures)
            )
        try:
            if self._options.api_release is None:
                self._api_version = infer_release(conn.api_versions.max_versions())
                log.info("detected broker release %s", ".".join(map(str, self._api_version)))
        except KafkaError:
            conn.close()
            raise
        self._cluster.update(response)
        if self._cluster.brokers():
            conn.close()
        else:
            # No broker is known yet: keep talking through the bootstrap connection.
            self._pool.adopt(BOOTSTRAP_NODE, ConnectionGroup.DEFAULT, conn)
        self._bootstrapped = True
        self._sync.start()

    async def _bootstrap_from(
        self, host: str, port: int
    ) -> tuple[BrokerConnection, MetadataResponse]:
        conn = BrokerConnection(host, port, config=self._conn_config, node_id=BOOTSTRAP_NODE)
        await conn.connect()
        try:
            response = await conn.send(self._metadata_request(conn))
            if not isinstance(response, MetadataResponse):
                raise KafkaError(f"unexpected answer to Metadata: {type(response).__name__}")
            if response.error_code:
                raise _error(response.error_code, "Metadata")
        except BaseException:
            conn.close()
            raise
        return conn, response

    async def close(self) -> None:
        """Stop the synchronizer and close every connection (pending requests fail)."""
        if self._closed:
            return
        self._closed = True
        await self._sync.stop()
        await self._coordinators.close()
        await self._pool.close_all()

    async def __aenter__(self) -> ClusterClient:
        await self.bootstrap()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise IllegalStateError("the ClusterClient is closed")

    # ------------------------------------------------------------------ topics & metadata

    def add_topic(self, topic: str) -> asyncio.Future[bool]:
        """Track ``topic``; returns a future resolving once metadata includes it (if new)."""
        if topic in self._topics:
            return _done(True)
        self._topics.add(topic)
        self._topics_version += 1
        return self.force_metadata_update()

    def set_topics(self, topics: Iterable[str]) -> asyncio.Future[bool]:
        """Track exactly ``topics``; refreshes metadata when that adds a topic."""
        new = set(topics)
        if new == self._topics:
            return _done(True)
        added = bool(new - self._topics)
        self._topics = new
        self._topics_version += 1
        if added:
            return self.force_metadata_update()
        return _done(True)

    def track_all_topics(self, enabled: bool = True) -> asyncio.Future[bool]:
        """Keep metadata for every topic of the cluster (pattern subscriptions)."""
        if enabled == self._all_topics:
            return _done(True)
        self._all_topics = enabled
        self._topics_version += 1
        return self.force_metadata_update()

    def force_metadata_update(self) -> asyncio.Future[bool]:
        """Refresh metadata now; the shielded future resolves ``True`` on success."""
        self._check_open()
        return self._sync.force()

    async def fetch_all_metadata(self) -> ClusterMetadata:
        """Metadata of every topic, as a new :class:`ClusterMetadata` (the cache is untouched)."""
        conn = await self._any_connection()
        version = conn.version_for(MetadataRequest)
        request = MetadataRequest(
            topics=None if version >= 1 else [],
            # The field exists from v4; below it, True is the only value the wire can carry.
            allow_auto_topic_creation=version < 4,
        )
        response = await conn.send(request, version=version)
        assert isinstance(response, MetadataResponse)
        if response.error_code:
            raise _error(response.error_code, "Metadata")
        snapshot = ClusterMetadata()
        snapshot.update(response)
        return snapshot

    def _metadata_request(self, conn: BrokerConnection) -> MetadataRequest:
        version = conn.version_for(MetadataRequest)
        topics: list[MetadataRequestTopic] | None
        if self._all_topics:
            topics = None if version >= 1 else []
        else:
            topics = [MetadataRequestTopic(name=t) for t in sorted(self._topics)]
        auto_create = self._options.allow_auto_create_topics
        return MetadataRequest(
            topics=topics, allow_auto_topic_creation=auto_create if version >= 4 else True
        )

    async def _metadata_update(self) -> bool:
        """One refresh: ask a random broker (bootstrap connection included), falling
        through to the next on error; a response without brokers counts as a failure.
        When no known broker answers, retry through the bootstrap addresses."""
        nodes: list[NodeKey] = [b.node_id for b in self._cluster.brokers()]
        if self._pool.get(BOOTSTRAP_NODE) is not None:
            nodes.append(BOOTSTRAP_NODE)
        random.shuffle(nodes)
        last_error: BaseException | None = None
        for node in nodes:
            try:
                conn = await self._connection(node, ConnectionGroup.DEFAULT)
                response = await conn.send(self._metadata_request(conn))
                assert isinstance(response, MetadataResponse)
                if response.error_code:
                    raise _error(response.error_code, "Metadata")
            except KafkaError as exc:
                log.debug("metadata refresh through node %s failed: %s", node, exc)
                last_error = exc
                continue
            if not response.brokers:
                last_error = KafkaError(f"node {node} answered Metadata without brokers")
                continue
            self._accept_metadata(response)
            return True
        known = {(b.host, b.port) for b in self._cluster.brokers()}
        for host, port in self._addresses:
            if (host, port) in known:
                continue  # tried above as a broker
            try:
                conn, response = await self._bootstrap_from(host, port)
            except KafkaError as exc:
                last_error = exc
                continue
            conn.close()
            if response.brokers:
                log.info("re-bootstrapped metadata from %s", _fmt(host, port))
                self._accept_metadata(response)
                return True
        error = last_error or KafkaConnectionError("no broker is known")
        log.warning("metadata refresh failed: %s", error)
        self._cluster.failed_update(error)
        return False

    def _accept_metadata(self, response: MetadataResponse) -> None:
        self._cluster.update(response)
        if self._cluster.brokers():
            self._pool.close_node(BOOTSTRAP_NODE)
        for (node, _group), conn in self._pool:
            if isinstance(node, int) and self._cluster.broker(node) is None:
                log.info("node %d left the cluster; closing its connections", node)
                conn.close()

    async def partitions_for(self, topic: str) -> set[int]:
        """Partition numbers of ``topic``, waiting for its metadata if needed.

        Tracks the topic and forces refreshes every ``retry_backoff_ms`` until
        ``request_timeout_ms``; then raises
        :class:`~kafkaio.errors.UnknownTopicOrPartitionError`. An unauthorized topic
        raises :class:`~kafkaio.errors.TopicAuthorizationFailedError` at once, an invalid
        name :class:`~kafkaio.errors.InvalidTopicError`.
        """
        self._check_open()
        partitions = self._cluster.partitions_for_topic(topic)
        if partitions:
            return partitions
        loop = asyncio.get_running_loop()
        timeout = self._options.request_timeout_ms / 1000
        deadline = loop.time() + timeout
        self.add_topic(topic)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self.force_metadata_update(), remaining)
            except asyncio.TimeoutError:
                break
            partitions = self._cluster.partitions_for_topic(topic)
            if partitions:
                return partitions
            if topic in self._cluster.unauthorized_topics:
                raise TopicAuthorizationFailedError(f"not authorized to access topic {topic!r}")
            if topic in self._cluster.invalid_topics:
                raise InvalidTopicError(f"invalid topic name {topic!r}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.sleep(min(self._options.retry_backoff_ms / 1000, remaining))
        raise UnknownTopicOrPartitionError(
            f"topic {topic!r} not found in cluster metadata within"
            f" {self._options.request_timeout_ms} ms"
        )

    _wait_on_metadata = partitions_for

    def leader_for(self, tp: TopicPartition) -> int | None:
        """Node id of the leader of ``tp`` (``None``: unknown or leaderless; refresh)."""
        return self._cluster.leader_for_partition(tp)

    # ------------------------------------------------------------------ connections

    async def _connection(self, node_id: NodeKey, group: ConnectionGroup) -> BrokerConnection:
        if node_id == BOOTSTRAP_NODE:
            conn = self._pool.get(BOOTSTRAP_NODE, ConnectionGroup.DEFAULT)
            if conn is None:
                raise NodeNotReadyError("the bootstrap connection is closed")
            return conn
        if not isinstance(node_id, int):
            raise StaleMetadataError(f"unknown node id {node_id!r}")
        broker = self._cluster.broker(node_id)
        if broker is None:
            raise StaleMetadataError(f"node {node_id} is not in the cluster metadata")
        return await self._pool.get_or_open(node_id, group, broker.host, broker.port)

    async def ready(
        self, node_id: NodeKey, *, group: ConnectionGroup = ConnectionGroup.DEFAULT
    ) -> bool:
        """Whether a connection to ``node_id`` is (or could now be) established.

        Raises :class:`~kafkaio.errors.StaleMetadataError` for a node id unknown to the
        metadata and :class:`~kafkaio.errors.AuthenticationError` when authentication
        (SASL or TLS) fails; another failed connection attempt returns ``False`` (the
        caller decides whether to retry).
        """
        self._check_open()
        try:
            await self._connection(node_id, group)
        except (StaleMetadataError, AuthenticationError):
            raise
        except KafkaError as exc:
            log.info("node %s is not ready: %s", node_id, exc)
            return False
        return True

    async def send(
        self,
        node_id: NodeKey,
        request: Request,
        *,
        group: ConnectionGroup = ConnectionGroup.DEFAULT,
        version: int | None = None,
        timeout_ms: int | None = None,
    ) -> Response | None:
        """Send ``request`` to ``node_id`` and return the response.

        ``None`` is returned only for requests that get no response (Produce with
        ``acks=0``). ``version`` overrides the negotiated version (it must be one the
        broker supports); ``timeout_ms`` overrides ``request_timeout_ms``. Raises :class:`~kafkaio.errors.StaleMetadataError` (unknown node),
        :class:`~kafkaio.errors.NodeNotReadyError` (cannot connect),
        :class:`~kafkaio.errors.RequestTimedOutError` (no response in
        ``request_timeout_ms``; the connection is closed and metadata refreshed) and
        :class:`~kafkaio.errors.KafkaConnectionError` (the connection broke).
        """
        self._check_open()
        try:
            conn = await self._connection(node_id, group)
        except (StaleMetadataError, AuthenticationError):
            raise
        except KafkaError as exc:
            raise NodeNotReadyError(f"node {node_id} is not ready: {exc}") from exc
        return await conn.send(request, version=version, timeout_ms=timeout_ms)

    async def api_version_for(
        self,
        node_id: NodeKey,
        request_type: type[Request],
        *,
        group: ConnectionGroup = ConnectionGroup.DEFAULT,
    ) -> int:
        """Version ``request_type`` would be sent at to ``node_id`` (connects if needed).

        Callers whose request layout depends on the version (e.g. Produce v13 addresses
        topics by id) build the request for this version and pass it to :meth:`send`.
        """
        try:
            conn = await self._connection(node_id, group)
        except (StaleMetadataError, AuthenticationError):
            raise
        except KafkaError as exc:
            raise NodeNotReadyError(f"node {node_id} is not ready: {exc}") from exc
        return conn.version_for(request_type)

    async def api_versions_of(
        self, node_id: NodeKey, *, group: ConnectionGroup = ConnectionGroup.DEFAULT
    ) -> BrokerApiVersions:
        """What ``node_id`` answered to ApiVersions: version ranges and finalized features
        (connects if needed)."""
        try:
            conn = await self._connection(node_id, group)
        except (StaleMetadataError, AuthenticationError):
            raise
        except KafkaError as exc:
            raise NodeNotReadyError(f"node {node_id} is not ready: {exc}") from exc
        return conn.api_versions

    def least_loaded_node(self) -> int | None:
        """A broker with a live connection and the fewest requests in flight (else random)."""
        live = [
            (conn.in_flight, node)
            for (node, group), conn in self._pool
            if isinstance(node, int) and group is ConnectionGroup.DEFAULT and conn.connected
        ]
        if live:
            return min(live)[1]
        return self.get_random_node()

    def get_random_node(self) -> int | None:
        """A random broker id from metadata, or ``None`` when none is known."""
        brokers = self._cluster.brokers()
        return random.choice(brokers).node_id if brokers else None

    async def _any_connection(self) -> BrokerConnection:
        live = [
            (conn.in_flight, random.random(), conn)
            for (_node, group), conn in self._pool
            if group is ConnectionGroup.DEFAULT and conn.connected
        ]
        if live:
            return min(live, key=lambda item: (item[0], item[1]))[2]
        nodes = [b.node_id for b in self._cluster.brokers()]
        random.shuffle(nodes)
        last: KafkaError | None = None
        for node in nodes:
            try:
                return await self._connection(node, ConnectionGroup.DEFAULT)
            except KafkaError as exc:
                last = exc
        raise NodeNotReadyError(f"no broker is reachable (last error: {last})")

    def _on_connection_closed(
        self, node: NodeKey, group: ConnectionGroup, conn: BrokerConnection, reason: CloseReason
    ) -> None:
        if self._closed or not reason.suggests_stale_metadata:
            return
        if isinstance(node, int):
            self._coordinators.invalidate_node(node)
        log.debug(
            "connection to %s closed (%s); refreshing metadata", conn.description, reason.name
        )
        if self._bootstrapped:
            self.force_metadata_update()

    async def check_version(self, node_id: int | None = None) -> ReleaseTuple:
        """The release of broker ``node_id`` (any broker if ``None``), from ApiVersions.

        Raises :class:`~kafkaio.errors.UnrecognizedBrokerVersionError` when it matches no
        known release, :class:`~kafkaio.errors.NodeNotReadyError` when unreachable.
        """
        self._check_open()
        if node_id is None:
            conn = await self._any_connection()
        else:
            try:
                conn = await self._connection(node_id, ConnectionGroup.DEFAULT)
            except (StaleMetadataError, AuthenticationError):
                raise
            except KafkaError as exc:
                raise NodeNotReadyError(f"node {node_id} is not ready: {exc}") from exc
        return infer_release(conn.api_versions.max_versions())

    # ------------------------------------------------------------------ coordinators

    async def coordinator_lookup(self, coordinator_type: CoordinationType, key: str) -> int:
        """Node id of the coordinator of ``key`` (a group id or transactional id).

        Cached until :meth:`invalidate_coordinator`; broker errors (e.g.
        :class:`~kafkaio.errors.CoordinatorNotAvailableError`) are raised by code.
        """
        self._check_open()
        return await self._coordinators.lookup(CoordinationType(coordinator_type), key)

    async def coordinator_lookup_many(
        self, coordinator_type: CoordinationType, keys: Iterable[str]
    ) -> dict[str, int | KafkaError]:
        """Coordinators of several keys (one batched request on brokers 3.0+)."""
        self._check_open()
        return await self._coordinators.lookup_many(CoordinationType(coordinator_type), keys)

    def invalidate_coordinator(self, coordinator_type: CoordinationType, key: str) -> None:
        """Forget the cached coordinator of ``key`` (after NOT_COORDINATOR and the like)."""
        self._coordinators.invalidate(CoordinationType(coordinator_type), key)

    # ------------------------------------------------------------------ routing

    async def send_routed(self, request: Request, *, key: str | None = None) -> Response | None:
        """Send ``request`` where its API must go (the protocol layer's ``ROUTING``).

        * any broker: the least loaded live connection;
        * controller: the controller id from metadata;
        * group / transaction / share coordinator: looked up for ``key`` (default: the
          request's ``group_id`` / ``transactional_id``) and sent on a COORDINATION
          connection; a NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE answer invalidates
          the cached coordinator (the response is still returned).

        Partition-leader requests must be split per leader by the caller
        (:meth:`leader_for`); all-broker requests go through :meth:`send_to_all_brokers`.
        """
        self._check_open()
        routing = type(request).ROUTING
        if routing is RoutingKind.ANY_BROKER:
            conn = await self._any_connection()
            return await conn.send(request)
        if routing is RoutingKind.CONTROLLER:
            controller = self._cluster.controller_id
            if controller is None:
                await self.force_metadata_update()
                controller = self._cluster.controller_id
            if controller is None:
                raise StaleMetadataError("the controller is unknown")
            return await self.send(controller, request)
        kind = _COORDINATOR_ROUTING.get(routing)
        if kind is not None:
            if key is None:
                key = _coordinator_key(request, kind)
            node = await self.coordinator_lookup(kind, key)
            response = await self.send(node, request, group=ConnectionGroup.COORDINATION)
            if getattr(response, "error_code", 0) in _COORDINATOR_MOVED:
                self.invalidate_coordinator(kind, key)
            return response
        if routing is RoutingKind.PARTITION_LEADER:
            raise ValueError(
                f"{type(request).__name__} goes to partition leaders: split it per leader"
                " (leader_for) and use send(node_id, request)"
            )
        if routing is RoutingKind.ALL_BROKERS:
            raise ValueError(
                f"{type(request).__name__} goes to every broker: use send_to_all_brokers"
            )
        raise ValueError(
            f"{type(request).__name__} is not a request clients route ({routing.name})"
        )

    async def send_to_all_brokers(self, request: Request) -> dict[int, Response | KafkaError]:
        """Send ``request`` to every known broker; per-broker results or errors."""
        self._check_open()
        nodes = [b.node_id for b in self._cluster.brokers()]

        async def one(node: int) -> Response | KafkaError:
            try:
                response = await self.send(node, request)
            except KafkaError as exc:
                return exc
            if response is None:
                return KafkaError(f"node {node} sent no response")
            return response

        results = await asyncio.gather(*(one(n) for n in nodes))
        return dict(zip(nodes, results, strict=True))


def _coordinator_key(request: Request, kind: CoordinationType) -> str:
    for name in _COORDINATOR_KEY_FIELDS[kind]:
        value = getattr(request, name, None)
        if isinstance(value, str) and value:
            return value
    raise ValueError(
        f"cannot tell which {kind.name.lower()} coordinator {type(request).__name__} is for:"
        " pass key=..."
    )


def _error(code: int, api: str) -> KafkaError:
    from kafkaio.errors import for_code

    return for_code(code)(f"{api} failed with error code {code}")


def _done(value: bool) -> asyncio.Future[bool]:
    fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    fut.set_result(value)
    return fut


def _fmt(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
