"""ACLs, SCRAM credentials and client quotas against real brokers."""

from __future__ import annotations

import pytest
from admin_helpers import eventually

from kafkaio.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    Admin,
    ClientQuotaEntity,
    ClientQuotaFilterComponent,
    PatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialsDeletion,
    UserScramCredentialsUpsertion,
)
from kafkaio.errors import (
    DelegationTokenRequestNotAllowedError,
    DuplicateResourceError,
    InvalidRequestError,
    ResourceNotFoundError,
    SecurityDisabledError,
    UnacceptableCredentialError,
)

pytestmark = pytest.mark.kafka


async def test_acls_create_describe_delete(extra_admin: Admin, topic_name: str) -> None:
    read = AclBinding(ResourceType.TOPIC, topic_name, "User:alice", AclOperation.READ)
    write = AclBinding(
        ResourceType.TOPIC,
        topic_name[:20],
        "User:bob",
        AclOperation.WRITE,
        AclPermissionType.DENY,
        PatternType.PREFIXED,
        host="10.0.0.1",
    )
    bad = AclBinding(ResourceType.ANY, topic_name, "User:alice", AclOperation.READ)
    results = await extra_admin.create_acls([read, write, bad])
    assert results[read].error is None and results[write].error is None
    assert isinstance(results[bad].error, InvalidRequestError)

    async def described() -> None:
        found = await extra_admin.describe_acls(
            AclBindingFilter(ResourceType.TOPIC, topic_name, pattern_type=PatternType.MATCH)
        )
        assert set(found) == {read, write}
        only_alice = await extra_admin.describe_acls(AclBindingFilter(principal="User:alice"))
        assert read in only_alice and write not in only_alice

    await eventually(described)

    deleted = await extra_admin.delete_acls(
        [read.to_filter(), AclBindingFilter(principal="User:nobody")]
    )
    assert deleted[read.to_filter()].deleted == (read,)
    assert deleted[AclBindingFilter(principal="User:nobody")].deleted == ()

    async def only_write_left() -> None:
        found = await extra_admin.describe_acls(
            AclBindingFilter(ResourceType.TOPIC, topic_name, pattern_type=PatternType.MATCH)
        )
        assert found == [write]

    await eventually(only_write_left)
    (await extra_admin.delete_acls([write.to_filter()])).raise_on_error()


async def test_acls_without_authorizer_report_security_disabled(admin: Admin) -> None:
    binding = AclBinding(ResourceType.TOPIC, "t", "User:alice", AclOperation.READ)
    results = await admin.create_acls([binding])
    assert isinstance(results[binding].error, SecurityDisabledError)
    with pytest.raises(SecurityDisabledError):
        await admin.describe_acls()


async def test_scram_credentials(admin: Admin, topic_name: str) -> None:
    alice, bob = f"alice-{topic_name[-8:]}", f"bob-{topic_name[-8:]}"
    carol = f"carol-{topic_name[-8:]}"
    results = await admin.alter_user_scram_credentials(
        [
            UserScramCredentialsUpsertion(alice, ScramMechanism.SCRAM_SHA_256, "secret", 8192),
            UserScramCredentialsUpsertion(bob, ScramMechanism.SCRAM_SHA_256, "pw", iterations=10),
            UserScramCredentialsUpsertion(carol, ScramMechanism.SCRAM_SHA_256, "a"),
            UserScramCredentialsUpsertion(carol, ScramMechanism.SCRAM_SHA_512, "b"),
        ]
    )
    assert results[alice].error is None
    assert isinstance(results[bob].error, UnacceptableCredentialError)
    assert isinstance(results[carol].error, DuplicateResourceError)
    second = await admin.alter_user_scram_credentials(
        [UserScramCredentialsUpsertion(alice, ScramMechanism.SCRAM_SHA_512, "secret")]
    )
    second.raise_on_error()

    async def described() -> None:
        found = await admin.describe_user_scram_credentials([alice, bob])
        assert set(found[alice].credentials) == {
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192),
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
        }
        assert isinstance(found[bob].error, ResourceNotFoundError)
        assert carol not in await admin.describe_user_scram_credentials()
        assert alice in await admin.describe_user_scram_credentials()

    await eventually(described)
    deleted = await admin.alter_user_scram_credentials(
        [UserScramCredentialsDeletion(alice, ScramMechanism.SCRAM_SHA_512)]
    )
    deleted.raise_on_error()

    async def one_left() -> None:
        found = await admin.describe_user_scram_credentials([alice])
        assert found[alice].credentials == (
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192),
        )

    await eventually(one_left)


async def test_client_quotas(admin: Admin, topic_name: str) -> None:
    user = f"quota-{topic_name[-8:]}"
    entity = ClientQuotaEntity.of(user=user, client_id="app")
    default_client = ClientQuotaEntity.of(client_id=None)
    results = await admin.alter_client_quotas(
        {
            entity: {"producer_byte_rate": 1024.0, "consumer_byte_rate": 2048.0},
            default_client: {"request_percentage": 50.0},
            ClientQuotaEntity.of(user="x"): {"producer_byte_rate": -1.0},
        }
    )
    assert results[entity].error is None and results[default_client].error is None
    assert isinstance(results[ClientQuotaEntity.of(user="x")].error, InvalidRequestError)

    async def described() -> None:
        found = await admin.describe_client_quotas([ClientQuotaFilterComponent.exact("user", user)])
        assert found == {entity: {"producer_byte_rate": 1024.0, "consumer_byte_rate": 2048.0}}
        defaults = await admin.describe_client_quotas(
            [ClientQuotaFilterComponent.default("client-id")], strict=True
        )
        assert defaults[default_client] == {"request_percentage": 50.0}

    await eventually(described)
    removed = await admin.alter_client_quotas(
        {
            entity: {"producer_byte_rate": None, "consumer_byte_rate": None},
            default_client: {"request_percentage": None},
        }
    )
    removed.raise_on_error()

    async def gone() -> None:
        found = await admin.describe_client_quotas([ClientQuotaFilterComponent.exact("user", user)])
        assert found == {}

    await eventually(gone)


async def test_delegation_tokens(sasl_admin: Admin, extra_admin: Admin) -> None:
    token = await sasl_admin.create_delegation_token(
        renewers=["User:renewer"], max_lifetime_ms=3_600_000
    )
    assert token.owner == "User:admin" and token.token_id and token.hmac
    assert token.expiry_timestamp_ms <= token.max_timestamp_ms

    async def described() -> None:
        tokens = {t.token_id: t for t in await sasl_admin.describe_delegation_tokens()}
        assert token.token_id in tokens
        assert tokens[token.token_id].renewers == ("User:renewer",)
        mine = await sasl_admin.describe_delegation_tokens(["User:admin"])
        assert token.token_id in {t.token_id for t in mine}

    await eventually(described)
    renewed = await sasl_admin.renew_delegation_token(token.hmac, renew_period_ms=60_000)
    assert renewed <= token.max_timestamp_ms
    await sasl_admin.expire_delegation_token(token.hmac, expiry_time_period_ms=-1)

    async def expired() -> None:
        tokens = {t.token_id for t in await sasl_admin.describe_delegation_tokens()}
        assert token.token_id not in tokens

    await eventually(expired)
    # Without SASL authentication the broker refuses to issue tokens.
    with pytest.raises(DelegationTokenRequestNotAllowedError):
        await extra_admin.create_delegation_token()
