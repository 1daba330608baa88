"""ACLs: create, describe (by filter), delete (by filters).

The broker needs an authorizer (``authorizer.class.name``); without one every ACL
operation answers :class:`~kafkaio.errors.SecurityDisabledError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, rejected
from kafkaio.admin.types import AclOperation, AclPermissionType, PatternType, ResourceType
from kafkaio.errors import InvalidRequestError, KafkaError, raise_for_code
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    CreateAclsRequest,
    CreateAclsResponse,
    DeleteAclsRequest,
    DeleteAclsResponse,
    DescribeAclsRequest,
    DescribeAclsResponse,
)
from kafkaio.protocol.messages.create_acls import AclCreation
from kafkaio.protocol.messages.delete_acls import DeleteAclsFilter

__all__ = ["AclBinding", "AclBindingFilter", "AclResult", "AclsMixin", "DeleteAclsResult"]

_FILTER_ONLY_TYPES = (ResourceType.ANY, ResourceType.UNKNOWN)
_FILTER_ONLY_PATTERNS = (PatternType.ANY, PatternType.MATCH, PatternType.UNKNOWN)
_FILTER_ONLY_OPERATIONS = (AclOperation.ANY, AclOperation.UNKNOWN)
_FILTER_ONLY_PERMISSIONS = (AclPermissionType.ANY, AclPermissionType.UNKNOWN)


@dataclass(frozen=True, slots=True)
class AclBinding:
    """One ACL: ``principal`` (e.g. ``"User:alice"``) may or may not perform ``operation``
    on the resource(s) ``resource_name`` matches, from ``host`` (``"*"``: any)."""

    resource_type: ResourceType
    resource_name: str
    principal: str
    operation: AclOperation
    permission_type: AclPermissionType = AclPermissionType.ALLOW
    pattern_type: PatternType = PatternType.LITERAL
    host: str = "*"

    def problem(self) -> str | None:
        """Why this binding cannot be created (filter-only values, malformed principal)."""
        if ResourceType(self.resource_type) in _FILTER_ONLY_TYPES:
            return f"resource type {ResourceType(self.resource_type).name} only fits filters"
        if PatternType(self.pattern_type) in _FILTER_ONLY_PATTERNS:
            return f"pattern type {PatternType(self.pattern_type).name} only fits filters"
        if AclOperation(self.operation) in _FILTER_ONLY_OPERATIONS:
            return f"operation {AclOperation(self.operation).name} only fits filters"
        if AclPermissionType(self.permission_type) in _FILTER_ONLY_PERMISSIONS:
            return f"permission {AclPermissionType(self.permission_type).name} only fits filters"
        if ":" not in self.principal:
            return f"principal {self.principal!r} is not of the form 'Type:name'"
        if not self.resource_name:
            return "the resource name is empty"
        return None

    def to_filter(self) -> AclBindingFilter:
        """A filter matching exactly this binding."""
        return AclBindingFilter(
            self.resource_type,
            self.resource_name,
            self.principal,
            self.operation,
            self.permission_type,
            self.pattern_type,
            self.host,
        )


@dataclass(frozen=True, slots=True)
class AclBindingFilter:
    """Matches ACLs; ``None`` and the ``ANY`` values match everything.

    ``pattern_type=MATCH`` finds every ACL that applies to a resource name (literal,
    wildcard and prefixed ones).
    """

    resource_type: ResourceType = ResourceType.ANY
    resource_name: str | None = None
    principal: str | None = None
    operation: AclOperation = AclOperation.ANY
    permission_type: AclPermissionType = AclPermissionType.ANY
    pattern_type: PatternType = PatternType.ANY
    host: str | None = None


@dataclass(frozen=True, slots=True)
class AclResult:
    """Outcome of creating one ACL."""

    binding: AclBinding
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class DeleteAclsResult:
    """ACLs one filter deleted (and per-ACL failures)."""

    filter: AclBindingFilter
    deleted: tuple[AclBinding, ...] = ()
    failed: tuple[tuple[AclBinding, KafkaError], ...] = ()
    error: KafkaError | None = None


def _binding(
    resource_type: int,
    resource_name: str,
    pattern_type: int,
    principal: str,
    host: str,
    operation: int,
    permission_type: int,
) -> AclBinding:
    return AclBinding(
        ResourceType(resource_type),
        resource_name,
        principal,
        AclOperation(operation),
        AclPermissionType(permission_type),
        PatternType(pattern_type),
        host,
    )


class AclsMixin(AdminCore):
    """ACL operations of :class:`~kafkaio.admin.Admin`."""

    async def create_acls(
        self, bindings: Iterable[AclBinding], *, timeout_ms: int | None = None
    ) -> ResultMap[AclBinding, AclResult]:
        """Create ACLs; one result per binding (already existing ones succeed)."""
        items = list(dict.fromkeys(bindings))
        results: dict[AclBinding, AclResult] = {}
        sendable: list[AclBinding] = []
        for b in items:
            if not isinstance(b, AclBinding):
                raise TypeError(f"expected AclBinding, got {b!r}")
            problem = b.problem()
            if problem is not None:
                results[b] = AclResult(b, rejected(InvalidRequestError, f"ACL {b}", problem))
            else:
                sendable.append(b)
        deadline = self._deadline(timeout_ms)

        def fail(b: AclBinding, exc: KafkaError) -> AclResult:
            return AclResult(b, exc)

        async def attempt(pending: list[AclBinding]) -> dict[AclBinding, AclResult]:
            def build(version: int) -> Request:
                return CreateAclsRequest(
                    creations=[
                        AclCreation(
                            resource_type=int(b.resource_type),
                            resource_name=b.resource_name,
                            resource_pattern_type=int(b.pattern_type),
                            principal=b.principal,
                            host=b.host,
                            operation=int(b.operation),
                            permission_type=int(b.permission_type),
                        )
                        for b in pending
                    ]
                )

            response = await self._call_any(build, CreateAclsResponse, deadline)
            # Results come in the order of the creations.
            return {
                b: AclResult(b, broker_error(r.error_code, r.error_message, f"ACL {b}"))
                for b, r in zip(pending, response.results, strict=False)
            }

        if sendable:
            results.update(await self._run_items(sendable, attempt, fail, deadline))
        return ResultMap((b, results[b]) for b in items)

    async def describe_acls(
        self, acl_filter: AclBindingFilter | None = None, *, timeout_ms: int | None = None
    ) -> list[AclBinding]:
        """ACLs matching ``acl_filter`` (default: all); raises the broker's error."""
        f = acl_filter or AclBindingFilter()
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            return DescribeAclsRequest(
                resource_type_filter=int(f.resource_type),
                resource_name_filter=f.resource_name,
                pattern_type_filter=int(f.pattern_type),
                principal_filter=f.principal,
                host_filter=f.host,
                operation=int(f.operation),
                permission_type=int(f.permission_type),
            )

        response = await self._call_any(
            build, DescribeAclsResponse, deadline, retry_codes=lambda r: r.error_code
        )
        raise_for_code(response.error_code, response.error_message)
        return [
            _binding(
                r.resource_type,
                r.resource_name,
                r.pattern_type,
                a.principal,
                a.host,
                a.operation,
                a.permission_type,
            )
            for r in response.resources
            for a in r.acls
        ]

    async def delete_acls(
        self, filters: Iterable[AclBindingFilter], *, timeout_ms: int | None = None
    ) -> ResultMap[AclBindingFilter, DeleteAclsResult]:
        """Delete every ACL matching each filter; each result lists what it deleted."""
        items = list(dict.fromkeys(filters))
        for f in items:
            if not isinstance(f, AclBindingFilter):
                raise TypeError(f"expected AclBindingFilter, got {f!r}")
        deadline = self._deadline(timeout_ms)

        def fail(f: AclBindingFilter, exc: KafkaError) -> DeleteAclsResult:
            return DeleteAclsResult(f, error=exc)

        async def attempt(
            pending: list[AclBindingFilter],
        ) -> dict[AclBindingFilter, DeleteAclsResult]:
            def build(version: int) -> Request:
                return DeleteAclsRequest(
                    filters=[
                        DeleteAclsFilter(
                            resource_type_filter=int(f.resource_type),
                            resource_name_filter=f.resource_name,
                            pattern_type_filter=int(f.pattern_type),
                            principal_filter=f.principal,
                            host_filter=f.host,
                            operation=int(f.operation),
                            permission_type=int(f.permission_type),
                        )
                        for f in pending
                    ]
                )

            response = await self._call_any(build, DeleteAclsResponse, deadline)
            out = {}
            for f, r in zip(pending, response.filter_results, strict=False):
                deleted = []
                failed = []
                for m in r.matching_acls:
                    b = _binding(
                        m.resource_type,
                        m.resource_name,
                        m.pattern_type,
                        m.principal,
                        m.host,
                        m.operation,
                        m.permission_type,
                    )
                    error = broker_error(m.error_code, m.error_message, f"ACL {b}")
                    if error is None:
                        deleted.append(b)
                    else:
                        failed.append((b, error))
                out[f] = DeleteAclsResult(
                    f,
                    tuple(deleted),
                    tuple(failed),
                    broker_error(r.error_code, r.error_message, f"ACL filter {f}"),
                )
            return out

        if not items:
            return ResultMap()
        return ResultMap((await self._run_items(items, attempt, fail, deadline)).items())
