"""Blocking facades of kafkaio's asyncio clients, for code without an event loop.

:class:`Producer`, :class:`Consumer` and :class:`Admin` each run the asyncio class of the
same name (the single implementation of Kafka's logic) on a private event loop in a
background thread, and expose blocking, thread-safe methods with the same names and
options. Blocking calls take ``timeout`` (seconds) and raise
:class:`~kafkaio.errors.KafkaTimeoutError` when it expires; errors of the asyncio clients
are raised unchanged.

::

    from kafkaio.sync import Consumer, Producer

    with Producer(bootstrap_servers="localhost:9092") as producer:
        producer.send("events", b"hello").result()

    with Consumer("events", bootstrap_servers="localhost:9092", group_id="g",
                  auto_offset_reset="earliest") as consumer:
        for record in consumer:
            print(record.value)
"""

from __future__ import annotations

from kafkaio.sync.admin import Admin
from kafkaio.sync.consumer import Consumer
from kafkaio.sync.delivery import DeliveryCallback
from kafkaio.sync.listener import ConsumerRebalanceListener
from kafkaio.sync.loop_thread import LoopThread
from kafkaio.sync.producer import Producer

__all__ = [
    "Admin",
    "Consumer",
    "ConsumerRebalanceListener",
    "DeliveryCallback",
    "LoopThread",
    "Producer",
]
