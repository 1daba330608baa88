"""The Apache Kafka releases kafkaio is generated from and tested against.

This is the one place the pin lives: the protocol generator, the error-table generator and
the test harness all read it.
"""

KAFKA_VERSION = "4.3.1"
"""Current line: the message specs and error table are generated from this release."""

KAFKA_LEGACY_VERSION = "3.9.1"
"""Older KRaft line used by version-negotiation tests."""

SCALA_VERSION = "2.13"
