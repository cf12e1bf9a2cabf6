/* Every exported function and result code of libstreamq, single-threaded, including
 * hostile input: NULL for each pointer parameter, zero and oversized lengths, use after
 * close, double close, commit without reserve, frames larger than the capacity.
 * Built with -fsanitize=address,undefined: any memory error fails the run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[64];

static void path_in_tmp(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmpdir, name);
}

/* ------------------------------------------------------------------------- basics -- */

static void test_version_and_results(void) {
    CHECK(streamq_version_number() == STREAMQ_VERSION_NUMBER);
    CHECK(STREAMQ_VERSION_NUMBER == STREAMQ_VERSION_MAJOR * 10000 + STREAMQ_VERSION_MINOR * 100 +
                                        STREAMQ_VERSION_PATCH);
    CHECK(strcmp(streamq_version(), STREAMQ_VERSION_STRING) == 0);

    const char *unknown = streamq_result_str(-1);
    CHECK(unknown != NULL && strstr(unknown, "unknown") != NULL);
    for (int code = STREAMQ_RESULT_OK; code <= STREAMQ_RESULT_NOT_A_STREAM; code++) {
        const char *s = streamq_result_str(code);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(strcmp(s, unknown) != 0);
    }
    CHECK(strcmp(streamq_result_str(STREAMQ_RESULT_NOT_A_STREAM + 1), unknown) == 0);
    CHECK(strcmp(streamq_result_str(INT_MAX), unknown) == 0);
    CHECK(strcmp(streamq_result_str(INT_MIN), unknown) == 0);
    CHECK(strcmp(streamq_result_str(STREAMQ_RESULT_OK), "success") == 0);
}

static void test_last_error(void) {
    /* A failure leaves a message naming the function. */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_queue_create(NULL, NULL, NULL));
    size_t n = streamq_last_error(NULL, 0);
    CHECK(n > 0);
    char big[256];
    CHECK(streamq_last_error(big, sizeof big) == n);
    CHECK(strlen(big) == n);
    CHECK(strstr(big, "streamq_queue_create") != NULL);
    /* Truncation: like snprintf, returns the full length and NUL-terminates. */
    char small[8];
    memset(small, 'x', sizeof small);
    CHECK(streamq_last_error(small, sizeof small) == n);
    CHECK(small[7] == '\0' && strlen(small) == 7 && strncmp(small, big, 7) == 0);
    char one[1] = {'x'};
    CHECK(streamq_last_error(one, 1) == n && one[0] == '\0');
    /* Non-NULL buffer with length 0: nothing written. */
    char untouched = 'q';
    CHECK(streamq_last_error(&untouched, 0) == n && untouched == 'q');

    /* A caught panic is a result code, not an abort: test_panic.c (a test-only symbol). */
}

/* --------------------------------------------------------------------------- queue -- */

static streamq_queue_config small_config(size_t capacity, streamq_policy policy) {
    streamq_queue_config c = queue_config_defaults();
    c.capacity = capacity;
    c.policy = (uint32_t)policy;
    c.prefault = false;
    return c;
}

static void test_queue_config(void) {
    streamq_queue_config c = queue_config_defaults();
    CHECK(c.capacity == 64u << 20);
    CHECK(c.policy == STREAMQ_POLICY_BLOCK);
    CHECK(c.block_timeout_ms < 0);
    CHECK(c.high_water == 0 && c.low_water == 0 && c.max_frames == 0);
    CHECK(c.prefault && c.record_latency && c.on_water_mark == NULL && c.on_water_mark_user == NULL);

    streamq_producer *p = (streamq_producer *)1;
    streamq_consumer *q = (streamq_consumer *)1;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_queue_create(NULL, &p, &q));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_queue_create(&c, NULL, &q));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_queue_create(&c, &p, NULL));
    CHECK(p == (streamq_producer *)1 && q == (streamq_consumer *)1); /* outputs untouched */

    streamq_queue_config bad = small_config(0, STREAMQ_POLICY_BLOCK);
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_create(&bad, &p, &q));
    bad = small_config(1 << 16, STREAMQ_POLICY_BLOCK);
    bad.policy = 99;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_create(&bad, &p, &q));
    bad = small_config(1 << 16, STREAMQ_POLICY_BLOCK);
    bad.high_water = 1000;
    bad.low_water = 2000;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_create(&bad, &p, &q));
    bad = small_config(1 << 16, STREAMQ_POLICY_BLOCK);
    bad.high_water = (size_t)1 << 30;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_create(&bad, &p, &q));
    bad = small_config(SIZE_MAX, STREAMQ_POLICY_BLOCK);
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_queue_create(&bad, &p, &q));
    CHECK(p == (streamq_producer *)1 && q == (streamq_consumer *)1);

    /* free(NULL) is a no-op for every handle type. */
    streamq_producer_free(NULL);
    streamq_consumer_free(NULL);
    streamq_writer_free(NULL);
    streamq_producer_free(NULL);
    streamq_reader_free(NULL);
}

static void test_push_pop(void) {
    streamq_queue_config c = small_config(1 << 16, STREAMQ_POLICY_FAIL_FAST);
    streamq_producer *p = NULL;
    streamq_consumer *q = NULL;
    OK(streamq_queue_create(&c, &p, &q));
    REQUIRE(p && q);

    uint64_t seq = 99;
    OK(streamq_producer_push(p, (const uint8_t *)"hello", 5, NULL, &seq));
    CHECK(seq == 0);
    OK(streamq_producer_push(p, (const uint8_t *)"world!", 6, AT(12345), &seq));
    CHECK(seq == 1);
    OK(streamq_producer_push(p, NULL, 0, NULL, &seq)); /* empty frame, NULL allowed */
    CHECK(seq == 2);
    OK(streamq_producer_push(p, (const uint8_t *)"x", 1, NULL, NULL)); /* seq_out optional */
    OK(streamq_producer_push(p, (const uint8_t *)"yy", 2, NO_WAIT, &seq));
    CHECK(seq == 4);
    OK(streamq_producer_push(p, (const uint8_t *)"zzz", 3, WITHIN(5), &seq));
    CHECK(seq == 5);

    size_t max = 0;
    OK(streamq_producer_max_frame_len(p, &max));
    CHECK(max > 60000 && max < (1 << 16));

    /* Hostile pushes. */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, (const uint8_t *)"a", 1, NULL, &seq));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(p, NULL, 5, NULL, &seq));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, NULL, 0, AT(0), NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(p, NULL, 1, AT(0), NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, NULL, 0, WITHIN(0), NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(p, NULL, 1, WITHIN(0), NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, NULL, 0, NO_WAIT, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(p, NULL, 1, NO_WAIT, NULL));
    uint8_t one = 1;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_producer_push(p, &one, SIZE_MAX, NULL, &seq));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_producer_push(p, &one, (size_t)PTRDIFF_MAX + 1, NULL, &seq));
    uint8_t *huge = calloc(1, 1 << 17);
    REQUIRE(huge);
    EXPECT(STREAMQ_RESULT_TOO_LARGE, streamq_producer_push(p, huge, 1 << 17, NULL, &seq));
    EXPECT(STREAMQ_RESULT_TOO_LARGE, streamq_producer_push(p, huge, max + 1, NULL, &seq));
    CHECK(seq == 5); /* untouched by failures */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_max_frame_len(NULL, &max));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_max_frame_len(p, NULL));

    /* Pop into a caller's buffer. */
    uint8_t buf[16];
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.len == 5 && f.data == buf && memcmp(buf, "hello", 5) == 0 && f.seq == 0);
    CHECK(f.host_ts_ns > 0 && f.device_ts_ns == f.host_ts_ns);
    /* Too small: needed size reported, nothing consumed. */
    memset(&f, 0, sizeof f);
    STREAMQ_OUTPUT_INIT(&f);
    EXPECT(STREAMQ_RESULT_BUFFER_TOO_SMALL, streamq_consumer_pop(q, buf, 3, 0, &f));
    CHECK(f.len == 6 && f.data == NULL && f.seq == 1);
    EXPECT(STREAMQ_RESULT_BUFFER_TOO_SMALL, streamq_consumer_pop(q, NULL, 0, 0, &f));
    CHECK(f.len == 6);
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.len == 6 && memcmp(buf, "world!", 6) == 0 && f.seq == 1 && f.device_ts_ns == 12345);
    /* The empty frame fits a zero-length (even NULL) buffer. */
    OK(streamq_consumer_pop(q, NULL, 0, 0, &f));
    CHECK(f.len == 0 && f.seq == 2);

    /* Hostile pops. */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_pop(NULL, buf, sizeof buf, 0, &f));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_pop(q, buf, sizeof buf, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_pop(q, NULL, 10, 0, &f));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_consumer_pop(q, buf, SIZE_MAX, 0, &f));

    OK(streamq_consumer_pop(q, buf, sizeof buf, -1, &f));
    CHECK(f.seq == 3 && f.len == 1);
    OK(streamq_consumer_pop(q, buf, sizeof buf, 100, &f));
    CHECK(f.seq == 4);
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.seq == 5 && memcmp(buf, "zzz", 3) == 0);
    EXPECT(STREAMQ_RESULT_EMPTY, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_consumer_pop(q, buf, sizeof buf, 10, &f));

    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    OK(streamq_producer_stats(p, &st));
    CHECK(st.frames_pushed == 6 && st.frames_popped == 6 && st.frames_queued == 0);
    CHECK(st.bytes_pushed == 5 + 6 + 0 + 1 + 2 + 3 && st.capacity_bytes >= (1 << 16));
    CHECK(st.push_latency.count == 6 && st.push_latency.max_ns >= st.push_latency.p50_ns);
    OK(streamq_consumer_stats(q, &st));
    CHECK(st.frames_popped == 6);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_stats(NULL, &st));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_stats(p, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_stats(NULL, &st));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_stats(q, NULL));

    /* Close the producer: pushes fail, the consumer drains then sees end of stream. */
    OK(streamq_producer_push(p, (const uint8_t *)"last", 4, NULL, &seq));
    OK(streamq_producer_close(p));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_close(p)); /* double close */
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, &seq));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(p, (const uint8_t *)"a", 1, NO_WAIT, &seq));
    uint8_t *w = NULL;
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_reserve(p, 4, NULL, &w));
    CHECK(w == NULL);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_close(NULL));
    OK(streamq_consumer_pop(q, buf, sizeof buf, -1, &f));
    CHECK(f.len == 4 && memcmp(buf, "last", 4) == 0);
    EXPECT(STREAMQ_RESULT_END_OF_STREAM, streamq_consumer_pop(q, buf, sizeof buf, -1, &f));
    EXPECT(STREAMQ_RESULT_END_OF_STREAM, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    EXPECT(STREAMQ_RESULT_END_OF_STREAM, streamq_consumer_peek(q, 0, &f));

    /* Consumer close, double close, use after close. */
    OK(streamq_consumer_close(q));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_consumer_close(q));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_consumer_peek(q, 0, &f));
    size_t count = 0;
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_consumer_peek_batch(q, 4, 100, 0, &count));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_consumer_release(q));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_consumer_batch_frame(q, 0, &f));
    OK(streamq_consumer_stats(q, &st)); /* stats still work after close */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_close(NULL));

    streamq_producer_free(p);
    streamq_consumer_free(q);
    free(huge);
}

static void test_consumer_close_wakes_producers(void) {
    /* F3: once the consumer closes, every push returns CLOSED at once. */
    streamq_queue_config c = small_config(1 << 16, STREAMQ_POLICY_BLOCK);
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"queued", 6, NULL, NULL));
    OK(streamq_consumer_close(q));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(p, (const uint8_t *)"a", 1, WITHIN(-1), NULL));
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    OK(streamq_producer_stats(p, &st));
    CHECK(st.frames_discarded == 1);
    /* Freeing the consumer first, then the producer, is fine too. */
    streamq_consumer_free(q);
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    streamq_producer_free(p);
}

static void test_reserve_commit(void) {
    streamq_queue_config c = small_config(1 << 16, STREAMQ_POLICY_FAIL_FAST);
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&c, &p, &q));

    uint64_t seq = 77;
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_commit(p, &seq)); /* without reserve */
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_abort(p));
    CHECK(seq == 77);

    uint8_t *w = NULL;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_reserve(NULL, 10, NULL, &w));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_reserve(p, 10, NULL, NULL));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_producer_reserve(p, SIZE_MAX, NULL, &w));
    EXPECT(STREAMQ_RESULT_TOO_LARGE, streamq_producer_reserve(p, 1 << 20, NULL, &w));
    CHECK(w == NULL);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_commit(NULL, &seq));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_abort(NULL));

    OK(streamq_producer_reserve(p, 100, NULL, &w));
    REQUIRE(w != NULL);
    memset(w, 0xAB, 100);
    /* While the reservation is pending, this thread's other calls on the handle are BUSY. */
    EXPECT(STREAMQ_RESULT_BUSY, streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    uint8_t *w2 = NULL;
    EXPECT(STREAMQ_RESULT_BUSY, streamq_producer_reserve(p, 10, NULL, &w2));
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    EXPECT(STREAMQ_RESULT_BUSY, streamq_producer_stats(p, &st));
    size_t max;
    EXPECT(STREAMQ_RESULT_BUSY, streamq_producer_max_frame_len(p, &max));
    EXPECT(STREAMQ_RESULT_BUSY, streamq_producer_wait_below_low(p, 0, NULL));
    OK(streamq_producer_commit(p, &seq));
    CHECK(seq == 0);
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_commit(p, &seq)); /* twice */

    OK(streamq_producer_reserve(p, 50, NULL, &w));
    memset(w, 1, 50);
    OK(streamq_producer_abort(p)); /* gives the space back, no sequence number used */
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_abort(p));

    OK(streamq_producer_reserve(p, 8, AT(4242), &w)); /* the commit gives it this timestamp */
    memcpy(w, "ABCDEFGH", 8);
    OK(streamq_producer_commit(p, &seq));
    CHECK(seq == 1);
    OK(streamq_producer_reserve(p, 0, NULL, &w)); /* empty reservation */
    OK(streamq_producer_commit(p, NULL));

    uint8_t buf[128];
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.len == 100 && buf[0] == 0xAB && buf[99] == 0xAB && f.seq == 0);
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.len == 8 && memcmp(buf, "ABCDEFGH", 8) == 0 && f.seq == 1 && f.device_ts_ns == 4242);
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.len == 0 && f.seq == 2);

    /* Close with a reservation pending aborts it; free with one pending too. */
    OK(streamq_producer_reserve(p, 10, NULL, &w));
    OK(streamq_producer_close(p));
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_commit(p, &seq));
    EXPECT(STREAMQ_RESULT_END_OF_STREAM, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    streamq_producer_free(p);
    streamq_consumer_free(q);

    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_reserve(p, 10, NULL, &w));
    streamq_producer_free(p); /* aborts the reservation, ends the stream */
    EXPECT(STREAMQ_RESULT_END_OF_STREAM, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    streamq_consumer_free(q);
}

static void fill(streamq_producer *p, size_t frame, int n) {
    uint8_t *buf = calloc(1, frame);
    for (int i = 0; i < n; i++) {
        buf[0] = (uint8_t)i;
        OK(streamq_producer_push(p, buf, frame, NULL, NULL));
    }
    free(buf);
}

static void test_policies(void) {
    uint8_t frame[1000] = {0};
    uint64_t seq = 0;
    streamq_producer *p;
    streamq_consumer *q;

    /* FAIL_FAST: WOULD_BLOCK when full; the frame stays the caller's. */
    streamq_queue_config c = small_config(16 * 1024, STREAMQ_POLICY_FAIL_FAST);
    OK(streamq_queue_create(&c, &p, &q));
    streamq_result r;
    int pushed = 0;
    while ((r = streamq_producer_push(p, frame, sizeof frame, NULL, &seq)) == STREAMQ_RESULT_OK) pushed++;
    EXPECT(STREAMQ_RESULT_WOULD_BLOCK, r);
    CHECK(pushed >= 14 && pushed <= 16);
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    OK(streamq_producer_stats(p, &st));
    CHECK(st.pushes_refused == 1 && st.frames_pushed == (uint64_t)pushed);
    streamq_producer_free(p);
    streamq_consumer_free(q);

    /* BLOCK: configured timeout, per-call timeout, try_push. */
    c = small_config(16 * 1024, STREAMQ_POLICY_BLOCK);
    c.block_timeout_ms = 20;
    OK(streamq_queue_create(&c, &p, &q));
    fill(p, 1000, pushed);
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_producer_push(p, frame, sizeof frame, NULL, &seq));
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_producer_push(p, frame, sizeof frame, WITHIN(5), &seq));
    EXPECT(STREAMQ_RESULT_WOULD_BLOCK, streamq_producer_push(p, frame, sizeof frame, NO_WAIT, &seq));
    EXPECT(STREAMQ_RESULT_WOULD_BLOCK, streamq_producer_push(p, frame, sizeof frame, WITHIN(0), &seq));
    uint8_t *w = NULL;
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_producer_reserve(p, sizeof frame, NULL, &w));
    streamq_producer_free(p);
    streamq_consumer_free(q);

    /* DROP_NEWEST: DROPPED with the dropped frame's sequence number, counted. */
    c = small_config(16 * 1024, STREAMQ_POLICY_DROP_NEWEST);
    OK(streamq_queue_create(&c, &p, &q));
    fill(p, 1000, pushed);
    seq = 0;
    EXPECT(STREAMQ_RESULT_DROPPED, streamq_producer_push(p, frame, sizeof frame, NULL, &seq));
    CHECK(seq == (uint64_t)pushed);
    EXPECT(STREAMQ_RESULT_DROPPED, streamq_producer_reserve(p, sizeof frame, NULL, &w));
    OK(streamq_producer_stats(p, &st));
    CHECK(st.frames_dropped_newest == 2 && st.bytes_dropped == 2000);
    streamq_producer_free(p);
    streamq_consumer_free(q);

    /* DROP_OLDEST: the new frame is queued, old ones evicted and counted. */
    c = small_config(16 * 1024, STREAMQ_POLICY_DROP_OLDEST);
    OK(streamq_queue_create(&c, &p, &q));
    fill(p, 1000, pushed);
    OK(streamq_producer_push(p, frame, sizeof frame, NULL, &seq));
    CHECK(seq == (uint64_t)pushed);
    OK(streamq_producer_stats(p, &st));
    CHECK(st.frames_dropped_oldest >= 1);
    uint8_t buf[1000];
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.seq >= 1); /* frame 0 was evicted */
    streamq_producer_free(p);
    streamq_consumer_free(q);

    /* max_frames caps the count as well as the bytes. */
    c = small_config(1 << 16, STREAMQ_POLICY_FAIL_FAST);
    c.max_frames = 3;
    OK(streamq_queue_create(&c, &p, &q));
    fill(p, 10, 3);
    EXPECT(STREAMQ_RESULT_WOULD_BLOCK, streamq_producer_push(p, frame, 10, NULL, &seq));
    streamq_producer_free(p);
    streamq_consumer_free(q);
}

struct wm_log {
    int above, below;
    size_t last_level;
};

static void on_wm(void *user, streamq_water_mark event, size_t level) {
    struct wm_log *log = user;
    if (event == STREAMQ_WATER_MARK_ABOVE_HIGH) log->above++;
    if (event == STREAMQ_WATER_MARK_BELOW_LOW) log->below++;
    log->last_level = level;
}

static int readable(int fd) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static void test_water_marks(void) {
    struct wm_log log = {0, 0, 0};
    streamq_queue_config c = small_config(16 * 1024, STREAMQ_POLICY_FAIL_FAST);
    c.high_water = 8 * 1032;
    c.low_water = 2 * 1032;
    c.on_water_mark = on_wm;
    c.on_water_mark_user = &log;
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&c, &p, &q));
    int fd = streamq_producer_water_mark_fd(p);
    CHECK(fd >= 0);
    CHECK(streamq_producer_water_mark_fd(NULL) == -1);
    CHECK(!readable(fd));
    bool above = true;
    OK(streamq_producer_above_high_water(p, &above));
    CHECK(!above);
    OK(streamq_producer_wait_below_low(p, 0, NULL)); /* not above: returns at once */

    fill(p, 1000, 10);
    CHECK(log.above == 1 && log.last_level >= 8 * 1032);
    OK(streamq_producer_above_high_water(p, &above));
    CHECK(above);
    CHECK(readable(fd));
    OK(streamq_producer_clear_water_mark_event(p));
    CHECK(!readable(fd));
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_producer_wait_below_low(p, 0, NULL));
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_producer_wait_below_low(p, 10, NULL));

    uint8_t buf[1000];
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};
    for (int i = 0; i < 8; i++) OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(log.below == 1);
    OK(streamq_producer_above_high_water(p, &above));
    CHECK(!above);
    CHECK(readable(fd));
    OK(streamq_producer_wait_below_low(p, -1, NULL));

    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_above_high_water(NULL, &above));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_above_high_water(p, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_clear_water_mark_event(NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_wait_below_low(NULL, 0, NULL));

    /* wait_below_low returns CLOSED once the consumer is gone. */
    fill(p, 1000, 8);
    OK(streamq_consumer_close(q));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_wait_below_low(p, -1, NULL));
    streamq_producer_free(p);
    streamq_consumer_free(q);
}

static void test_peek_and_batches(void) {
    streamq_queue_config c = small_config(1 << 16, STREAMQ_POLICY_FAIL_FAST);
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&c, &p, &q));
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};
    streamq_frame g = {.struct_size = sizeof(streamq_frame)};
    EXPECT(STREAMQ_RESULT_EMPTY, streamq_consumer_peek(q, 0, &f));
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_consumer_peek(q, 5, &f));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_consumer_release(q)); /* nothing held */
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_consumer_batch_frame(q, 0, &f));

    for (int i = 0; i < 5; i++) {
        uint8_t d[100];
        memset(d, i, sizeof d);
        OK(streamq_producer_push(p, d, sizeof d, NULL, NULL));
    }
    /* Peek: in place, the same frame until released. */
    OK(streamq_consumer_peek(q, 0, &f));
    CHECK(f.len == 100 && f.data[0] == 0 && f.seq == 0);
    OK(streamq_consumer_peek(q, -1, &g));
    CHECK(g.data == f.data && g.seq == 0);
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    EXPECT(STREAMQ_RESULT_BUSY, streamq_consumer_stats(q, &st));
    size_t count = 0;
    EXPECT(STREAMQ_RESULT_BUSY, streamq_consumer_peek_batch(q, 4, 1000, 0, &count));
    OK(streamq_consumer_batch_frame(q, 0, &g));
    CHECK(g.seq == 0);
    OK(streamq_consumer_release(q));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_consumer_release(q));

    /* Zero-copy batch. */
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_consumer_peek_batch(q, 0, 1000, 0, &count));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_peek_batch(q, 4, 1000, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_peek_batch(NULL, 4, 1000, 0, &count));
    OK(streamq_consumer_peek_batch(q, 3, SIZE_MAX, 0, &count));
    CHECK(count == 3);
    for (size_t i = 0; i < count; i++) {
        OK(streamq_consumer_batch_frame(q, i, &g));
        CHECK(g.seq == i + 1 && g.data[0] == (uint8_t)(i + 1) && g.len == 100);
    }
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_consumer_batch_frame(q, 3, &g));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_consumer_batch_frame(q, SIZE_MAX, &g));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_batch_frame(q, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_batch_frame(NULL, 0, &g));
    /* Popping from a held batch takes its frames in order. */
    uint8_t buf[400];
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.seq == 1);
    OK(streamq_consumer_batch_frame(q, 0, &g));
    CHECK(g.seq == 2);
    OK(streamq_consumer_release(q)); /* consumes 2 and 3 */
    OK(streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    CHECK(f.seq == 4);

    /* Copying batch: as many as fit; too small for the first → BUFFER_TOO_SMALL. */
    for (int i = 0; i < 3; i++) {
        uint8_t d[100];
        memset(d, 10 + i, sizeof d);
        OK(streamq_producer_push(p, d, sizeof d, NULL, NULL));
    }
    streamq_frame frames[4] = {{.struct_size = sizeof(streamq_frame)}};
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_consumer_pop_batch(q, buf, sizeof buf, frames, 0, 0, &count));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_pop_batch(q, buf, sizeof buf, NULL, 4, 0, &count));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_pop_batch(q, buf, sizeof buf, frames, 4, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_pop_batch(NULL, buf, sizeof buf, frames, 4, 0, &count));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_pop_batch(q, NULL, 10, frames, 4, 0, &count));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_consumer_pop_batch(q, buf, sizeof buf, frames, SIZE_MAX, 0, &count));
    count = 99;
    EXPECT(STREAMQ_RESULT_BUFFER_TOO_SMALL, streamq_consumer_pop_batch(q, buf, 50, frames, 4, 0, &count));
    CHECK(frames[0].len == 100 && frames[0].data == NULL && count == 99);
    OK(streamq_consumer_pop_batch(q, buf, 250, frames, 4, 0, &count));
    CHECK(count == 2 && frames[0].seq == 5 && frames[1].seq == 6);
    CHECK(frames[0].data == buf && frames[1].data == buf + 100 && buf[0] == 10 && buf[100] == 11);
    OK(streamq_consumer_pop_batch(q, buf, sizeof buf, frames, 4, -1, &count));
    CHECK(count == 1 && frames[0].seq == 7 && buf[0] == 12);
    EXPECT(STREAMQ_RESULT_EMPTY, streamq_consumer_pop_batch(q, buf, sizeof buf, frames, 4, 0, &count));
    EXPECT(STREAMQ_RESULT_EMPTY, streamq_consumer_peek_batch(q, 4, 100, 0, &count));
    EXPECT(STREAMQ_RESULT_TIMEOUT, streamq_consumer_peek_batch(q, 4, 100, 5, &count));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_peek(NULL, 0, &f));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_peek(q, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_consumer_release(NULL));

    /* Frames held when the consumer is freed are released with it. */
    OK(streamq_producer_push(p, (const uint8_t *)"held", 4, NULL, NULL));
    OK(streamq_consumer_peek(q, 0, &f));
    EXPECT(STREAMQ_RESULT_BUSY, streamq_consumer_stats(q, &st));
    streamq_consumer_free(q);
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    streamq_producer_free(p);
}

/* -------------------------------------------------------------------------- writer -- */

struct cb_log {
    int errors, segments, durable;
    streamq_result last_error;
    char segment_paths[8][256];
};

static void on_error(void *user, streamq_result code, const char *message) {
    struct cb_log *log = user;
    log->errors++;
    log->last_error = code;
    CHECK(message != NULL && message[0] != '\0');
}

static void on_segment(void *user, const streamq_segment_info *info) {
    struct cb_log *log = user;
    if (log->segments < 8) snprintf(log->segment_paths[log->segments], 256, "%s", info->path);
    CHECK(info->index == (uint32_t)log->segments && info->bytes > 0);
    log->segments++;
}

static void on_durable(void *user, const streamq_durable *d) {
    struct cb_log *log = user;
    CHECK(d->struct_size >= sizeof *d && d->stream_name != NULL && d->stream_name[0] != '\0');
    log->durable++;
}

static void test_writer_config_errors(void) {
    streamq_writer_config wc = writer_config_defaults();
    CHECK(wc.path == NULL && wc.sink == STREAMQ_SINK_CAPTURE_FILE && wc.compression_level == 0);
    CHECK(wc.fsync_policy == STREAMQ_FSYNC_ON_CLOSE && wc.max_write_bytes == 8u << 20);
    streamq_writer *w = (streamq_writer *)1;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_create(&wc, &w)); /* path NULL */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_create(NULL, &w));
    char path[128];
    path_in_tmp(path, sizeof path, "bad.sqcap");
    wc.path = path;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_create(&wc, NULL));
    wc.compression_level = 30;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc = writer_config_defaults();
    wc.path = path;
    wc.sink = 7;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.sink = STREAMQ_SINK_CAPTURE_FILE;
    wc.fsync_policy = 42;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.fsync_policy = STREAMQ_FSYNC_EVERY_MS;
    wc.fsync_interval = 0;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.fsync_policy = STREAMQ_FSYNC_ON_CLOSE;
    wc.max_write_bytes = 10;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.max_write_bytes = 8 << 20;
    CHECK(wc.writes_in_flight == 2 && wc.preallocate_bytes == 0 && wc.raw_when_behind);
    wc.writes_in_flight = 65;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.writes_in_flight = 2;
    streamq_kv bad_meta[1] = {{"key", NULL}};
    wc.metadata = bad_meta;
    wc.metadata_len = 1;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_create(&wc, &w));
    wc.metadata = NULL;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_create(&wc, &w));
    wc.metadata_len = 0;
    const char invalid_utf8[] = {'a', (char)0xff, 0};
    wc.path = invalid_utf8;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_create(&wc, &w));
    wc.path = "/nonexistent-dir/streamq/x.sqcap";
    EXPECT(STREAMQ_RESULT_IO, streamq_writer_create(&wc, &w));
    CHECK(w == (streamq_writer *)1);
}

/* A writer limited to one stream refuses a second with STREAMQ_RESULT_LIMIT. */
static void test_writer_stream_limit(void) {
    char path[128];
    path_in_tmp(path, sizeof path, "limit.sqcap");
    streamq_writer_config wc = writer_config_defaults();
    CHECK(wc.max_streams == 0);
    wc.path = path;
    wc.max_streams = 1;
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w);
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "only";
    sc.queue.capacity = 1 << 16;
    sc.queue.prefault = false;
    streamq_producer *a = NULL, *b = (streamq_producer *)1;
    OK(streamq_writer_add_stream(w, &sc, &a));
    sc.name = "one too many";
    EXPECT(STREAMQ_RESULT_LIMIT, streamq_writer_add_stream(w, &sc, &b));
    CHECK(b == (streamq_producer *)1); /* output untouched on failure */
    streamq_producer_free(a);
    OK(streamq_writer_close(w, NULL));
    streamq_writer_free(w);
}

static void test_writer_roundtrip(void) {
    char path[128];
    path_in_tmp(path, sizeof path, "api.sqcap");
    struct cb_log log;
    memset(&log, 0, sizeof log);
    streamq_kv meta[2] = {{"sensor", "test"}, {"host", "ci"}};
    streamq_writer_config wc = writer_config_defaults();
    wc.path = path;
    wc.metadata = meta;
    wc.metadata_len = 2;
    wc.fsync_policy = STREAMQ_FSYNC_EVERY_BYTES;
    wc.fsync_interval = 1 << 20;
    wc.writes_in_flight = 0; /* synchronous writes: the other path than the default */
    wc.on_error = on_error;
    wc.on_segment = on_segment;
    wc.on_durable = on_durable;
    wc.callback_user = &log;
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w);

    streamq_stream_config sc = stream_config_defaults();
    CHECK(sc.name == NULL && sc.queue.capacity == 256u << 20 && sc.queue.policy == STREAMQ_POLICY_BLOCK);
    streamq_producer *s = (streamq_producer *)1;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_add_stream(w, &sc, &s)); /* name NULL */
    sc.name = "depth";
    sc.media_type = "depth/u16";
    streamq_kv smeta[1] = {{"width", "640"}};
    sc.metadata = smeta;
    sc.metadata_len = 1;
    sc.queue.capacity = 4 << 20;
    sc.queue.prefault = false;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_add_stream(NULL, &sc, &s));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_add_stream(w, NULL, &s));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_add_stream(w, &sc, NULL));
    sc.queue.policy = 12;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_add_stream(w, &sc, &s));
    sc.queue.policy = STREAMQ_POLICY_BLOCK;
    sc.queue.capacity = 0;
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_writer_add_stream(w, &sc, &s));
    sc.queue.capacity = 4 << 20;
    CHECK(s == (streamq_producer *)1);
    streamq_producer *depth = NULL, *imu = NULL;
    OK(streamq_writer_add_stream(w, &sc, &depth));
    streamq_stream_config ic = stream_config_defaults();
    ic.name = "imu";
    ic.queue.capacity = 1 << 16;
    ic.queue.prefault = false;
    ic.queue.policy = STREAMQ_POLICY_DROP_OLDEST;
    OK(streamq_writer_add_stream(w, &ic, &imu));
    uint16_t id = 99;
    OK(streamq_producer_stream_id(depth, &id));
    CHECK(id == 0);
    OK(streamq_producer_stream_id(imu, &id));
    CHECK(id == 1);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_stream_id(NULL, &id));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_stream_id(imu, NULL));
    size_t max = 0;
    OK(streamq_producer_max_frame_len(depth, &max));
    CHECK(max > (3u << 20));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_max_frame_len(NULL, &max));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_max_frame_len(depth, NULL));

    /* Depth: 20 frames of 100 KiB, half pushed, half reserved and filled in place. */
    enum { N = 20, LEN = 100 * 1024 };
    uint8_t *frame = malloc(LEN);
    uint64_t seq = 0;
    for (int i = 0; i < N; i++) {
        uint64_t ts = 1000000ull * (uint64_t)i;
        if (i % 2 == 0) {
            memset(frame, i, LEN);
            OK(streamq_producer_push(depth, frame, LEN, AT(ts), &seq));
        } else {
            uint8_t *dst = NULL;
            OK(streamq_producer_reserve(depth, LEN, AT(ts), &dst));
            memset(dst, i, LEN);
            OK(streamq_producer_commit(depth, &seq));
        }
        CHECK(seq == (uint64_t)i);
    }
    /* IMU: small samples through every push form. */
    for (int i = 0; i < 30; i++) {
        uint8_t sample[24];
        memset(sample, 100 + i, sizeof sample);
        uint64_t ts = 1000000ull * (uint64_t)i + 500;
        if (i % 3 == 0) OK(streamq_producer_push(imu, sample, sizeof sample, AT(ts), NULL));
        else if (i % 3 == 1) OK(streamq_producer_push(imu, sample, sizeof sample, AT(ts), &seq));
        else OK(streamq_producer_push(imu, sample, sizeof sample, AT(ts), NULL));
    }
    OK(streamq_producer_push(imu, (const uint8_t *)"p", 1, NULL, NULL));
    OK(streamq_producer_push(imu, (const uint8_t *)"t", 1, NO_WAIT, NULL));
    OK(streamq_producer_push(imu, (const uint8_t *)"o", 1, WITHIN(100), NULL));
    uint8_t *dst;
    OK(streamq_producer_reserve(imu, 1, NULL, &dst));
    *dst = 'r';
    OK(streamq_producer_commit(imu, &seq));
    CHECK(seq == 33);
    OK(streamq_producer_reserve(imu, 1, NULL, &dst));
    OK(streamq_producer_abort(imu));

    /* Hostile stream calls. */
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, frame, 1, NULL, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(imu, NULL, 1, NULL, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, frame, 1, AT(0), NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, frame, 1, WITHIN(0), NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_push(NULL, frame, 1, NO_WAIT, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_reserve(NULL, 1, NULL, &dst));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_reserve(imu, 1, NULL, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_commit(NULL, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_abort(NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_close(NULL));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_producer_push(imu, frame, SIZE_MAX, NULL, NULL));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_producer_reserve(imu, SIZE_MAX, NULL, &dst));
    EXPECT(STREAMQ_RESULT_TOO_LARGE, streamq_producer_push(imu, frame, LEN, NULL, NULL)); /* > 64 KiB ring */
    EXPECT(STREAMQ_RESULT_TOO_LARGE, streamq_producer_reserve(imu, LEN, NULL, &dst));
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_commit(imu, NULL));
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_abort(imu));
    OK(streamq_producer_reserve(imu, 4, NULL, &dst));
    EXPECT(STREAMQ_RESULT_BUSY, streamq_producer_push(imu, frame, 1, NULL, NULL));
    streamq_queue_stats qs = {.struct_size = sizeof(streamq_queue_stats)};
    EXPECT(STREAMQ_RESULT_BUSY, streamq_producer_stats(imu, &qs));
    OK(streamq_producer_abort(imu));
    OK(streamq_producer_stats(imu, &qs));
    CHECK(qs.frames_pushed == 34);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_stats(NULL, &qs));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_stats(imu, NULL));

    OK(streamq_writer_flush(w));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_flush(NULL));
    uint64_t durable = 0;
    OK(streamq_producer_durable_seq(depth, &durable));
    CHECK(durable == N - 1);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_durable_seq(NULL, &durable));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_producer_durable_seq(depth, NULL));

    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_get_report(w, &rep)); /* live snapshot */
    CHECK(rep.streams == 2 && rep.frames_written == N + 34 && !rep.failed);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_get_report(NULL, &rep));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_get_report(w, NULL));
    streamq_stream_report sr = {.struct_size = sizeof(streamq_stream_report)};
    OK(streamq_writer_stream_report(w, 1, &sr));
    CHECK(strcmp(sr.name, "imu") == 0 && sr.id == 1 && sr.frames_written == 34);
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_writer_stream_report(w, 2, &sr));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_stream_report(NULL, 0, &sr));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_stream_report(w, 0, NULL));

    /* A stream added while recording; closed by itself. */
    streamq_stream_config cc = stream_config_defaults();
    cc.name = "color";
    cc.queue.capacity = 1 << 20;
    cc.queue.prefault = false;
    streamq_producer *color = NULL;
    OK(streamq_writer_add_stream(w, &cc, &color));
    OK(streamq_producer_push(color, (const uint8_t *)"rgb", 3, AT(1500), NULL));
    OK(streamq_producer_close(color));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_close(color));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(color, (const uint8_t *)"x", 1, NULL, NULL));

    /* Close: report; double close; use after close. */
    memset(&rep, 0, sizeof rep);
    STREAMQ_OUTPUT_INIT(&rep);
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == N + 34 + 1 && rep.streams == 3 && rep.frames_failed == 0);
    CHECK(rep.frames_dropped_newest == 0 && rep.frames_dropped_oldest == 0 && !rep.failed);
    CHECK(rep.bytes_written == (uint64_t)N * LEN + 30 * 24 + 4 + 3 && rep.segments == 1);
    CHECK(rep.stored_bytes > rep.bytes_written && rep.writes > 0 && rep.syncs > 0 && rep.seconds > 0);
    /* Close is idempotent: a second close returns the first one's result and report. */
    streamq_writer_report rep2 = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep2));
    CHECK(rep2.frames_written == rep.frames_written && rep2.bytes_written == rep.bytes_written);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_writer_close(NULL, &rep));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_writer_flush(w));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_writer_add_stream(w, &cc, &s));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(depth, frame, 10, NULL, NULL));
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_reserve(depth, 10, NULL, &dst));
    OK(streamq_writer_get_report(w, &rep)); /* final report stays readable */
    CHECK(rep.frames_written == N + 34 + 1);
    OK(streamq_writer_stream_report(w, 0, &sr));
    CHECK(strcmp(sr.name, "depth") == 0 && sr.frames_written == N && sr.has_last_seq && sr.last_seq == N - 1);
    CHECK(sr.has_durable_seq && sr.durable_seq == N - 1 && sr.queue.frames_pushed == N);
    OK(streamq_producer_durable_seq(imu, &durable)); /* after the writer's close */
    CHECK(durable == 33);
    CHECK(log.errors == 0 && log.segments == 1 && log.durable >= 2);

    streamq_producer_free(depth);
    streamq_writer_free(w); /* writer before a stream: fine */
    EXPECT(STREAMQ_RESULT_CLOSED, streamq_producer_push(imu, frame, 10, NULL, NULL));
    streamq_producer_free(imu);
    streamq_producer_free(color);

    /* ---- read it back ---- */
    streamq_reader *r = (streamq_reader *)1;
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_open(NULL, &r));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_open(path, NULL));
    char missing[128];
    path_in_tmp(missing, sizeof missing, "missing.sqcap");
    EXPECT(STREAMQ_RESULT_IO, streamq_reader_open(missing, &r));
    CHECK(r == (streamq_reader *)1);
    OK(streamq_reader_open(path, &r));
    streamq_reader_info info = {.struct_size = sizeof(streamq_reader_info)};
    OK(streamq_reader_get_info(r, &info));
    CHECK(info.segments == 1 && info.streams == 3 && info.frames == N + 35 && info.clean);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_get_info(NULL, &info));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_get_info(r, NULL));
    streamq_stream_info si = {.struct_size = sizeof(streamq_stream_info)};
    OK(streamq_reader_stream(r, 0, &si));
    CHECK(strcmp(si.name, "depth") == 0 && strcmp(si.media_type, "depth/u16") == 0);
    CHECK(si.id == 0 && si.frames == N && si.metadata_len == 1 && si.first_seq == 0 && si.last_seq == N - 1);
    CHECK(si.bytes == (uint64_t)N * LEN && si.dropped == 0 && si.gap_records == 0);
    /* No losses, no gap records (test_reader_gaps covers files with some). */
    size_t gap_count = 99;
    OK(streamq_reader_gap_count(r, &gap_count));
    CHECK(gap_count == 0);
    streamq_gap_info gap = {.struct_size = sizeof(streamq_gap_info)};
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_gap(r, 0, &gap));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_gap(r, 0, NULL));
    CHECK(si.first_device_ts_ns == 0 && si.last_device_ts_ns == 1000000ull * (N - 1));
    OK(streamq_reader_stream(r, 1, &si));
    CHECK(strcmp(si.name, "imu") == 0 && strcmp(si.media_type, "application/octet-stream") == 0);
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream(r, 3, &si));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream(NULL, 0, &si));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream(r, 0, NULL));
    streamq_kv kv;
    OK(streamq_reader_stream_metadata(r, 0, 0, &kv));
    CHECK(strcmp(kv.key, "width") == 0 && strcmp(kv.value, "640") == 0);
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream_metadata(r, 0, 1, &kv));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_stream_metadata(r, 5, 0, &kv));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream_metadata(NULL, 0, 0, &kv));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_stream_metadata(r, 0, 0, NULL));

    /* File order: every frame once. */
    streamq_reader_frame rf = {.struct_size = sizeof(streamq_reader_frame)};
    int n = 0, depth_seen = 0;
    while (streamq_reader_next(r, &rf) == STREAMQ_RESULT_OK) {
        n++;
        if (rf.stream_id == 0) {
            CHECK(rf.len == LEN && rf.data[0] == (uint8_t)rf.seq && rf.data[LEN - 1] == (uint8_t)rf.seq);
            CHECK(rf.device_ts_ns == 1000000ull * rf.seq && !rf.compressed && rf.segment == 0);
            depth_seen++;
        }
    }
    CHECK(n == N + 35 && depth_seen == N);
    EXPECT(STREAMQ_RESULT_END_OF_STREAM, streamq_reader_next(r, &rf));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_next(NULL, &rf));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_next(r, NULL));

    /* Time order: non-decreasing timestamps across streams. */
    OK(streamq_reader_iter_time(r));
    uint64_t last = 0;
    n = 0;
    while (streamq_reader_next(r, &rf) == STREAMQ_RESULT_OK) {
        CHECK(rf.device_ts_ns >= last);
        last = rf.device_ts_ns;
        n++;
    }
    CHECK(n == N + 35);
    /* One stream. */
    OK(streamq_reader_iter_stream(r, 1));
    n = 0;
    while (streamq_reader_next(r, &rf) == STREAMQ_RESULT_OK) {
        CHECK(rf.stream_id == 1 && rf.seq == (uint64_t)n);
        n++;
    }
    CHECK(n == 34);
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_iter_stream(r, 7));
    /* Seek by sequence and by time. */
    OK(streamq_reader_seek_seq(r, 0, 15));
    OK(streamq_reader_next(r, &rf));
    CHECK(rf.stream_id == 0 && rf.seq == 15);
    OK(streamq_reader_seek_seq(r, 0, 1000));
    EXPECT(STREAMQ_RESULT_END_OF_STREAM, streamq_reader_next(r, &rf));
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_seek_seq(r, 9, 0));
    OK(streamq_reader_seek_time(r, 5000000));
    OK(streamq_reader_next(r, &rf));
    CHECK(rf.device_ts_ns == 5000000 && rf.stream_id == 0 && rf.seq == 5);
    OK(streamq_reader_next(r, &rf));
    CHECK(rf.device_ts_ns == 5000500 && rf.stream_id == 1);
    OK(streamq_reader_seek_stream_time(r, 1, 7000000));
    OK(streamq_reader_next(r, &rf));
    CHECK(rf.stream_id == 1 && rf.device_ts_ns == 7000500);
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_seek_stream_time(r, 9, 0));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_iter_file(NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_iter_time(NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_iter_stream(NULL, 0));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_seek_seq(NULL, 0, 0));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_seek_time(NULL, 0));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_seek_stream_time(NULL, 0, 0));

    /* Copy into a buffer: too small keeps the frame next. (Stream order, so the first
     * frame is depth's seq 0 whichever stream the writer happened to store first.) */
    OK(streamq_reader_iter_stream(r, 0));
    memset(&rf, 0, sizeof rf);
    STREAMQ_OUTPUT_INIT(&rf);
    EXPECT(STREAMQ_RESULT_BUFFER_TOO_SMALL, streamq_reader_next_into(r, frame, 10, &rf));
    CHECK(rf.data == NULL && rf.len == LEN && rf.seq == 0 && rf.stream_id == 0);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_next_into(r, NULL, 10, &rf));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_next_into(r, frame, LEN, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_next_into(NULL, frame, LEN, &rf));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_reader_next_into(r, frame, SIZE_MAX, &rf));
    OK(streamq_reader_next_into(r, frame, LEN, &rf));
    CHECK(rf.data == frame && rf.len == LEN && rf.seq == 0 && frame[0] == 0);

    /* Verify. */
    streamq_verify_stream vs = {.struct_size = sizeof(streamq_verify_stream)};
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_verify_stream(r, 0, &vs)); /* before verify */
    CHECK(streamq_reader_verify_error(r, 0) == NULL);
    streamq_verify_report vr = {.struct_size = sizeof(streamq_verify_report)};
    OK(streamq_reader_verify(r, &vr));
    CHECK(vr.ok && vr.clean_close && vr.frames == N + 35 && vr.streams == 3 && vr.errors == 0);
    CHECK(vr.corrupt == 0 && vr.truncated_bytes == 0 && vr.unexplained_missing == 0 && vr.segments == 1);
    OK(streamq_reader_verify_stream(r, 1, &vs));
    CHECK(vs.stream_id == 1 && strcmp(vs.name, "imu") == 0 && vs.frames == 34 && vs.last_seq == 33);
    EXPECT(STREAMQ_RESULT_NOT_FOUND, streamq_reader_verify_stream(r, 3, &vs));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_verify_stream(NULL, 0, &vs));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_verify_stream(r, 0, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_verify(NULL, &vr));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_verify(r, NULL));
    CHECK(streamq_reader_verify_error(r, 0) == NULL);
    CHECK(streamq_reader_verify_error(NULL, 0) == NULL);
    streamq_reader_free(r);

    /* Recover: a clean file is left alone. */
    streamq_recover_report rr = {.struct_size = sizeof(streamq_recover_report)};
    OK(streamq_recover(path, &rr));
    CHECK(rr.already_clean && rr.new_len == rr.original_len);
    OK(streamq_recover(path, NULL));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_recover(NULL, &rr));
    EXPECT(STREAMQ_RESULT_IO, streamq_recover(missing, &rr));

    /* Damage: a flipped payload byte → CORRUPT on read (the frame is skipped), verify finds it. */
    char damaged[128];
    path_in_tmp(damaged, sizeof damaged, "damaged.sqcap");
    {
        FILE *in = fopen(path, "rb"), *outf = fopen(damaged, "wb");
        REQUIRE(in && outf);
        int ch;
        long pos = 0;
        while ((ch = fgetc(in)) != EOF) {
            if (pos == 4096 + 512) ch ^= 0xff; /* inside the first depth frame's payload */
            fputc(ch, outf);
            pos++;
        }
        fclose(in);
        fclose(outf);
    }
    OK(streamq_reader_open(damaged, &r));
    int corrupt = 0, good = 0;
    for (;;) {
        streamq_result res = streamq_reader_next(r, &rf);
        if (res == STREAMQ_RESULT_END_OF_STREAM) break;
        if (res == STREAMQ_RESULT_CORRUPT) corrupt++;
        else if (res == STREAMQ_RESULT_OK) good++;
        else {
            EXPECT(STREAMQ_RESULT_OK, res);
            break;
        }
    }
    CHECK(corrupt == 1 && good == N + 34);
    OK(streamq_reader_verify(r, &vr));
    CHECK(!vr.ok && vr.errors >= 1);
    const char *e0 = streamq_reader_verify_error(r, 0);
    CHECK(e0 != NULL && e0[0] != '\0');
    streamq_reader_free(r);

    /* Not a capture file → CORRUPT; an unsupported major version → UNSUPPORTED. */
    char junk[128];
    path_in_tmp(junk, sizeof junk, "junk.bin");
    FILE *jf = fopen(junk, "wb");
    for (int i = 0; i < 4096; i++) fputc(i * 7, jf);
    fclose(jf);
    EXPECT(STREAMQ_RESULT_CORRUPT, streamq_reader_open(junk, &r));
    char future[128];
    path_in_tmp(future, sizeof future, "future.sqcap");
    {
        FILE *in = fopen(path, "rb"), *outf = fopen(future, "wb");
        REQUIRE(in && outf);
        uint8_t head[64];
        size_t got = fread(head, 1, sizeof head, in);
        REQUIRE(got == sizeof head);
        /* Major version: the u16 after the 8-byte magic (docs/FORMAT.md). */
        head[8] = 0x7f;
        fwrite(head, 1, sizeof head, outf);
        fclose(in);
        fclose(outf);
    }
    EXPECT(STREAMQ_RESULT_UNSUPPORTED, streamq_reader_open(future, &r));
    const char *none[1] = {NULL};
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_reader_open_segments(none, 0, &r));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_open_segments(NULL, 1, &r));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_open_segments(none, 1, &r));
    EXPECT(STREAMQ_RESULT_NULL_POINTER, streamq_reader_open_segments(none, 1, NULL));
    EXPECT(STREAMQ_RESULT_INVALID_ARGUMENT, streamq_reader_open_segments(none, SIZE_MAX, &r));
    free(frame);
}

static void test_writer_segments_and_compression(void) {
    char path[128];
    path_in_tmp(path, sizeof path, "seg.sqcap");
    struct cb_log log;
    memset(&log, 0, sizeof log);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = path;
    wc.compression_level = 1;
    wc.compress_workers = 2;
    wc.segment_bytes = 256 * 1024;
    wc.preallocate_bytes = 0;
    wc.on_segment = on_segment;
    wc.callback_user = &log;
    streamq_writer *w;
    OK(streamq_writer_create(&wc, &w));
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "depth";
    sc.queue.capacity = 8 << 20;
    sc.queue.prefault = false;
    streamq_producer *s;
    OK(streamq_writer_add_stream(w, &sc, &s));
    enum { N = 12, LEN = 64 * 1024 };
    uint8_t *frame = malloc(LEN);
    for (int i = 0; i < N; i++) {
        uint32_t x = 2463534242u + (uint32_t)i; /* xorshift: data zstd cannot shrink much */
        for (int j = 0; j < LEN; j++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            frame[j] = (j % 2) ? (uint8_t)x : (uint8_t)i;
        }
        OK(streamq_producer_push(s, frame, LEN, NULL, NULL));
        OK(streamq_writer_flush(w)); /* one write per frame, so segments rotate */
    }
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == N && rep.frames_compressed + rep.frames_stored_raw == N);
    CHECK(rep.segments >= 2 && rep.segments == (uint64_t)log.segments);
    streamq_producer_free(s);
    streamq_writer_free(w);

    int nseg = log.segments < 8 ? log.segments : 8;
    const char *paths[8];
    for (int i = 0; i < nseg; i++) paths[i] = log.segment_paths[i];
    streamq_reader *r;
    OK(streamq_reader_open_segments(paths, (size_t)nseg, &r));
    streamq_reader_info info = {.struct_size = sizeof(streamq_reader_info)};
    OK(streamq_reader_get_info(r, &info));
    CHECK(info.segments == (uint64_t)nseg && info.frames == N);
    streamq_reader_frame rf = {.struct_size = sizeof(streamq_reader_frame)};
    int n = 0;
    while (streamq_reader_next(r, &rf) == STREAMQ_RESULT_OK) {
        CHECK(rf.len == LEN && rf.seq == (uint64_t)n);
        CHECK(rf.data[0] == (uint8_t)n && rf.data[LEN - 2] == (uint8_t)n);
        n++;
    }
    CHECK(n == N);
    streamq_reader_free(r);
    free(frame);
}

static void test_writer_failure(void) {
    /* A directory sink whose directory disappears: the writer fails, the error callback
     * runs, pushes return FAILED, close returns the error and the report counts the loss. */
    char dir[128];
    path_in_tmp(dir, sizeof dir, "frames");
    struct cb_log log;
    memset(&log, 0, sizeof log);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = dir;
    wc.sink = STREAMQ_SINK_DIRECTORY;
    wc.io_workers = 1;
    wc.on_error = on_error;
    wc.callback_user = &log;
    streamq_writer *w;
    OK(streamq_writer_create(&wc, &w));
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "depth";
    sc.queue.capacity = 1 << 20;
    sc.queue.prefault = false;
    streamq_producer *s;
    OK(streamq_writer_add_stream(w, &sc, &s));
    OK(streamq_writer_flush(w)); /* the writer thread has set the stream up */
    REQUIRE(rmdir(dir) == 0);
    OK(streamq_producer_push(s, (const uint8_t *)"frame", 5, NULL, NULL));
    streamq_result fr = streamq_writer_flush(w);
    CHECK(fr == STREAMQ_RESULT_IO);
    streamq_result pr = STREAMQ_RESULT_OK;
    for (int i = 0; i < 1000 && pr == STREAMQ_RESULT_OK; i++) pr = streamq_producer_push(s, (const uint8_t *)"x", 1, NULL, NULL);
    EXPECT(STREAMQ_RESULT_FAILED, pr);
    streamq_stream_config sc2 = sc;
    sc2.name = "late";
    streamq_producer *s2 = NULL;
    streamq_result ar = streamq_writer_add_stream(w, &sc2, &s2);
    CHECK(ar == STREAMQ_RESULT_IO && s2 == NULL);
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    memset(&rep, 0xEE, sizeof rep);
    STREAMQ_OUTPUT_INIT(&rep);
    EXPECT(STREAMQ_RESULT_IO, streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == 0xEEEEEEEEEEEEEEEEull); /* not written on failure */
    OK(streamq_writer_get_report(w, &rep));
    CHECK(rep.failed && rep.frames_written == 0 && rep.frames_failed >= 1);
    /* The error callback ran once, on the writer thread (joined by close). */
    CHECK(log.errors == 1 && log.last_error == STREAMQ_RESULT_IO);
    /* Close is idempotent: the same error again, the report kept. */
    EXPECT(STREAMQ_RESULT_IO, streamq_writer_close(w, &rep));
    CHECK(rep.failed && rep.frames_failed >= 1);
    streamq_producer_free(s);
    streamq_writer_free(w);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/streamq-c-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    test_version_and_results();
    test_last_error();
    test_queue_config();
    test_push_pop();
    test_consumer_close_wakes_producers();
    test_reserve_commit();
    test_policies();
    test_water_marks();
    test_peek_and_batches();
    test_writer_config_errors();
    test_writer_stream_limit();
    test_writer_roundtrip();
    test_writer_segments_and_compression();
    test_writer_failure();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    return check_report("test_api");
}
