// Golden record batches from the Java client, and a Java reader for kafkaio's own batches.
//
//   java GoldenRecords write <dir>   writes <name>.bin fixtures built with MemoryRecordsBuilder
//   java GoldenRecords read <file>   prints the batches and records of <file> as JSON
//
// Driven by tools/golden_records/golden.py (compiles this file against the pinned
// kafka-clients jar). Uses the client's internal record classes on purpose: they are what the
// Java producer writes and the Java consumer reads.

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.utils.ByteBufferOutputStream;

public final class GoldenRecords {
    private static final long BASE_TS = 1700000000000L;
    private static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};

    public static void main(String[] args) throws IOException {
        if (args.length == 2 && args[0].equals("write")) {
            write(Paths.get(args[1]));
        } else if (args.length == 2 && args[0].equals("read")) {
            System.out.println(read(Files.readAllBytes(Paths.get(args[1]))));
        } else {
            System.err.println("usage: GoldenRecords write <dir> | read <file>");
            System.exit(2);
        }
    }

    // -- writing -------------------------------------------------------------------------

    private static Compression compression(String name) {
        switch (name) {
            case "none": return Compression.NONE;
            case "gzip": return Compression.gzip().build();
            case "snappy": return Compression.snappy().build();
            case "lz4": return Compression.lz4().build();
            case "zstd": return Compression.zstd().build();
            default: throw new IllegalArgumentException(name);
        }
    }

    /** A deterministic mix: null keys and values, headers (null and unicode), timestamps out of order. */
    private static void fill(MemoryRecordsBuilder b, int count, boolean withHeaders, boolean big) {
        for (int i = 0; i < count; i++) {
            long ts = BASE_TS + i * 7L - (i == 3 ? 50 : 0);
            byte[] key = i % 4 == 0 ? null : ("key-" + i).getBytes(StandardCharsets.UTF_8);
            byte[] value = null;
            if (i % 5 != 4) {
                StringBuilder sb = new StringBuilder();
                for (int r = 0; r < (i % 3) * 10 + 1; r++) sb.append("value-").append(i).append(' ');
                value = sb.toString().getBytes(StandardCharsets.UTF_8);
            }
            Header[] headers = new Header[0];
            if (withHeaders && i % 2 == 1) {
                headers = new Header[] {
                    new RecordHeader("h1", ("v" + i).getBytes(StandardCharsets.UTF_8)),
                    new RecordHeader("empty", new byte[0]),
                    new RecordHeader("null", (byte[]) null),
                    new RecordHeader("ключ-" + i, new byte[] {(byte) 0xff, 0, (byte) i}),
                };
            }
            if (withHeaders) b.append(ts, key, value, headers);
            else b.append(ts, key, value);
        }
        if (big) {
            // Spans several snappy (32 KiB) and lz4 (64 KiB) blocks and zstd's 128 KiB blocks.
            byte[] value = new byte[140_000];
            for (int i = 0; i < value.length; i++) value[i] = (byte) ((i * 31) % 251 ^ (i >> 9));
            b.append(BASE_TS + 1000, "big".getBytes(StandardCharsets.UTF_8), value);
        }
    }

    private static ByteBuffer build(byte magic, String codec, TimestampType tt, long baseOffset,
                                    long logAppendTime, long pid, short epoch, int seq,
                                    boolean txn, int ple, Consumer<MemoryRecordsBuilder> filler) {
        ByteBuffer buf = ByteBuffer.allocate(4 << 20);
        MemoryRecordsBuilder b = MemoryRecords.builder(buf, magic, compression(codec), tt, baseOffset,
                logAppendTime, pid, epoch, seq, txn, ple);
        filler.accept(b);
        return b.build().buffer();
    }

    private static void save(Path dir, String name, ByteBuffer... parts) throws IOException {
        int size = 0;
        for (ByteBuffer p : parts) size += p.remaining();
        ByteBuffer all = ByteBuffer.allocate(size);
        for (ByteBuffer p : parts) all.put(p.duplicate());
        Files.write(dir.resolve(name + ".bin"), all.array());
    }

    private static void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (String codec : CODECS) {
            save(dir, "v2_" + codec, build(RecordBatch.MAGIC_VALUE_V2, codec, TimestampType.CREATE_TIME,
                    1000L, RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, 7,
                    b -> fill(b, 40, true, true)));
        }
        save(dir, "v2_transactional_zstd", build(RecordBatch.MAGIC_VALUE_V2, "zstd",
                TimestampType.CREATE_TIME, 5L, RecordBatch.NO_TIMESTAMP, 123456789L, (short) 3, 42,
                true, 11, b -> fill(b, 5, true, false)));
        save(dir, "v2_idempotent_none", build(RecordBatch.MAGIC_VALUE_V2, "none",
                TimestampType.CREATE_TIME, 0L, RecordBatch.NO_TIMESTAMP, 77L, (short) 0,
                Integer.MAX_VALUE - 1, false, 0, b -> fill(b, 3, false, false)));
        save(dir, "v2_log_append_time_gzip", build(RecordBatch.MAGIC_VALUE_V2, "gzip",
                TimestampType.LOG_APPEND_TIME, 300L, BASE_TS + 99_999L, -1L, (short) -1, -1, false, 2,
                b -> fill(b, 6, true, false)));
        // Offsets with gaps, as after compaction.
        save(dir, "v2_gaps_snappy", build(RecordBatch.MAGIC_VALUE_V2, "snappy",
                TimestampType.CREATE_TIME, 50L, RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, 1,
                b -> {
                    b.appendWithOffset(50L, BASE_TS, "a".getBytes(StandardCharsets.UTF_8), null);
                    b.appendWithOffset(53L, BASE_TS + 1, "b".getBytes(StandardCharsets.UTF_8),
                            "tombstone-not".getBytes(StandardCharsets.UTF_8));
                    b.appendWithOffset(60L, BASE_TS + 2, null, "x".getBytes(StandardCharsets.UTF_8));
                }));
        // A compacted batch carrying a delete horizon.
        ByteBuffer horizonBuf = ByteBuffer.allocate(1 << 16);
        MemoryRecordsBuilder horizon = new MemoryRecordsBuilder(new ByteBufferOutputStream(horizonBuf),
                RecordBatch.MAGIC_VALUE_V2, Compression.NONE, TimestampType.CREATE_TIME, 10L,
                RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, false, 4, 1 << 16, BASE_TS + 86_400_000L);
        horizon.append(BASE_TS + 86_400_000L + 5, "k".getBytes(StandardCharsets.UTF_8), null);
        save(dir, "v2_delete_horizon", horizon.build().buffer());
        save(dir, "v2_control_commit", MemoryRecords.withEndTransactionMarker(900L, BASE_TS + 5, 6,
                123456789L, (short) 3, new EndTransactionMarker(ControlRecordType.COMMIT, 17)).buffer());
        save(dir, "v2_control_abort", MemoryRecords.withEndTransactionMarker(901L, BASE_TS + 6, 6,
                123456789L, (short) 3, new EndTransactionMarker(ControlRecordType.ABORT, 18)).buffer());
        // Legacy message formats (old data still lives on topics).
        for (byte magic : new byte[] {RecordBatch.MAGIC_VALUE_V0, RecordBatch.MAGIC_VALUE_V1}) {
            for (String codec : new String[] {"none", "gzip", "snappy", "lz4"}) {
                save(dir, "v" + magic + "_" + codec, build(magic, codec, TimestampType.CREATE_TIME, 2000L,
                        RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, -1,
                        b -> fill(b, 12, false, true)));
            }
        }
        save(dir, "v1_log_append_time_lz4", build(RecordBatch.MAGIC_VALUE_V1, "lz4",
                TimestampType.LOG_APPEND_TIME, 3000L, BASE_TS + 55_555L, -1L, (short) -1, -1, false, -1,
                b -> fill(b, 4, false, false)));
        // A fetch response's records: several batches, mixed formats, a truncated last batch.
        ByteBuffer a = build(RecordBatch.MAGIC_VALUE_V1, "gzip", TimestampType.CREATE_TIME, 0L,
                RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, -1, b -> fill(b, 3, false, false));
        ByteBuffer c = build(RecordBatch.MAGIC_VALUE_V2, "lz4", TimestampType.CREATE_TIME, 3L,
                RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, 1, b -> fill(b, 4, true, false));
        ByteBuffer d = build(RecordBatch.MAGIC_VALUE_V2, "none", TimestampType.CREATE_TIME, 7L,
                RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, 1, b -> fill(b, 2, true, false));
        ByteBuffer e = build(RecordBatch.MAGIC_VALUE_V2, "zstd", TimestampType.CREATE_TIME, 9L,
                RecordBatch.NO_TIMESTAMP, -1L, (short) -1, -1, false, 1, b -> fill(b, 4, true, false));
        ByteBuffer partial = e.duplicate();
        partial.limit(partial.position() + e.remaining() - 9);
        save(dir, "fetch_mixed_truncated", a, c, d, partial);
    }

    // -- reading -------------------------------------------------------------------------

    private static String read(byte[] bytes) {
        MemoryRecords records = MemoryRecords.readableRecords(ByteBuffer.wrap(bytes));
        List<String> batches = new ArrayList<>();
        for (MutableRecordBatch batch : records.batches()) {
            batch.ensureValid();
            StringBuilder sb = new StringBuilder("{");
            field(sb, "magic", batch.magic());
            field(sb, "base_offset", batch.baseOffset());
            field(sb, "last_offset", batch.lastOffset());
            field(sb, "next_offset", batch.nextOffset());
            field(sb, "compression", batch.compressionType().id);
            field(sb, "timestamp_type", batch.timestampType().id);
            field(sb, "max_timestamp", batch.maxTimestamp());
            field(sb, "is_transactional", batch.isTransactional());
            field(sb, "is_control", batch.isControlBatch());
            field(sb, "producer_id", batch.producerId());
            field(sb, "producer_epoch", batch.producerEpoch());
            field(sb, "base_sequence", batch.baseSequence());
            field(sb, "partition_leader_epoch", batch.partitionLeaderEpoch());
            field(sb, "size_in_bytes", batch.sizeInBytes());
            field(sb, "crc", batch.checksum());
            OptionalLong horizon = batch.deleteHorizonMs();
            sb.append("\"delete_horizon_ms\":").append(horizon.isPresent() ? Long.toString(horizon.getAsLong()) : "null").append(',');
            List<String> recs = new ArrayList<>();
            for (Record r : batch) {
                r.ensureValid();
                StringBuilder rs = new StringBuilder("{");
                field(rs, "offset", r.offset());
                field(rs, "timestamp", r.timestamp());
                rs.append("\"key\":").append(hex(r.key())).append(',');
                rs.append("\"value\":").append(hex(r.value())).append(',');
                List<String> hs = new ArrayList<>();
                for (Header h : r.headers()) {
                    hs.add("[" + str(h.key()) + "," + hex(h.value() == null ? null : ByteBuffer.wrap(h.value())) + "]");
                }
                rs.append("\"headers\":[").append(String.join(",", hs)).append("]");
                if (batch.isControlBatch()) {
                    ControlRecordType type = ControlRecordType.parse(r.key());
                    rs.append(",\"control_type\":").append(type.type());
                    if (type == ControlRecordType.COMMIT || type == ControlRecordType.ABORT) {
                        rs.append(",\"coordinator_epoch\":").append(EndTransactionMarker.deserialize(r).coordinatorEpoch());
                    }
                }
                recs.add(rs.append("}").toString());
            }
            sb.append("\"records\":[").append(String.join(",", recs)).append("]}");
            batches.add(sb.toString());
        }
        return "[" + String.join(",\n", batches) + "]";
    }

    private static void field(StringBuilder sb, String name, Object value) {
        sb.append('"').append(name).append("\":").append(value).append(',');
    }

    /** Bytes as hex; longer values as their size and SHA-256 to keep the fixtures small. */
    private static String hex(ByteBuffer buf) {
        if (buf == null) return "null";
        ByteBuffer b = buf.duplicate();
        if (b.remaining() > 256) {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                int size = b.remaining();
                md.update(b);
                StringBuilder sb = new StringBuilder("{\"size\":").append(size).append(",\"sha256\":\"");
                for (byte x : md.digest()) sb.append(String.format("%02x", x & 0xff));
                return sb.append("\"}").toString();
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
        StringBuilder sb = new StringBuilder("\"");
        while (b.hasRemaining()) sb.append(String.format("%02x", b.get() & 0xff));
        return sb.append('"').toString();
    }

    private static String str(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') sb.append('\\').append(ch);
            else if (ch < 0x20 || ch > 0x7e) sb.append(String.format("\\u%04x", (int) ch));
            else sb.append(ch);
        }
        return sb.append('"').toString();
    }
}
