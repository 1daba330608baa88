"""Incremental fetch sessions (KIP-227), one per broker.

The first request of a session is a full fetch (session id 0, epoch 0) listing every
partition; when the broker answers with a session id, later requests send only the
partitions that were added or whose fetch state changed, plus the ones to forget, and the
broker answers only for partitions with something new. Any session error, a failed request
or a response out of step sends the next request as a full fetch of a new session.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from kafkaio.cluster import TopicPartition

__all__ = ["FetchRequestData", "FetchSession", "PartitionFetchData"]

log = logging.getLogger("kafkaio.consumer")

INITIAL_EPOCH = 0
"""Epoch of a request that creates a new session (with session id 0)."""
FINAL_EPOCH = -1
"""Epoch of a request that closes the session (or does a sessionless full fetch)."""
_MAX_EPOCH = 2**31 - 1


@dataclass(frozen=True, slots=True)
class PartitionFetchData:
    """What a fetch request says about one partition."""

    fetch_offset: int
    max_bytes: int
    current_leader_epoch: int = -1
    last_fetched_epoch: int = -1
    """Leader epoch of the batch before ``fetch_offset`` (lets the broker detect truncation)."""
    log_start_offset: int = -1


@dataclass
class FetchRequestData:
    """One request's worth of session state."""

    session_id: int
    epoch: int
    to_send: dict[TopicPartition, PartitionFetchData]
    to_forget: list[TopicPartition]
    session_partitions: dict[TopicPartition, PartitionFetchData]
    """Every partition the session covers once this request succeeds."""

    @property
    def full(self) -> bool:
        """Whether this is a full fetch (every partition listed)."""
        return self.epoch in (INITIAL_EPOCH, FINAL_EPOCH)


@dataclass
class FetchSession:
    """Client side of one broker's fetch session; counts full and incremental fetches."""

    node_id: int
    session_id: int = 0
    epoch: int = INITIAL_EPOCH
    partitions: dict[TopicPartition, PartitionFetchData] = field(default_factory=dict)
    full_fetches: int = 0
    incremental_fetches: int = 0
    session_errors: int = 0

    def build(self, wanted: Mapping[TopicPartition, PartitionFetchData]) -> FetchRequestData:
        """The next request for exactly the partitions in ``wanted``."""
        wanted = dict(wanted)
        if self.session_id == 0 or self.epoch == INITIAL_EPOCH:
            return FetchRequestData(0, INITIAL_EPOCH, wanted, [], wanted)
        to_send = {tp: d for tp, d in wanted.items() if self.partitions.get(tp) != d}
        to_forget = [tp for tp in self.partitions if tp not in wanted]
        return FetchRequestData(self.session_id, self.epoch, to_send, to_forget, wanted)

    def handle_response(self, request: FetchRequestData, error_code: int, session_id: int) -> bool:
        """Advance the session after a response; ``False`` if it must start over."""
        if error_code:
            self.session_errors += 1
            log.info(
                "fetch session %d of node %d failed with error code %d; starting a new one",
                self.session_id,
                self.node_id,
                error_code,
            )
            self.reset()
            return False
        if request.full:
            self.full_fetches += 1
            self.partitions = dict(request.session_partitions)
            if session_id:
                self.session_id = session_id
                self.epoch = 1
            else:
                # The broker keeps no session (e.g. its cache is full): keep fetching fully.
                self.session_id = 0
                self.epoch = INITIAL_EPOCH
            return True
        self.incremental_fetches += 1
        if session_id != self.session_id:
            log.info(
                "node %d answered fetch session %d with session id %d; starting a new one",
                self.node_id,
                self.session_id,
                session_id,
            )
            self.session_errors += 1
            self.reset()
            return False
        self.partitions = dict(request.session_partitions)
        self.epoch = 1 if self.epoch >= _MAX_EPOCH else self.epoch + 1
        return True

    def reset(self) -> None:
        """Forget the session: the next request is a full fetch creating a new one."""
        self.session_id = 0
        self.epoch = INITIAL_EPOCH
        self.partitions = {}
