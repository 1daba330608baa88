/*
 * Prints Apache Kafka's error-code table (org.apache.kafka.common.protocol.Errors) as JSON lines.
 *
 * Run by tools/generate_errors.py against the pinned kafka-clients jar; each line describes one
 * enum constant, in code order:
 *   {"code": 6, "name": "NOT_LEADER_OR_FOLLOWER", "message": "...", "retriable": true,
 *    "invalid_metadata": true, "exception": "org.apache...NotLeaderOrFollowerException",
 *    "superclasses": ["org.apache...InvalidMetadataException", ..., "java.lang.Throwable"]}
 * NONE has no exception: "exception" is null and "superclasses" empty.
 */

import java.nio.charset.StandardCharsets;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.InvalidMetadataException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public final class ListErrors {
    private ListErrors() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Errors[] all = Errors.values();
        Arrays.sort(all, Comparator.comparingInt(Errors::code));
        for (Errors error : all) {
            out.println(describe(error));
        }
        out.flush();
    }

    private static String describe(Errors error) {
        ApiException exception = error.exception();
        List<String> chain = new ArrayList<>();
        if (exception != null) {
            for (Class<?> c = exception.getClass().getSuperclass(); c != null && c != Object.class; c = c.getSuperclass()) {
                chain.add(quote(c.getName()));
            }
        }
        // Errors.message() is the default exception's message, or the constant's name for NONE.
        String message = exception != null ? exception.getMessage() : error.message();
        StringBuilder sb = new StringBuilder();
        sb.append("{\"code\": ").append(error.code());
        sb.append(", \"name\": ").append(quote(error.name()));
        sb.append(", \"message\": ").append(message == null ? "null" : quote(message));
        sb.append(", \"retriable\": ").append(exception instanceof RetriableException);
        sb.append(", \"invalid_metadata\": ").append(exception instanceof InvalidMetadataException);
        sb.append(", \"exception\": ").append(exception == null ? "null" : quote(exception.getClass().getName()));
        sb.append(", \"superclasses\": [").append(String.join(", ", chain)).append("]}");
        return sb.toString();
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2);
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                default:
                    // Escaping everything outside printable ASCII keeps the output encoding-proof.
                    if (ch < 0x20 || ch > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
            }
        }
        return sb.append('"').toString();
    }
}
