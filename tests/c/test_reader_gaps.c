/* Gap records through the C reader (streamq_reader_gap_count / _gap and the per-stream
 * streamq_reader_stream_gap_count / _stream_gap). A capture file is recorded with a drop
 * policy while the writer thread is held inside its on_durable callback (fsync after every
 * write), so the stream's small ring fills and the policy drops frames; twice, so the file
 * holds at least two gap records. The file is then read back: the gap records must match
 * the writer's drop counters, be disjoint and ordered, and together with the frames cover
 * every sequence number once. NULL and out-of-range arguments are rejected without writing
 * the output. Synchronisation with the writer thread is a mutex and condition variable
 * only (no sleeps). Built with ASan/UBSan, and run under valgrind too. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[64];

/* ------------------------------------------------------------------ the gate -- */

/* While `hold` is set, the writer thread's next on_durable call waits (with `entered`
 * set) until the test clears `hold`. */
struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int hold, entered;
    uint64_t durable_calls;
};

static void on_durable(void *user, const streamq_durable *d) {
    struct gate *g = user;
    (void)d;
    pthread_mutex_lock(&g->m);
    g->durable_calls++;
    if (g->hold) {
        g->entered = 1;
        pthread_cond_broadcast(&g->c);
        while (g->hold) pthread_cond_wait(&g->c, &g->m);
    }
    pthread_mutex_unlock(&g->m);
}

static void gate_close(struct gate *g) {
    pthread_mutex_lock(&g->m);
    g->hold = 1;
    g->entered = 0;
    pthread_mutex_unlock(&g->m);
}

static void gate_wait_entered(struct gate *g) {
    pthread_mutex_lock(&g->m);
    while (!g->entered) pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void gate_open(struct gate *g) {
    pthread_mutex_lock(&g->m);
    g->hold = 0;
    pthread_cond_broadcast(&g->c);
    pthread_mutex_unlock(&g->m);
}

/* ------------------------------------------------------------------ record -- */

enum { FRAME = 1000 };

static uint64_t dropped_total(streamq_producer *s) {
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    OK(streamq_producer_stats(s, &st));
    return st.frames_dropped_newest + st.frames_dropped_oldest;
}

/* Pushes frame `*pushed` (its sequence number in its first 8 bytes). */
static streamq_result push(streamq_producer *s, uint64_t *pushed) {
    uint8_t frame[FRAME];
    memset(frame, 0xA5, sizeof frame);
    memcpy(frame, pushed, sizeof *pushed);
    uint64_t seq = UINT64_MAX;
    streamq_result r = streamq_producer_push(s, frame, sizeof frame, NULL, &seq);
    CHECK(seq == *pushed);
    (*pushed)++;
    return r;
}

/* One round: hold the writer inside on_durable, push until the policy has dropped at
 * least 5 more frames, let it go, flush. */
static void drop_round(struct gate *g, streamq_writer *w, streamq_producer *s, uint32_t policy, uint64_t *pushed) {
    gate_close(g);
    OK(push(s, pushed)); /* written, synced, then on_durable waits */
    gate_wait_entered(g);
    uint64_t before = dropped_total(s), refused = 0;
    for (int i = 0; i < 100000 && dropped_total(s) < before + 5; i++) {
        streamq_result r = push(s, pushed);
        if (r == STREAMQ_RESULT_DROPPED) refused++;
        else CHECK(r == STREAMQ_RESULT_OK);
    }
    uint64_t dropped = dropped_total(s) - before;
    REQUIRE(dropped >= 5);
    /* DROP_NEWEST refuses the pushed frame itself; DROP_OLDEST queues it and evicts. */
    CHECK(refused == (policy == STREAMQ_POLICY_DROP_NEWEST ? dropped : 0));
    gate_open(g);
    OK(streamq_writer_flush(w));
}

struct recording {
    char path[128];
    uint64_t pushed;     /* frames pushed to "cam" (sequence numbers 0 .. pushed-1) */
    uint64_t dropped;    /* frames of "cam" dropped, from the writer's report */
    uint64_t imu_frames; /* frames pushed to "imu" (never dropped) */
};

static void record(uint32_t policy, struct recording *rec) {
    struct gate g;
    memset(&g, 0, sizeof g);
    pthread_mutex_init(&g.m, NULL);
    pthread_cond_init(&g.c, NULL);
    snprintf(rec->path, sizeof rec->path, "%s/gaps-%u.sqcap", tmpdir, policy);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = rec->path;
    wc.fsync_policy = STREAMQ_FSYNC_ALWAYS; /* on_durable after every write */
    wc.on_durable = on_durable;
    wc.callback_user = &g;
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w != NULL);
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "cam";
    sc.queue.capacity = 64 << 10;
    sc.queue.prefault = false;
    sc.queue.policy = policy;
    streamq_producer *cam = NULL, *imu = NULL;
    OK(streamq_writer_add_stream(w, &sc, &cam));
    sc.name = "imu";
    sc.queue.policy = STREAMQ_POLICY_BLOCK;
    OK(streamq_writer_add_stream(w, &sc, &imu));
    REQUIRE(cam != NULL && imu != NULL);

    rec->pushed = 0;
    for (int i = 0; i < 10; i++) OK(push(cam, &rec->pushed));
    drop_round(&g, w, cam, policy, &rec->pushed);
    for (int i = 0; i < 10; i++) OK(push(cam, &rec->pushed));
    drop_round(&g, w, cam, policy, &rec->pushed);
    /* A blocking stream alongside: it loses nothing. */
    rec->imu_frames = 0;
    for (int i = 0; i < 20; i++) OK(push(imu, &rec->imu_frames));
    OK(push(cam, &rec->pushed)); /* the last frame follows the last gap */

    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(!rep.failed && rep.frames_failed == 0);
    streamq_stream_report sr = {.struct_size = sizeof(streamq_stream_report)};
    OK(streamq_writer_stream_report(w, 0, &sr));
    CHECK(strcmp(sr.name, "cam") == 0);
    rec->dropped = sr.frames_dropped_newest + sr.frames_dropped_oldest;
    CHECK(rec->dropped == dropped_total(cam) && rec->dropped >= 10);
    if (policy == STREAMQ_POLICY_DROP_NEWEST) CHECK(sr.frames_dropped_oldest == 0);
    else CHECK(sr.frames_dropped_newest == 0);
    CHECK(sr.frames_written + rec->dropped == rec->pushed);
    CHECK(rep.frames_written == sr.frames_written + rec->imu_frames);
    OK(streamq_writer_stream_report(w, 1, &sr));
    CHECK(sr.frames_dropped_newest + sr.frames_dropped_oldest == 0 && sr.frames_written == rec->imu_frames);
    CHECK(g.durable_calls >= 2);
    streamq_producer_free(cam);
    streamq_producer_free(imu);
    streamq_writer_free(w);
    pthread_mutex_destroy(&g.m);
    pthread_cond_destroy(&g.c);
}

/* ---------------------------------------------------------------- read back -- */

static int same_gap(const streamq_gap_info *a, const streamq_gap_info *b) {
    return a->stream_id == b->stream_id && a->stream_name == b->stream_name && a->first_seq == b->first_seq &&
           a->last_seq == b->last_seq && a->count == b->count && a->reason == b->reason &&
           a->host_ts_ns == b->host_ts_ns && a->offset == b->offset && a->segment == b->segment;
}

static void check_file(uint32_t policy, const struct recording *rec) {
    streamq_reader *r = NULL;
    OK(streamq_reader_open(rec->path, &r));
    REQUIRE(r != NULL);

    /* Start reading frames: the gap calls must not move the cursor. */
    OK(streamq_reader_iter_stream(r, 0));
    streamq_reader_frame f = {.struct_size = sizeof(streamq_reader_frame)};
    OK(streamq_reader_next(r, &f));
    CHECK(f.stream_id == 0 && f.seq == 0);

    size_t n = SIZE_MAX;
    OK(streamq_reader_gap_count(r, &n));
    REQUIRE(n >= 2 && n != SIZE_MAX);
    streamq_gap_info *gaps = calloc(n, sizeof *gaps);
    REQUIRE(gaps != NULL);
    for (size_t i = 0; i < n; i++) STREAMQ_OUTPUT_INIT(&gaps[i]);
    uint32_t want_reason = policy == STREAMQ_POLICY_DROP_NEWEST ? STREAMQ_DROP_REASON_NEWEST : STREAMQ_DROP_REASON_OLDEST;
    uint64_t sum = 0, prev_end = 0, prev_offset = 0;
    for (size_t i = 0; i < n; i++) {
        streamq_gap_info *g = &gaps[i];
        OK(streamq_reader_gap(r, i, g));
        CHECK(g->stream_id == 0 && g->stream_name != NULL && strcmp(g->stream_name, "cam") == 0);
        CHECK(g->count > 0 && g->last_seq == g->first_seq + g->count - 1);
        CHECK(g->reason == want_reason);
        CHECK(g->host_ts_ns > 0 && g->segment == 0 && g->offset > 0);
        /* Disjoint, in sequence order, inside the pushed range. */
        CHECK(i == 0 || g->first_seq > prev_end);
        CHECK(g->last_seq < rec->pushed);
        CHECK(i == 0 || g->offset > prev_offset); /* file order */
        prev_end = g->last_seq;
        prev_offset = g->offset;
        sum += g->count;
    }
    CHECK(sum == rec->dropped);
    printf("  %s: %zu gap records, %llu of %llu frames dropped\n",
           policy == STREAMQ_POLICY_DROP_NEWEST ? "drop newest" : "drop oldest", n,
           (unsigned long long)sum, (unsigned long long)rec->pushed);

    /* The same records per stream: all of "cam", none of "imu". */
    size_t m = SIZE_MAX;
    OK(streamq_reader_stream_gap_count(r, 0, &m));
    CHECK(m == n);
    for (size_t i = 0; i < m && i < n; i++) {
        streamq_gap_info g = {.struct_size = sizeof(streamq_gap_info)};
        OK(streamq_reader_stream_gap(r, 0, i, &g));
        CHECK(same_gap(&g, &gaps[i]));
    }
    OK(streamq_reader_stream_gap_count(r, 1, &m));
    CHECK(m == 0);

    /* The stream summary and verify agree. */
    streamq_stream_info si = {.struct_size = sizeof(streamq_stream_info)};
    OK(streamq_reader_stream(r, 0, &si));
    CHECK(si.gap_records == n && si.dropped == rec->dropped);
    CHECK(si.frames + rec->dropped == rec->pushed);
    streamq_verify_report v = {.struct_size = sizeof(streamq_verify_report)};
    OK(streamq_reader_verify(r, &v));
    CHECK(v.ok && v.gaps == n && v.dropped == rec->dropped && v.unexplained_missing == 0);

    /* The cursor was not moved: frames continue at seq 1. Frames and gaps together cover
     * 0 .. pushed-1 exactly once. */
    uint64_t next = 1, frames = 1;
    size_t gi = 0;
    int bad = 0;
    while (streamq_reader_next(r, &f) == STREAMQ_RESULT_OK) {
        while (gi < n && gaps[gi].first_seq == next) next = gaps[gi++].last_seq + 1;
        uint64_t tag;
        memcpy(&tag, f.data, sizeof tag);
        if (f.stream_id != 0 || f.seq != next || f.len != FRAME || tag != f.seq) bad++;
        next = f.seq + 1;
        frames++;
    }
    while (gi < n && gaps[gi].first_seq == next) next = gaps[gi++].last_seq + 1;
    CHECK(bad == 0);
    CHECK(gi == n && next == rec->pushed && frames == si.frames);

    /* Out of range: NOT_FOUND, output untouched, a message naming the index. */
    streamq_gap_info keep = {.struct_size = sizeof(streamq_gap_info)};
    memset(&keep, 0x5A, sizeof keep);
    STREAMQ_OUTPUT_INIT(&keep);
    streamq_gap_info g = keep;
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_gap(r, n, &g));
    char msg[256];
    streamq_last_error(msg, sizeof msg);
    CHECK(strstr(msg, "index") != NULL);
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_gap(r, SIZE_MAX, &g));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream_gap(r, 0, n, &g));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream_gap(r, 1, 0, &g)); /* imu: none */
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream_gap(r, 7, 0, &g)); /* no stream 7 */
    CHECK(memcmp(&g, &keep, sizeof g) == 0);
    size_t count = 12345;
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream_gap_count(r, 7, &count));
    CHECK(count == 12345);

    /* NULL arguments. */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_gap_count(NULL, &count));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_gap_count(r, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_gap(NULL, 0, &g));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_gap(r, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream_gap_count(NULL, 0, &count));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream_gap_count(r, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream_gap(NULL, 0, 0, &g));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream_gap(r, 0, 0, NULL));
    CHECK(count == 12345 && memcmp(&g, &keep, sizeof g) == 0);

    /* Still usable after the failures. */
    OK(streamq_reader_gap(r, n - 1, &g));
    CHECK(same_gap(&g, &gaps[n - 1]));
    free(gaps);
    streamq_reader_free(r);
    unlink(rec->path);
}

/* A capture without losses has no gap records. */
static void test_no_gaps(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/nogaps.sqcap", tmpdir);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = path;
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w != NULL);
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "only";
    sc.queue.capacity = 1 << 20;
    sc.queue.prefault = false;
    streamq_producer *s = NULL;
    OK(streamq_writer_add_stream(w, &sc, &s));
    uint64_t pushed = 0;
    for (int i = 0; i < 50; i++) OK(push(s, &pushed));
    OK(streamq_writer_close(w, NULL));
    streamq_producer_free(s);
    streamq_writer_free(w);

    streamq_reader *r = NULL;
    OK(streamq_reader_open(path, &r));
    REQUIRE(r != NULL);
    size_t n = 99;
    OK(streamq_reader_gap_count(r, &n));
    CHECK(n == 0);
    n = 99;
    OK(streamq_reader_stream_gap_count(r, 0, &n));
    CHECK(n == 0);
    streamq_gap_info g = {.struct_size = sizeof(streamq_gap_info)};
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_gap(r, 0, &g));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream_gap(r, 0, 0, &g));
    streamq_reader_free(r);
    unlink(path);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/streamq-gaps-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    uint32_t policies[2] = {STREAMQ_POLICY_DROP_NEWEST, STREAMQ_POLICY_DROP_OLDEST};
    for (int i = 0; i < 2; i++) {
        struct recording rec;
        record(policies[i], &rec);
        check_file(policies[i], &rec);
    }
    test_no_gaps();
    rmdir(tmpdir);
    return check_report("test_reader_gaps");
}
