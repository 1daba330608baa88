"""Shared pieces of the security tests (the secured broker's handle and client options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafkaio.testing import KafkaCluster, TlsMaterial

REAUTH_MS = 3000


@dataclass
class SecureBroker:
    cluster: KafkaCluster
    tls: TlsMaterial
    plain_user: str
    plain_password: str
    scram_user: str
    scram_password: str

    def servers(self, listener: str) -> str:
        return self.cluster.bootstrap_servers_for(listener)

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in messages or logs."""
        return [self.plain_password, self.scram_password, self.tls.client_key_password]

    def tls_options(self) -> dict[str, Any]:
        return {"ssl_cafile": str(self.tls.ca_file)}

    def plain_options(self) -> dict[str, Any]:
        return {
            "sasl_mechanism": "PLAIN",
            "sasl_plain_username": self.plain_user,
            "sasl_plain_password": self.plain_password,
        }

    def scram_options(self, mechanism: str) -> dict[str, Any]:
        return {
            "sasl_mechanism": mechanism,
            "sasl_plain_username": self.scram_user,
            "sasl_plain_password": self.scram_password,
        }
