"""The KIP-848 consumer group protocol (``group_protocol="consumer"``, Kafka 4.0+).

The broker computes the assignment; the member only heartbeats (ConsumerGroupHeartbeat)
and reconciles. A heartbeat task sends one request at a time, at the interval the broker
gives, or at once when the member joins, acknowledges a reconciliation or changes its
subscription. A second task reconciles the target assignment (revoke first, then assign,
awaiting the listener one callback at a time), gives partitions up as lost when fenced,
auto-commits and watches ``max_poll_interval_ms``; heartbeats keep going meanwhile.

The member id is generated here (KIP-1082, ConsumerGroupHeartbeat v1) and kept for the
consumer's lifetime; commits carry it with the member epoch (OffsetCommit v9+).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import enum
import logging
import uuid
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from kafkaio.cluster import ClusterClient, ClusterMetadata, MetadataUpdate, TopicPartition
from kafkaio.consumer.group.listener import ConsumerRebalanceListener
from kafkaio.consumer.group.member import GroupMember
from kafkaio.consumer.offsets import OffsetsClient
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import OffsetAndMetadata
from kafkaio.consumer.subscription import SubscriptionState
from kafkaio.errors import (
    FatalError,
    IncompatibleBrokerVersionError,
    KafkaError,
    StaleMemberEpochError,
    for_code,
)
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
)
from kafkaio.protocol.messages.consumer_group_heartbeat import TopicPartitions

__all__ = [
    "ConsumerGroupMember",
    "HeartbeatFields",
    "MemberPhase",
    "Reconciliation",
    "generate_member_id",
    "plan_reconciliation",
]

log = logging.getLogger("kafkaio.consumer.group")

_NONE = 0
_COORDINATOR_LOAD = 14
_COORDINATOR_GONE = frozenset({15, 16})
_UNSUPPORTED_VERSION = 35
_UNKNOWN_MEMBER = 25
_TOPIC_AUTHORIZATION = 29
_FENCED_MEMBER_EPOCH = 110
_LEAVE_EPOCH = -1
_STATIC_LEAVE_EPOCH = -2
# From this version the client generates the member id (KIP-1082).
_CLIENT_MEMBER_ID_VERSION = 1


class MemberPhase(enum.Enum):
    """Where the member is in the consumer group protocol."""

    UNSUBSCRIBED = "unsubscribed"
    """Not subscribed (or left): no heartbeats."""
    JOINING = "joining"
    """Heartbeating with epoch 0 until the broker answers with an epoch."""
    STABLE = "stable"
    """In the group; reconciling whenever the broker sends a new target assignment."""
    FENCED = "fenced"
    """The broker fenced the member: its partitions are given up as lost, then it rejoins."""
    STALE = "stale"
    """Left for polling too late; the next poll gives the partitions up and rejoins."""
    FATAL = "fatal"
    """An error retrying cannot fix; raised by the next poll."""


def generate_member_id() -> str:
    """A fresh member id, formatted like Kafka's ``Uuid`` (URL-safe base64, no padding)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------------- pure state


@dataclass(frozen=True)
class Reconciliation:
    """What one reconciliation does to the owned partitions."""

    assigned: frozenset[TopicPartition]
    """The target assignment, as far as its topic ids resolve to names."""
    revoked: frozenset[TopicPartition]
    """Owned partitions to give up first."""
    added: frozenset[TopicPartition]
    """Partitions to take on afterwards."""
    unresolved: frozenset[UUID]
    """Topic ids of the target that metadata does not name yet (retried on refresh)."""


def plan_reconciliation(
    owned: frozenset[TopicPartition],
    target: Mapping[UUID, frozenset[int]],
    topic_name: Callable[[UUID], str | None],
) -> Reconciliation:
    """Compare ``owned`` with the broker's ``target`` (partitions by topic id)."""
    assigned: set[TopicPartition] = set()
    unresolved: set[UUID] = set()
    for topic_id, partitions in target.items():
        name = topic_name(topic_id)
        if name is None:
            unresolved.add(topic_id)
            continue
        assigned.update(TopicPartition(name, p) for p in partitions)
    new = frozenset(assigned)
    return Reconciliation(new, owned - new, new - owned, frozenset(unresolved))


@dataclass(frozen=True)
class _Sent:
    topics: tuple[str, ...]
    owned: tuple[tuple[UUID, tuple[int, ...]], ...]
    epoch: int


class HeartbeatFields:
    """Which optional fields the next heartbeat carries.

    After a (re)join or any failed heartbeat every field is sent (the broker may have
    missed the last one); otherwise only what changed since the broker last answered:
    the subscription, and the owned partitions whenever they or the epoch changed (that
    is how the member acknowledges a reconciliation).
    """

    def __init__(self) -> None:
        self._known: _Sent | None = None

    def reset(self) -> None:
        """Send everything next time."""
        self._known = None

    @property
    def full(self) -> bool:
        """Whether the next request carries every field."""
        return self._known is None

    def request(
        self,
        *,
        group_id: str,
        member_id: str,
        epoch: int,
        topics: Iterable[str],
        owned: Mapping[UUID, Iterable[int]],
        options: ConsumerOptions,
    ) -> tuple[ConsumerGroupHeartbeatRequest, _Sent]:
        """The request and what it tells the broker (pass it to :meth:`acknowledge`)."""
        sent = _Sent(
            tuple(sorted(topics)),
            tuple(sorted((tid, tuple(sorted(parts))) for tid, parts in owned.items())),
            epoch,
        )
        known = self._known
        full = known is None
        new_topics = known is None or known.topics != sent.topics
        new_owned = known is None or (known.owned, known.epoch) != (sent.owned, sent.epoch)
        request = ConsumerGroupHeartbeatRequest(
            group_id=group_id,
            member_id=member_id,
            member_epoch=epoch,
            instance_id=options.group_instance_id if full else None,
            rack_id=(options.client_rack or None) if full else None,
            rebalance_timeout_ms=options.rebalance_timeout if full else -1,
            subscribed_topic_names=list(sent.topics) if new_topics else None,
            server_assignor=options.group_remote_assignor if full else None,
            topic_partitions=(
                [TopicPartitions(topic_id=t, partitions=list(p)) for t, p in sent.owned]
                if new_owned
                else None
            ),
        )
        return request, sent

    def acknowledge(self, sent: _Sent) -> None:
        """The broker answered the request that told it ``sent``."""
        self._known = sent


# ---------------------------------------------------------------------- the member


class ConsumerGroupMember(GroupMember):
    """A member of a KIP-848 consumer group: heartbeats, reconciles, commits, leaves."""

    def __init__(
        self,
        client: ClusterClient,
        subscriptions: SubscriptionState,
        offsets: OffsetsClient,
        options: ConsumerOptions,
        *,
        listener: Callable[[], ConsumerRebalanceListener | None],
        on_revoked: Callable[[frozenset[TopicPartition]], None],
        on_released: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            client,
            subscriptions,
            offsets,
            options,
            listener=listener,
            on_revoked=on_revoked,
            on_released=on_released,
        )
        self.member_id = generate_member_id()
        self.phase = MemberPhase.UNSUBSCRIBED
        self.member_epoch = 0
        """The epoch the broker gave (0: joining or not in the group)."""
        self.heartbeat_interval_ms = 5_000
        """The broker's heartbeat interval (taken from every answer)."""
        self.heartbeats = 0
        self._fields = HeartbeatFields()
        self._target: dict[UUID, frozenset[int]] | None = None
        self._reconcile_needed = False
        self._unresolved: frozenset[UUID] = frozenset()
        self._topic_ids: dict[str, UUID] = {}
        self._session = 0
        self._join_sent = False
        self._version = _CLIENT_MEMBER_ID_VERSION
        self._pending_error: KafkaError | None = None
        self._leaving: asyncio.Task[None] | None = None
        self._next_heartbeat = 0.0
        self._failures = 0
        self._heartbeat_wake = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._started = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the heartbeat and reconciliation tasks."""
        self._last_poll = asyncio.get_running_loop().time()
        if self._subs.subscribed and self.phase is MemberPhase.UNSUBSCRIBED:
            self._join("the consumer subscribed")
        if self._task is None:
            self._started = True
            self._task = asyncio.create_task(self._run(), name=f"kafkaio-group-{self.group_id}")
            self._heartbeat_task = asyncio.create_task(
                self._heartbeat_loop(), name=f"kafkaio-heartbeat-{self.group_id}"
            )
        self._client.cluster.add_listener(self._on_metadata)

    async def close(self, *, leave: bool = True) -> None:
        """Commit (auto-commit), revoke through the listener, leave the group (epoch -1,
        or -2 for a static member, which keeps its partitions until the session
        expires), stop the tasks."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError):
            self._client.cluster.remove_listener(self._on_metadata)
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        try:
            owned = self._subs.assignment()
            if self._subs.subscribed and self.phase is MemberPhase.STABLE:
                if owned:
                    await self._revoke(owned, lost=False)
            elif self._subs.subscribed and owned and self.phase is not MemberPhase.FATAL:
                await self._revoke(owned, lost=True)
            elif not self._subs.subscribed and self._auto_commit:
                await self.commit_positions()
        except Exception:
            log.exception("revoking partitions of group %r on close failed", self.group_id)
        hb = self._heartbeat_task
        if hb is not None:
            hb.cancel()
            await asyncio.gather(hb, return_exceptions=True)
        if self._leaving is not None:
            await asyncio.gather(self._leaving, return_exceptions=True)
        joined = self.phase in (MemberPhase.JOINING, MemberPhase.STABLE, MemberPhase.FENCED)
        if leave and joined and self._join_sent:
            await self._leave("the consumer is closing", self.member_epoch)
        self._forget_membership(MemberPhase.UNSUBSCRIBED)

    def unsubscribed(
        self, owned: frozenset[TopicPartition], offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        """Commit (auto-commit), revoke and leave in the background (epoch -1/-2)."""
        if self.phase in (MemberPhase.UNSUBSCRIBED, MemberPhase.FATAL):
            return
        in_group = self.phase is MemberPhase.STABLE
        epoch, generation = self.member_epoch, self.generation_id
        was_sent = self._join_sent
        self._forget_membership(MemberPhase.UNSUBSCRIBED)

        async def leave() -> None:
            listener = self._listener()
            try:
                if offsets and self._auto_commit and in_group:
                    await self._offsets.commit(
                        self.group_id,
                        offsets,
                        generation_id=generation,
                        member_id=self.member_id,
                        group_instance_id=self._options.group_instance_id,
                    )
                if listener is not None and owned:
                    async with self._callback_lock:
                        if in_group:
                            await listener.on_partitions_revoked(owned)
                        else:
                            await listener.on_partitions_lost(owned)
            except Exception:
                log.exception("group %r: revoking on unsubscribe failed", self.group_id)
            if was_sent:
                await self._leave("the consumer unsubscribed", epoch)

        self._leave_in_background(leave())

    def request_rejoin(self, reason: str) -> None:
        """The subscription changed: join, or tell the broker in a heartbeat now."""
        if self._closed or not self._started or not self._subs.subscribed:
            return  # start() joins
        if self.phase is MemberPhase.UNSUBSCRIBED:
            self._join(reason)
        else:
            log.debug("group %r: heartbeat now (%s)", self.group_id, reason)
            self._heartbeat_wake.set()

    async def on_poll(self) -> None:
        """Record the poll; raise a fatal error; after leaving for polling too late, give
        the partitions up as lost (no commit) and rejoin."""
        self._last_poll = asyncio.get_running_loop().time()
        if self.fatal_error is not None:
            raise self.fatal_error
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        if self.phase is MemberPhase.STALE:
            owned = self._subs.assignment()
            if owned and self._subs.subscribed:
                await self._revoke(owned, lost=True)
                self._subs.assign_from_group([])
            if self.phase is MemberPhase.STALE:
                self.phase = MemberPhase.UNSUBSCRIBED
                self.request_rejoin("the application is polling again")

    @property
    def needs_join(self) -> bool:
        """Whether the member has no settled assignment from the group."""
        return self.phase is not MemberPhase.STABLE or self._reconcile_needed

    # ------------------------------------------------------------------ membership changes

    def _join(self, reason: str) -> None:
        log.info("group %r: joining as %r (%s)", self.group_id, self.member_id, reason)
        self.phase = MemberPhase.JOINING
        self.member_epoch = 0
        self.generation_id = -1
        self._fields.reset()
        self._heartbeat_wake.set()

    def _forget_membership(self, phase: MemberPhase) -> None:
        """Leave the current membership behind: a new join starts from epoch 0."""
        self._session += 1
        self.phase = phase
        self.member_epoch = 0
        self.generation_id = -1
        self._target = None
        self._reconcile_needed = False
        self._unresolved = frozenset()
        self._join_sent = False
        self._fields.reset()
        self._wake.set()
        self._heartbeat_wake.set()

    def _fence(self, reason: str) -> None:
        log.warning("group %r: member %r %s; rejoining", self.group_id, self.member_id, reason)
        if self._version < _CLIENT_MEMBER_ID_VERSION:
            self.member_id = ""
        self._forget_membership(MemberPhase.FENCED)

    def _fatal(self, error: KafkaError) -> None:
        log.error("group %r: fatal error: %s", self.group_id, error)
        self.fatal_error = error
        self._forget_membership(MemberPhase.FATAL)

    # ------------------------------------------------------------------ heartbeats

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            active = self.phase in (MemberPhase.JOINING, MemberPhase.STABLE)
            if not active or not self._subs.subscribed:
                await self._heartbeat_wake.wait()
                self._heartbeat_wake.clear()
                continue
            if not self._heartbeat_wake.is_set():
                delay = self._next_heartbeat - loop.time()
                if delay > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._heartbeat_wake.wait(), delay)
                    continue
            self._heartbeat_wake.clear()
            if self._leaving is not None:
                # A join waits for the previous membership's leave to be sent.
                await asyncio.gather(self._leaving, return_exceptions=True)
                self._leaving = None
                continue
            try:
                await self._heartbeat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("group %r: unexpected heartbeat failure", self.group_id)
                self._retry_later()

    async def _heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        session, epoch = self._session, self.member_epoch
        joining = self.phase is MemberPhase.JOINING
        request, sent = self._fields.request(
            group_id=self.group_id,
            member_id=self.member_id,
            epoch=epoch,
            topics=self._subs.topics,
            owned=self._owned_ids(),
            options=self._options,
        )

        def build(version: int) -> Request:
            self._version = version
            if version < _CLIENT_MEMBER_ID_VERSION and joining:
                # v0 brokers give the member id themselves (before KIP-1082).
                return dataclasses.replace(request, member_id="")
            return request

        self._join_sent = self._join_sent or joining
        self._next_heartbeat = loop.time() + self.heartbeat_interval_ms / 1000
        try:
            _node, response = await self._offsets.coordinator_send(self.group_id, build)
        except IncompatibleBrokerVersionError as exc:
            self._fatal(_unsupported(str(exc)))
            return
        except KafkaError as exc:
            log.info("group %r: heartbeat failed: %s", self.group_id, exc)
            self._retry_later()
            return
        assert isinstance(response, ConsumerGroupHeartbeatResponse)
        self.heartbeats += 1
        if session != self._session or self._closed:
            return  # the membership changed while the request was in flight
        self._handle(response, sent)

    def _handle(self, response: ConsumerGroupHeartbeatResponse, sent: _Sent) -> None:
        loop = asyncio.get_running_loop()
        code = response.error_code
        if code == _NONE:
            self._failures = 0
            if response.heartbeat_interval_ms > 0:
                self.heartbeat_interval_ms = response.heartbeat_interval_ms
                self._next_heartbeat = loop.time() + self.heartbeat_interval_ms / 1000
            if response.member_id:
                self.member_id = response.member_id
            if self.phase is MemberPhase.JOINING:
                log.info(
                    "group %r: joined as %r with epoch %d",
                    self.group_id,
                    self.member_id,
                    response.member_epoch,
                )
                self.phase = MemberPhase.STABLE
            self.member_epoch = response.member_epoch
            self.generation_id = response.member_epoch
            self._fields.acknowledge(sent)
            if response.assignment is not None:
                target = {
                    t.topic_id: frozenset(t.partitions)
                    for t in response.assignment.topic_partitions
                }
                if target != self._target:
                    self._target = target
                    self._reconcile_needed = True
                    self._wake.set()
            return
        detail = response.error_message or for_code(code).message
        self._retry_later()
        if code in (_UNKNOWN_MEMBER, _FENCED_MEMBER_EPOCH):
            self._fence(f"was fenced ({for_code(code).code_name}: {detail})")
        elif code in _COORDINATOR_GONE or code == _COORDINATOR_LOAD:
            self._offsets.coordinator_moved(self.group_id, code)
            log.info("group %r: coordinator not ready (error code %d)", self.group_id, code)
        elif code == _UNSUPPORTED_VERSION:
            self._fatal(_unsupported(detail))
        elif code == _TOPIC_AUTHORIZATION:
            # As in Java: reported to the application; the member keeps heartbeating.
            self._pending_error = for_code(code)(f"group {self.group_id!r}: {detail}")
            self._next_heartbeat = loop.time() + self.heartbeat_interval_ms / 1000
        else:
            error = for_code(code)(f"ConsumerGroupHeartbeat for group {self.group_id!r}: {detail}")
            if error.retriable:
                log.info("group %r: heartbeat error: %s", self.group_id, error)
            else:
                self._fatal(error)

    def _retry_later(self) -> None:
        """After a failed heartbeat: send every field, after a growing back-off (<= 1 s)."""
        self._fields.reset()
        delay = min(self._backoff * 2**self._failures, max(self._backoff, 1.0))
        self._failures = min(self._failures + 1, 10)
        self._next_heartbeat = asyncio.get_running_loop().time() + delay

    def _owned_ids(self) -> dict[UUID, list[int]]:
        owned: dict[UUID, list[int]] = {}
        for tp in self._subs.assignment():
            topic_id = self._topic_ids.get(tp.topic) or self._client.cluster.topic_id(tp.topic)
            if topic_id is None:
                log.warning("group %r: no topic id for owned %s", self.group_id, tp)
                continue
            owned.setdefault(topic_id, []).append(tp.partition)
        return owned

    def _leave_in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (ending with a leave) after any earlier one; the next join waits."""
        previous = self._leaving

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await work

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        self._leaving = task

    async def _leave(self, reason: str, epoch: int) -> None:
        static = self._options.group_instance_id is not None
        leave_epoch = _STATIC_LEAVE_EPOCH if static else _LEAVE_EPOCH
        request = ConsumerGroupHeartbeatRequest(
            group_id=self.group_id,
            member_id=self.member_id,
            member_epoch=leave_epoch,
            instance_id=self._options.group_instance_id,
        )
        try:
            _node, response = await self._offsets.coordinator_send(self.group_id, lambda v: request)
        except KafkaError as exc:
            log.info("group %r: leaving failed: %s", self.group_id, exc)
            return
        assert isinstance(response, ConsumerGroupHeartbeatResponse)
        if response.error_code:
            log.info(
                "group %r: leave answered with error code %d", self.group_id, response.error_code
            )
        else:
            log.info(
                "group %r: member %r left at epoch %d (%s)",
                self.group_id,
                self.member_id,
                epoch,
                reason,
            )

    # ------------------------------------------------------------------ reconciliation

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._options.auto_commit_interval_ms / 1000
        next_commit = loop.time() + interval
        while not self._closed:
            try:
                self._wake.clear()
                if self.phase is MemberPhase.FENCED:
                    await self._give_up_lost()
                    continue
                if self.phase is MemberPhase.STABLE and self._reconcile_needed:
                    await self._reconcile()
                    continue
                now = loop.time()
                if self._check_poll_interval(now):
                    continue
                # Wake when max_poll_interval_ms would run out if nobody polls meanwhile.
                max_poll = self._options.max_poll_interval_ms / 1000
                timeout = self._last_poll + max_poll - now + 0.01
                if self._auto_commit:
                    if now >= next_commit:
                        await self._auto_commit_now()
                        next_commit = loop.time() + interval
                    timeout = min(timeout, max(next_commit - loop.time(), 0))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(timeout, 0.01))
            except asyncio.CancelledError:
                raise
            except FatalError as exc:
                self._fatal(exc)
            except Exception:
                log.exception("group %r: unexpected error in the member task", self.group_id)
                await asyncio.sleep(self._backoff)

    async def _give_up_lost(self) -> None:
        session = self._session
        owned = self._subs.assignment()
        if owned and self._subs.subscribed:
            await self._callback(self._revoke(owned, lost=True))
            if self._subs.subscribed:
                self._subs.assign_from_group([])
        if session == self._session and self.phase is MemberPhase.FENCED:
            self._join("rejoining after being fenced")

    async def _reconcile(self) -> None:
        session = self._session
        self._reconcile_needed = False
        target = self._target or {}
        plan = plan_reconciliation(self._subs.assignment(), target, self._topic_name)
        self._unresolved = plan.unresolved
        if plan.unresolved:
            log.info(
                "group %r: waiting for metadata naming topic ids %s",
                self.group_id,
                sorted(str(t) for t in plan.unresolved),
            )
            self._client.force_metadata_update()
        if not plan.revoked and not plan.added and self.rebalances:
            return
        log.info(
            "group %r: epoch %d: reconciling: revoke %s, assign %s",
            self.group_id,
            self.member_epoch,
            sorted(plan.revoked),
            sorted(plan.added),
        )
        if plan.revoked:
            await self._callback(self._revoke(plan.revoked, lost=False))
            if session != self._session or not self._subs.subscribed:
                return
            self._subs.assign_from_group(self._subs.assignment() - plan.revoked)
        self._subs.assign_from_group(plan.assigned)
        self.rebalances += 1
        await self._callback(self._assigned(plan.added))
        self._heartbeat_wake.set()  # acknowledge the reconciliation

    async def _callback(self, step: Coroutine[Any, Any, None]) -> None:
        """Run a listener step; as in Java, a failing callback does not stop the
        reconciliation: its error is raised by the next poll."""
        try:
            await step
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("group %r: rebalance listener failed: %r", self.group_id, exc)
            if self._pending_error is None:
                self._pending_error = KafkaError(f"the rebalance listener failed: {exc!r}")
                self._pending_error.__cause__ = exc

    def _topic_name(self, topic_id: UUID) -> str | None:
        name = self._client.cluster.topic_name(topic_id)
        if name is not None:
            self._topic_ids[name] = topic_id
        return name

    def _on_metadata(self, cluster: ClusterMetadata, update: MetadataUpdate) -> None:
        if self._unresolved and any(cluster.topic_name(t) for t in self._unresolved):
            self._reconcile_needed = True
            self._wake.set()

    def _check_poll_interval(self, now: float) -> bool:
        if self.phase not in (MemberPhase.JOINING, MemberPhase.STABLE):
            return False
        if not self._subs.subscribed or not self._poll_interval_exceeded(now):
            return False
        epoch, was_sent = self.member_epoch, self._join_sent
        self._forget_membership(MemberPhase.STALE)
        if was_sent:
            self._leave_in_background(self._leave("max_poll_interval_ms exceeded", epoch))
        return True

    async def _auto_commit_now(self) -> None:
        if self._subs.subscribed and self.phase is not MemberPhase.STABLE:
            return
        try:
            await self.commit_positions()
        except KafkaError as exc:
            log.warning("group %r: auto-commit failed: %s", self.group_id, exc)

    # ------------------------------------------------------------------ commits

    async def _commit_offsets(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        # A heartbeat answer may bump the epoch while a commit is in flight: the broker
        # then answers STALE_MEMBER_EPOCH, and one retry with the new epoch is right.
        for attempt in range(2):
            in_group = self._subs.subscribed and self.member_epoch > 0
            epoch = self.member_epoch
            try:
                await self._offsets.commit(
                    self.group_id,
                    offsets,
                    generation_id=epoch if in_group else -1,
                    member_id=self.member_id if in_group else "",
                    group_instance_id=self._options.group_instance_id if in_group else None,
                )
                return
            except StaleMemberEpochError:
                if attempt or not in_group or self.member_epoch in (epoch, 0):
                    self._heartbeat_wake.set()
                    raise


def _unsupported(detail: str) -> IncompatibleBrokerVersionError:
    return IncompatibleBrokerVersionError(
        "the broker does not support the consumer group protocol (KIP-848,"
        f" ConsumerGroupHeartbeat): {detail}. It needs Kafka 4.0+ with the 'consumer'"
        " rebalance protocol enabled; or use group_protocol='classic'"
    )
