"""Plumbing shared by every admin operation: deadlines, routing, version checks, retries.

Every operation runs against one deadline (its ``timeout_ms``). Requests are built for the
version the target connection negotiated (``build(version)``); per-item retriable errors
(leader moved, coordinator moved or loading, controller changing, timeouts, broken
connections) are retried with back-off until the deadline, and whatever is still failing
then is returned as that item's error.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar
from uuid import UUID

from kafkaio.admin.results import HasError
from kafkaio.cluster import ClusterClient, ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.errors import (
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    IncompatibleBrokerVersionError,
    InvalidMetadataError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NodeNotReadyError,
    NotControllerError,
    NotCoordinatorError,
    RetriableError,
    StaleMetadataError,
    UnknownTopicOrPartitionError,
    UnsupportedVersionError,
    for_code,
)
from kafkaio.protocol.api import Request, Response
from kafkaio.protocol.messages import MetadataRequest, MetadataResponse
from kafkaio.protocol.messages.metadata import MetadataRequestTopic

__all__ = ["AdminCore"]

log = logging.getLogger("kafkaio.admin")

K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=HasError)
Resp = TypeVar("Resp", bound=Response)

_ZERO_UUID = UUID(int=0)
_TOPIC_ID_METADATA_MIN_VERSION = 12
_COORDINATOR_MOVED = (NotCoordinatorError, CoordinatorNotAvailableError)


class AdminCore:
    """State and helpers the operation mixins build on (not public)."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        owns_client: bool,
        default_api_timeout_ms: int,
        retry_backoff_ms: int,
        retry_backoff_max_ms: int,
        check_topic_config_keys: bool,
    ) -> None:
        for name, value in (
            ("default_api_timeout_ms", default_api_timeout_ms),
            ("retry_backoff_ms", retry_backoff_ms),
            ("retry_backoff_max_ms", retry_backoff_max_ms),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self._client = client
        self._owns_client = owns_client
        self._default_timeout_ms = default_api_timeout_ms
        self._backoff_ms = retry_backoff_ms
        self._backoff_max_ms = max(retry_backoff_max_ms, retry_backoff_ms)
        self._check_topic_config_keys = check_topic_config_keys

    @property
    def client(self) -> ClusterClient:
        """The underlying :class:`~kafkaio.cluster.ClusterClient`."""
        return self._client

    # ------------------------------------------------------------------ deadlines

    def _deadline(self, timeout_ms: int | None) -> float:
        if timeout_ms is None:
            timeout_ms = self._default_timeout_ms
        if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms <= 0:
            raise ValueError(f"timeout_ms must be a positive int, got {timeout_ms!r}")
        return asyncio.get_running_loop().time() + timeout_ms / 1000

    @staticmethod
    def _remaining_ms(deadline: float) -> int:
        return int((deadline - asyncio.get_running_loop().time()) * 1000)

    def _request_timeout_ms(self, deadline: float) -> int:
        """Client-side wait for one response: the configured one, capped by the deadline."""
        remaining = self._remaining_ms(deadline)
        if remaining <= 0:
            raise KafkaTimeoutError("the admin operation timed out")
        return max(1, min(self._client.options.request_timeout_ms, remaining))

    def _broker_timeout_ms(self, deadline: float) -> int:
        """``timeout_ms`` field for requests the broker may hold (CreateTopics and the like).

        Slightly less than what is left, so the broker's answer beats the client's timeout.
        """
        remaining = self._remaining_ms(deadline)
        return max(1, remaining - min(remaining // 10, 1_000))

    async def _backoff(self, deadline: float, attempt: int) -> bool:
        """Sleep before retry ``attempt``; ``False`` when the deadline leaves no time."""
        delay = min(self._backoff_ms * 2**attempt, self._backoff_max_ms) / 1000
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= delay:
            return False
        await asyncio.sleep(delay)
        return True

    async def _refresh_metadata(self, deadline: float) -> None:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        try:
            await asyncio.wait_for(self._client.force_metadata_update(), remaining)
        except (asyncio.TimeoutError, KafkaError) as exc:
            log.debug("metadata refresh failed: %s", exc)

    # ------------------------------------------------------------------ sending

    async def _ensure_started(self) -> None:
        """Bootstrap on first use, for callers that skipped ``async with`` / ``start()``."""
        if not self._client.cluster.brokers():
            await self._client.bootstrap()

    async def _node_for_any(self) -> int:
        node = self._client.least_loaded_node()
        if node is None:
            raise StaleMetadataError("no broker is known")
        return node

    async def _send_node(
        self,
        node: int,
        build: Callable[[int], Request],
        expect: type[Resp],
        deadline: float,
        *,
        group: ConnectionGroup = ConnectionGroup.DEFAULT,
    ) -> Resp:
        """Build the request for ``node``'s negotiated version, send it, type-check the answer."""
        request_type = _request_type_of(expect)
        try:
            version = await self._client.api_version_for(node, request_type, group=group)
        except IncompatibleBrokerVersionError as exc:
            raise UnsupportedVersionError(str(exc)) from exc
        request = build(version)
        response = await self._client.send(
            node,
            request,
            group=group,
            version=version,
            timeout_ms=self._request_timeout_ms(deadline),
        )
        if not isinstance(response, expect):
            raise KafkaError(
                f"node {node} answered {type(request).__name__} with {type(response).__name__}"
            )
        return response

    async def _call(
        self,
        target: Callable[[], Awaitable[int]],
        build: Callable[[int], Request],
        expect: type[Resp],
        deadline: float,
        *,
        retry_codes: Callable[[Resp], int] | None = None,
    ) -> Resp:
        """Send to ``target()``'s node, retrying retriable failures until the deadline.

        ``retry_codes`` extracts a top-level error code from the response; retriable
        codes (e.g. NOT_CONTROLLER) are retried like connection failures.
        """
        await self._ensure_started()
        attempt = 0
        while True:
            try:
                node = await target()
                response = await self._send_node(node, build, expect, deadline)
            except RetriableError as exc:
                if not await self._backoff(deadline, attempt):
                    raise
                attempt += 1
                log.debug("retrying %s after %s", expect.__name__, exc)
                if isinstance(exc, (InvalidMetadataError, KafkaConnectionError, NodeNotReadyError)):
                    await self._refresh_metadata(deadline)
                continue
            code = retry_codes(response) if retry_codes is not None else 0
            if code and for_code(code).retriable and await self._backoff(deadline, attempt):
                attempt += 1
                log.debug("retrying %s after error code %d", expect.__name__, code)
                if code == NotControllerError.errno:
                    await self._refresh_metadata(deadline)
                continue
            return response

    async def _call_any(
        self,
        build: Callable[[int], Request],
        expect: type[Resp],
        deadline: float,
        *,
        retry_codes: Callable[[Resp], int] | None = None,
    ) -> Resp:
        """Send to any broker (KRaft brokers forward controller-bound requests themselves)."""
        return await self._call(
            self._node_for_any, build, expect, deadline, retry_codes=retry_codes
        )

    async def _call_node(
        self,
        node: int,
        build: Callable[[int], Request],
        expect: type[Resp],
        deadline: float,
    ) -> Resp:
        """Send to broker ``node``, retrying connection failures until the deadline."""

        async def target() -> int:
            return node

        return await self._call(target, build, expect, deadline)

    async def _call_controller(
        self,
        build: Callable[[int], Request],
        expect: type[Resp],
        deadline: float,
        *,
        retry_codes: Callable[[Resp], int] | None = None,
    ) -> Resp:
        """Send to the controller node that metadata reports."""

        async def target() -> int:
            controller = self._client.cluster.controller_id
            if controller is None:
                await self._refresh_metadata(deadline)
                controller = self._client.cluster.controller_id
            if controller is None:
                raise StaleMetadataError("the controller is unknown")
            return controller

        return await self._call(target, build, expect, deadline, retry_codes=retry_codes)

    # ------------------------------------------------------------------ per-item retries

    async def _run_items(
        self,
        keys: Sequence[K],
        attempt: Callable[[list[K]], Awaitable[Mapping[K, R]]],
        fail: Callable[[K, KafkaError], R],
        deadline: float,
    ) -> dict[K, R]:
        """Run ``attempt`` on the pending items until none has a retriable error.

        ``attempt`` returns results for (some of) the items it was given; a missing item
        or a whole-request failure that is retriable becomes that item's error via
        ``fail``. Non-retriable exceptions (unsupported versions, bad input) propagate.
        """
        await self._ensure_started()
        results: dict[K, R] = {}
        pending = list(dict.fromkeys(keys))
        round_ = 0
        while pending:
            try:
                got: Mapping[K, R] = await attempt(pending)
            except RetriableError as exc:
                got = {k: fail(k, exc) for k in pending}
            for key in pending:
                result = got.get(key)
                if result is None:
                    result = fail(key, KafkaError(f"the response carried no result for {key!r}"))
                results[key] = result
            retry = [k for k in pending if _retriable(results[k].error)]
            if not retry or not await self._backoff(deadline, round_):
                break
            round_ += 1
            log.debug("retrying %d item(s): %s", len(retry), [results[k].error for k in retry])
            if any(_needs_metadata(results[k].error) for k in retry):
                await self._refresh_metadata(deadline)
            pending = retry
        return {k: results[k] for k in dict.fromkeys(keys)}

    async def _gather_nodes(
        self,
        by_node: Mapping[int, list[K]],
        one: Callable[[int, list[K]], Awaitable[Mapping[K, R]]],
        fail: Callable[[K, KafkaError], R],
    ) -> dict[K, R]:
        """Run ``one(node, items)`` for every node at once; a node's retriable failure
        becomes its items' errors (they are retried by :meth:`_run_items`)."""

        async def guarded(node: int, items: list[K]) -> Mapping[K, R]:
            try:
                return await one(node, items)
            except RetriableError as exc:
                return {k: fail(k, exc) for k in items}

        merged: dict[K, R] = {}
        parts = await asyncio.gather(*(guarded(n, items) for n, items in by_node.items()))
        for part in parts:
            merged.update(part)
        return merged

    # ------------------------------------------------------------------ coordinators

    async def _coordinators(
        self, kind: CoordinationType, keys: Iterable[str]
    ) -> tuple[dict[int, list[str]], dict[str, KafkaError]]:
        """Group ``keys`` by coordinator node; lookups that failed are returned as errors."""
        found = await self._client.coordinator_lookup_many(kind, keys)
        by_node: dict[int, list[str]] = defaultdict(list)
        errors: dict[str, KafkaError] = {}
        for key, node in found.items():
            if isinstance(node, KafkaError):
                errors[key] = node
            else:
                by_node[node].append(key)
        return dict(by_node), errors

    def _coordinator_error(
        self, kind: CoordinationType, key: str, error: KafkaError | None
    ) -> None:
        """Forget ``key``'s coordinator when ``error`` says it moved."""
        if isinstance(error, _COORDINATOR_MOVED):
            self._client.invalidate_coordinator(kind, key)

    async def _send_coordinator(
        self,
        node: int,
        build: Callable[[int], Request],
        expect: type[Resp],
        deadline: float,
    ) -> Resp:
        return await self._send_node(
            node, build, expect, deadline, group=ConnectionGroup.COORDINATION
        )

    async def _run_by_coordinator(
        self,
        kind: CoordinationType,
        keys: Sequence[str],
        one: Callable[[int, list[str]], Awaitable[Mapping[str, R]]],
        fail: Callable[[str, KafkaError], R],
        deadline: float,
    ) -> dict[str, R]:
        """Send each key's share to its coordinator (batched per node), retrying moves."""

        async def attempt(pending: list[str]) -> dict[str, R]:
            by_node, errors = await self._coordinators(kind, pending)
            got = await self._gather_nodes(by_node, one, fail)
            got.update({k: fail(k, e) for k, e in errors.items()})
            for key, result in got.items():
                self._coordinator_error(kind, key, result.error)
            return got

        return await self._run_items(keys, attempt, fail, deadline)

    # ------------------------------------------------------------------ metadata

    async def _metadata(
        self,
        topics: Iterable[str] | None,
        deadline: float,
        *,
        authorized_operations: bool = False,
        topic_ids: Iterable[UUID] = (),
    ) -> MetadataResponse:
        """A fresh Metadata response for ``topics`` (``None``: all) and ``topic_ids``,
        never auto-creating."""
        names = None if topics is None else sorted(set(topics))
        ids = sorted(set(topic_ids))

        def build(version: int) -> Request:
            if version < 4:
                raise UnsupportedVersionError(
                    f"Metadata v{version} cannot disable topic auto-creation; the admin"
                    " client needs v4+"
                )
            if authorized_operations and version < 8:
                raise UnsupportedVersionError(
                    f"authorized operations need Metadata v8+, the broker offers v{version}"
                )
            if ids and version < _TOPIC_ID_METADATA_MIN_VERSION:
                raise UnsupportedVersionError(
                    f"describing topics by id needs Metadata v12+, the broker offers v{version}"
                )
            wanted = None
            if names is not None:
                wanted = [MetadataRequestTopic(name=n) for n in names]
                wanted += [MetadataRequestTopic(name=None, topic_id=i) for i in ids]
            return MetadataRequest(
                topics=wanted,
                allow_auto_topic_creation=False,
                include_topic_authorized_operations=authorized_operations,
            )

        return await self._call_any(build, MetadataResponse, deadline)

    async def _topic_ids(self, names: Iterable[str], deadline: float) -> dict[str, UUID]:
        """Topic ids of ``names`` (topics that do not exist are omitted)."""
        response = await self._metadata(names, deadline)
        return {
            t.name: t.topic_id
            for t in response.topics
            if t.name and t.error_code == 0 and t.topic_id != _ZERO_UUID
        }

    async def _topic_names(self, deadline: float) -> dict[UUID, str]:
        """Names of every topic by id."""
        response = await self._metadata(None, deadline)
        return {t.topic_id: t.name for t in response.topics if t.name}

    async def _leaders(
        self, tps: Iterable[TopicPartition], deadline: float
    ) -> tuple[dict[int, list[TopicPartition]], dict[TopicPartition, KafkaError]]:
        """Group ``tps`` by current leader (fresh metadata); unknown/leaderless ones as errors."""
        wanted = list(tps)
        response = await self._metadata({tp.topic for tp in wanted}, deadline)
        topics = {t.name: t for t in response.topics if t.name}
        by_node: dict[int, list[TopicPartition]] = defaultdict(list)
        errors: dict[TopicPartition, KafkaError] = {}
        for tp in wanted:
            t = topics.get(tp.topic)
            what = f"partition {tp.topic}-{tp.partition}"
            if t is None or t.error_code:
                code = t.error_code if t is not None else UnknownTopicOrPartitionError.errno
                error = for_code(code)(f"{what}: topic {tp.topic!r} is not available")
                if isinstance(error, UnknownTopicOrPartitionError):
                    error.retriable = False  # metadata says the topic does not exist
                errors[tp] = error
                continue
            part = next((p for p in t.partitions if p.partition_index == tp.partition), None)
            if part is None:
                error = UnknownTopicOrPartitionError(
                    f"{what}: topic {tp.topic!r} has {len(t.partitions)} partition(s)"
                )
                error.retriable = False
                errors[tp] = error
            elif part.leader_id < 0:
                errors[tp] = LeaderNotAvailableError(f"{what} has no leader")
            else:
                by_node[part.leader_id].append(tp)
        return dict(by_node), errors

    async def _run_by_leader(
        self,
        tps: Sequence[TopicPartition],
        one: Callable[[int, list[TopicPartition]], Awaitable[Mapping[TopicPartition, R]]],
        fail: Callable[[TopicPartition, KafkaError], R],
        deadline: float,
    ) -> dict[TopicPartition, R]:
        """Send each partition's share to its leader (batched per broker), retrying moves."""

        async def attempt(pending: list[TopicPartition]) -> dict[TopicPartition, R]:
            by_node, errors = await self._leaders(pending, deadline)
            got = await self._gather_nodes(by_node, one, fail)
            got.update({tp: fail(tp, e) for tp, e in errors.items()})
            return got

        return await self._run_items(tps, attempt, fail, deadline)


def _request_type_of(response_type: type[Response]) -> type[Request]:
    request_type = response_type.REQUEST_TYPE
    assert isinstance(request_type, type) and issubclass(request_type, Request)
    return request_type


def _retriable(error: KafkaError | None) -> bool:
    return error is not None and error.retriable


def _needs_metadata(error: KafkaError | None) -> bool:
    return isinstance(
        error, (InvalidMetadataError, KafkaConnectionError, NodeNotReadyError, NotControllerError)
    )


# Errors that mean "the coordinator is busy or moved": retried per group.
COORDINATOR_RETRIABLE = (
    NotCoordinatorError,
    CoordinatorNotAvailableError,
    CoordinatorLoadInProgressError,
)
