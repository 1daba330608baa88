"""kafkaio's benchmark suite: throughput and latency against the other Python Kafka clients.

``python -m bench run [--quick]`` starts a local Apache Kafka (``kafkaio.testing``), creates a
separate virtualenv with the peers (aiokafka, confluent-kafka, kafka-python, matplotlib),
runs every workload for every client in its own process (clients interleaved, several
rounds) and writes ``bench/results/latest.md``, the raw JSON and PNG charts. See
``python -m bench --help``.
"""
