"""Errors raised by the local Kafka harness."""

from __future__ import annotations

from pathlib import Path


class KafkaHarnessError(Exception):
    """Base class of every error raised by :mod:`kafkaio.testing`."""


class KafkaResolveError(KafkaHarnessError):
    """The Apache Kafka jars could not be obtained (neither Maven nor a release tarball)."""


class KafkaStartError(KafkaHarnessError):
    """A node did not start (or did not become ready) in time.

    ``log_paths`` lists the log files of the nodes involved; the message names them and
    includes the tail of the failing node's log.
    """

    def __init__(self, message: str, log_paths: list[Path] | None = None) -> None:
        super().__init__(message)
        self.log_paths: list[Path] = list(log_paths or [])


class KafkaToolError(KafkaHarnessError):
    """A Java tool run on the cluster's classpath exited with a non-zero status."""

    def __init__(self, message: str, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class ProbeError(KafkaHarnessError):
    """The harness' minimal protocol probe could not talk to a broker."""
