/* The callback sink (STREAMQ_SINK_CALLBACK): configuration checks, frames arriving in
 * order and bit-exact with their metadata, gaps under the drop policies, durable marks,
 * and a failing callback reaching on_error, the producer, flush and close. The callback
 * runs on the writer thread; the tests synchronise with it through a mutex and condition
 * variable only (no sleeps). Built with ASan/UBSan, and run under valgrind too. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "check.h"

/* ------------------------------------------------------------------ helpers -- */

/* Frame n of stream s: its length and its bytes (a pattern that differs per byte,
 * frame and stream, so a shifted, truncated or swapped frame is noticed). */
static size_t frame_len(int s, uint64_t n) {
    return n == 0 ? 0 : (size_t)((n * 397 + (uint64_t)s * 61) % 5000) + 1;
}

static void fill_frame(uint8_t *dst, int s, uint64_t n) {
    size_t len = frame_len(s, n);
    for (size_t i = 0; i < len; i++) dst[i] = (uint8_t)(n * 31 + i * 7 + (uint64_t)s * 101);
}

/* One event as the sink saw it (copied: the pointers are valid during the call only). */
struct event {
    uint32_t kind;
    uint16_t stream_id;
    char name[32];
    uint64_t seq, device_ts_ns, host_ts_ns;
    size_t len;
    uint8_t *data;
    uint64_t first_seq, last_seq, count;
    uint32_t reason;
};

struct sink_log {
    pthread_mutex_t m;
    pthread_cond_t c;
    struct event *events;
    size_t n, cap;
    pthread_t thread;
    int thread_set, other_thread;
    /* Gate: block inside the call for the first frame until the test opens it. */
    int use_gate, entered, open;
    /* Failure: fail the frame with this sequence number (-1: never), how. */
    int64_t fail_at;
    int fail_unterminated;
    int failed, calls_after_failure;
    /* Durable marks (stream id, seq), in call order. */
    uint64_t durable[4096][2];
    int durable_n;
    /* on_error. */
    int errors;
    streamq_result error_code;
    char error_message[512];
};

static void log_init(struct sink_log *log) {
    memset(log, 0, sizeof *log);
    pthread_mutex_init(&log->m, NULL);
    pthread_cond_init(&log->c, NULL);
    log->fail_at = -1;
}

static void log_free(struct sink_log *log) {
    for (size_t i = 0; i < log->n; i++) free(log->events[i].data);
    free(log->events);
    pthread_mutex_destroy(&log->m);
    pthread_cond_destroy(&log->c);
}

static int sink(void *user, const streamq_sink_event *ev, char *message, size_t message_len) {
    struct sink_log *log = user;
    pthread_mutex_lock(&log->m);
    if (!log->thread_set) {
        log->thread = pthread_self();
        log->thread_set = 1;
    } else if (!pthread_equal(log->thread, pthread_self())) {
        log->other_thread++;
    }
    if (log->failed) log->calls_after_failure++;
    CHECK(message != NULL && message_len == 256 && message[0] == '\0');
    struct event e;
    memset(&e, 0, sizeof e);
    e.kind = ev->kind;
    if (ev->kind == STREAMQ_SINK_EVENT_KIND_FRAME) {
        CHECK(ev->frame != NULL && ev->gap == NULL);
        const streamq_sink_frame *f = ev->frame;
        CHECK(f->data != NULL && f->stream_name != NULL);
        e.stream_id = f->stream_id;
        snprintf(e.name, sizeof e.name, "%s", f->stream_name);
        e.seq = f->seq;
        e.device_ts_ns = f->device_ts_ns;
        e.host_ts_ns = f->host_ts_ns;
        e.len = f->len;
        e.data = malloc(f->len ? f->len : 1);
        REQUIRE(e.data != NULL);
        if (f->len) memcpy(e.data, f->data, f->len);
        if (log->fail_at >= 0 && f->seq == (uint64_t)log->fail_at) {
            log->failed = 1;
            free(e.data);
            pthread_mutex_unlock(&log->m);
            if (log->fail_unterminated) {
                memset(message, 'x', message_len); /* no NUL: the library must cope */
                return 1;
            }
            snprintf(message, message_len, "refused frame %llu", (unsigned long long)f->seq);
            return -5;
        }
    } else {
        CHECK(ev->kind == STREAMQ_SINK_EVENT_KIND_GAP);
        CHECK(ev->gap != NULL && ev->frame == NULL);
        const streamq_sink_gap *g = ev->gap;
        CHECK(g->stream_name != NULL);
        e.stream_id = g->stream_id;
        snprintf(e.name, sizeof e.name, "%s", g->stream_name);
        e.first_seq = g->first_seq;
        e.last_seq = g->last_seq;
        e.count = g->count;
        e.reason = g->reason;
    }
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 64;
        log->events = realloc(log->events, log->cap * sizeof *log->events);
        REQUIRE(log->events != NULL);
    }
    log->events[log->n++] = e;
    if (log->use_gate && e.kind == STREAMQ_SINK_EVENT_KIND_FRAME && !log->entered) {
        log->entered = 1;
        pthread_cond_broadcast(&log->c);
        while (!log->open) pthread_cond_wait(&log->c, &log->m);
    }
    pthread_mutex_unlock(&log->m);
    return 0;
}

static void on_durable(void *user, const streamq_durable *d) {
    struct sink_log *log = user;
    pthread_mutex_lock(&log->m);
    CHECK(d->struct_size >= sizeof *d);
    /* The engine names the stream (names used in this file: depth + imu, cam, net). */
    CHECK(d->stream_id == 1 ? strcmp(d->stream_name, "imu") == 0
                            : (strcmp(d->stream_name, "depth") == 0 || strcmp(d->stream_name, "cam") == 0 ||
                               strcmp(d->stream_name, "net") == 0));
    if (log->durable_n < 4096) {
        log->durable[log->durable_n][0] = d->stream_id;
        log->durable[log->durable_n][1] = d->seq;
    }
    log->durable_n++;
    pthread_mutex_unlock(&log->m);
}

static void on_error(void *user, streamq_result code, const char *message) {
    struct sink_log *log = user;
    pthread_mutex_lock(&log->m);
    log->errors++;
    log->error_code = code;
    snprintf(log->error_message, sizeof log->error_message, "%s", message);
    pthread_mutex_unlock(&log->m);
}

static streamq_writer_config sink_config(struct sink_log *log) {
    streamq_writer_config wc = writer_config_defaults();
    wc.sink = STREAMQ_SINK_CALLBACK;
    wc.sink_fn = sink;
    wc.on_error = on_error;
    wc.on_durable = on_durable;
    wc.callback_user = log;
    return wc;
}

static streamq_producer *add(streamq_writer *w, const char *name, uint32_t policy, size_t capacity) {
    streamq_stream_config sc = stream_config_defaults();
    sc.name = name;
    sc.queue.capacity = capacity;
    sc.queue.prefault = false;
    sc.queue.policy = policy;
    streamq_producer *s = NULL;
    OK(streamq_writer_add_stream(w, &sc, &s));
    REQUIRE(s != NULL);
    return s;
}

/* ------------------------------------------------------------------- config -- */

static int unused_sink(void *user, const streamq_sink_event *ev, char *message, size_t message_len) {
    (void)user;
    (void)ev;
    (void)message;
    (void)message_len;
    return 0;
}

/* streamq_writer_create refuses `wc` with INVALID_ARGUMENT and the engine's message. */
static void expect_refused(const streamq_writer_config *wc, const char *message) {
    streamq_writer *w = (streamq_writer *)1;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(wc, &w));
    char msg[512];
    streamq_last_error(msg, sizeof msg);
    const int found = strstr(msg, message) != NULL;
    if (!found) printf("  last error: %s\n  expected: %s\n", msg, message);
    CHECK(found);
    CHECK(w == (streamq_writer *)1);
}

static void test_config_checks(void) {
    streamq_writer_config wc = writer_config_defaults();
    CHECK(wc.sink_fn == NULL);
    streamq_writer *w = (streamq_writer *)1;
    wc.sink = STREAMQ_SINK_CALLBACK;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_create(&wc, &w)); /* no sink_fn */
    char msg[512];
    streamq_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "sink_fn") != NULL);
    wc.sink_fn = unused_sink;
    wc.path = "/tmp/not-used";
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w)); /* path must be NULL */
    streamq_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "path") != NULL);
    wc.path = NULL;
    /* Options a sink does not use: refused by the engine, with its message (the C layer
     * does not check them itself). */
    wc.compression_level = 3;
    expect_refused(&wc, "compression applies to the capture_file sink only (this writer's sink is callback)");
    wc.compression_level = 0;
    wc.segment_bytes = 1 << 20;
    expect_refused(&wc, "segment_bytes applies to the capture_file sink only (this writer's sink is callback)");
    wc.segment_bytes = 0;
    wc.segment_duration_ms = 1000;
    expect_refused(&wc, "segment_duration applies to the capture_file sink only (this writer's sink is callback)");
    wc.segment_duration_ms = 0;
    wc.max_write_rate = 1000000;
    expect_refused(&wc, "max_write_rate applies to the capture_file sink only (this writer's sink is callback)");
    wc.max_write_rate = 0;
    wc.io_workers = 2;
    expect_refused(&wc, "io_workers applies to the directory sink only (this writer's sink is callback)");
    wc.io_workers = 0;
    streamq_kv meta[1] = {{"k", "v"}};
    wc.metadata = meta;
    wc.metadata_len = 1;
    expect_refused(&wc, "metadata applies to the capture_file sink only (this writer's sink is callback)");
    wc.metadata = NULL;
    wc.metadata_len = 0;
    /* A sink_fn with another sink is a mistake too (the frames would not reach it). */
    wc.sink = STREAMQ_SINK_CAPTURE_FILE;
    wc.path = "/tmp/streamq-sink-test-never-created.sqcap";
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.sink = STREAMQ_SINK_DIRECTORY;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.sink_fn = NULL;
    wc.compression_level = 3; /* the directory sink stores raw frames */
    expect_refused(&wc, "compression applies to the capture_file sink only (this writer's sink is directory)");
    wc.compression_level = 0;
    wc.sink = STREAMQ_SINK_CAPTURE_FILE;
    wc.io_workers = 4;
    expect_refused(&wc, "io_workers applies to the directory sink only (this writer's sink is capture_file)");
    CHECK(w == (streamq_writer *)1); /* never written on failure */
    /* The valid form: created, closed without a stream, no call to the sink. */
    wc = writer_config_defaults();
    wc.sink = STREAMQ_SINK_CALLBACK;
    wc.sink_fn = unused_sink;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w != NULL && w != (streamq_writer *)1);
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == 0 && !rep.failed);
    streamq_writer_free(w);
}

/* ------------------------------------------------------------ frames in order -- */

enum { N = 300 };

static void test_frames_in_order(void) {
    struct sink_log log;
    log_init(&log);
    streamq_writer_config wc = sink_config(&log);
    wc.fsync_policy = STREAMQ_FSYNC_ALWAYS; /* a durable mark after every write */
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w != NULL);
    streamq_producer *s[2] = {add(w, "depth", STREAMQ_POLICY_BLOCK, 1 << 20),
                            add(w, "imu", STREAMQ_POLICY_BLOCK, 1 << 16)};
    uint8_t *buf = malloc(5000);
    REQUIRE(buf != NULL);
    for (uint64_t n = 0; n < N; n++) {
        for (int k = 0; k < 2; k++) {
            fill_frame(buf, k, n);
            uint64_t seq = 99;
            if (k == 0) {
                OK(streamq_producer_push(s[k], buf, frame_len(k, n), AT(1000000 + n * 33), &seq));
            } else {
                /* The zero-copy path reaches the sink the same way. */
                uint8_t *dst = NULL;
                size_t len = frame_len(k, n);
                OK(streamq_producer_reserve(s[k], len, AT(5000000 + n), &dst));
                if (len) memcpy(dst, buf, len);
                OK(streamq_producer_commit(s[k], &seq));
            }
            CHECK(seq == n);
        }
        if (n == N / 2) OK(streamq_writer_flush(w));
    }
    free(buf);
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == 2 * N && rep.frames_failed == 0 && !rep.failed);
    CHECK(rep.frames_dropped_newest == 0 && rep.frames_dropped_oldest == 0);

    /* Every frame once, per stream in sequence order, bytes and metadata exact. */
    uint64_t next[2] = {0, 0};
    int bad = 0;
    for (size_t i = 0; i < log.n; i++) {
        struct event *e = &log.events[i];
        if (e->kind != STREAMQ_SINK_EVENT_KIND_FRAME || e->stream_id > 1) {
            bad++;
            continue;
        }
        int k = e->stream_id;
        uint8_t want[5000];
        fill_frame(want, k, e->seq);
        if (e->seq != next[k] || e->len != frame_len(k, e->seq) || memcmp(e->data, want, e->len) != 0 ||
            strcmp(e->name, k == 0 ? "depth" : "imu") != 0 ||
            e->device_ts_ns != (k == 0 ? 1000000 + e->seq * 33 : 5000000 + e->seq) || e->host_ts_ns == 0)
            bad++;
        next[k] = e->seq + 1;
    }
    CHECK(bad == 0);
    CHECK(log.n == 2 * N && next[0] == N && next[1] == N);
    /* One thread, the writer's (not this one). */
    CHECK(log.thread_set && log.other_thread == 0 && !pthread_equal(log.thread, pthread_self()));
    /* Durable marks: per stream strictly increasing, ending at the last frame. */
    CHECK(log.durable_n > 0);
    int64_t last[2] = {-1, -1};
    for (int i = 0; i < log.durable_n && i < 4096; i++) {
        int k = (int)log.durable[i][0];
        REQUIRE(k == 0 || k == 1);
        CHECK((int64_t)log.durable[i][1] > last[k]);
        last[k] = (int64_t)log.durable[i][1];
    }
    if (log.durable_n <= 4096) CHECK(last[0] == N - 1 && last[1] == N - 1);
    uint64_t d = 0;
    OK(streamq_producer_durable_seq(s[1], &d));
    CHECK(d == N - 1);
    CHECK(log.errors == 0);
    for (int k = 0; k < 2; k++) streamq_producer_free(s[k]);
    streamq_writer_free(w);
    log_free(&log);
}

/* --------------------------------------------------------------------- gaps -- */

/* While the sink is held inside its first call, the stream's small ring fills and the
 * policy drops frames; the sink then receives gap events covering exactly the dropped
 * sequence numbers, before the frames that follow them. */
static void run_gaps(uint32_t policy) {
    struct sink_log log;
    log_init(&log);
    log.use_gate = 1;
    streamq_writer_config wc = sink_config(&log);
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w != NULL);
    streamq_producer *s = add(w, "cam", policy, 64 << 10);
    uint8_t frame[1000];
    uint64_t pushed = 0, dropped_results = 0;
    memset(frame, 0, sizeof frame);
    memcpy(frame, &pushed, sizeof pushed);
    OK(streamq_producer_push(s, frame, sizeof frame, NULL, NULL));
    pushed++;
    /* Wait until the writer thread is inside the sink with frame 0. */
    pthread_mutex_lock(&log.m);
    while (!log.entered) pthread_cond_wait(&log.c, &log.m);
    pthread_mutex_unlock(&log.m);
    /* Push until the policy has dropped at least 5 frames. */
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    memset(&st, 0, sizeof st);
    STREAMQ_OUTPUT_INIT(&st);
    for (int i = 0; i < 100000; i++) {
        memcpy(frame, &pushed, sizeof pushed);
        uint64_t seq = 0;
        streamq_result r = streamq_producer_push(s, frame, sizeof frame, NULL, &seq);
        CHECK(seq == pushed);
        pushed++;
        if (r == STREAMQ_RESULT_DROPPED) dropped_results++;
        else CHECK(r == STREAMQ_RESULT_OK);
        OK(streamq_producer_stats(s, &st));
        if (st.frames_dropped_newest + st.frames_dropped_oldest >= 5) break;
    }
    uint64_t dropped = st.frames_dropped_newest + st.frames_dropped_oldest;
    REQUIRE(dropped >= 5);
    if (policy == STREAMQ_POLICY_DROP_NEWEST) CHECK(dropped_results == dropped && st.frames_dropped_oldest == 0);
    else CHECK(dropped_results == 0 && st.frames_dropped_newest == 0);
    /* Let the sink go on; once everything is written or dropped, one more frame. */
    pthread_mutex_lock(&log.m);
    log.open = 1;
    pthread_cond_broadcast(&log.c);
    pthread_mutex_unlock(&log.m);
    OK(streamq_writer_flush(w));
    memcpy(frame, &pushed, sizeof pushed);
    OK(streamq_producer_push(s, frame, sizeof frame, NULL, NULL));
    pushed++;
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written + rep.frames_dropped_newest + rep.frames_dropped_oldest == pushed);
    CHECK(rep.frames_dropped_newest + rep.frames_dropped_oldest == dropped);

    /* Frames and gaps together cover 0 .. pushed-1 once, in order. */
    uint64_t next = 0, frames = 0, gap_frames = 0;
    int bad = 0;
    for (size_t i = 0; i < log.n; i++) {
        struct event *e = &log.events[i];
        if (e->stream_id != 0 || strcmp(e->name, "cam") != 0) bad++;
        if (e->kind == STREAMQ_SINK_EVENT_KIND_FRAME) {
            uint64_t tag;
            memcpy(&tag, e->data, sizeof tag);
            if (e->seq != next || e->len != sizeof frame || tag != e->seq) bad++;
            next = e->seq + 1;
            frames++;
        } else {
            uint32_t want = policy == STREAMQ_POLICY_DROP_NEWEST ? STREAMQ_DROP_REASON_NEWEST : STREAMQ_DROP_REASON_OLDEST;
            if (e->first_seq != next || e->count == 0 || e->last_seq != e->first_seq + e->count - 1 || e->reason != want)
                bad++;
            next = e->last_seq + 1;
            gap_frames += e->count;
        }
    }
    CHECK(bad == 0);
    CHECK(next == pushed && gap_frames == dropped && frames == rep.frames_written);
    CHECK(log.errors == 0);
    streamq_producer_free(s);
    streamq_writer_free(w);
    log_free(&log);
}

static void test_gaps(void) {
    run_gaps(STREAMQ_POLICY_DROP_NEWEST);
    run_gaps(STREAMQ_POLICY_DROP_OLDEST);
}

/* ------------------------------------------------------------------ failure -- */

static void run_failure(int unterminated) {
    struct sink_log log;
    log_init(&log);
    log.fail_at = 3;
    log.fail_unterminated = unterminated;
    streamq_writer_config wc = sink_config(&log);
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w != NULL);
    streamq_producer *s = add(w, "net", STREAMQ_POLICY_BLOCK, 1 << 20);
    uint8_t frame[64];
    memset(frame, 7, sizeof frame);
    for (int i = 0; i < 10; i++) {
        streamq_result r = streamq_producer_push(s, frame, sizeof frame, NULL, NULL);
        CHECK(r == STREAMQ_RESULT_OK || r == STREAMQ_RESULT_FAILED);
    }
    /* The failure reaches flush, the producer's next push and close. */
    EXPECT(STREAMQ_RESULT_FAILED, streamq_writer_flush(w));
    char msg[1024];
    streamq_last_error(msg, sizeof msg);
    if (unterminated) CHECK(strstr(msg, "sink_fn returned 1") != NULL && strstr(msg, "xxxxxxxx") != NULL);
    else CHECK(strstr(msg, "refused frame 3 (sink_fn returned -5)") != NULL);
    EXPECT(STREAMQ_RESULT_FAILED, streamq_producer_push(s, frame, sizeof frame, NULL, NULL));
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    memset(&rep, 0xEE, sizeof rep);
    STREAMQ_OUTPUT_INIT(&rep);
    EXPECT(STREAMQ_RESULT_FAILED, streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == 0xEEEEEEEEEEEEEEEEull); /* not written on failure */
    OK(streamq_writer_get_report(w, &rep));
    CHECK(rep.failed && rep.frames_written == 3 && rep.frames_failed >= 1); /* the 3 it took */
    /* on_error ran once with the same error; the sink was not called after failing. */
    CHECK(log.errors == 1 && log.error_code == STREAMQ_RESULT_FAILED);
    CHECK(strstr(log.error_message, "sink callback failed") != NULL);
    if (unterminated) CHECK(strlen(log.error_message) > 255);
    else CHECK(strstr(log.error_message, "refused frame 3") != NULL);
    CHECK(log.failed && log.calls_after_failure == 0);
    /* Close is idempotent: the same error again (and the report was kept). */
    EXPECT(STREAMQ_RESULT_FAILED, streamq_writer_close(w, &rep));
    streamq_producer_free(s);
    streamq_writer_free(w);
    log_free(&log);
}

static void test_failure(void) {
    run_failure(0);
    run_failure(1);
}

int main(void) {
    test_config_checks();
    test_frames_in_order();
    test_gaps();
    test_failure();
    return check_report("test_sink");
}
