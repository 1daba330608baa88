"""kafkaio: an asyncio-native, typed Apache Kafka client."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
