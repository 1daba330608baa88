"""Protobuf serializer and deserializer in the Confluent wire format (needs ``protobuf``).

The serializer registers the message's ``.proto`` file as confluent-kafka-python does: the
base64 text of its serialized ``FileDescriptorProto``, with every imported file registered
first under a subject named after the file and listed as a reference. The payload is
preceded by the message-index path of the message type inside its file.

The deserializer decodes into ``message_type`` when given (as confluent-kafka's does); without
it, it builds message classes from the registered descriptors (schemas registered as
``.proto`` text need ``message_type``).
"""

from __future__ import annotations

import base64
import binascii
import importlib
from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FileDescriptor
from google.protobuf.message import DecodeError, Message

from kafkaio.schema_registry.client import SchemaRegistryClient
from kafkaio.schema_registry.errors import SerializationError
from kafkaio.schema_registry.schema import Schema, SchemaReference
from kafkaio.schema_registry.serde import (
    Decoder,
    Deserializer,
    Encoder,
    Serializer,
    resolve_references,
)
from kafkaio.schema_registry.strategies import SubjectNameStrategy, topic_subject_name_strategy
from kafkaio.schema_registry.wire import decode_message_indexes, encode_message_indexes

__all__ = [
    "ProtobufDeserializer",
    "ProtobufSerializer",
    "file_descriptor_schema",
    "is_builtin",
    "message_indexes",
]

ReferenceSubjectStrategy = Callable[[str], str]
"""``import path -> subject`` for the files a ``.proto`` imports (default: the path itself)."""


def message_indexes(descriptor: Descriptor) -> list[int]:
    """The path of indexes of a message type inside its file (``[0]``: the first top-level
    message; ``[1, 0]``: the first message nested in the second one)."""
    path: list[int] = []
    current: Descriptor | None = descriptor
    while current is not None:
        parent = current.containing_type
        siblings = (
            list(parent.nested_types)
            if parent is not None
            else list(current.file.message_types_by_name.values())
        )
        path.append([s.full_name for s in siblings].index(current.full_name))
        current = parent
    path.reverse()
    return path


def is_builtin(path: str) -> bool:
    """Whether an import path is a well-known file every Protobuf runtime ships (or
    Confluent's own types), which is not registered as a reference by default."""
    return path.startswith(("google/protobuf/", "google/type/", "confluent/"))


def _add_builtin(pool: descriptor_pool.DescriptorPool, path: str, added: set[str]) -> None:
    if path in added:
        return
    default = descriptor_pool.Default()
    try:
        file = default.FindFileByName(path)
    except KeyError:
        # The generated module registers the file in the default pool when imported.
        module = "google.protobuf." + path.rsplit("/", 1)[-1].removesuffix(".proto") + "_pb2"
        try:
            importlib.import_module(module)
            file = default.FindFileByName(path)
        except (ImportError, KeyError):
            raise SerializationError(
                f"the schema imports {path!r}, which this Protobuf runtime does not ship"
            ) from None
    for dep in file.dependencies:
        _add_builtin(pool, dep.name, added)
    pool.AddSerializedFile(file.serialized_pb)
    added.add(path)


def file_descriptor_schema(
    file: FileDescriptor, references: list[SchemaReference] | None = None
) -> Schema:
    """A ``PROTOBUF`` :class:`Schema`: the base64 serialized ``FileDescriptorProto``."""
    text = base64.standard_b64encode(file.serialized_pb).decode("ascii")
    return Schema(text, "PROTOBUF", references or [])


def _decode_descriptor(schema: Schema) -> descriptor_pb2.FileDescriptorProto | None:
    """The descriptor in a base64 schema; None if the schema is ``.proto`` text."""
    try:
        raw = base64.b64decode(schema.schema_str, validate=True)
    except (binascii.Error, ValueError):
        return None
    proto = descriptor_pb2.FileDescriptorProto()
    try:
        proto.ParseFromString(raw)
    except DecodeError:
        return None
    return proto


class ProtobufSerializer(Serializer[list[int]]):
    """Writes messages of ``message_type`` (a generated or runtime-built message class).

    :param reference_subject_name_strategy: subject of each imported ``.proto`` file
        (default: its import path, e.g. ``common/money.proto``).
    :param skip_known_types: do not register well-known imports (``google/protobuf/...``,
        ``google/type/...``) as references; every reader has them (default True).

    The other options are :class:`~kafkaio.schema_registry.serde.Serializer`'s.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        message_type: type[Message],
        *,
        auto_register_schemas: bool = True,
        use_latest_version: bool = False,
        normalize_schemas: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
        reference_subject_name_strategy: ReferenceSubjectStrategy = lambda path: path,
        skip_known_types: bool = True,
    ) -> None:
        descriptor = getattr(message_type, "DESCRIPTOR", None)
        if not isinstance(message_type, type) or not isinstance(descriptor, Descriptor):
            raise TypeError(f"message_type must be a protobuf message class, got {message_type!r}")
        super().__init__(
            client,
            file_descriptor_schema(descriptor.file),
            auto_register_schemas=auto_register_schemas,
            use_latest_version=use_latest_version,
            normalize_schemas=normalize_schemas,
            subject_name_strategy=subject_name_strategy,
        )
        self._message_type = message_type
        self._descriptor = descriptor
        self._indexes = message_indexes(descriptor)
        self._ref_subject = reference_subject_name_strategy
        self._with_refs: Schema | None = None
        self._skip_known = skip_known_types

    def record_name(self) -> str | None:
        return str(self._descriptor.full_name)

    async def _own_schema(self) -> Schema:
        if self._with_refs is None:
            self._with_refs = await self._file_schema(self._descriptor.file)
        return self._with_refs

    async def _file_schema(self, file: FileDescriptor) -> Schema:
        """``file``'s schema, its imports registered (or looked up) first."""
        references = []
        for dep in file.dependencies:
            if self._skip_known and is_builtin(dep.name):
                continue
            dep_schema = await self._file_schema(dep)
            subject = self._ref_subject(dep.name)
            if self._auto_register:
                await self._client.register_schema(subject, dep_schema, normalize=self._normalize)
            found = await self._client.lookup_schema(subject, dep_schema, normalize=self._normalize)
            references.append(SchemaReference(dep.name, subject, found.version))
        return file_descriptor_schema(file, references)

    async def _prepare(self, schema: Schema) -> list[int]:
        return self._indexes

    def _prefix(self, writer: list[int]) -> bytes:
        return encode_message_indexes(writer)

    def _encoder(self, writer: list[int]) -> Encoder:
        message_type = self._message_type

        def encode(obj: Any) -> bytes:
            if not isinstance(obj, message_type):
                raise SerializationError(
                    f"expected a {message_type.DESCRIPTOR.full_name} message, "
                    f"got {type(obj).__name__}"
                )
            return obj.SerializeToString()

        return encode


class ProtobufDeserializer(Deserializer[Any]):
    """Reads Protobuf messages written with any schema id.

    :param message_type: decode into this class (the message indexes in the data are then
        not needed); default: classes built from the registered descriptors.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        message_type: type[Message] | None = None,
        *,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        super().__init__(client, subject_name_strategy=subject_name_strategy)
        if message_type is not None and not isinstance(
            getattr(message_type, "DESCRIPTOR", None), Descriptor
        ):
            raise TypeError(f"message_type must be a protobuf message class, got {message_type!r}")
        self._message_type = message_type
        if message_type is None:
            # Confluent's registry renders Protobuf as .proto text unless asked for the
            # serialized descriptor, which is what a pool can load.
            self._schema_format = "serialized"

    def _check_type(self, schema: Schema, schema_id: int) -> None:
        if schema.schema_type != "PROTOBUF":
            raise SerializationError(
                f"schema id {schema_id} is a {schema.schema_type} schema, not PROTOBUF"
            )

    async def _prepare(self, schema: Schema) -> Any:
        if self._message_type is not None:
            return None
        # Every registered schema gets its own pool: two ids may hold different versions of
        # one file name, which a shared pool would refuse.
        pool = descriptor_pool.DescriptorPool()
        added: set[str] = set()
        last = None
        refs = await resolve_references(self._client, schema, fmt=self._schema_format)
        for name, dep in [*refs, ("", schema)]:
            proto = _decode_descriptor(dep)
            if proto is None:
                raise SerializationError(
                    f"schema {name or 'of this id'} is .proto text, which kafkaio cannot "
                    f"compile; pass message_type= to ProtobufDeserializer"
                )
            if name:
                proto.name = name  # the reference's name is the import path others use
            if proto.name in added:
                continue
            for imported in proto.dependency:
                if is_builtin(imported) and imported not in added:
                    _add_builtin(pool, imported, added)
            pool.Add(proto)
            added.add(proto.name)
            last = proto.name
        assert last is not None
        return pool.FindFileByName(last)

    def _decoder(self, reader: Any) -> Decoder:
        fixed = self._message_type
        classes: dict[tuple[int, ...], type[Message]] = {}

        def message_class(indexes: list[int]) -> type[Message]:
            key = tuple(indexes)
            cls = classes.get(key)
            if cls is None:
                file: FileDescriptor = reader
                try:
                    desc = list(file.message_types_by_name.values())[indexes[0]]
                    for index in indexes[1:]:
                        desc = desc.nested_types[index]
                except IndexError:
                    raise SerializationError(
                        f"message indexes {indexes} name no message in {file.name}"
                    ) from None
                cls = classes[key] = message_factory.GetMessageClass(desc)
            return cls

        def decode(data: bytes, offset: int) -> Any:
            indexes, pos = decode_message_indexes(data, offset)
            cls = fixed if fixed is not None else message_class(indexes)
            try:
                return cls.FromString(bytes(memoryview(data)[pos:]))
            except DecodeError as exc:
                raise SerializationError(f"invalid protobuf payload: {exc}") from exc

        return decode
