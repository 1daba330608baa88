// Prints the Java client's partition choice for keyed records, for kafkaio's partitioner tests.
// Usage: see tools/golden_partitioner/run.sh. Output: "<hex key> <murmur2> <partitions> <partition>".
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;

public final class GoldenPartitioner {
    private static final int[] PARTITION_COUNTS = {1, 2, 3, 6, 10, 12, 100, 1000};

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        long state = 0x2545F4914F6CDD1DL;
        for (int i = 0; i < 3000; i++) {
            byte[] key;
            if (i % 3 == 0) {
                key = ("key-" + i).getBytes(StandardCharsets.UTF_8);
            } else {
                // Pseudo-random bytes of length 0..40, all byte values (sign handling matters).
                state ^= state << 13; state ^= state >>> 7; state ^= state << 17;
                int len = (int) Long.remainderUnsigned(state, 41);
                key = new byte[len];
                for (int j = 0; j < len; j++) {
                    state ^= state << 13; state ^= state >>> 7; state ^= state << 17;
                    key[j] = (byte) state;
                }
            }
            int n = PARTITION_COUNTS[i % PARTITION_COUNTS.length];
            int part = BuiltInPartitioner.partitionForKey(key, n);
            out.append(hex(key).isEmpty() ? "-" : hex(key)).append(' ')
               .append(Utils.murmur2(key)).append(' ')
               .append(n).append(' ')
               .append(part).append('\n');
        }
        System.out.print(out);
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x));
        return s.toString();
    }
}
