"""The public admin client, :class:`Admin`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kafkaio.admin.acls import AclsMixin
from kafkaio.admin.cluster_ops import ClusterOpsMixin
from kafkaio.admin.configs import ConfigsMixin
from kafkaio.admin.delegation_tokens import DelegationTokensMixin
from kafkaio.admin.groups import GroupsMixin
from kafkaio.admin.offsets import OffsetsMixin
from kafkaio.admin.quotas import QuotasMixin
from kafkaio.admin.scram import ScramMixin
from kafkaio.admin.share_groups import ShareGroupsMixin
from kafkaio.admin.topics import TopicsMixin
from kafkaio.admin.transactions import TransactionsMixin
from kafkaio.cluster import ClusterClient

__all__ = ["Admin"]

log = logging.getLogger("kafkaio.admin")


class Admin(
    TopicsMixin,
    ConfigsMixin,
    ClusterOpsMixin,
    GroupsMixin,
    OffsetsMixin,
    AclsMixin,
    ScramMixin,
    QuotasMixin,
    TransactionsMixin,
    ShareGroupsMixin,
    DelegationTokensMixin,
):
    """An asyncio admin client for a Kafka cluster.

    ::

        async with Admin(bootstrap_servers="localhost:9092") as admin:
            results = await admin.create_topics([NewTopic("events", num_partitions=6)])
            results.raise_on_error()

    Every operation returns one result per item (topic, group, partition, resource),
    each carrying its own ``error``; :meth:`ResultMap.raise_on_error` raises the first.
    Requests go where their API must (any broker, a specific broker, the group or
    transaction coordinator, partition leaders, every broker), at the version the
    broker negotiated; retriable errors are retried until the operation's
    ``timeout_ms`` (default ``default_api_timeout_ms``).

    A request whose answer never came (timeout, broken connection) is in an unknown
    state; when it is retried, the retry may report the first attempt's effect (for
    example ``TopicAlreadyExistsError`` for a topic the first attempt created). Changes
    are committed by the controller before the answer, but brokers apply them a moment
    later: a read right after a change may briefly show the old state.

    Operations by area: topics (:meth:`create_topics`, :meth:`delete_topics`,
    :meth:`list_topics`, :meth:`describe_topics`, :meth:`create_partitions`); configs
    (:meth:`describe_configs`, :meth:`alter_configs`, :meth:`incremental_alter_configs`,
    :meth:`list_config_resources`); cluster (:meth:`describe_cluster`,
    :meth:`describe_features`, :meth:`update_features`, :meth:`describe_log_dirs`,
    :meth:`alter_replica_log_dirs`, :meth:`elect_leaders`,
    :meth:`describe_metadata_quorum`, :meth:`list_partition_reassignments`,
    :meth:`alter_partition_reassignments`, :meth:`unregister_broker`); groups
    (:meth:`list_groups`, :meth:`describe_groups`, :meth:`describe_consumer_groups`,
    :meth:`delete_groups`, :meth:`remove_members_from_consumer_group`,
    :meth:`list_consumer_group_offsets`, :meth:`alter_consumer_group_offsets`,
    :meth:`delete_consumer_group_offsets`, :meth:`consumer_group_lag`); share groups
    (:meth:`describe_share_groups`, :meth:`list_share_group_offsets`,
    :meth:`alter_share_group_offsets`, :meth:`delete_share_group_offsets`); offsets
    (:meth:`list_offsets`, :meth:`delete_records`); ACLs (:meth:`create_acls`,
    :meth:`describe_acls`, :meth:`delete_acls`); SCRAM
    (:meth:`describe_user_scram_credentials`, :meth:`alter_user_scram_credentials`);
    quotas (:meth:`describe_client_quotas`, :meth:`alter_client_quotas`); transactions
    (:meth:`list_transactions`, :meth:`describe_transactions`,
    :meth:`describe_producers`, :meth:`abort_transaction`, :meth:`fence_producers`);
    delegation tokens (:meth:`create_delegation_token`, :meth:`renew_delegation_token`,
    :meth:`expire_delegation_token`, :meth:`describe_delegation_tokens`).

    Options other than those below are :class:`~kafkaio.cluster.ClusterClient` options
    (``client_id``, ``request_timeout_ms``, ``security_protocol``, ``ssl_context``...).
    Pass ``client=`` to share an existing, bootstrapped ClusterClient instead (it is not
    closed by :meth:`close`). ``check_topic_config_keys=False`` lets topic config keys
    the pinned Kafka release does not know through to the broker.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str | Sequence[str] = "localhost",
        client: ClusterClient | None = None,
        client_id: str | None = "kafkaio-admin",
        default_api_timeout_ms: int = 60_000,
        retry_backoff_ms: int = 100,
        retry_backoff_max_ms: int = 1_000,
        check_topic_config_keys: bool = True,
        **cluster_options: Any,
    ) -> None:
        owns = client is None
        if client is None:
            client = ClusterClient.from_options(
                {
                    "bootstrap_servers": bootstrap_servers,
                    "client_id": client_id,
                    "retry_backoff_ms": retry_backoff_ms,
                    "retry_backoff_max_ms": retry_backoff_max_ms,
                    # Admin calls name their topics; never create one by asking about it.
                    "allow_auto_create_topics": False,
                    **cluster_options,
                }
            )
        elif cluster_options:
            raise TypeError(f"options {sorted(cluster_options)} cannot be combined with client=...")
        super().__init__(
            client,
            owns_client=owns,
            default_api_timeout_ms=default_api_timeout_ms,
            retry_backoff_ms=retry_backoff_ms,
            retry_backoff_max_ms=retry_backoff_max_ms,
            check_topic_config_keys=check_topic_config_keys,
        )

    async def start(self) -> None:
        """Bootstrap the underlying client (done by ``async with``)."""
        await self._client.bootstrap()

    async def close(self) -> None:
        """Close the underlying client if this Admin created it."""
        if self._owns_client:
            await self._client.close()

    async def __aenter__(self) -> Admin:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<Admin {self._client!r}>"
