"""Counters the producer keeps, readable as a plain dict (``Producer.metrics()``)."""

from __future__ import annotations

__all__ = ["ProducerMetrics"]


class ProducerMetrics:
    """Running totals since the producer started (cheap integer and float counters)."""

    __slots__ = (
        "batches_sent",
        "bytes_sent",
        "epoch_bumps",
        "errors",
        "queue_time_total",
        "record_errors",
        "records_sent",
        "requests_sent",
        "retries",
    )

    def __init__(self) -> None:
        self.records_sent = 0
        """Records acknowledged by the broker (or written with acks=0)."""
        self.bytes_sent = 0
        """Bytes of acknowledged batches, as sent (after compression)."""
        self.batches_sent = 0
        self.requests_sent = 0
        self.retries = 0
        """Batches put back for another attempt."""
        self.errors = 0
        """Batches that failed for good."""
        self.record_errors = 0
        """Records whose future failed."""
        self.queue_time_total = 0.0
        """Sum over acknowledged batches of the seconds from creation to first send."""
        self.epoch_bumps = 0

    def as_dict(self) -> dict[str, float]:
        """A snapshot, with averages derived from the totals."""
        batches = self.batches_sent
        return {
            "records_sent": self.records_sent,
            "bytes_sent": self.bytes_sent,
            "batches_sent": batches,
            "requests_sent": self.requests_sent,
            "retries": self.retries,
            "errors": self.errors,
            "record_errors": self.record_errors,
            "epoch_bumps": self.epoch_bumps,
            "batch_size_avg": self.bytes_sent / batches if batches else 0.0,
            "records_per_batch_avg": self.records_sent / batches if batches else 0.0,
            "queue_time_avg_ms": 1000 * self.queue_time_total / batches if batches else 0.0,
        }
