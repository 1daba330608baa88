"""What the Avro, JSON Schema and Protobuf serializers share.

Registry lookups are asynchronous, while :class:`kafkaio.Producer` and :class:`kafkaio.Consumer`
call their ``key_serializer`` / ``value_deserializer`` synchronously. So each serializer offers:

* ``await ser.serialize(topic, obj)`` -> framed bytes (looks the schema id up as needed), and
* ``await ser.bind(topic)`` -> a plain ``obj -> bytes`` callable for
  ``Producer(value_serializer=...)``; the schema id is resolved by ``bind`` once, so the
  callable never waits on the network.

Each deserializer offers ``await de.deserialize(topic, data)`` and ``await de.bind(topic)``, a
``bytes -> obj`` callable for ``Consumer(value_deserializer=...)`` that decodes from schemas it
already holds: ``bind`` fetches every version registered under the topic's subject; an id it
has never seen raises :class:`SchemaNotCachedError` (the consumer reports it as a
``RecordDeserializationError``) until ``await de.prefetch(schema_ids=[...])`` or an awaited
``deserialize`` has fetched it.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from kafkaio.schema_registry.cache import LruCache
from kafkaio.schema_registry.client import SchemaRegistryClient
from kafkaio.schema_registry.errors import (
    SchemaNotCachedError,
    SerializationError,
    SubjectNotFoundError,
)
from kafkaio.schema_registry.schema import Schema
from kafkaio.schema_registry.strategies import SubjectNameStrategy, topic_subject_name_strategy
from kafkaio.schema_registry.wire import frame, unframe

__all__ = [
    "BoundDeserializer",
    "BoundSerializer",
    "Deserializer",
    "Serializer",
    "resolve_references",
]

log = logging.getLogger("kafkaio.schema_registry")

W = TypeVar("W")  # a format's prepared writer/reader for one schema

DECODER_CACHE_CAPACITY = 1000
"""Writer schemas a deserializer keeps ready (least recently used ones are dropped)."""

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes, int], Any]


async def resolve_references(
    client: SchemaRegistryClient, schema: Schema, *, fmt: str | None = None
) -> list[tuple[str, Schema]]:
    """Every schema ``schema`` references, transitively, as ``(name, schema)``, dependencies
    before the schemas that use them (each once)."""
    seen: set[tuple[str, int]] = set()
    ordered: list[tuple[str, Schema]] = []

    async def visit(current: Schema) -> None:
        for ref in current.references:
            key = (ref.subject, ref.version)
            if key in seen:
                continue
            seen.add(key)
            registered = await client.get_version(ref.subject, ref.version, fmt=fmt)
            await visit(registered.schema)
            ordered.append((ref.name, registered.schema))

    await visit(schema)
    return ordered


def _preview(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


class BoundSerializer:
    """A serializer tied to one topic and one schema id: a synchronous ``obj -> bytes``."""

    def __init__(self, schema_id: int, subject: str, encode: Encoder, prefix: bytes = b"") -> None:
        self.schema_id = schema_id
        self.subject = subject
        self._encode = encode
        self._prefix = prefix

    def __call__(self, obj: Any) -> bytes | None:
        if obj is None:  # a tombstone stays a tombstone
            return None
        try:
            payload = self._encode(obj)
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(
                f"cannot serialize {type(obj).__name__} {_preview(obj)} for subject "
                f"{self.subject!r} (schema id {self.schema_id}): {exc}"
            ) from exc
        return frame(self.schema_id, payload, self._prefix)

    def __repr__(self) -> str:
        return f"BoundSerializer(subject={self.subject!r}, schema_id={self.schema_id})"


class Serializer(abc.ABC, Generic[W]):
    """Base of the schema registry serializers (see the module docs for the two ways to use
    one).

    :param auto_register_schemas: register the serializer's schema if the subject lacks it
        (default); otherwise it must already be registered.
    :param use_latest_version: write with the subject's latest schema instead of the
        serializer's own (needs ``auto_register_schemas=False``).
    :param normalize_schemas: let the registry normalize the schema before registering or
        looking it up.
    :param subject_name_strategy: ``(topic, is_key, record_name) -> subject``.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        schema: Schema | None,
        *,
        auto_register_schemas: bool = True,
        use_latest_version: bool = False,
        normalize_schemas: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        if not isinstance(client, SchemaRegistryClient):
            raise TypeError(f"client must be a SchemaRegistryClient, got {client!r}")
        if use_latest_version and auto_register_schemas:
            raise ValueError(
                "use_latest_version=True needs auto_register_schemas=False (the latest "
                "registered schema is used as is)"
            )
        if schema is None and not use_latest_version:
            raise ValueError("a schema is needed unless use_latest_version=True")
        if not callable(subject_name_strategy):
            raise TypeError(
                f"subject_name_strategy must be callable, got {subject_name_strategy!r}"
            )
        self._client = client
        self._schema = schema
        self._auto_register = auto_register_schemas
        self._use_latest = use_latest_version
        self._normalize = normalize_schemas
        self._strategy = subject_name_strategy
        self._bound: dict[tuple[str, bool], BoundSerializer] = {}

    @property
    def schema(self) -> Schema | None:
        """The serializer's own schema (None when it always writes the latest one)."""
        return self._schema

    async def _own_schema(self) -> Schema:
        """The schema to register or look up (Protobuf adds its imports as references)."""
        if self._schema is None:
            raise SerializationError("this serializer has no schema of its own")
        return self._schema

    @abc.abstractmethod
    def record_name(self) -> str | None:
        """The schema's fully qualified record name (for record-based subject strategies)."""

    @abc.abstractmethod
    async def _prepare(self, schema: Schema) -> W:
        """The format's writer for ``schema`` (references may be fetched)."""

    @abc.abstractmethod
    def _encoder(self, writer: W) -> Encoder:
        """A synchronous ``obj -> payload`` for a prepared writer."""

    def _prefix(self, writer: W) -> bytes:
        """Bytes between the wire header and the payload (Protobuf's message indexes)."""
        return b""

    def subject(self, topic: str, *, is_key: bool = False) -> str:
        """The subject this serializer uses for ``topic``."""
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"topic must be a non-empty string, got {topic!r}")
        return self._strategy(topic, is_key, self.record_name())

    async def bind(self, topic: str, *, is_key: bool = False) -> BoundSerializer:
        """A synchronous serializer for ``topic`` (its schema id resolved now).

        Pass it as ``Producer(value_serializer=...)`` (or ``key_serializer`` with
        ``is_key=True``). With ``use_latest_version`` the schema is the latest one at the time
        of the call; call :meth:`invalidate` and bind again to pick up a newer one.
        """
        key = (topic, is_key)
        bound = self._bound.get(key)
        if bound is not None:
            return bound
        subject = self.subject(topic, is_key=is_key)
        if self._use_latest:
            latest = await self._client.get_latest_version(subject)
            schema_id, schema = latest.schema_id, latest.schema
        else:
            schema = await self._own_schema()
            if self._auto_register:
                schema_id = await self._client.register_schema(
                    subject, schema, normalize=self._normalize
                )
            else:
                found = await self._client.lookup_schema(subject, schema, normalize=self._normalize)
                schema_id = found.schema_id
        writer = await self._prepare(schema)
        bound = BoundSerializer(schema_id, subject, self._encoder(writer), self._prefix(writer))
        self._bound[key] = bound
        log.debug("serializer bound to subject %r, schema id %d", subject, schema_id)
        return bound

    def invalidate(self) -> None:
        """Forget the schema ids resolved so far (the next call resolves them again)."""
        self._bound.clear()

    async def serialize(self, topic: str, obj: Any, *, is_key: bool = False) -> bytes | None:
        """``obj`` in the wire format for ``topic`` (None stays None)."""
        bound = await self.bind(topic, is_key=is_key)
        return bound(obj)


class BoundDeserializer:
    """A deserializer's synchronous ``bytes -> obj`` from the schemas it already holds."""

    def __init__(self, owner: Deserializer[Any], topic: str, is_key: bool) -> None:
        self._owner = owner
        self.topic = topic
        self.is_key = is_key

    def __call__(self, data: bytes | None) -> Any:
        return self._owner.deserialize_cached(data)

    def __repr__(self) -> str:
        return f"BoundDeserializer(topic={self.topic!r}, is_key={self.is_key})"


class Deserializer(abc.ABC, Generic[W]):
    """Base of the schema registry deserializers (see the module docs)."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        *,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        if not isinstance(client, SchemaRegistryClient):
            raise TypeError(f"client must be a SchemaRegistryClient, got {client!r}")
        self._client = client
        self._strategy = subject_name_strategy
        self._decoders: LruCache[int, Decoder] = LruCache(DECODER_CACHE_CAPACITY)
        self._schema_format: str | None = None  # the registry rendering _prepare needs

    @abc.abstractmethod
    async def _prepare(self, schema: Schema) -> W:
        """The format's reader for a writer schema (references may be fetched)."""

    @abc.abstractmethod
    def _decoder(self, reader: W) -> Decoder:
        """A synchronous ``(data, offset after the header) -> obj``."""

    def _check_type(self, schema: Schema, schema_id: int) -> None:
        """Raise :class:`SerializationError` if ``schema`` is not of this deserializer's type."""

    async def _decoder_for(self, schema_id: int) -> Decoder:
        decoder = self._decoders.get(schema_id)
        if decoder is None:
            schema = await self._client.get_schema(schema_id, fmt=self._schema_format)
            self._check_type(schema, schema_id)
            decoder = self._decoder(await self._prepare(schema))
            self._decoders.put(schema_id, decoder)
        return decoder

    async def deserialize(self, topic: str, data: bytes | None, *, is_key: bool = False) -> Any:
        """The object in framed ``data`` (None stays None), fetching its schema if needed."""
        if data is None:
            return None
        schema_id, offset = unframe(data)
        decoder = await self._decoder_for(schema_id)
        return self._run(decoder, data, offset, schema_id)

    def deserialize_cached(self, data: bytes | None) -> Any:
        """Like :meth:`deserialize`, without I/O: :class:`SchemaNotCachedError` for a schema
        id not fetched yet."""
        if data is None:
            return None
        schema_id, offset = unframe(data)
        decoder = self._decoders.get(schema_id)
        if decoder is None:
            raise SchemaNotCachedError(schema_id)
        return self._run(decoder, data, offset, schema_id)

    @staticmethod
    def _run(decoder: Decoder, data: bytes, offset: int, schema_id: int) -> Any:
        try:
            return decoder(data, offset)
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(
                f"cannot decode a {len(data)}-byte message with schema id {schema_id}: {exc}"
            ) from exc

    async def prefetch(
        self,
        topic: str | None = None,
        *,
        is_key: bool = False,
        record_name: str | None = None,
        schema_ids: Iterable[int] = (),
    ) -> list[int]:
        """Fetch schemas ahead of :meth:`deserialize_cached`: every version under ``topic``'s
        subject (a missing subject is skipped) and the given ids; the ids now held."""
        ids = list(schema_ids)
        if topic is not None:
            subject = self._strategy(topic, is_key, record_name)
            try:
                versions = await self._client.get_versions(subject)
            except SubjectNotFoundError:
                log.debug("prefetch: subject %r does not exist yet", subject)
                versions = []
            for version in versions:
                ids.append((await self._client.get_version(subject, version)).schema_id)
        for schema_id in ids:
            await self._decoder_for(schema_id)
        return sorted(self._decoders.keys())

    async def bind(self, topic: str, *, is_key: bool = False) -> BoundDeserializer:
        """A synchronous deserializer for ``Consumer(value_deserializer=...)`` (or
        ``key_deserializer`` with ``is_key=True``), after prefetching ``topic``'s schemas."""
        await self.prefetch(topic, is_key=is_key)
        return BoundDeserializer(self, topic, is_key)
