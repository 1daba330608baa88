"""Connecting to a SASL_SSL cluster (TLS + SCRAM-SHA-512 or OAUTHBEARER).

Against your own cluster (credentials from the environment, never from the command line)::

    export KAFKA_USERNAME=alice KAFKA_PASSWORD=...
    python examples/sasl_ssl.py broker1:9093 --cafile /path/to/ca.pem

Without arguments, a local broker with a SASL_SSL listener, a throw-away CA and a SCRAM
user is started by kafkaio's test harness, and the example runs against it (SCRAM-SHA-512,
then OAUTHBEARER with the broker's unsecured test token validator).

The same security options work on ``Producer``, ``Consumer``, ``AdminClient`` and
``ClusterClient``: ``security_protocol``, ``ssl_cafile`` / ``ssl_certfile`` / ``ssl_keyfile``
/ ``ssl_password`` / ``ssl_check_hostname`` / ``ssl_crlfile`` (or ``ssl_context``),
``sasl_mechanism``, ``sasl_plain_username``, ``sasl_plain_password`` and
``sasl_oauth_token_provider``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import uuid
from typing import Any

from kafkaio.errors import AuthenticationError
from kafkaio.net.sasl import AbstractTokenProvider
from kafkaio.producer import Producer


async def produce(bootstrap: str, **security: Any) -> None:
    topic = f"sasl-ssl-example-{uuid.uuid4().hex[:6]}"
    try:
        async with Producer(bootstrap_servers=bootstrap, **security) as producer:
            md = await producer.send_and_wait(topic, b"hello over SASL_SSL", key=b"k")
            print(f"  {security['sasl_mechanism']}: wrote {md.topic}[{md.partition}]@{md.offset}")
    except AuthenticationError as exc:
        # Wrong password, untrusted certificate, mechanism not enabled...: raised at once,
        # with the cause (and never the password) in the message.
        print(f"  authentication failed: {exc}")


class StaticTokenProvider(AbstractTokenProvider):
    """Returns a token from somewhere; real code asks its identity provider (and caches)."""

    def __init__(self, token_source: Any) -> None:
        self._source = token_source

    async def token(self) -> str:
        # Called for every new connection and before each re-authentication.
        return str(self._source())


async def own_cluster(bootstrap: str, cafile: str | None) -> None:
    await produce(
        bootstrap,
        security_protocol="SASL_SSL",
        ssl_cafile=cafile,  # None: the system's trusted CAs (typical for managed services)
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=os.environ["KAFKA_USERNAME"],
        sasl_plain_password=os.environ["KAFKA_PASSWORD"],
    )


async def local_demo() -> None:
    from kafkaio.testing import (
        KafkaCluster,
        SecurityConfig,
        create_scram_user,
        make_tls_material,
        unsecured_jwt,
    )

    with tempfile.TemporaryDirectory() as tmp:
        tls = make_tls_material(tmp)
        security = SecurityConfig(tls)
        password = secrets.token_urlsafe(12)
        print("starting a local broker with a SASL_SSL listener...")
        async with KafkaCluster(
            listeners=security.listeners, broker_properties=security.broker_properties
        ) as cluster:
            await create_scram_user(cluster.bootstrap_servers, "alice", password)
            await asyncio.sleep(1)  # the credential travels through the metadata log
            bootstrap = cluster.bootstrap_servers_for("SASL_SSL")
            common = {"security_protocol": "SASL_SSL", "ssl_cafile": str(tls.ca_file)}
            await produce(
                bootstrap,
                **common,
                sasl_mechanism="SCRAM-SHA-512",
                sasl_plain_username="alice",
                sasl_plain_password=password,
            )
            await produce(
                bootstrap,
                **common,
                sasl_mechanism="OAUTHBEARER",
                sasl_oauth_token_provider=StaticTokenProvider(lambda: unsecured_jwt("alice")),
            )
            await produce(
                bootstrap,
                **common,
                sasl_mechanism="SCRAM-SHA-512",
                sasl_plain_username="alice",
                sasl_plain_password="not-the-password",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bootstrap", nargs="?", help="host:port of a SASL_SSL listener")
    parser.add_argument("--cafile", help="PEM file of the CA that signed the brokers' certificates")
    args = parser.parse_args()
    if args.bootstrap:
        asyncio.run(own_cluster(args.bootstrap, args.cafile))
    else:
        asyncio.run(local_demo())


if __name__ == "__main__":
    main()
