"""Configs: describe, alter (full replacement) and incremental alter, for every resource type.

Broker and broker-logger resources naming a broker id are sent to that broker (only it
can answer for its own settings); everything else goes to any broker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, final, rejected
from kafkaio.admin.types import AlterConfigOpType, ConfigResourceType, ConfigSource, ConfigType
from kafkaio.admin.validation import TOPIC_CONFIG_KEYS, config_value, topic_name_problem
from kafkaio.errors import (
    BrokerResponseError,
    InvalidConfigError,
    InvalidRequestError,
    InvalidTopicError,
    KafkaError,
    UnsupportedVersionError,
    raise_for_code,
)
from kafkaio.protocol.api import Request, Response
from kafkaio.protocol.messages import (
    AlterConfigsRequest,
    AlterConfigsResponse,
    DescribeConfigsRequest,
    DescribeConfigsResponse,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
    ListConfigResourcesRequest,
    ListConfigResourcesResponse,
)
from kafkaio.protocol.messages import alter_configs as _ac
from kafkaio.protocol.messages import incremental_alter_configs as _iac
from kafkaio.protocol.messages.describe_configs import (
    DescribeConfigsResource,
    DescribeConfigsResourceResult,
)

__all__ = [
    "AlterConfigOp",
    "ConfigDescription",
    "ConfigEntry",
    "ConfigResource",
    "ConfigResourceResult",
    "ConfigSynonym",
    "ConfigsMixin",
]

_DOCUMENTATION_MIN_VERSION = 3
_TYPED_LISTING_MIN_VERSION = 1
Resp = TypeVar("Resp", bound=Response)


class ConfigResource(NamedTuple):
    """A resource that has configs: a topic, a broker (by id; ``""`` = cluster default)..."""

    type: ConfigResourceType
    name: str

    @classmethod
    def topic(cls, name: str) -> ConfigResource:
        """A topic's configs."""
        return cls(ConfigResourceType.TOPIC, name)

    @classmethod
    def broker(cls, node_id: int | None = None) -> ConfigResource:
        """A broker's configs; ``None``: the cluster-wide dynamic default."""
        return cls(ConfigResourceType.BROKER, "" if node_id is None else str(node_id))

    @classmethod
    def broker_logger(cls, node_id: int) -> ConfigResource:
        """A broker's log levels."""
        return cls(ConfigResourceType.BROKER_LOGGER, str(node_id))

    @classmethod
    def group(cls, group_id: str) -> ConfigResource:
        """A group's configs (KIP-848)."""
        return cls(ConfigResourceType.GROUP, group_id)

    @classmethod
    def client_metrics(cls, name: str) -> ConfigResource:
        """A client-metrics subscription (KIP-714)."""
        return cls(ConfigResourceType.CLIENT_METRICS, name)


@dataclass(frozen=True, slots=True)
class ConfigSynonym:
    """One of the values a config would take, in precedence order."""

    name: str
    value: str | None
    source: ConfigSource


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One config of a resource (``value`` is ``None`` for sensitive configs)."""

    name: str
    value: str | None
    source: ConfigSource = ConfigSource.UNKNOWN
    read_only: bool = False
    sensitive: bool = False
    synonyms: tuple[ConfigSynonym, ...] = ()
    config_type: ConfigType = ConfigType.UNKNOWN
    documentation: str | None = None

    @property
    def is_default(self) -> bool:
        """Whether the value is the built-in default."""
        return self.source is ConfigSource.DEFAULT_CONFIG


@dataclass(frozen=True, slots=True)
class ConfigDescription:
    """The configs of one resource."""

    resource: ConfigResource
    entries: Mapping[str, ConfigEntry] = field(default_factory=dict)
    error: KafkaError | None = None

    def value(self, name: str) -> str | None:
        """The value of config ``name`` (:class:`KeyError` if the resource has none)."""
        return self.entries[name].value


@dataclass(frozen=True, slots=True)
class ConfigResourceResult:
    """Outcome of altering one resource's configs."""

    resource: ConfigResource
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class AlterConfigOp:
    """One incremental change: set, delete, or append to / subtract from a list config."""

    name: str
    value: str | int | float | bool | None = None
    op: AlterConfigOpType = AlterConfigOpType.SET

    @classmethod
    def set(cls, name: str, value: str | int | float | bool) -> AlterConfigOp:
        return cls(name, value, AlterConfigOpType.SET)

    @classmethod
    def delete(cls, name: str) -> AlterConfigOp:
        """Revert ``name`` to its default."""
        return cls(name, None, AlterConfigOpType.DELETE)

    @classmethod
    def append(cls, name: str, value: str) -> AlterConfigOp:
        return cls(name, value, AlterConfigOpType.APPEND)

    @classmethod
    def subtract(cls, name: str, value: str) -> AlterConfigOp:
        return cls(name, value, AlterConfigOpType.SUBTRACT)


def config_entry(c: DescribeConfigsResourceResult) -> ConfigEntry:
    """A :class:`ConfigEntry` from a DescribeConfigs result."""
    return ConfigEntry(
        name=c.name,
        value=c.value,
        source=ConfigSource(c.config_source) if c.config_source >= 0 else ConfigSource.UNKNOWN,
        read_only=c.read_only,
        sensitive=c.is_sensitive,
        synonyms=tuple(ConfigSynonym(s.name, s.value, ConfigSource(s.source)) for s in c.synonyms),
        config_type=ConfigType(c.config_type),
        documentation=c.documentation,
    )


def _resource(value: object) -> ConfigResource:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
        return ConfigResource(ConfigResourceType(value[0]), value[1])
    raise TypeError(f"expected a ConfigResource(type, name), got {value!r}")


def _target(resource: ConfigResource) -> int | None:
    """The broker that must answer for ``resource`` (``None``: any broker)."""
    if resource.type in (ConfigResourceType.BROKER, ConfigResourceType.BROKER_LOGGER):
        if resource.name == "":
            if resource.type is ConfigResourceType.BROKER_LOGGER:
                raise ValueError("a BROKER_LOGGER resource must name a broker id")
            return None
        try:
            return int(resource.name)
        except ValueError:
            raise ValueError(
                f"{resource.type.name} resource name must be a broker id, got {resource.name!r}"
            ) from None
    return None


def _label(resource: ConfigResource) -> str:
    return f"{resource.type.name.lower()} {resource.name!r}"


def _resource_problem(resource: ConfigResource) -> BrokerResponseError | None:
    if resource.type is ConfigResourceType.TOPIC:
        problem = topic_name_problem(resource.name)
        if problem is not None:
            return rejected(InvalidTopicError, _label(resource), problem)
    return None


class ConfigsMixin(AdminCore):
    """Config operations of :class:`~kafkaio.admin.Admin`."""

    def _by_target(
        self, resources: Iterable[ConfigResource]
    ) -> dict[int | None, list[ConfigResource]]:
        groups: dict[int | None, list[ConfigResource]] = defaultdict(list)
        for r in resources:
            groups[_target(r)].append(r)
        return dict(groups)

    async def _send_config_request(
        self,
        target: int | None,
        build: Callable[[int], Request],
        expect: type[Resp],
        deadline: float,
    ) -> Resp:
        if target is None:
            return await self._call_any(build, expect, deadline)
        return await self._call_node(target, build, expect, deadline)

    async def describe_configs(
        self,
        resources: Iterable[ConfigResource],
        *,
        keys: Iterable[str] | None = None,
        include_synonyms: bool = False,
        include_documentation: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[ConfigResource, ConfigDescription]:
        """Describe the configs of ``resources`` (all of them, or only ``keys``).

        ``include_synonyms`` lists every source a value could come from, in precedence
        order; ``include_documentation`` needs DescribeConfigs v3+ (Kafka 2.6+).
        """
        items = [_resource(r) for r in resources]
        wanted = None if keys is None else sorted(set(keys))
        deadline = self._deadline(timeout_ms)
        results: dict[ConfigResource, ConfigDescription] = {}
        sendable = []
        for r in items:
            problem = _resource_problem(r)
            if problem is not None:
                results[r] = ConfigDescription(r, error=problem)
            else:
                sendable.append(r)

        def fail(r: ConfigResource, exc: KafkaError) -> ConfigDescription:
            return ConfigDescription(r, error=exc)

        async def one(
            target: int | None, batch: list[ConfigResource]
        ) -> dict[ConfigResource, ConfigDescription]:
            def build(version: int) -> Request:
                if include_documentation and version < _DOCUMENTATION_MIN_VERSION:
                    raise UnsupportedVersionError(
                        f"config documentation needs DescribeConfigs v3+, the broker offers"
                        f" v{version}"
                    )
                return DescribeConfigsRequest(
                    resources=[
                        DescribeConfigsResource(
                            resource_type=int(r.type),
                            resource_name=r.name,
                            configuration_keys=wanted,
                        )
                        for r in batch
                    ],
                    include_synonyms=include_synonyms,
                    include_documentation=include_documentation,
                )

            response = await self._send_config_request(
                target, build, DescribeConfigsResponse, deadline
            )
            out: dict[ConfigResource, ConfigDescription] = {}
            for res in response.results:
                resource = ConfigResource(ConfigResourceType(res.resource_type), res.resource_name)
                error = broker_error(res.error_code, res.error_message, _label(resource))
                final(error)
                entries = {c.name: config_entry(c) for c in res.configs}
                out[resource] = ConfigDescription(resource, entries, error)
            return out

        async def attempt(pending: list[ConfigResource]) -> dict[ConfigResource, ConfigDescription]:
            merged: dict[ConfigResource, ConfigDescription] = {}
            for target, batch in self._by_target(pending).items():
                try:
                    merged.update(await one(target, batch))
                except KafkaError as exc:
                    if not exc.retriable:
                        raise
                    merged.update({r: fail(r, exc) for r in batch})
            return merged

        if sendable:
            results.update(await self._run_items(sendable, attempt, fail, deadline))
        return ResultMap((r, results[r]) for r in dict.fromkeys(items))

    async def alter_configs(
        self,
        configs: Mapping[ConfigResource, Mapping[str, object]],
        *,
        validate_only: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[ConfigResource, ConfigResourceResult]:
        """Replace the dynamic configs of each resource with exactly the given ones.

        Configs not listed revert to their defaults; prefer
        :meth:`incremental_alter_configs`, which changes only what it names.
        """
        prepared: dict[ConfigResource, list[tuple[str, str | None]]] = {}
        results: dict[ConfigResource, ConfigResourceResult] = {}
        for raw, entries in configs.items():
            r = _resource(raw)
            pairs = [(k, config_value(k, v)) for k, v in entries.items()]
            problem = _resource_problem(r) or self._keys_problem(r, [k for k, _ in pairs])
            if problem is not None:
                results[r] = ConfigResourceResult(r, problem)
            else:
                prepared[r] = pairs

        def build_for(batch: list[ConfigResource]) -> Callable[[int], Request]:
            def build(version: int) -> Request:
                return AlterConfigsRequest(
                    resources=[
                        _ac.AlterConfigsResource(
                            resource_type=int(r.type),
                            resource_name=r.name,
                            configs=[_ac.AlterableConfig(name=k, value=v) for k, v in prepared[r]],
                        )
                        for r in batch
                    ],
                    validate_only=validate_only,
                )

            return build

        results.update(
            await self._alter(list(prepared), build_for, AlterConfigsResponse, timeout_ms)
        )
        return ResultMap((_resource(r), results[_resource(r)]) for r in configs)

    async def incremental_alter_configs(
        self,
        changes: Mapping[ConfigResource, Iterable[AlterConfigOp]],
        *,
        validate_only: bool = False,
        timeout_ms: int | None = None,
    ) -> ResultMap[ConfigResource, ConfigResourceResult]:
        """Apply SET / DELETE / APPEND / SUBTRACT changes, leaving other configs alone."""
        prepared: dict[ConfigResource, list[tuple[str, int, str | None]]] = {}
        results: dict[ConfigResource, ConfigResourceResult] = {}
        for raw, ops in changes.items():
            r = _resource(raw)
            op_list = list(ops)
            problem = _resource_problem(r) or self._ops_problem(r, op_list)
            if problem is not None:
                results[r] = ConfigResourceResult(r, problem)
                continue
            prepared[r] = [(o.name, int(o.op), config_value(o.name, o.value)) for o in op_list]

        def build_for(batch: list[ConfigResource]) -> Callable[[int], Request]:
            def build(version: int) -> Request:
                return IncrementalAlterConfigsRequest(
                    resources=[
                        _iac.AlterConfigsResource(
                            resource_type=int(r.type),
                            resource_name=r.name,
                            configs=[
                                _iac.AlterableConfig(name=k, config_operation=op, value=v)
                                for k, op, v in prepared[r]
                            ],
                        )
                        for r in batch
                    ],
                    validate_only=validate_only,
                )

            return build

        results.update(
            await self._alter(
                list(prepared), build_for, IncrementalAlterConfigsResponse, timeout_ms
            )
        )
        return ResultMap((_resource(r), results[_resource(r)]) for r in changes)

    def _keys_problem(self, r: ConfigResource, keys: list[str]) -> BrokerResponseError | None:
        seen: set[str] = set()
        for k in keys:
            if k in seen:
                return rejected(InvalidRequestError, _label(r), f"config {k!r} appears twice")
            seen.add(k)
            if (
                r.type is ConfigResourceType.TOPIC
                and self._check_topic_config_keys
                and k not in TOPIC_CONFIG_KEYS
            ):
                return rejected(InvalidConfigError, _label(r), f"unknown topic config {k!r}")
        return None

    def _ops_problem(
        self, r: ConfigResource, ops: list[AlterConfigOp]
    ) -> BrokerResponseError | None:
        for o in ops:
            if not isinstance(o, AlterConfigOp):
                raise TypeError(f"{_label(r)}: expected AlterConfigOp, got {o!r}")
            op = AlterConfigOpType(o.op)
            if op is AlterConfigOpType.DELETE and o.value is not None:
                return rejected(
                    InvalidRequestError,
                    _label(r),
                    f"DELETE of {o.name!r} takes no value (got {o.value!r})",
                )
            if op is not AlterConfigOpType.DELETE and o.value is None:
                return rejected(
                    InvalidConfigError, _label(r), f"{op.name} of {o.name!r} needs a value"
                )
        return self._keys_problem(r, [o.name for o in ops])

    async def _alter(
        self,
        resources: list[ConfigResource],
        build_for: Callable[[list[ConfigResource]], Callable[[int], Request]],
        expect: type[AlterConfigsResponse] | type[IncrementalAlterConfigsResponse],
        timeout_ms: int | None,
    ) -> dict[ConfigResource, ConfigResourceResult]:
        deadline = self._deadline(timeout_ms)

        def fail(r: ConfigResource, exc: KafkaError) -> ConfigResourceResult:
            return ConfigResourceResult(r, exc)

        async def attempt(
            pending: list[ConfigResource],
        ) -> dict[ConfigResource, ConfigResourceResult]:
            merged: dict[ConfigResource, ConfigResourceResult] = {}
            for target, batch in self._by_target(pending).items():
                try:
                    response = await self._send_config_request(
                        target, build_for(batch), expect, deadline
                    )
                except KafkaError as exc:
                    if not exc.retriable:
                        raise
                    merged.update({r: fail(r, exc) for r in batch})
                    continue
                for res in response.responses:
                    resource = ConfigResource(
                        ConfigResourceType(res.resource_type), res.resource_name
                    )
                    error = broker_error(res.error_code, res.error_message, _label(resource))
                    final(error)
                    merged[resource] = ConfigResourceResult(resource, error)
            return merged

        if not resources:
            return {}
        return await self._run_items(resources, attempt, fail, deadline)

    async def list_config_resources(
        self,
        types: Iterable[ConfigResourceType] | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> list[ConfigResource]:
        """Resources that have configs, of the given types (default: all types).

        ListConfigResources v0 (Kafka 4.0) lists client-metrics subscriptions only; other
        types need v1+.
        """
        wanted = None if types is None else sorted({ConfigResourceType(t) for t in types})
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            if version < _TYPED_LISTING_MIN_VERSION:
                if wanted != [ConfigResourceType.CLIENT_METRICS]:
                    raise UnsupportedVersionError(
                        "listing config resources other than client metrics needs"
                        f" ListConfigResources v1+, the broker offers v{version}"
                    )
                return ListConfigResourcesRequest()
            return ListConfigResourcesRequest(
                resource_types=[] if wanted is None else [int(t) for t in wanted]
            )

        response = await self._call_any(
            build, ListConfigResourcesResponse, deadline, retry_codes=lambda r: r.error_code
        )
        raise_for_code(response.error_code, "ListConfigResources failed")
        return sorted(
            ConfigResource(
                ConfigResourceType(r.resource_type)
                if r.resource_type > 0
                else ConfigResourceType.CLIENT_METRICS,
                r.resource_name,
            )
            for r in response.config_resources
        )
