"""Delegation tokens: create, renew, expire, describe.

The broker issues tokens only to clients authenticated by SASL (not by a token) over a
listener with ``delegation.token.secret.key`` configured; otherwise it answers with
``DelegationTokenRequestNotAllowedError`` / ``DelegationTokenAuthDisabledError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kafkaio.admin._core import AdminCore
from kafkaio.admin.validation import check_int
from kafkaio.errors import UnsupportedVersionError, raise_for_code
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    CreateDelegationTokenRequest,
    CreateDelegationTokenResponse,
    DescribeDelegationTokenRequest,
    DescribeDelegationTokenResponse,
    ExpireDelegationTokenRequest,
    ExpireDelegationTokenResponse,
    RenewDelegationTokenRequest,
    RenewDelegationTokenResponse,
)
from kafkaio.protocol.messages.create_delegation_token import CreatableRenewers
from kafkaio.protocol.messages.describe_delegation_token import DescribeDelegationTokenOwner

__all__ = ["DelegationToken", "DelegationTokensMixin"]

_OWNER_MIN_VERSION = 3
_DEFAULT = -1


@dataclass(frozen=True, slots=True)
class DelegationToken:
    """A delegation token: its id and secret (``hmac``), owner, renewers and lifetimes."""

    token_id: str
    hmac: bytes
    owner: str
    """The owner principal, ``"User:alice"``."""
    requester: str | None
    """Who asked for it (DelegationToken v3+), if another principal than the owner."""
    renewers: tuple[str, ...]
    issue_timestamp_ms: int
    expiry_timestamp_ms: int
    max_timestamp_ms: int


def _split(principal: str) -> tuple[str, str]:
    if not isinstance(principal, str) or ":" not in principal:
        raise ValueError(f"a principal is 'Type:name' (e.g. 'User:alice'), got {principal!r}")
    kind, name = principal.split(":", 1)
    if not kind or not name:
        raise ValueError(f"a principal is 'Type:name' (e.g. 'User:alice'), got {principal!r}")
    return kind, name


def _join(kind: str, name: str) -> str | None:
    return f"{kind}:{name}" if kind and name else None


class DelegationTokensMixin(AdminCore):
    """Delegation-token operations of :class:`~kafkaio.admin.Admin`."""

    async def create_delegation_token(
        self,
        *,
        renewers: Iterable[str] = (),
        owner: str | None = None,
        max_lifetime_ms: int | None = None,
        timeout_ms: int | None = None,
    ) -> DelegationToken:
        """Create a token for the caller (or for ``owner``, DelegationToken v3+).

        ``renewers`` are principals allowed to renew it; ``max_lifetime_ms`` ``None``
        means the broker's ``delegation.token.max.lifetime.ms``.
        """
        renewer_pairs = [_split(r) for r in renewers]
        owner_pair = None if owner is None else _split(owner)
        lifetime = (
            _DEFAULT if max_lifetime_ms is None else check_int(max_lifetime_ms, "max_lifetime_ms")
        )
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            if owner_pair is not None and version < _OWNER_MIN_VERSION:
                raise UnsupportedVersionError(
                    "creating a token for another owner needs CreateDelegationToken v3+,"
                    f" the broker offers v{version}"
                )
            return CreateDelegationTokenRequest(
                owner_principal_type=None if owner_pair is None else owner_pair[0],
                owner_principal_name=None if owner_pair is None else owner_pair[1],
                renewers=[
                    CreatableRenewers(principal_type=k, principal_name=n) for k, n in renewer_pairs
                ],
                max_lifetime_ms=lifetime,
            )

        r = await self._call_any(build, CreateDelegationTokenResponse, deadline)
        raise_for_code(r.error_code, "CreateDelegationToken failed")
        return DelegationToken(
            token_id=r.token_id,
            hmac=r.hmac,
            owner=_join(r.principal_type, r.principal_name) or "",
            requester=_join(r.token_requester_principal_type, r.token_requester_principal_name),
            renewers=tuple(f"{k}:{n}" for k, n in renewer_pairs),
            issue_timestamp_ms=r.issue_timestamp_ms,
            expiry_timestamp_ms=r.expiry_timestamp_ms,
            max_timestamp_ms=r.max_timestamp_ms,
        )

    async def renew_delegation_token(
        self, hmac: bytes, *, renew_period_ms: int | None = None, timeout_ms: int | None = None
    ) -> int:
        """Extend a token's expiry; returns the new expiry timestamp (ms)."""
        period = (
            _DEFAULT if renew_period_ms is None else check_int(renew_period_ms, "renew_period_ms")
        )
        deadline = self._deadline(timeout_ms)
        r = await self._call_any(
            lambda v: RenewDelegationTokenRequest(hmac=bytes(hmac), renew_period_ms=period),
            RenewDelegationTokenResponse,
            deadline,
        )
        raise_for_code(r.error_code, "RenewDelegationToken failed")
        return r.expiry_timestamp_ms

    async def expire_delegation_token(
        self,
        hmac: bytes,
        *,
        expiry_time_period_ms: int | None = None,
        timeout_ms: int | None = None,
    ) -> int:
        """Expire a token after ``expiry_time_period_ms`` (``None``: the default; a
        negative period expires it now); returns the new expiry timestamp (ms)."""
        period = (
            _DEFAULT
            if expiry_time_period_ms is None
            else check_int(expiry_time_period_ms, "expiry_time_period_ms")
        )
        deadline = self._deadline(timeout_ms)
        r = await self._call_any(
            lambda v: ExpireDelegationTokenRequest(hmac=bytes(hmac), expiry_time_period_ms=period),
            ExpireDelegationTokenResponse,
            deadline,
        )
        raise_for_code(r.error_code, "ExpireDelegationToken failed")
        return r.expiry_timestamp_ms

    async def describe_delegation_tokens(
        self, owners: Iterable[str] | None = None, *, timeout_ms: int | None = None
    ) -> list[DelegationToken]:
        """Tokens the caller may see (of ``owners``, or all)."""
        owner_pairs = None if owners is None else [_split(o) for o in owners]
        deadline = self._deadline(timeout_ms)
        r = await self._call_any(
            lambda v: DescribeDelegationTokenRequest(
                owners=None
                if owner_pairs is None
                else [
                    DescribeDelegationTokenOwner(principal_type=k, principal_name=n)
                    for k, n in owner_pairs
                ]
            ),
            DescribeDelegationTokenResponse,
            deadline,
        )
        raise_for_code(r.error_code, "DescribeDelegationToken failed")
        return [
            DelegationToken(
                token_id=t.token_id,
                hmac=t.hmac,
                owner=_join(t.principal_type, t.principal_name) or "",
                requester=_join(t.token_requester_principal_type, t.token_requester_principal_name),
                renewers=tuple(f"{w.principal_type}:{w.principal_name}" for w in t.renewers),
                issue_timestamp_ms=t.issue_timestamp,
                expiry_timestamp_ms=t.expiry_timestamp,
                max_timestamp_ms=t.max_timestamp,
            )
            for t in r.tokens
        ]
