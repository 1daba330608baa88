"""Producer id and epoch of an idempotent producer.

The broker deduplicates by (producer id, epoch, partition, sequence). The producer id comes
from InitProducerId; the epoch is bumped locally (KIP-360) when a partition's sequence chain
is broken by a batch that failed for good, after which every partition restarts its
sequences at 0 once it has nothing in flight under the old epoch. At the highest epoch a
new producer id is requested instead.
"""

from __future__ import annotations

import asyncio
import logging
import random

from kafkaio.cluster import ClusterClient
from kafkaio.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, for_code
from kafkaio.protocol.messages import InitProducerIdRequest, InitProducerIdResponse

__all__ = ["IdempotenceState"]

log = logging.getLogger("kafkaio.producer")

_MAX_EPOCH = 0x7FFF


class IdempotenceState:
    """The current producer id and epoch (``current`` is ``None`` until known)."""

    def __init__(self) -> None:
        self.producer_id = -1
        self.epoch = -1

    @property
    def current(self) -> tuple[int, int] | None:
        """``(producer_id, epoch)`` for new sequences, or ``None`` while it must be fetched."""
        if self.producer_id < 0:
            return None
        return (self.producer_id, self.epoch)

    def bump(self, seen: tuple[int, int] | None) -> bool:
        """Move to a new epoch unless that already happened since ``seen``; True if bumped."""
        if seen is None or seen != self.current:
            return False
        if self.epoch >= _MAX_EPOCH:
            log.info(
                "producer id %d reached the highest epoch; requesting a new id", self.producer_id
            )
            self.producer_id = -1
            self.epoch = -1
        else:
            self.epoch += 1
            log.info("bumped producer %d to epoch %d", self.producer_id, self.epoch)
        return True

    async def initialize(
        self,
        cluster: ClusterClient,
        *,
        timeout: float,
        backoff: float,
        backoff_max: float,
    ) -> None:
        """Get a producer id from the cluster (InitProducerId), retrying retriable errors."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        attempt = 0
        while True:
            attempt += 1
            error: KafkaError
            try:
                node = cluster.least_loaded_node()
                if node is None:
                    await cluster.force_metadata_update()
                    node = cluster.least_loaded_node()
                if node is None:
                    raise KafkaConnectionError("no broker is known")
                response = await cluster.send(
                    node,
                    InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60_000),
                )
                assert isinstance(response, InitProducerIdResponse)
                if response.error_code == 0:
                    self.producer_id = response.producer_id
                    self.epoch = response.producer_epoch
                    log.info("producer id %d, epoch %d", self.producer_id, self.epoch)
                    return
                error = for_code(response.error_code)("InitProducerId failed")
                if not error.retriable:
                    raise error
            except KafkaError as exc:
                if not exc.retriable and not isinstance(exc, KafkaTimeoutError):
                    raise
                error = exc
            pause = min(backoff * 2 ** (attempt - 1), backoff_max) * random.uniform(0.8, 1.2)
            if loop.time() + pause > deadline:
                raise KafkaTimeoutError(
                    f"could not get a producer id within {timeout * 1000:.0f} ms: {error}"
                ) from error
            log.debug("InitProducerId failed (%s); retrying in %.0f ms", error, pause * 1000)
            await asyncio.sleep(pause)
