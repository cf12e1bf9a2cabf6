/* The structs can grow without breaking compiled programs (include/streamq.h, "Structs
 * that grow"):
 *
 * - A program built against an OLDER header, whose streamq_writer_config and
 *   streamq_push_options lack the newest fields, runs against this library: its init
 *   writes no byte past the old struct, the missing fields get their defaults
 *   (max_write_rate: none; no interrupt), the rest works as before.
 * - A NEWER header's larger struct is accepted while the fields this library does not
 *   know are zero, and refused (not silently ignored) once one is set.
 * - Outputs: an older, smaller output struct gets exactly its own bytes written.
 * - A wrong struct_size is refused before anything happens.
 *
 * The "older" layouts below are the structs as a header without the newest fields
 * declared them: the same fields, in the same order, up to the first newer field. */
#define _GNU_SOURCE
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

/* ---- the older header ---------------------------------------------------------- */

typedef struct old_writer_config {
    size_t struct_size;
    const char *path;
    const streamq_kv *metadata;
    size_t metadata_len;
    size_t max_write_bytes;
    uint64_t fsync_interval;
    uint64_t preallocate_bytes;
    uint64_t segment_bytes;
    uint64_t segment_duration_ms;
    uint64_t index_interval_bytes;
    uint64_t linger_ms;
    streamq_error_fn on_error;
    streamq_segment_fn on_segment;
    streamq_durable_fn on_durable;
    streamq_sink_fn sink_fn;
    void *callback_user;
    uint32_t sink;
    int32_t compression_level;
    uint32_t compress_workers;
    uint32_t io_workers;
    uint32_t writes_in_flight;
    uint32_t fsync_policy;
    uint32_t max_streams;
    bool raw_when_behind;
    bool direct_io;
    /* (no max_write_rate: it came later) */
} old_writer_config;

typedef struct old_push_options {
    size_t struct_size;
    bool has_device_ts;
    uint32_t wait;
    uint64_t device_ts_ns;
    uint64_t timeout_ms;
    /* (no interrupt: it came later) */
} old_push_options;

typedef struct old_queue_stats {
    size_t struct_size;
    uint64_t frames_pushed;
    uint64_t frames_popped;
    uint64_t frames_dropped_newest;
    uint64_t frames_dropped_oldest;
    uint64_t frames_discarded;
    uint64_t frames_queued;
    /* (the rest came later) */
} old_queue_stats;

/* The older structs are exactly prefixes of the current ones (the growth rule: new fields
 * start at or after the old sizeof). */
_Static_assert(sizeof(old_writer_config) == offsetof(streamq_writer_config, max_write_rate), "prefix");
_Static_assert(offsetof(old_writer_config, direct_io) == offsetof(streamq_writer_config, direct_io), "prefix");
_Static_assert(sizeof(old_push_options) == offsetof(streamq_push_options, interrupt), "prefix");
_Static_assert(sizeof(old_queue_stats) < sizeof(streamq_queue_stats), "prefix");

/* The older program calls the same functions, with its own sizeof (what its header's
 * STREAMQ_..._INIT macro passes). */
#define OLD_WRITER_CONFIG_INIT(cfg) streamq_writer_config_init((streamq_writer_config *)(cfg), sizeof *(cfg))
#define OLD_PUSH_OPTIONS_INIT(opts) streamq_push_options_init((streamq_push_options *)(opts), sizeof *(opts))

static char tmpdir[64];

/* A struct followed by a canary, to see that nothing is written past the struct. */
#define CANARY 0x5AA5C33C0FF0E11EULL

static void test_older_writer_config(void) {
    struct {
        old_writer_config cfg;
        uint64_t canary;
    } old;
    memset(&old, 0xCD, sizeof old);
    old.canary = CANARY;
    OK(OLD_WRITER_CONFIG_INIT(&old.cfg));
    CHECK(old.canary == CANARY); /* the init wrote only the old struct */
    CHECK(old.cfg.struct_size == sizeof(old_writer_config));
    CHECK(old.cfg.path == NULL && old.cfg.sink == STREAMQ_SINK_CAPTURE_FILE && old.cfg.writes_in_flight == 2);
    CHECK(old.cfg.raw_when_behind && old.cfg.direct_io && old.cfg.max_write_bytes == 8u << 20);

    /* Every option of the old struct reads back as the defaults of a current one; the
     * missing max_write_rate too ("none"). */
    streamq_writer_config cur = writer_config_defaults();
    const char *names[] = {"sink", "compression", "raw_when_behind", "writes_in_flight", "max_write_bytes",
                           "max_write_rate", "fsync", "preallocate", "direct_io", "segment_bytes",
                           "segment_duration", "index_interval", "max_streams", "linger"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char a[64], b[64];
        OK(streamq_writer_config_get((const streamq_writer_config *)&old.cfg, names[i], a, sizeof a, NULL));
        OK(streamq_writer_config_get(&cur, names[i], b, sizeof b, NULL));
        if (strcmp(a, b) != 0) printf("  %s: old struct %s, current %s\n", names[i], a, b);
        CHECK(strcmp(a, b) == 0);
    }
    char rate[16];
    OK(streamq_writer_config_get((const streamq_writer_config *)&old.cfg, "max_write_rate", rate, sizeof rate, NULL));
    CHECK(strcmp(rate, "none") == 0);

    /* Options by name work on the old struct, within its bytes. */
    OK(streamq_writer_config_set((streamq_writer_config *)&old.cfg, "compression", "zstd:3"));
    CHECK(old.cfg.compression_level == 3 && old.canary == CANARY);
    OK(streamq_writer_config_set((streamq_writer_config *)&old.cfg, "compression", "none"));
    /* An option the old struct has no field for is refused, not dropped. */
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT,
           streamq_writer_config_set((streamq_writer_config *)&old.cfg, "max_write_rate", "10MB"));
    char msg[512];
    streamq_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "newer streamq.h") != NULL);
    CHECK(old.canary == CANARY);

    /* A writer from the old struct: records, with the defaults for what it lacks. */
    char path[128];
    snprintf(path, sizeof path, "%s/old.sqcap", tmpdir);
    old.cfg.path = path;
    streamq_writer *w = NULL;
    OK(streamq_writer_create((const streamq_writer_config *)&old.cfg, &w));
    REQUIRE(w != NULL);
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "depth";
    sc.queue.capacity = 1 << 20;
    sc.queue.prefault = false;
    streamq_producer *s = NULL;
    OK(streamq_writer_add_stream(w, &sc, &s));

    /* Push options from the older header: no interrupt field, the rest honoured. */
    struct {
        old_push_options opts;
        uint64_t canary;
    } po;
    memset(&po, 0xEE, sizeof po);
    po.canary = CANARY;
    OK(OLD_PUSH_OPTIONS_INIT(&po.opts));
    CHECK(po.canary == CANARY && po.opts.struct_size == sizeof(old_push_options));
    CHECK(!po.opts.has_device_ts && po.opts.wait == STREAMQ_WAIT_CONFIGURED);
    po.opts.has_device_ts = true;
    po.opts.device_ts_ns = 123456;
    po.opts.wait = STREAMQ_WAIT_NEVER;
    uint64_t seq = 9;
    OK(streamq_producer_push(s, (const uint8_t *)"old", 3, (const streamq_push_options *)&po.opts, &seq));
    CHECK(seq == 0);
    uint8_t *dst = NULL;
    po.opts.device_ts_ns = 654321;
    OK(streamq_producer_reserve(s, 2, (const streamq_push_options *)&po.opts, &dst));
    memcpy(dst, "ok", 2);
    OK(streamq_producer_commit(s, &seq));
    CHECK(seq == 1);
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == 2 && !rep.failed);
    streamq_producer_free(s);
    streamq_writer_free(w);

    streamq_reader *r = NULL;
    OK(streamq_reader_open(path, &r));
    streamq_reader_frame f = {.struct_size = sizeof(streamq_reader_frame)};
    OK(streamq_reader_next(r, &f));
    CHECK(f.len == 3 && memcmp(f.data, "old", 3) == 0 && f.device_ts_ns == 123456);
    OK(streamq_reader_next(r, &f));
    CHECK(f.len == 2 && f.device_ts_ns == 654321);
    streamq_reader_free(r);
    unlink(path);
}

static void test_newer_structs(void) {
    /* A newer header's struct: ours plus a field this library does not know. */
    struct newer_writer_config {
        streamq_writer_config known;
        uint64_t future_option;
    } newer;
    OK(streamq_writer_config_init(&newer.known, sizeof newer));
    CHECK(newer.known.struct_size == sizeof newer && newer.future_option == 0); /* zero: unknown */
    char path[128];
    snprintf(path, sizeof path, "%s/newer.sqcap", tmpdir);
    newer.known.path = path;
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&newer.known, &w)); /* zero past our fields: the defaults */
    streamq_writer_free(w);
    newer.future_option = 1;
    w = (streamq_writer *)&newer;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&newer.known, &w));
    char msg[512];
    streamq_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "newer streamq_writer_config") != NULL && strstr(msg, "does not know") != NULL);
    CHECK(w == (streamq_writer *)&newer);
    /* Setting a known option keeps the unknown bytes as they are (zero here). */
    newer.future_option = 0;
    OK(streamq_writer_config_set(&newer.known, "fsync", "always"));
    CHECK(newer.known.fsync_policy == STREAMQ_FSYNC_ALWAYS && newer.future_option == 0);
    unlink(path);

    /* A newer output struct: what this library knows is written, the rest zero-filled,
     * struct_size left as the caller set it. */
    streamq_queue_config qc = queue_config_defaults();
    qc.capacity = 1 << 16;
    qc.prefault = false;
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&qc, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"abc", 3, NULL, NULL));
    struct {
        streamq_queue_stats known;
        uint64_t future_counter;
    } stats;
    memset(&stats, 0xAB, sizeof stats);
    stats.known.struct_size = sizeof stats;
    OK(streamq_producer_stats(p, &stats.known));
    CHECK(stats.known.struct_size == sizeof stats && stats.known.frames_pushed == 1 && stats.future_counter == 0);
    streamq_producer_free(p);
    streamq_consumer_free(q);
}

static void test_older_outputs_and_bad_sizes(void) {
    streamq_queue_config qc = queue_config_defaults();
    qc.capacity = 1 << 16;
    qc.prefault = false;
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&qc, &p, &q));
    for (int i = 0; i < 3; i++) OK(streamq_producer_push(p, (const uint8_t *)"abc", 3, NULL, NULL));

    /* An older, smaller output struct: only its bytes are written. */
    struct {
        old_queue_stats stats;
        uint64_t canary[8];
    } out;
    for (int i = 0; i < 8; i++) out.canary[i] = CANARY;
    out.stats.struct_size = sizeof out.stats;
    OK(streamq_producer_stats(p, (streamq_queue_stats *)&out.stats));
    CHECK(out.stats.struct_size == sizeof(old_queue_stats) && out.stats.frames_pushed == 3 &&
          out.stats.frames_queued == 3);
    for (int i = 0; i < 8; i++) CHECK(out.canary[i] == CANARY);

    /* A wrong struct_size fails first: nothing consumed, output untouched. */
    streamq_frame f;
    uint8_t buf[16];
    const size_t bad[] = {0, 4, 12, sizeof f + 1, (size_t)1 << 20, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&f, 0x11, sizeof f);
        f.struct_size = bad[i];
        EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
        CHECK(f.struct_size == bad[i] && f.seq == 0x1111111111111111ull);
        streamq_queue_config c2;
        EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_config_init(&c2, bad[i]));
    }
    char msg[256];
    streamq_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "struct_size") != NULL);
    streamq_queue_stats st = {.struct_size = sizeof st};
    OK(streamq_consumer_stats(q, &st));
    CHECK(st.frames_popped == 0); /* none was consumed */
    /* A config whose struct_size was never set (zeroed memory) is refused. */
    streamq_queue_config zero;
    memset(&zero, 0, sizeof zero);
    streamq_producer *p2 = NULL;
    streamq_consumer *q2 = NULL;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_create(&zero, &p2, &q2));
    CHECK(p2 == NULL && q2 == NULL);
    /* The smallest valid input, struct_size alone: every field a default. */
    streamq_push_options tiny;
    memset(&tiny, 0x77, sizeof tiny);
    tiny.struct_size = sizeof(size_t);
    uint64_t seq = 0;
    OK(streamq_producer_push(p, (const uint8_t *)"d", 1, &tiny, &seq));
    CHECK(seq == 3);
    streamq_producer_free(p);
    streamq_consumer_free(q);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/streamq-abi-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    test_older_writer_config();
    test_newer_structs();
    test_older_outputs_and_bad_sizes();
    rmdir(tmpdir);
    return check_report("test_abi_growth");
}
