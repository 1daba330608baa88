"""The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, auto-commit.

One background task (:meth:`GroupCoordinator._run`) joins the group whenever a rebalance
is needed and commits periodically; another sends heartbeats while the member is stable
(also while rebalance callbacks run and committed offsets are fetched). Rebalance
callbacks are awaited one at a time from the join task only, so they never overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable, Mapping

from kafkaio.cluster import ClusterClient, ConnectionGroup, CoordinationType, TopicPartition
from kafkaio.consumer.group.assignors import (
    MemberSubscription,
    PartitionAssignor,
    RebalanceProtocol,
    cooperative_adjust,
)
from kafkaio.consumer.group.listener import ConsumerRebalanceListener
from kafkaio.consumer.group.member import GroupMember
from kafkaio.consumer.group.protocol import (
    PROTOCOL_TYPE,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)
from kafkaio.consumer.offsets import OffsetsClient
from kafkaio.consumer.options import ConsumerOptions
from kafkaio.consumer.record import OffsetAndMetadata
from kafkaio.consumer.subscription import SubscriptionState
from kafkaio.errors import (
    FatalError,
    IllegalGenerationError,
    KafkaError,
    RebalanceInProgressError,
    RetriableError,
    UnknownMemberIdError,
    UnknownTopicOrPartitionError,
    for_code,
)
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)
from kafkaio.protocol.messages.join_group import JoinGroupRequestProtocol
from kafkaio.protocol.messages.leave_group import MemberIdentity
from kafkaio.protocol.messages.sync_group import SyncGroupRequestAssignment

__all__ = ["GroupCoordinator", "MemberState"]

log = logging.getLogger("kafkaio.consumer.group")

_NONE = 0
_COORDINATOR_LOAD = 14
_COORDINATOR_GONE = frozenset({15, 16})
_ILLEGAL_GENERATION = 22
_UNKNOWN_MEMBER = 25
_REBALANCE_IN_PROGRESS = 27
_MEMBER_ID_REQUIRED = 79
_FENCED_INSTANCE = 82
_LEAVE_GROUP_MEMBERS_VERSION = 3
_REBALANCE_ERRORS = (UnknownMemberIdError, IllegalGenerationError, RebalanceInProgressError)


class MemberState(enum.Enum):
    """Where the member is in the group protocol."""

    UNJOINED = "unjoined"
    REBALANCING = "rebalancing"
    STABLE = "stable"


class _Rejoin(Exception):
    """Internal: restart the join from JoinGroup."""


class GroupCoordinator(GroupMember):
    """The classic protocol: keeps a subscribed consumer in its group and its assignment
    in ``subscriptions``."""

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
        self._assignors: list[PartitionAssignor] = options.make_assignors()
        self.protocol_name: str | None = None
        self.is_leader = False
        self.state = MemberState.UNJOINED
        self._rejoin_needed = True
        self._lost = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._group_topic_partitions: dict[str, int] = {}
        self._group_topics: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the join/auto-commit task and the heartbeat task."""
        loop = asyncio.get_running_loop()
        self._last_poll = loop.time()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"kafkaio-group-{self.group_id}")
            self._heartbeat_task = asyncio.create_task(
                self._heartbeat_loop(), name=f"kafkaio-heartbeat-{self.group_id}"
            )
        self._client.cluster.add_listener(self._on_metadata)

    async def close(self, *, leave: bool = True) -> None:
        """Commit (auto-commit), revoke through the listener, leave the group, stop tasks."""
        if self._closed:
            return
        self._closed = True
        self._client.cluster.remove_listener(self._on_metadata)
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        try:
            if self._subs.subscribed and self.generation_id >= 0 and self.fatal_error is None:
                owned = self._subs.assignment()
                if owned:
                    await self._revoke(owned, lost=self._lost)
            elif not self._subs.subscribed and self._auto_commit:
                await self.commit_positions()
        except Exception:
            log.exception("revoking partitions of group %r on close failed", self.group_id)
        hb = self._heartbeat_task
        if hb is not None:
            hb.cancel()
            await asyncio.gather(hb, return_exceptions=True)
        if leave and self._options.group_instance_id is None and self.member_id:
            await self._leave_group("the consumer is closing")

    def unsubscribed(
        self, owned: frozenset[TopicPartition], offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        """The application unsubscribed: commit (auto-commit), revoke and leave, in the
        background; ``offsets`` are the positions before the subscription was dropped."""
        if self.state is MemberState.UNJOINED and not self.member_id:
            return
        generation, member_id = self.generation_id, self.member_id
        self.state = MemberState.UNJOINED
        self._rejoin_needed = True

        async def leave() -> None:
            listener = self._listener()
            try:
                if offsets and self._auto_commit and generation >= 0:
                    await self._offsets.commit(
                        self.group_id,
                        offsets,
                        generation_id=generation,
                        member_id=member_id,
                        group_instance_id=self._options.group_instance_id,
                    )
                if listener is not None and owned:
                    async with self._callback_lock:
                        await listener.on_partitions_revoked(owned)
            except Exception:
                log.exception("group %r: revoking on unsubscribe failed", self.group_id)
            if self._options.group_instance_id is None:
                await self._leave_group("the consumer unsubscribed", member_id)
                self.member_id = ""
            self.generation_id = -1

        self._spawn(leave())

    def request_rejoin(self, reason: str) -> None:
        """Rejoin at the next opportunity."""
        if not self._rejoin_needed:
            log.info("group %r: rejoin requested (%s)", self.group_id, reason)
        self._rejoin_needed = True
        self._wake.set()

    async def on_poll(self) -> None:
        """The application asked for records (for ``max_poll_interval_ms``).

        After the member left the group for polling too late, its partitions belong to
        others: they are given up as lost (no commit) before any more records are returned,
        and the member rejoins.
        """
        self._last_poll = asyncio.get_running_loop().time()
        if self.fatal_error is not None:
            raise self.fatal_error
        if self._poll_expired:
            owned = self._subs.assignment()
            if owned and self._subs.subscribed:
                await self._revoke(owned, lost=True)
                self._subs.assign_from_group([])
            self._lost = False
            self._poll_expired = False
            self.request_rejoin("the application is polling again")

    @property
    def needs_join(self) -> bool:
        """Whether the member has no current assignment from the group."""
        return self._rejoin_needed or self.state is not MemberState.STABLE

    # ------------------------------------------------------------------ background task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._options.auto_commit_interval_ms / 1000
        next_commit = loop.time() + interval
        while not self._closed:
            try:
                if self._subs.subscribed and self._rejoin_needed and not self._poll_expired:
                    await self._join_group()
                    continue
                now = loop.time()
                if self._check_poll_interval(now):
                    continue
                timeout = self._options.max_poll_interval_ms / 1000
                if self._auto_commit:
                    if now >= next_commit:
                        await self._auto_commit_now()
                        next_commit = loop.time() + interval
                    timeout = min(timeout, max(next_commit - loop.time(), 0))
                self._wake.clear()
                if self._rejoin_needed and self._subs.subscribed and not self._poll_expired:
                    continue
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(timeout, 0.01))
            except asyncio.CancelledError:
                raise
            except (FatalError, _FatalGroupError) as exc:
                log.error("group %r: fatal error: %s", self.group_id, exc)
                self.fatal_error = exc
                self.state = MemberState.UNJOINED
                return
            except KafkaError as exc:
                log.info("group %r: %s; retrying", self.group_id, exc)
                await asyncio.sleep(self._backoff)
            except Exception:
                log.exception("group %r: unexpected error in the coordinator task", self.group_id)
                await asyncio.sleep(self._backoff)

    def _check_poll_interval(self, now: float) -> bool:
        if (
            self.state is MemberState.STABLE
            and self._subs.subscribed
            and self._poll_interval_exceeded(now)
        ):
            self._poll_expired = True
            self._rejoin_needed = True
            self._lost = True
            self.state = MemberState.UNJOINED
            if self._options.group_instance_id is None:
                self._spawn(self._leave_group("max_poll_interval_ms exceeded", self.member_id))
            self.member_id = "" if self._options.group_instance_id is None else self.member_id
            self.generation_id = -1
            return True
        return False

    async def _auto_commit_now(self) -> None:
        if self.state is not MemberState.STABLE and self._subs.subscribed:
            return
        try:
            await self.commit_positions()
        except KafkaError as exc:
            log.warning("group %r: auto-commit failed: %s", self.group_id, exc)

    # ------------------------------------------------------------------ commits

    async def _commit_offsets(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        # Membership errors trigger a rejoin and are raised, never dropped.
        subscribed = self._subs.subscribed
        try:
            await self._offsets.commit(
                self.group_id,
                offsets,
                generation_id=self.generation_id if subscribed else -1,
                member_id=self.member_id if subscribed else "",
                group_instance_id=self._options.group_instance_id if subscribed else None,
            )
        except _REBALANCE_ERRORS as exc:
            if isinstance(exc, UnknownMemberIdError):
                self._reset_member()
            self.request_rejoin(f"commit failed: {exc}")
            raise

    # ------------------------------------------------------------------ joining

    def _reset_member(self) -> None:
        self.member_id = ""
        self.generation_id = -1
        self._lost = True

    async def _join_group(self) -> None:
        eager = self._protocol_kind() is RebalanceProtocol.EAGER
        owned = self._subs.assignment()
        if owned and (eager or self._lost):
            # Still a member of the current generation: heartbeats go on while the
            # callback runs and the revoked offsets are committed.
            await self._revoke(owned, lost=self._lost)
            self._subs.assign_from_group([])
            owned = frozenset()
        self.state = MemberState.REBALANCING
        self._lost = False
        self._rejoin_needed = False
        try:
            response = await self._send_join(owned)
            assignment = await self._sync(response)
        except _Rejoin:
            self._rejoin_needed = True
            self.state = MemberState.UNJOINED
            await asyncio.sleep(self._backoff)
            return
        except BaseException:
            self._rejoin_needed = True
            self.state = MemberState.UNJOINED
            raise
        self.rebalances += 1
        self.state = MemberState.STABLE
        await self._apply_assignment(assignment)

    def _protocol_kind(self) -> RebalanceProtocol:
        # Until the group picked an assignor, assume the first one's protocol.
        for assignor in self._assignors:
            if assignor.name == self.protocol_name:
                return assignor.protocol
        return self._assignors[0].protocol

    def _join_metadata(self, owned: frozenset[TopicPartition]) -> list[JoinGroupRequestProtocol]:
        topics = self._subs.topics
        protocols = []
        for assignor in self._assignors:
            protocols.append(
                JoinGroupRequestProtocol(
                    name=assignor.name,
                    metadata=encode_subscription(
                        topics,
                        owned_partitions=owned,
                        generation_id=self.generation_id,
                        rack_id=self._options.client_rack or None,
                        user_data=assignor.user_data(topics),
                    ),
                )
            )
        return protocols

    async def _send_join(self, owned: frozenset[TopicPartition]) -> JoinGroupResponse:
        while True:
            if self._closed:
                raise asyncio.CancelledError
            protocols = self._join_metadata(owned)
            member_id = self.member_id
            rebalance_timeout = self._options.rebalance_timeout

            def build(
                version: int,
                member_id: str = member_id,
                protocols: list[JoinGroupRequestProtocol] = protocols,
                rebalance_timeout: int = rebalance_timeout,
            ) -> Request:
                return JoinGroupRequest(
                    group_id=self.group_id,
                    session_timeout_ms=self._options.session_timeout_ms,
                    rebalance_timeout_ms=rebalance_timeout,
                    member_id=member_id,
                    group_instance_id=self._options.group_instance_id if version >= 5 else None,
                    protocol_type=PROTOCOL_TYPE,
                    protocols=protocols,
                    reason="rebalance" if version >= 8 else None,
                )

            log.info("group %r: joining (member id %r)", self.group_id, member_id)
            response = await self._coordinator_send(build, timeout_ms=rebalance_timeout + 5_000)
            assert isinstance(response, JoinGroupResponse)
            code = response.error_code
            if code == _NONE:
                self.member_id = response.member_id
                self.generation_id = response.generation_id
                self.protocol_name = response.protocol_name
                self.is_leader = response.leader == response.member_id
                log.info(
                    "group %r: joined generation %d as %r (%s) with protocol %s",
                    self.group_id,
                    self.generation_id,
                    self.member_id,
                    "leader" if self.is_leader else "follower",
                    self.protocol_name,
                )
                return response
            if code == _MEMBER_ID_REQUIRED:
                # KIP-394: the coordinator assigned our member id; join again with it.
                self.member_id = response.member_id
                continue
            self._handle_group_error(code, "JoinGroup")

    def _handle_group_error(self, code: int, api: str) -> None:
        """Raise for a JoinGroup/SyncGroup error, after adjusting the member state."""
        if code == _UNKNOWN_MEMBER:
            self._reset_member()
            raise _Rejoin
        if code in (_ILLEGAL_GENERATION, _REBALANCE_IN_PROGRESS, _COORDINATOR_LOAD):
            raise _Rejoin
        if code in _COORDINATOR_GONE:
            self._offsets.coordinator_moved(self.group_id, code)
            raise _Rejoin
        if code == _FENCED_INSTANCE:
            raise for_code(code)(
                f"{api}: group instance id {self._options.group_instance_id!r} was fenced by"
                " another member with the same id"
            )
        raise _FatalGroupError(f"{api} for group {self.group_id!r}: {for_code(code)()}")

    async def _coordinator_send(
        self, build: Callable[[int], Request], timeout_ms: int | None = None
    ) -> object:
        try:
            if timeout_ms is None:
                _node, response = await self._offsets.coordinator_send(self.group_id, build)
                return response
            return await self._send_with_timeout(build, timeout_ms)
        except RetriableError as exc:
            log.info("group %r: coordinator request failed: %s", self.group_id, exc)
            raise _Rejoin from exc

    async def _send_with_timeout(self, build: Callable[[int], Request], timeout_ms: int) -> object:
        node = await self._client.coordinator_lookup(CoordinationType.GROUP, self.group_id)
        try:
            version = await self._client.api_version_for(
                node, type(build(0)), group=ConnectionGroup.COORDINATION
            )
            return await self._client.send(
                node,
                build(version),
                group=ConnectionGroup.COORDINATION,
                version=version,
                timeout_ms=timeout_ms,
            )
        except RetriableError:
            self._client.invalidate_coordinator(CoordinationType.GROUP, self.group_id)
            raise

    async def _sync(self, join: JoinGroupResponse) -> list[TopicPartition]:
        assignments: list[SyncGroupRequestAssignment] = []
        if self.is_leader:
            result = await self._assign(join)
            assignments = [
                SyncGroupRequestAssignment(member_id=m, assignment=encode_assignment(parts))
                for m, parts in result.items()
            ]
        generation, member_id, protocol = self.generation_id, self.member_id, self.protocol_name

        def build(version: int) -> Request:
            return SyncGroupRequest(
                group_id=self.group_id,
                generation_id=generation,
                member_id=member_id,
                group_instance_id=self._options.group_instance_id if version >= 3 else None,
                protocol_type=PROTOCOL_TYPE if version >= 5 else None,
                protocol_name=protocol if version >= 5 else None,
                assignments=assignments,
            )

        response = await self._coordinator_send(
            build, timeout_ms=self._options.rebalance_timeout + 5_000
        )
        assert isinstance(response, SyncGroupResponse)
        if response.error_code:
            self._handle_group_error(response.error_code, "SyncGroup")
        partitions = decode_assignment(response.assignment)
        log.info(
            "group %r: generation %d assigned %d partitions",
            self.group_id,
            generation,
            len(partitions),
        )
        return partitions

    async def _assign(self, join: JoinGroupResponse) -> dict[str, list[TopicPartition]]:
        assignor = next((a for a in self._assignors if a.name == join.protocol_name), None)
        if assignor is None:
            raise _FatalGroupError(
                f"the group chose assignor {join.protocol_name!r}, which this member does not have"
            )
        members: dict[str, MemberSubscription] = {}
        for m in join.members:
            try:
                members[m.member_id] = decode_subscription(
                    m.member_id, m.group_instance_id, bytes(m.metadata)
                )
            except KafkaError as exc:
                log.warning(
                    "group %r: bad subscription from %r: %s", self.group_id, m.member_id, exc
                )
                members[m.member_id] = MemberSubscription(m.member_id, [], m.group_instance_id)
        topics = frozenset(t for s in members.values() for t in s.topics)
        self._group_topics = topics
        self._client.set_topics(topics | self._subs.topics)
        counts: dict[str, int] = {}
        for topic in sorted(topics):
            try:
                counts[topic] = len(await self._client.partitions_for(topic))
            except UnknownTopicOrPartitionError:
                log.info("group %r: subscribed topic %r does not exist", self.group_id, topic)
        self._group_topic_partitions = counts
        result = assignor.assign(counts, members)
        if assignor.protocol is RebalanceProtocol.COOPERATIVE:
            result = cooperative_adjust(result, members)
        for member_id in members:
            result.setdefault(member_id, [])
        return result

    async def _apply_assignment(self, assigned: list[TopicPartition]) -> None:
        new = frozenset(assigned)
        owned = self._subs.assignment()
        revoked = owned - new
        if revoked:
            await self._revoke(revoked, lost=False)
        added = new - owned
        self._subs.assign_from_group(new)
        self._snapshot_partition_counts()
        for assignor in self._assignors:
            if assignor.name == self.protocol_name:
                assignor.on_assignment(sorted(new), self.generation_id)
        await self._assigned(
            added if self._protocol_kind() is RebalanceProtocol.COOPERATIVE else new
        )
        if revoked and self._protocol_kind() is RebalanceProtocol.COOPERATIVE:
            # The revoked partitions go to their new owner in a follow-up rebalance.
            self.request_rejoin("partitions were revoked")

    # ------------------------------------------------------------------ metadata

    def _snapshot_partition_counts(self) -> None:
        cluster = self._client.cluster
        topics = self._group_topics | self._subs.topics if self.is_leader else self._subs.topics
        self._group_topic_partitions = {
            t: len(cluster.partitions_for_topic(t) or ()) for t in topics
        }

    def _on_metadata(self, cluster: object, update: object) -> None:
        if self.state is not MemberState.STABLE or not self._subs.subscribed:
            return
        meta = self._client.cluster
        for topic, count in self._group_topic_partitions.items():
            now = meta.partitions_for_topic(topic)
            if now is not None and len(now) != count:
                self.request_rejoin(f"topic {topic!r} now has {len(now)} partitions")
                return

    # ------------------------------------------------------------------ heartbeats

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._options.heartbeat_interval_ms / 1000
        session = self._options.session_timeout_ms / 1000
        last_ok = loop.time()
        while not self._closed:
            await asyncio.sleep(interval)
            if self.state is not MemberState.STABLE or self.generation_id < 0:
                last_ok = loop.time()
                continue
            generation, member_id = self.generation_id, self.member_id

            def build(
                version: int, generation: int = generation, member_id: str = member_id
            ) -> Request:
                return HeartbeatRequest(
                    group_id=self.group_id,
                    generation_id=generation,
                    member_id=member_id,
                    group_instance_id=self._options.group_instance_id if version >= 3 else None,
                )

            try:
                _node, response = await self._offsets.coordinator_send(self.group_id, build)
            except asyncio.CancelledError:
                raise
            except KafkaError as exc:
                log.info("group %r: heartbeat failed: %s", self.group_id, exc)
                if loop.time() - last_ok > session:
                    self.request_rejoin("no successful heartbeat within the session timeout")
                continue
            assert isinstance(response, HeartbeatResponse)
            code = response.error_code
            if generation != self.generation_id:
                continue  # a rebalance completed meanwhile: this answer is stale
            if code == _NONE:
                last_ok = loop.time()
            elif code == _REBALANCE_IN_PROGRESS:
                last_ok = loop.time()
                self.request_rejoin("the group is rebalancing")
            elif code == _ILLEGAL_GENERATION:
                self._lost = True
                self.request_rejoin("illegal generation")
            elif code == _UNKNOWN_MEMBER:
                self._reset_member()
                self.request_rejoin("unknown member id")
            elif code == _FENCED_INSTANCE:
                self.fatal_error = for_code(code)(
                    f"group instance id {self._options.group_instance_id!r} was fenced"
                )
                self.state = MemberState.UNJOINED
                return
            elif self._offsets.coordinator_moved(self.group_id, code):
                log.info("group %r: coordinator moved (error code %d)", self.group_id, code)
            else:
                log.warning("group %r: heartbeat error code %d", self.group_id, code)

    async def _leave_group(self, reason: str, member_id: str | None = None) -> None:
        if member_id is None:
            member_id = self.member_id
        if not member_id:
            return

        def build(version: int) -> Request:
            if version >= _LEAVE_GROUP_MEMBERS_VERSION:
                return LeaveGroupRequest(
                    group_id=self.group_id,
                    members=[
                        MemberIdentity(member_id=member_id, reason=reason if version >= 5 else None)
                    ],
                )
            return LeaveGroupRequest(group_id=self.group_id, member_id=member_id)

        try:
            _node, response = await self._offsets.coordinator_send(self.group_id, build)
        except KafkaError as exc:
            log.info("group %r: LeaveGroup failed: %s", self.group_id, exc)
            return
        assert isinstance(response, LeaveGroupResponse)
        if response.error_code:
            log.info("group %r: LeaveGroup error code %d", self.group_id, response.error_code)
        else:
            log.info("group %r: member %r left the group", self.group_id, member_id)


class _FatalGroupError(KafkaError):
    """A group error retrying cannot fix (authorization, inconsistent protocol...)."""
