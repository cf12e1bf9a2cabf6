/* Options by name: the option strings of the command line and Python ("zstd:3",
 * "every:64MiB", "drop-oldest", "256MiB" …) set through C give the configuration the
 * engine's parsers give — the struct fields are read back — and print back as the
 * canonical text the engine prints (streamq_*_config_get is the engine's describe()). A
 * bad name or value is INVALID_ARGUMENT with the engine's message, the config unchanged. */
#define _GNU_SOURCE
#include <stdint.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[64];

/* The writer options settable from text (docs/OPTIONS.md; path and metadata are fields). */
static const char *const all_writer_options[] = {
    "sink",          "compression", "compress_workers", "raw_when_behind", "io_workers",     "writes_in_flight",
    "max_write_bytes", "max_write_rate", "fsync",        "preallocate",     "direct_io",      "segment_bytes",
    "segment_duration", "index_interval", "max_streams", "linger"};
#define ALL_WRITER_OPTIONS (sizeof all_writer_options / sizeof *all_writer_options)

static void expect_writer_text(const streamq_writer_config *c, const char *name, const char *want) {
    char got[128];
    size_t n = 0;
    OK(streamq_writer_config_get(c, name, got, sizeof got, &n));
    if (strcmp(got, want) != 0) printf("  writer %s: got '%s', want '%s'\n", name, got, want);
    CHECK(strcmp(got, want) == 0 && n == strlen(want));
}

static void expect_stream_text(const streamq_stream_config *c, const char *name, const char *want) {
    char got[128];
    OK(streamq_stream_config_get(c, name, got, sizeof got, NULL));
    if (strcmp(got, want) != 0) printf("  stream %s: got '%s', want '%s'\n", name, got, want);
    CHECK(strcmp(got, want) == 0);
}

static void expect_queue_text(const streamq_queue_config *c, const char *name, const char *want) {
    char got[128];
    OK(streamq_queue_config_get(c, name, got, sizeof got, NULL));
    if (strcmp(got, want) != 0) printf("  queue %s: got '%s', want '%s'\n", name, got, want);
    CHECK(strcmp(got, want) == 0);
}

/* The last error contains `part` (the engine's message). */
static void expect_message(const char *part) {
    char msg[512];
    streamq_last_error(msg, sizeof msg);
    const int found = strstr(msg, part) != NULL;
    if (!found) printf("  last error: %s\n  expected it to contain: %s\n", msg, part);
    CHECK(found);
}

static void test_writer_options(void) {
    streamq_writer_config c = writer_config_defaults();

    /* The four strings of the issue, and their fields. */
    OK(streamq_writer_config_set(&c, "compression", "zstd:3"));
    CHECK(c.compression_level == 3);
    expect_writer_text(&c, "compression", "zstd:3");
    OK(streamq_writer_config_set(&c, "fsync", "every:64MiB"));
    CHECK(c.fsync_policy == STREAMQ_FSYNC_EVERY_BYTES && c.fsync_interval == 64ull << 20);
    expect_writer_text(&c, "fsync", "every:64MiB");

    /* Aliases the engine reads give the same fields and print canonically. */
    OK(streamq_writer_config_set(&c, "compression", "zstd"));
    CHECK(c.compression_level == 1);
    expect_writer_text(&c, "compression", "zstd:1");
    OK(streamq_writer_config_set(&c, "compression", "none"));
    CHECK(c.compression_level == 0);
    expect_writer_text(&c, "compression", "none");
    OK(streamq_writer_config_set(&c, "fsync", "64MiB"));
    CHECK(c.fsync_policy == STREAMQ_FSYNC_EVERY_BYTES && c.fsync_interval == 64ull << 20);
    expect_writer_text(&c, "fsync", "every:64MiB");
    OK(streamq_writer_config_set(&c, "fsync", "every:20ms"));
    CHECK(c.fsync_policy == STREAMQ_FSYNC_EVERY_MS && c.fsync_interval == 20);
    expect_writer_text(&c, "fsync", "every:20ms");
    OK(streamq_writer_config_set(&c, "fsync", "every:2s"));
    CHECK(c.fsync_policy == STREAMQ_FSYNC_EVERY_MS && c.fsync_interval == 2000);
    expect_writer_text(&c, "fsync", "every:2s");
    OK(streamq_writer_config_set(&c, "fsync", "always"));
    CHECK(c.fsync_policy == STREAMQ_FSYNC_ALWAYS);
    expect_writer_text(&c, "fsync", "always");
    OK(streamq_writer_config_set(&c, "fsync", "on-close"));
    CHECK(c.fsync_policy == STREAMQ_FSYNC_ON_CLOSE);
    expect_writer_text(&c, "fsync", "close");

    /* The other writer options. */
    OK(streamq_writer_config_set(&c, "max_write_bytes", "16MiB"));
    CHECK(c.max_write_bytes == 16u << 20);
    expect_writer_text(&c, "max_write_bytes", "16MiB");
    OK(streamq_writer_config_set(&c, "max_write_rate", "100MB"));
    CHECK(c.max_write_rate == 100000000ull);
    expect_writer_text(&c, "max_write_rate", "100000000");
    OK(streamq_writer_config_set(&c, "max_write_rate", "none"));
    CHECK(c.max_write_rate == 0);
    expect_writer_text(&c, "max_write_rate", "none");
    OK(streamq_writer_config_set(&c, "segment_bytes", "1GiB"));
    CHECK(c.segment_bytes == 1ull << 30);
    expect_writer_text(&c, "segment_bytes", "1GiB");
    OK(streamq_writer_config_set(&c, "segment_duration", "10m"));
    CHECK(c.segment_duration_ms == 600000);
    expect_writer_text(&c, "segment_duration", "10m");
    OK(streamq_writer_config_set(&c, "segment_duration", "none"));
    CHECK(c.segment_duration_ms == 0);
    OK(streamq_writer_config_set(&c, "preallocate", "900KiB"));
    CHECK(c.preallocate_bytes == 900u * 1024);
    expect_writer_text(&c, "preallocate", "900KiB");
    OK(streamq_writer_config_set(&c, "index_interval", "8MiB"));
    CHECK(c.index_interval_bytes == 8u << 20);
    OK(streamq_writer_config_set(&c, "compress_workers", "3"));
    CHECK(c.compress_workers == 3);
    expect_writer_text(&c, "compress_workers", "3");
    OK(streamq_writer_config_set(&c, "writes_in_flight", "4"));
    CHECK(c.writes_in_flight == 4);
    OK(streamq_writer_config_set(&c, "raw_when_behind", "false"));
    CHECK(!c.raw_when_behind);
    expect_writer_text(&c, "raw_when_behind", "false");
    OK(streamq_writer_config_set(&c, "direct_io", "false"));
    CHECK(!c.direct_io);
    OK(streamq_writer_config_set(&c, "max_streams", "12"));
    CHECK(c.max_streams == 12);
    OK(streamq_writer_config_set(&c, "linger", "5ms"));
    CHECK(c.linger_ms == 5);
    expect_writer_text(&c, "linger", "5ms");
    OK(streamq_writer_config_set(&c, "sink", "directory"));
    CHECK(c.sink == STREAMQ_SINK_DIRECTORY);
    expect_writer_text(&c, "sink", "directory");
    OK(streamq_writer_config_set(&c, "sink", "capture_file"));
    c.path = "/tmp/x.sqcap"; /* pointer options are fields; get prints them */
    expect_writer_text(&c, "path", "/tmp/x.sqcap");

    /* Refusals: the config is left as it was (every option prints as before). */
    char before[16][64];
    for (size_t i = 0; i < ALL_WRITER_OPTIONS; i++)
        OK(streamq_writer_config_get(&c, all_writer_options[i], before[i], sizeof before[i], NULL));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "compression", "lz4"));
    expect_message("unknown compression 'lz4' (use none, zstd or zstd:LEVEL)");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "compression", "zstd:23"));
    expect_message("zstd level must be 1..=22");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "fsync", "sometimes"));
    expect_message("fsync takes close, always, every:SIZE or every:DURATION");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "max_write_bytes", "12 parsecs"));
    expect_message("unknown size unit 'parsecs'");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "linger", "3 fortnights"));
    expect_message("unknown duration unit");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "linger", "1500us"));
    expect_message("whole number of milliseconds");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "direct_io", "yes please"));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "max_streams", "70000"));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "sink", "s3"));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "path", "/tmp/y"));
    expect_message("assign the config's `path` field");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_set(&c, "colour", "red"));
    expect_message("unknown writer option 'colour' (options: sink, path, compression,");
    for (size_t i = 0; i < ALL_WRITER_OPTIONS; i++) expect_writer_text(&c, all_writer_options[i], before[i]);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_config_set(NULL, "compression", "zstd"));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_config_set(&c, NULL, "zstd"));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_config_set(&c, "compression", NULL));

    /* _get: the size first, then the text; an unknown name is refused. */
    size_t n = 0;
    EXPECT(STREAMQ_RESULT_BUFFER_TOO_SMALL, streamq_writer_config_get(&c, "sink", NULL, 0, &n));
    CHECK(n == strlen("capture_file"));
    char small[4] = {'x', 'x', 'x', 'x'};
    EXPECT(STREAMQ_RESULT_BUFFER_TOO_SMALL, streamq_writer_config_get(&c, "sink", small, sizeof small, &n));
    CHECK(small[0] == 'x'); /* untouched */
    char text[32];
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_config_get(&c, "colour", text, sizeof text, &n));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_config_get(NULL, "sink", text, sizeof text, &n));

    /* Every option round-trips: its printed text, set again, prints the same. */
    for (size_t i = 0; i < ALL_WRITER_OPTIONS; i++) {
        const char *name = all_writer_options[i];
        char a[64], b[64];
        OK(streamq_writer_config_get(&c, name, a, sizeof a, NULL));
        OK(streamq_writer_config_set(&c, name, a));
        OK(streamq_writer_config_get(&c, name, b, sizeof b, NULL));
        if (strcmp(a, b) != 0) printf("  %s: '%s' then '%s'\n", name, a, b);
        CHECK(strcmp(a, b) == 0);
    }
}

static void test_queue_and_stream_options(void) {
    streamq_queue_config q = queue_config_defaults();
    OK(streamq_queue_config_set(&q, "policy", "drop-oldest"));
    CHECK(q.policy == STREAMQ_POLICY_DROP_OLDEST);
    expect_queue_text(&q, "policy", "drop-oldest");
    OK(streamq_queue_config_set(&q, "capacity", "256MiB"));
    CHECK(q.capacity == 256u << 20);
    expect_queue_text(&q, "capacity", "256MiB");
    OK(streamq_queue_config_set(&q, "policy", "drop_newest")); /* "_" for "-" */
    CHECK(q.policy == STREAMQ_POLICY_DROP_NEWEST);
    OK(streamq_queue_config_set(&q, "policy", "fail"));
    CHECK(q.policy == STREAMQ_POLICY_FAIL_FAST);
    expect_queue_text(&q, "policy", "fail-fast");
    OK(streamq_queue_config_set(&q, "capacity", "1.5MB"));
    CHECK(q.capacity == 1500000);
    expect_queue_text(&q, "capacity", "1500000");
    OK(streamq_queue_config_set(&q, "capacity", "4096"));
    expect_queue_text(&q, "capacity", "4KiB");
    OK(streamq_queue_config_set(&q, "high_water", "3KiB"));
    CHECK(q.high_water == 3072);
    expect_queue_text(&q, "high_water", "3KiB");
    OK(streamq_queue_config_set(&q, "high_water", "default"));
    CHECK(q.high_water == 0);
    expect_queue_text(&q, "high_water", "default");
    OK(streamq_queue_config_set(&q, "max_frames", "100"));
    CHECK(q.max_frames == 100);
    OK(streamq_queue_config_set(&q, "max_frames", "none"));
    CHECK(q.max_frames == 0);
    expect_queue_text(&q, "max_frames", "none");
    OK(streamq_queue_config_set(&q, "block_timeout", "500ms"));
    CHECK(q.block_timeout_ms == 500);
    expect_queue_text(&q, "block_timeout", "500ms");
    OK(streamq_queue_config_set(&q, "block_timeout", "none"));
    CHECK(q.block_timeout_ms < 0);
    expect_queue_text(&q, "block_timeout", "none");
    OK(streamq_queue_config_set(&q, "prefault", "false"));
    CHECK(!q.prefault);
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_config_set(&q, "policy", "drop-everything"));
    expect_message("unknown overflow policy 'drop-everything' (use block, fail-fast, drop-newest or drop-oldest)");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_config_set(&q, "compression", "zstd"));
    expect_message("unknown queue option 'compression'");

    /* A queue built from text options behaves as they say. */
    streamq_queue_config small = queue_config_defaults();
    OK(streamq_queue_config_set(&small, "capacity", "16KiB"));
    OK(streamq_queue_config_set(&small, "policy", "drop-newest"));
    OK(streamq_queue_config_set(&small, "prefault", "false"));
    streamq_producer *p;
    streamq_consumer *c;
    OK(streamq_queue_create(&small, &p, &c));
    uint8_t frame[1000] = {0};
    streamq_result r;
    while ((r = streamq_producer_push(p, frame, sizeof frame, NULL, NULL)) == STREAMQ_RESULT_OK) {
    }
    EXPECT(STREAMQ_RESULT_DROPPED, r);
    streamq_producer_free(p);
    streamq_consumer_free(c);

    /* Stream configs take the queue options, on their embedded queue config. */
    streamq_stream_config s = stream_config_defaults();
    expect_stream_text(&s, "capacity", "256MiB"); /* a stream's default */
    OK(streamq_stream_config_set(&s, "policy", "drop-oldest"));
    OK(streamq_stream_config_set(&s, "capacity", "64MiB"));
    CHECK(s.queue.policy == STREAMQ_POLICY_DROP_OLDEST && s.queue.capacity == 64u << 20);
    expect_stream_text(&s, "policy", "drop-oldest");
    expect_stream_text(&s, "capacity", "64MiB");
    expect_stream_text(&s, "media_type", "application/octet-stream");
    s.name = "depth";
    expect_stream_text(&s, "name", "depth");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_stream_config_set(&s, "name", "color"));
    expect_message("assign the config's `name` field");
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_stream_config_set(&s, "fsync", "always"));
    expect_message("unknown stream option 'fsync'");
}

/* A writer configured entirely from text records as configured. */
static void test_writer_from_text(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/text.sqcap", tmpdir);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = path;
    OK(streamq_writer_config_set(&wc, "compression", "zstd:3"));
    OK(streamq_writer_config_set(&wc, "fsync", "always"));
    OK(streamq_writer_config_set(&wc, "raw_when_behind", "false"));
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "depth";
    OK(streamq_stream_config_set(&sc, "capacity", "4MiB"));
    OK(streamq_stream_config_set(&sc, "prefault", "false"));
    streamq_producer *s = NULL;
    OK(streamq_writer_add_stream(w, &sc, &s));
    uint8_t frame[32 * 1024];
    memset(frame, 7, sizeof frame); /* compresses well */
    for (int i = 0; i < 8; i++) OK(streamq_producer_push(s, frame, sizeof frame, NULL, NULL));
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == 8 && rep.frames_compressed == 8 && rep.stored_bytes < rep.bytes_written);
    CHECK(rep.syncs >= rep.writes && rep.writes >= 1); /* after every write */
    streamq_producer_free(s);
    streamq_writer_free(w);
    unlink(path);

    /* Options the sink does not use, set by text, are refused by the engine. */
    wc = writer_config_defaults();
    wc.path = tmpdir;
    OK(streamq_writer_config_set(&wc, "sink", "directory"));
    OK(streamq_writer_config_set(&wc, "compression", "zstd:3"));
    w = NULL;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    expect_message("compression applies to the capture_file sink only (this writer's sink is directory)");
    CHECK(w == NULL);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/streamq-opt-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    test_writer_options();
    test_queue_and_stream_options();
    test_writer_from_text();
    rmdir(tmpdir);
    return check_report("test_options");
}
