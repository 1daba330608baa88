"""Client quotas: describe (by entity filter) and alter (set or remove per quota key)."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, rejected
from kafkaio.errors import InvalidRequestError, KafkaError, raise_for_code
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    AlterClientQuotasRequest,
    AlterClientQuotasResponse,
    DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
)
from kafkaio.protocol.messages import alter_client_quotas as _acq
from kafkaio.protocol.messages.describe_client_quotas import ComponentData

__all__ = [
    "ClientQuotaEntity",
    "ClientQuotaFilterComponent",
    "MatchType",
    "QuotaResult",
    "QuotasMixin",
]

_ENTITY_TYPES = ("user", "client-id", "ip")


class MatchType(enum.IntEnum):
    """How a filter component matches an entity's name."""

    EXACT = 0
    DEFAULT = 1
    """The default entity (name ``None``)."""
    SPECIFIED = 2
    """Any entity of that type with a name."""


@dataclass(frozen=True, slots=True)
class ClientQuotaEntity:
    """Whom a quota applies to: ``{"user": "alice"}``, ``{"client-id": None}`` (default)...

    Build with :meth:`of`; ``None`` as a name means that type's default entity.
    """

    parts: tuple[tuple[str, str | None], ...]

    @classmethod
    def of(
        cls, entries: Mapping[str, str | None] | None = None, **kwargs: str | None
    ) -> ClientQuotaEntity:
        """An entity from a mapping (``client_id=`` stands for ``client-id``)."""
        merged = dict(entries or {})
        for key, value in kwargs.items():
            merged[key.replace("_", "-")] = value
        for key, value in merged.items():
            if key not in _ENTITY_TYPES:
                raise ValueError(f"unknown quota entity type {key!r} (known: {_ENTITY_TYPES})")
            if value is not None and not isinstance(value, str):
                raise TypeError(f"quota entity {key!r}: name must be a str or None, got {value!r}")
        if not merged:
            raise ValueError("a quota entity needs at least one of user, client-id, ip")
        return cls(tuple(sorted(merged.items())))

    def as_dict(self) -> dict[str, str | None]:
        """The entity as a mapping of entity type to name."""
        return dict(self.parts)


@dataclass(frozen=True, slots=True)
class ClientQuotaFilterComponent:
    """One condition of a quota filter."""

    entity_type: str
    match_type: MatchType = MatchType.SPECIFIED
    match: str | None = None

    @classmethod
    def exact(cls, entity_type: str, name: str) -> ClientQuotaFilterComponent:
        return cls(entity_type, MatchType.EXACT, name)

    @classmethod
    def default(cls, entity_type: str) -> ClientQuotaFilterComponent:
        return cls(entity_type, MatchType.DEFAULT)

    @classmethod
    def any(cls, entity_type: str) -> ClientQuotaFilterComponent:
        return cls(entity_type, MatchType.SPECIFIED)


@dataclass(frozen=True, slots=True)
class QuotaResult:
    """Outcome of altering one entity's quotas."""

    entity: ClientQuotaEntity
    error: KafkaError | None = None


class QuotasMixin(AdminCore):
    """Client-quota operations of :class:`~kafkaio.admin.Admin`."""

    async def describe_client_quotas(
        self,
        components: Iterable[ClientQuotaFilterComponent] = (),
        *,
        strict: bool = False,
        timeout_ms: int | None = None,
    ) -> dict[ClientQuotaEntity, dict[str, float]]:
        """Quotas of the entities matching every component (``strict``: entities with
        no other entity types than those filtered)."""
        comps = list(components)
        for c in comps:
            if c.entity_type not in _ENTITY_TYPES:
                raise ValueError(f"unknown quota entity type {c.entity_type!r}")
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            return DescribeClientQuotasRequest(
                components=[
                    ComponentData(
                        entity_type=c.entity_type, match_type=int(c.match_type), match=c.match
                    )
                    for c in comps
                ],
                strict=strict,
            )

        response = await self._call_any(
            build, DescribeClientQuotasResponse, deadline, retry_codes=lambda r: r.error_code
        )
        raise_for_code(response.error_code, response.error_message)
        return {
            ClientQuotaEntity(
                tuple(sorted((e.entity_type, e.entity_name) for e in entry.entity))
            ): {v.key: v.value for v in entry.values}
            for entry in response.entries or ()
        }

    async def alter_client_quotas(
        self,
        alterations: Mapping[ClientQuotaEntity, Mapping[str, float | None]],
        *,
        validate_only: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[ClientQuotaEntity, QuotaResult]:
        """Set quota values per entity (``None`` removes that quota), e.g.
        ``{ClientQuotaEntity.of(user="alice"): {"producer_byte_rate": 1024.0}}``."""
        results: dict[ClientQuotaEntity, QuotaResult] = {}
        sendable: dict[ClientQuotaEntity, list[tuple[str, float, bool]]] = {}
        for entity, ops in alterations.items():
            if not isinstance(entity, ClientQuotaEntity):
                raise TypeError(f"expected ClientQuotaEntity, got {entity!r}")
            prepared = []
            problem = None
            for key, value in ops.items():
                if value is None:
                    prepared.append((key, 0.0, True))
                elif (
                    isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and math.isfinite(value)
                    and value > 0
                ):
                    prepared.append((key, float(value), False))
                else:
                    problem = f"quota {key!r} must be a positive number or None, got {value!r}"
                    break
            if problem is not None or not prepared:
                results[entity] = QuotaResult(
                    entity,
                    rejected(
                        InvalidRequestError,
                        f"quota entity {entity.as_dict()}",
                        problem or "no quota given",
                    ),
                )
            else:
                sendable[entity] = prepared
        deadline = self._deadline(timeout_ms)

        def fail(e: ClientQuotaEntity, exc: KafkaError) -> QuotaResult:
            return QuotaResult(e, exc)

        async def attempt(pending: list[ClientQuotaEntity]) -> dict[ClientQuotaEntity, QuotaResult]:
            def build(version: int) -> Request:
                return AlterClientQuotasRequest(
                    entries=[
                        _acq.AlterClientQuotasRequestEntryData(
                            entity=[
                                _acq.EntityData(entity_type=t, entity_name=n) for t, n in e.parts
                            ],
                            ops=[_acq.OpData(key=k, value=v, remove=r) for k, v, r in sendable[e]],
                        )
                        for e in pending
                    ],
                    validate_only=validate_only,
                )

            response = await self._call_any(build, AlterClientQuotasResponse, deadline)
            out = {}
            for entry in response.entries:
                entity = ClientQuotaEntity(
                    tuple(sorted((d.entity_type, d.entity_name) for d in entry.entity))
                )
                out[entity] = QuotaResult(
                    entity,
                    broker_error(
                        entry.error_code, entry.error_message, f"quota entity {entity.as_dict()}"
                    ),
                )
            return out

        if sendable:
            results.update(await self._run_items(list(sendable), attempt, fail, deadline))
        return ResultMap((e, results[e]) for e in alterations)
