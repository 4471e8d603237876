import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Kafka Streams side of the differential conformance harness (tests/conformance).
 *
 * <p>Each scenario below is the Java twin of the Python topology of the same name in
 * tests/conformance/scenarios.py. Protocol, one tab-separated line each, strings base64 (UTF-8),
 * "-" for null:
 * <pre>
 * in:  S run name out1,out2  start run ``run`` of scenario ``name`` (a fresh TopologyTestDriver,
 *                            wall clock at 0)
 *      P topic key value ts  pipe one record                     (one step)
 *      W ms                  advance the wall clock              (one step)
 *      E                     end of the scenario
 * out: O step topic key value ts   a record that appeared after that step
 *      D run                       run done
 *      X run message               the run failed (message base64)
 * </pre>
 */
public final class Conformance {

    // ---- scenarios: keep each in step with its Python twin ------------------------------------------

    static void filter_map_values(final StreamsBuilder b) {
        b.<String, String>stream("in").filter((k, v) -> v != null && n(v) % 3 != 0).mapValues(v -> "m" + v).to("out", out());
    }

    static void filter_not_peek(final StreamsBuilder b) {
        b.<String, String>stream("in").filterNot((k, v) -> k == null).peek((k, v) -> { }).mapValues(v -> s(v) + "!").to("out", out());
    }

    static void map_swap(final StreamsBuilder b) {
        b.<String, String>stream("in").map((k, v) -> KeyValue.pair(v, k)).to("out", out());
    }

    static void flat_map(final StreamsBuilder b) {
        b.<String, String>stream("in").flatMap((k, v) -> {
            final List<KeyValue<String, String>> out = new ArrayList<>();
            if (v != null) {
                if (n(v) % 2 == 0) {
                    out.add(KeyValue.pair(k, v));
                    out.add(KeyValue.pair(s(k) + "2", v));
                } else {
                    out.add(KeyValue.pair(v, k));
                }
            }
            return out;
        }).to("out", out());
    }

    static void flat_map_values(final StreamsBuilder b) {
        b.<String, String>stream("in").flatMapValues(v -> v == null ? List.<String>of() : List.of(v, v + "b")).to("out", out());
    }

    static void merge_select_key(final StreamsBuilder b) {
        final KStream<String, String> left = b.stream("left");
        left.merge(b.stream("right")).selectKey((k, v) -> v == null ? null : v.substring(0, 1)).to("out", out());
    }

    static void branch(final StreamsBuilder b) {
        b.<String, String>stream("in").split()
            .branch((k, v) -> v != null && n(v) < 30, Branched.withConsumer(ks -> ks.to("out-low", out())))
            .branch((k, v) -> v != null && n(v) < 60, Branched.withConsumer(ks -> ks.mapValues(v -> v + "m").to("out-mid", out())))
            .defaultBranch(Branched.withConsumer(ks -> ks.to("out-rest", out())));
    }

    static void repartition_explicit(final StreamsBuilder b) {
        b.<String, String>stream("in").selectKey((k, v) -> v == null ? null : "k" + n(v) % 3).repartition().mapValues(v -> s(v)).to("out", out());
    }

    static void count(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().count().toStream().to("out", out());
    }

    static void reduce(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().reduce((a, c) -> a + "," + c).toStream().to("out", out());
    }

    static void aggregate(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey()
            .aggregate(() -> 0L, (k, v, agg) -> agg + n(v), Materialized.with(Serdes.String(), Serdes.Long()))
            .toStream().to("out", out());
    }

    static void select_key_count(final StreamsBuilder b) {
        b.<String, String>stream("in").selectKey((k, v) -> v == null ? null : "k" + n(v) % 4).groupByKey().count().toStream().to("out", out());
    }

    static void group_by_reduce(final StreamsBuilder b) {
        b.<String, String>stream("in").groupBy((k, v) -> v == null ? "none" : "g" + n(v) % 3).reduce((a, c) -> a + "|" + c)
            .toStream().to("out", out());
    }

    static void tumbling_count(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(3))).count()
            .toStream().to("out", out());
    }

    static void tumbling_reduce_no_grace(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(ms(10))).reduce((a, c) -> a + "," + c)
            .toStream().to("out", out());
    }

    static void hopping_aggregate(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(2)).advanceBy(ms(4)))
            .aggregate(() -> "", (k, v, agg) -> agg + s(v)).toStream().to("out", out());
    }

    static void tumbling_suppress(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(3))).count(counted())
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to("out", out());
    }

    static void hopping_suppress_and_updates(final StreamsBuilder b) {
        final KTable<Windowed<String>, Long> counts = b.<String, String>stream("in").groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(ms(8), ms(2)).advanceBy(ms(4))).count(counted());
        counts.toStream().to("out-updates", out());
        counts.suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to("out-final", out());
    }

    static void session_count(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(5), ms(2))).count()
            .toStream().to("out", out());
    }

    static void session_reduce_no_grace(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(ms(4))).reduce((a, c) -> a + "," + c)
            .toStream().to("out", out());
    }

    static void session_aggregate(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(6), ms(3)))
            .aggregate(() -> "", (k, v, agg) -> agg + s(v), (k, a1, a2) -> a1 + "/" + a2).toStream().to("out", out());
    }

    static void session_suppress(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(5), ms(3))).count(counted())
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to("out", out());
    }

    static void sliding_count(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(5), ms(2))).count()
            .toStream().to("out", out());
    }

    static void sliding_aggregate_no_grace(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(ms(6)))
            .aggregate(() -> "", (k, v, agg) -> s(agg) + v).toStream().to("out", out());
    }

    static void sliding_reduce_suppress(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(4), ms(1)))
            .reduce((a, c) -> a + "," + c, Materialized.with(Serdes.String(), Serdes.String()))
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded())).toStream().to("out", out());
    }

    static void stream_stream_inner(final StreamsBuilder b) {
        b.<String, String>stream("left").join(b.<String, String>stream("right"), (l, r) -> l + "+" + r,
            JoinWindows.ofTimeDifferenceAndGrace(ms(5), ms(2))).to("out", out());
    }

    static void stream_stream_left(final StreamsBuilder b) {
        b.<String, String>stream("left").leftJoin(b.<String, String>stream("right"), (l, r) -> s(l) + "+" + s(r),
            JoinWindows.ofTimeDifferenceWithNoGrace(ms(4))).to("out", out());
    }

    static void stream_stream_outer(final StreamsBuilder b) {
        b.<String, String>stream("left").outerJoin(b.<String, String>stream("right"), (l, r) -> s(l) + "+" + s(r),
            JoinWindows.ofTimeDifferenceAndGrace(ms(3), ms(3))).to("out", out());
    }

    static void stream_stream_left_asymmetric(final StreamsBuilder b) {
        b.<String, String>stream("left").leftJoin(b.<String, String>stream("right"), (l, r) -> s(l) + "+" + s(r),
            JoinWindows.ofTimeDifferenceAndGrace(ms(2), ms(1)).after(ms(6))).to("out", out());
    }

    static void stream_stream_outer_asymmetric(final StreamsBuilder b) {
        b.<String, String>stream("left").outerJoin(b.<String, String>stream("right"), (l, r) -> s(l) + "+" + s(r),
            JoinWindows.ofTimeDifferenceWithNoGrace(ms(5)).before(ms(1))).to("out", out());
    }

    static void stream_table_inner(final StreamsBuilder b) {
        b.<String, String>stream("in").join(b.<String, String>table("table"), (l, r) -> l + "+" + r).to("out", out());
    }

    static void stream_table_left(final StreamsBuilder b) {
        b.<String, String>stream("in").leftJoin(b.<String, String>table("table"), (l, r) -> l + "+" + s(r)).to("out", out());
    }

    static void table_table_inner(final StreamsBuilder b) {
        b.<String, String>table("left").join(b.<String, String>table("right"), (l, r) -> l + "+" + r).toStream().to("out", out());
    }

    static void table_table_left(final StreamsBuilder b) {
        b.<String, String>table("left").leftJoin(b.<String, String>table("right"), (l, r) -> l + "+" + s(r)).toStream().to("out", out());
    }

    static void table_table_outer(final StreamsBuilder b) {
        b.<String, String>table("left").outerJoin(b.<String, String>table("right"), (l, r) -> s(l) + "+" + s(r)).toStream().to("out", out());
    }

    static void table_filter_to_stream(final StreamsBuilder b) {
        b.<String, String>table("in").filter((k, v) -> n(v) % 2 == 0).toStream().to("out", out());
    }

    static void table_named_filter(final StreamsBuilder b) {
        b.<String, String>table("in", Materialized.as("src")).filter((k, v) -> n(v) % 2 == 0).toStream().to("out", out());
    }

    static void table_map_values_filter_not(final StreamsBuilder b) {
        b.<String, String>table("in").mapValues(v -> "x" + v).filterNot((k, v) -> v.endsWith("7")).toStream().to("out", out());
    }

    static void table_filter_inner_join(final StreamsBuilder b) {
        b.<String, String>table("left").join(b.<String, String>table("right").filter((k, v) -> n(v) % 2 == 0), (l, r) -> l + "+" + r)
            .toStream().to("out", out());
    }

    static void table_filter_left_join(final StreamsBuilder b) {
        b.<String, String>table("left").filter((k, v) -> n(v) % 2 == 0).leftJoin(b.<String, String>table("right"), (l, r) -> l + "+" + s(r))
            .toStream().to("out", out());
    }

    static void table_filter_outer_join(final StreamsBuilder b) {
        b.<String, String>table("left").outerJoin(b.<String, String>table("right").filter((k, v) -> n(v) % 3 != 0), (l, r) -> s(l) + "+" + s(r))
            .toStream().to("out", out());
    }

    static void select_key_stream_join(final StreamsBuilder b) {
        final KStream<String, String> left = b.<String, String>stream("left").selectKey((k, v) -> v == null ? null : "k" + n(v) % 3);
        final KStream<String, String> right = b.<String, String>stream("right").selectKey((k, v) -> v == null ? null : "k" + n(v) % 3);
        left.join(right, (l, r) -> l + "+" + r, JoinWindows.ofTimeDifferenceAndGrace(ms(5), ms(1))).to("out", out());
    }

    static void select_key_table_left_join(final StreamsBuilder b) {
        b.<String, String>stream("in").selectKey((k, v) -> v == null ? null : "abcd".substring((int) (n(v) % 4), (int) (n(v) % 4) + 1))
            .leftJoin(b.<String, String>table("table"), (l, r) -> l + "+" + s(r)).to("out", out());
    }

    static void count_table_join(final StreamsBuilder b) {
        b.<String, String>stream("in").groupByKey().count().join(b.<String, String>table("table"), (c, t) -> c + ":" + t)
            .toStream().to("out", out());
    }

    static void table_group_by_count(final StreamsBuilder b) {
        b.<String, String>table("in").groupBy((k, v) -> KeyValue.pair("c" + n(v) % 3, v)).count().toStream().to("out", out());
    }

    static void table_group_by_reduce(final StreamsBuilder b) {
        b.<String, String>table("in").groupBy((k, v) -> KeyValue.pair(n(v) % 2 == 0 ? "even" : "odd", v))
            .reduce((a, c) -> String.valueOf(n(a) + n(c)), (a, c) -> String.valueOf(n(a) - n(c))).toStream().to("out", out());
    }

    static void table_group_by_aggregate(final StreamsBuilder b) {
        b.<String, String>table("in", Materialized.as("src")).groupBy((k, v) -> KeyValue.pair(n(v) < 50 ? k : "big", v))
            .aggregate(() -> 0L, (k, v, agg) -> agg + n(v), (k, v, agg) -> agg - n(v), Materialized.with(Serdes.String(), Serdes.Long()))
            .toStream().to("out", out());
    }

    static void cogroup(final StreamsBuilder b) {
        final KGroupedStream<String, String> clicks = b.<String, String>stream("left").groupByKey();
        final KGroupedStream<String, String> views = b.<String, String>stream("right")
            .groupBy((k, v) -> v == null ? "none" : "abcd".substring((int) (n(v) % 4), (int) (n(v) % 4) + 1));
        clicks.<String>cogroup((k, v, agg) -> agg + "c" + s(v)).cogroup(views, (k, v, agg) -> agg + "v" + s(v))
            .aggregate(() -> "").toStream().to("out", out());
    }

    // ---- plumbing ------------------------------------------------------------------------------------

    static final Map<String, Consumer<StreamsBuilder>> SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("filter_map_values", Conformance::filter_map_values);
        SCENARIOS.put("filter_not_peek", Conformance::filter_not_peek);
        SCENARIOS.put("map_swap", Conformance::map_swap);
        SCENARIOS.put("flat_map", Conformance::flat_map);
        SCENARIOS.put("flat_map_values", Conformance::flat_map_values);
        SCENARIOS.put("merge_select_key", Conformance::merge_select_key);
        SCENARIOS.put("branch", Conformance::branch);
        SCENARIOS.put("repartition_explicit", Conformance::repartition_explicit);
        SCENARIOS.put("count", Conformance::count);
        SCENARIOS.put("reduce", Conformance::reduce);
        SCENARIOS.put("aggregate", Conformance::aggregate);
        SCENARIOS.put("select_key_count", Conformance::select_key_count);
        SCENARIOS.put("group_by_reduce", Conformance::group_by_reduce);
        SCENARIOS.put("tumbling_count", Conformance::tumbling_count);
        SCENARIOS.put("tumbling_reduce_no_grace", Conformance::tumbling_reduce_no_grace);
        SCENARIOS.put("hopping_aggregate", Conformance::hopping_aggregate);
        SCENARIOS.put("tumbling_suppress", Conformance::tumbling_suppress);
        SCENARIOS.put("hopping_suppress_and_updates", Conformance::hopping_suppress_and_updates);
        SCENARIOS.put("session_count", Conformance::session_count);
        SCENARIOS.put("session_reduce_no_grace", Conformance::session_reduce_no_grace);
        SCENARIOS.put("session_aggregate", Conformance::session_aggregate);
        SCENARIOS.put("session_suppress", Conformance::session_suppress);
        SCENARIOS.put("sliding_count", Conformance::sliding_count);
        SCENARIOS.put("sliding_aggregate_no_grace", Conformance::sliding_aggregate_no_grace);
        SCENARIOS.put("sliding_reduce_suppress", Conformance::sliding_reduce_suppress);
        SCENARIOS.put("stream_stream_inner", Conformance::stream_stream_inner);
        SCENARIOS.put("stream_stream_left", Conformance::stream_stream_left);
        SCENARIOS.put("stream_stream_outer", Conformance::stream_stream_outer);
        SCENARIOS.put("stream_stream_left_asymmetric", Conformance::stream_stream_left_asymmetric);
        SCENARIOS.put("stream_stream_outer_asymmetric", Conformance::stream_stream_outer_asymmetric);
        SCENARIOS.put("stream_table_inner", Conformance::stream_table_inner);
        SCENARIOS.put("stream_table_left", Conformance::stream_table_left);
        SCENARIOS.put("table_table_inner", Conformance::table_table_inner);
        SCENARIOS.put("table_table_left", Conformance::table_table_left);
        SCENARIOS.put("table_table_outer", Conformance::table_table_outer);
        SCENARIOS.put("table_filter_to_stream", Conformance::table_filter_to_stream);
        SCENARIOS.put("table_named_filter", Conformance::table_named_filter);
        SCENARIOS.put("table_map_values_filter_not", Conformance::table_map_values_filter_not);
        SCENARIOS.put("table_filter_inner_join", Conformance::table_filter_inner_join);
        SCENARIOS.put("table_filter_left_join", Conformance::table_filter_left_join);
        SCENARIOS.put("table_filter_outer_join", Conformance::table_filter_outer_join);
        SCENARIOS.put("select_key_stream_join", Conformance::select_key_stream_join);
        SCENARIOS.put("select_key_table_left_join", Conformance::select_key_table_left_join);
        SCENARIOS.put("count_table_join", Conformance::count_table_join);
        SCENARIOS.put("table_group_by_count", Conformance::table_group_by_count);
        SCENARIOS.put("table_group_by_reduce", Conformance::table_group_by_reduce);
        SCENARIOS.put("table_group_by_aggregate", Conformance::table_group_by_aggregate);
        SCENARIOS.put("cogroup", Conformance::cogroup);
    }

    /** Windowed counts that ``suppress`` can buffer: it needs the key and value serdes. */
    static <S extends StateStore> Materialized<String, Long, S> counted() {
        return Materialized.<String, Long, S>with(Serdes.String(), Serdes.Long());
    }

    static Duration ms(final long millis) {
        return Duration.ofMillis(millis);
    }

    /** Null-safe rendering, the same as the Python twin's ``s``. */
    static String s(final Object o) {
        return o == null ? "null" : o.toString();
    }

    /** A value's number (values are decimal strings; null counts as 0). */
    static long n(final String v) {
        return v == null ? 0L : Long.parseLong(v);
    }

    /** Every output is rendered as text: windowed keys as ``key@start/end``, numbers in decimal. */
    static final class Render<T> implements Serializer<T> {
        @Override
        public byte[] serialize(final String topic, final T data) {
            if (data == null) {
                return null;
            }
            final String text;
            if (data instanceof Windowed) {
                final Windowed<?> w = (Windowed<?>) data;
                text = s(w.key()) + "@" + w.window().start() + "/" + w.window().end();
            } else {
                text = data.toString();
            }
            return text.getBytes(StandardCharsets.UTF_8);
        }
    }

    static <K, V> Produced<K, V> out() {
        final Serde<K> keys = Serdes.serdeFrom(new Render<K>(), (topic, data) -> null);
        final Serde<V> values = Serdes.serdeFrom(new Render<V>(), (topic, data) -> null);
        return Produced.with(keys, values);
    }

    static String decode(final String field) {
        return field.equals("-") ? null : new String(Base64.getDecoder().decode(field), StandardCharsets.UTF_8);
    }

    static String encode(final String text) {
        return text == null ? "-" : Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** One state directory per JVM, so concurrent test sessions never share RocksDB files. */
    static final String STATE_DIR = stateDir();

    static String stateDir() {
        try {
            final java.io.File dir = java.nio.file.Files.createTempDirectory("schemahub-conformance-").toFile();
            dir.deleteOnExit();
            return dir.getAbsolutePath();
        } catch (final java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Properties config(final String name) {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "conformance-" + name);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        // Every update is emitted, at once: no record cache, no throttled left/outer join emission.
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        props.put("__emit.interval.ms.kstreams.outer.join.spurious.results.fix__", 0L);
        props.put(StreamsConfig.STATE_DIR_CONFIG, STATE_DIR);
        return props;
    }

    public static void main(final String[] args) throws Exception {
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        final PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        String line;
        TopologyTestDriver driver = null;
        String name = null;
        String run = null;
        final Map<String, TestInputTopic<String, String>> inputs = new LinkedHashMap<>();
        final Map<String, TestOutputTopic<String, String>> outputs = new LinkedHashMap<>();
        int step = 0;
        boolean failed = false;
        while ((line = in.readLine()) != null) {
            final String[] f = line.split("\t", -1);
            try {
                switch (f[0]) {
                    case "S":
                        run = f[1];
                        name = f[2];
                        failed = false;
                        step = 0;
                        inputs.clear();
                        outputs.clear();
                        final Consumer<StreamsBuilder> scenario = SCENARIOS.get(name);
                        if (scenario == null) {
                            throw new IllegalArgumentException("no Java scenario named " + name);
                        }
                        final StreamsBuilder builder = new StreamsBuilder();
                        scenario.accept(builder);
                        driver = new TopologyTestDriver(builder.build(), config(name), Instant.ofEpochMilli(0));
                        for (final String topic : f[3].split(",")) {
                            outputs.put(topic, driver.createOutputTopic(topic, new StringDeserializer(), new StringDeserializer()));
                        }
                        break;
                    case "P":
                        if (!failed) {
                            final TopologyTestDriver d = driver;
                            inputs.computeIfAbsent(f[1], t -> d.createInputTopic(t, new StringSerializer(), new StringSerializer()))
                                .pipeInput(decode(f[2]), decode(f[3]), Long.parseLong(f[4]));
                            drain(out, outputs, step);
                        }
                        step++;
                        break;
                    case "W":
                        if (!failed) {
                            driver.advanceWallClockTime(Duration.ofMillis(Long.parseLong(f[1])));
                            drain(out, outputs, step);
                        }
                        step++;
                        break;
                    case "E":
                        if (driver != null) {
                            driver.close();
                            driver = null;
                        }
                        if (!failed) {
                            out.println("D\t" + run);
                        }
                        out.flush();
                        break;
                    default:
                        throw new IllegalArgumentException("unknown line: " + line);
                }
            } catch (final Exception e) {
                if (!failed) {
                    failed = true;
                    final StringBuilder message = new StringBuilder(e.toString());
                    for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
                        message.append(" <- ").append(cause);
                    }
                    out.println("X\t" + run + "\t" + encode(message.toString()));
                    out.flush();
                }
            }
        }
        out.flush();
    }

    static void drain(final PrintStream out, final Map<String, TestOutputTopic<String, String>> outputs, final int step) {
        for (final Map.Entry<String, TestOutputTopic<String, String>> topic : outputs.entrySet()) {
            for (final TestRecord<String, String> r : topic.getValue().readRecordsToList()) {
                out.println("O\t" + step + "\t" + topic.getKey() + "\t" + encode(r.key()) + "\t" + encode(r.value()) + "\t" + r.timestamp());
            }
        }
    }

    private Conformance() {
    }
}
