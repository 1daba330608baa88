"""SCRAM users: describe credentials, upsert (salted client-side) and delete them."""

from __future__ import annotations

import enum
import hashlib
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kafkaio.admin._core import AdminCore
from kafkaio.admin.results import ResultMap, broker_error, final, rejected
from kafkaio.admin.validation import check_int
from kafkaio.errors import (
    DuplicateResourceError,
    KafkaError,
    UnacceptableCredentialError,
    raise_for_code,
)
from kafkaio.protocol.api import Request
from kafkaio.protocol.messages import (
    AlterUserScramCredentialsRequest,
    AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
)
from kafkaio.protocol.messages.alter_user_scram_credentials import (
    ScramCredentialDeletion,
    ScramCredentialUpsertion,
)
from kafkaio.protocol.messages.describe_user_scram_credentials import UserName

__all__ = [
    "ScramCredentialInfo",
    "ScramMechanism",
    "ScramMixin",
    "UserResult",
    "UserScramCredentials",
    "UserScramCredentialsDeletion",
    "UserScramCredentialsUpsertion",
]

_SALT_BYTES = 32


class ScramMechanism(enum.IntEnum):
    """A SCRAM mechanism and its hash."""

    UNKNOWN = 0
    SCRAM_SHA_256 = 1
    SCRAM_SHA_512 = 2

    @property
    def hash_name(self) -> str:
        return {ScramMechanism.SCRAM_SHA_256: "sha256", ScramMechanism.SCRAM_SHA_512: "sha512"}[
            self
        ]

    @property
    def iteration_range(self) -> tuple[int, int]:
        """Iterations Kafka accepts (both mechanisms: 4096..16384)."""
        return 4096, 16384


@dataclass(frozen=True, slots=True)
class ScramCredentialInfo:
    """A mechanism a user has credentials for, and its iteration count."""

    mechanism: ScramMechanism
    iterations: int


@dataclass(frozen=True, slots=True)
class UserScramCredentials:
    """A user's SCRAM credentials (without secrets)."""

    user: str
    credentials: tuple[ScramCredentialInfo, ...] = ()
    error: KafkaError | None = None


@dataclass(frozen=True, slots=True)
class UserScramCredentialsUpsertion:
    """Create or replace ``user``'s credential for ``mechanism``.

    The password is salted and hashed here (PBKDF2, as SCRAM specifies); only the salted
    password travels to the broker.
    """

    user: str
    mechanism: ScramMechanism
    password: str | bytes
    iterations: int = 4096
    salt: bytes | None = None


@dataclass(frozen=True, slots=True)
class UserScramCredentialsDeletion:
    """Delete ``user``'s credential for ``mechanism``."""

    user: str
    mechanism: ScramMechanism


@dataclass(frozen=True, slots=True)
class UserResult:
    """Outcome of altering one user's credentials."""

    user: str
    error: KafkaError | None = None


def salted_password(
    mechanism: ScramMechanism, password: bytes, salt: bytes, iterations: int
) -> bytes:
    """SCRAM's ``Hi(password, salt, iterations)`` (PBKDF2 with the mechanism's HMAC)."""
    return hashlib.pbkdf2_hmac(mechanism.hash_name, password, salt, iterations)


class ScramMixin(AdminCore):
    """SCRAM credential operations of :class:`~kafkaio.admin.Admin`."""

    async def describe_user_scram_credentials(
        self, users: Iterable[str] | None = None, *, timeout_ms: int | None = None
    ) -> ResultMap[str, UserScramCredentials]:
        """Mechanisms and iteration counts per user (``None``: every user that has any).

        A named user without credentials reports ``ResourceNotFoundError``.
        """
        names = None if users is None else list(dict.fromkeys(users))
        deadline = self._deadline(timeout_ms)

        def build(version: int) -> Request:
            return DescribeUserScramCredentialsRequest(
                users=None if names is None else [UserName(name=u) for u in names]
            )

        response = await self._call_any(
            build,
            DescribeUserScramCredentialsResponse,
            deadline,
            retry_codes=lambda r: r.error_code,
        )
        raise_for_code(response.error_code, response.error_message)
        out: ResultMap[str, UserScramCredentials] = ResultMap()
        for r in response.results:
            out[r.user] = UserScramCredentials(
                r.user,
                tuple(
                    ScramCredentialInfo(ScramMechanism(c.mechanism), c.iterations)
                    for c in r.credential_infos
                ),
                final(broker_error(r.error_code, r.error_message, f"user {r.user!r}")),
            )
        return out

    async def alter_user_scram_credentials(
        self,
        alterations: Iterable[UserScramCredentialsUpsertion | UserScramCredentialsDeletion],
        *,
        timeout_ms: int | None = None,
    ) -> ResultMap[str, UserResult]:
        """Upsert and delete SCRAM credentials; one result per user.

        Kafka accepts one alteration per user and request: a user named twice gets
        ``DuplicateResourceError`` (nothing is sent for it).
        """
        items = list(alterations)
        upserts: list[ScramCredentialUpsertion] = []
        deletes: list[ScramCredentialDeletion] = []
        results: dict[str, UserResult] = {}
        users: list[str] = []
        for a in items:
            if not isinstance(a, (UserScramCredentialsUpsertion, UserScramCredentialsDeletion)):
                raise TypeError(f"expected a SCRAM upsertion or deletion, got {a!r}")
            if not isinstance(a.user, str):
                raise TypeError(f"a user name must be a str, got {a.user!r}")
            users.append(a.user)
            mechanism = ScramMechanism(a.mechanism)
            item = f"user {a.user!r}"
            if not a.user:
                results[a.user] = UserResult(
                    a.user, rejected(UnacceptableCredentialError, item, "the user name is empty")
                )
                continue
            if mechanism is ScramMechanism.UNKNOWN:
                results[a.user] = UserResult(
                    a.user, rejected(UnacceptableCredentialError, item, "unknown SCRAM mechanism")
                )
                continue
            if isinstance(a, UserScramCredentialsDeletion):
                deletes.append(ScramCredentialDeletion(name=a.user, mechanism=int(mechanism)))
                continue
            iterations = check_int(a.iterations, f"{item}: iterations")
            low, high = mechanism.iteration_range
            if not low <= iterations <= high:
                results[a.user] = UserResult(
                    a.user,
                    rejected(
                        UnacceptableCredentialError,
                        item,
                        f"{mechanism.name} needs {low}..{high} iterations, got {iterations}",
                    ),
                )
                continue
            password = a.password.encode() if isinstance(a.password, str) else bytes(a.password)
            if not password:
                results[a.user] = UserResult(
                    a.user, rejected(UnacceptableCredentialError, item, "the password is empty")
                )
                continue
            salt = a.salt if a.salt is not None else os.urandom(_SALT_BYTES)
            upserts.append(
                ScramCredentialUpsertion(
                    name=a.user,
                    mechanism=int(mechanism),
                    iterations=iterations,
                    salt=salt,
                    salted_password=salted_password(mechanism, password, salt, iterations),
                )
            )
        # Kafka refuses to alter one user twice in a request (even for two mechanisms).
        counts = Counter(users)
        for user, count in counts.items():
            if count > 1 and user not in results:
                results[user] = UserResult(
                    user,
                    rejected(
                        DuplicateResourceError,
                        f"user {user!r}",
                        f"altered {count} times in one call; Kafka allows one alteration per user",
                    ),
                )
        # A user with one bad alteration gets none of them sent.
        upserts = [u for u in upserts if u.name not in results]
        deletes = [d for d in deletes if d.name not in results]
        deadline = self._deadline(timeout_ms)
        if upserts or deletes:

            def build(version: int) -> Request:
                return AlterUserScramCredentialsRequest(deletions=deletes, upsertions=upserts)

            response = await self._call_any(build, AlterUserScramCredentialsResponse, deadline)
            for r in response.results:
                results[r.user] = UserResult(
                    r.user, broker_error(r.error_code, r.error_message, f"user {r.user!r}")
                )
        return ResultMap(
            (
                u,
                results.get(u)
                or UserResult(u, KafkaError(f"user {u!r}: no result in the response")),
            )
            for u in dict.fromkeys(users)
        )
