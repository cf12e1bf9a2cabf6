/* Threads: several pthreads pushing at once through one shared queue producer and
 * through per-stream writer handles; callbacks arriving on writer / consumer threads;
 * reservations are per thread. Built with ASan/UBSan. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------ one shared producer, 4 threads -- */

enum { PRODUCERS = 4, PER_THREAD = 2000, FRAME = 256 };

struct prod_arg {
    streamq_producer *p;
    uint32_t id;
    int failures;
};

static void *produce(void *arg) {
    struct prod_arg *a = arg;
    uint8_t frame[FRAME];
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        memset(frame, (int)(a->id * 16 + i % 16), sizeof frame);
        memcpy(frame, &a->id, 4);
        memcpy(frame + 4, &i, 4);
        if (i % 2 == 0) {
            if (streamq_producer_push(a->p, frame, sizeof frame, NULL, NULL) != STREAMQ_RESULT_OK) a->failures++;
        } else {
            uint8_t *dst = NULL;
            if (streamq_producer_reserve(a->p, sizeof frame, NULL, &dst) != STREAMQ_RESULT_OK) {
                a->failures++;
                continue;
            }
            memcpy(dst, frame, sizeof frame);
            if (streamq_producer_commit(a->p, NULL) != STREAMQ_RESULT_OK) a->failures++;
        }
    }
    return NULL;
}

struct cons_arg {
    streamq_consumer *q;
    /* If set: start consuming only once the producers have filled the queue above high
     * water (woken by the water-mark descriptor), so the marks are crossed for sure. */
    streamq_producer *wait_above;
    uint32_t next[PRODUCERS];
    uint64_t frames, next_seq;
    int errors;
    pthread_t self;
};

static void *consume(void *arg) {
    struct cons_arg *c = arg;
    c->self = pthread_self();
    if (c->wait_above) {
        struct pollfd pfd = {.fd = streamq_producer_water_mark_fd(c->wait_above), .events = POLLIN};
        for (;;) {
            bool above = false;
            if (streamq_producer_above_high_water(c->wait_above, &above) != STREAMQ_RESULT_OK) c->errors++;
            if (above || pfd.fd < 0) break;
            if (poll(&pfd, 1, 10000) <= 0) {
                c->errors++; /* 10 s without a water-mark event: the producers are stuck */
                break;
            }
            streamq_producer_clear_water_mark_event(c->wait_above);
        }
    }
    uint8_t buf[FRAME];
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};
    for (;;) {
        streamq_result r = streamq_consumer_pop(c->q, buf, sizeof buf, -1, &f);
        if (r == STREAMQ_RESULT_END_OF_STREAM) break;
        if (r != STREAMQ_RESULT_OK || f.len != FRAME) {
            c->errors++;
            break;
        }
        uint32_t id, i;
        memcpy(&id, buf, 4);
        memcpy(&i, buf + 4, 4);
        if (id >= PRODUCERS || i != c->next[id] || f.seq != c->next_seq) c->errors++;
        if (buf[FRAME - 1] != (uint8_t)(id * 16 + i % 16)) c->errors++;
        if (id < PRODUCERS) c->next[id] = i + 1;
        c->next_seq++;
        c->frames++;
    }
    return NULL;
}

static atomic_int wm_calls;
static pthread_t wm_thread_seen;

static void on_wm(void *user, streamq_water_mark event, size_t level) {
    (void)user;
    (void)level;
    if (event == STREAMQ_WATER_MARK_BELOW_LOW) wm_thread_seen = pthread_self();
    atomic_fetch_add(&wm_calls, 1);
}

static void test_shared_producer(void) {
    streamq_queue_config c = queue_config_defaults();
    c.capacity = 64 * 1024; /* small: producers block, the consumer wakes them */
    c.prefault = false;
    c.on_water_mark = on_wm;
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&c, &p, &q));
    struct cons_arg ca;
    memset(&ca, 0, sizeof ca);
    ca.q = q;
    ca.wait_above = p;
    pthread_t ct, pt[PRODUCERS];
    struct prod_arg pa[PRODUCERS];
    REQUIRE(pthread_create(&ct, NULL, consume, &ca) == 0);
    for (uint32_t i = 0; i < PRODUCERS; i++) {
        pa[i] = (struct prod_arg){p, i, 0};
        REQUIRE(pthread_create(&pt[i], NULL, produce, &pa[i]) == 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(pt[i], NULL);
        CHECK(pa[i].failures == 0);
    }
    OK(streamq_producer_close(p));
    pthread_join(ct, NULL);
    CHECK(ca.errors == 0);
    CHECK(ca.frames == (uint64_t)PRODUCERS * PER_THREAD);
    for (int i = 0; i < PRODUCERS; i++) CHECK(ca.next[i] == PER_THREAD);
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    OK(streamq_consumer_stats(q, &st));
    CHECK(st.frames_pushed == (uint64_t)PRODUCERS * PER_THREAD && st.frames_popped == st.frames_pushed);
    CHECK(st.frames_dropped_newest + st.frames_dropped_oldest == 0);
    /* Water marks were crossed; the "below low" callback ran on the consumer's thread. */
    CHECK(atomic_load(&wm_calls) >= 2);
    CHECK(pthread_equal(wm_thread_seen, ca.self));
    streamq_producer_free(p);
    streamq_consumer_free(q);
}

/* ---------------------------------------- a reservation belongs to its thread -- */

struct xarg {
    streamq_producer *p;
    streamq_result commit, abort;
};

static void *commit_elsewhere(void *arg) {
    struct xarg *x = arg;
    x->commit = streamq_producer_commit(x->p, NULL);
    x->abort = streamq_producer_abort(x->p);
    return NULL;
}

static void test_reservation_is_per_thread(void) {
    streamq_queue_config c = queue_config_defaults();
    c.capacity = 1 << 16;
    c.prefault = false;
    streamq_producer *p;
    streamq_consumer *q;
    OK(streamq_queue_create(&c, &p, &q));
    uint8_t *dst;
    OK(streamq_producer_reserve(p, 16, NULL, &dst));
    memset(dst, 7, 16);
    struct xarg x = {p, STREAMQ_RESULT_OK, STREAMQ_RESULT_OK};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, commit_elsewhere, &x) == 0);
    pthread_join(t, NULL);
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, x.commit);
    EXPECT(STREAMQ_RESULT_NO_RESERVATION, x.abort);
    uint64_t seq = 9;
    OK(streamq_producer_commit(p, &seq));
    CHECK(seq == 0);
    streamq_producer_free(p);
    streamq_consumer_free(q);
}

/* ------------------------------------ writer: a thread per stream, callbacks -- */

enum { DEPTH_N = 60, DEPTH_LEN = 64 * 1024, COLOR_N = 40, COLOR_LEN = 96 * 1024, IMU_N = 3000, IMU_LEN = 32 };

static uint8_t pattern(int stream, uint64_t seq, size_t i) {
    return (uint8_t)((i * 31u) ^ (seq * 7u) ^ (uint64_t)stream * 101u);
}

struct stream_arg {
    streamq_producer *s;
    int stream, n;
    size_t len;
    uint64_t period_ns;
    int use_reserve;
    int failures;
    pthread_t self;
};

static void *stream_producer(void *arg) {
    struct stream_arg *a = arg;
    a->self = pthread_self();
    uint8_t *frame = malloc(a->len);
    for (int k = 0; k < a->n; k++) {
        uint64_t seq = 0, ts = (uint64_t)k * a->period_ns + (uint64_t)a->stream;
        if (a->use_reserve) {
            uint8_t *dst = NULL;
            if (streamq_producer_reserve(a->s, a->len, AT(ts), &dst) != STREAMQ_RESULT_OK) {
                a->failures++;
                continue;
            }
            for (size_t i = 0; i < a->len; i++) dst[i] = pattern(a->stream, (uint64_t)k, i);
            if (streamq_producer_commit(a->s, &seq) != STREAMQ_RESULT_OK) a->failures++;
        } else {
            for (size_t i = 0; i < a->len; i++) frame[i] = pattern(a->stream, (uint64_t)k, i);
            if (streamq_producer_push(a->s, frame, a->len, AT(ts), &seq) != STREAMQ_RESULT_OK) a->failures++;
        }
        if (seq != (uint64_t)k) a->failures++;
    }
    free(frame);
    return NULL;
}

struct wlog {
    pthread_mutex_t mu;
    int durable, segments, errors, durable_bad_name;
    uint64_t durable_max[3];
    pthread_t cb_thread;
    int cb_thread_set, cb_thread_changed;
};

static void note_thread(struct wlog *l) {
    if (!l->cb_thread_set) {
        l->cb_thread = pthread_self();
        l->cb_thread_set = 1;
    } else if (!pthread_equal(l->cb_thread, pthread_self())) {
        l->cb_thread_changed = 1;
    }
}

static const char *const stream_names[3] = {"depth", "color", "imu"};

static void w_durable(void *user, const streamq_durable *d) {
    struct wlog *l = user;
    pthread_mutex_lock(&l->mu);
    note_thread(l);
    l->durable++;
    /* The engine names the stream in every durable mark. */
    if (d->stream_id >= 3 || strcmp(d->stream_name, stream_names[d->stream_id]) != 0) l->durable_bad_name++;
    if (d->stream_id < 3 && d->seq > l->durable_max[d->stream_id]) l->durable_max[d->stream_id] = d->seq;
    pthread_mutex_unlock(&l->mu);
}

static void w_segment(void *user, const streamq_segment_info *info) {
    struct wlog *l = user;
    pthread_mutex_lock(&l->mu);
    note_thread(l);
    if (info->path && info->bytes > 0) l->segments++;
    pthread_mutex_unlock(&l->mu);
}

static void w_error(void *user, streamq_result code, const char *msg) {
    struct wlog *l = user;
    (void)code;
    (void)msg;
    pthread_mutex_lock(&l->mu);
    l->errors++;
    pthread_mutex_unlock(&l->mu);
}

static void test_writer_threads(void) {
    char dir[] = "/tmp/streamq-ct-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/threads.sqcap", dir);
    struct wlog log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = path;
    wc.fsync_policy = STREAMQ_FSYNC_EVERY_BYTES;
    wc.fsync_interval = 1 << 20;
    wc.on_durable = w_durable;
    wc.on_segment = w_segment;
    wc.on_error = w_error;
    wc.callback_user = &log;
    streamq_writer *w;
    OK(streamq_writer_create(&wc, &w));

    const char *names[3] = {"depth", "color", "imu"};
    int ns[3] = {DEPTH_N, COLOR_N, IMU_N};
    size_t lens[3] = {DEPTH_LEN, COLOR_LEN, IMU_LEN};
    uint64_t periods[3] = {33333333, 33333333, 625000};
    streamq_policy policies[3] = {STREAMQ_POLICY_BLOCK, STREAMQ_POLICY_BLOCK, STREAMQ_POLICY_BLOCK};
    struct stream_arg args[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        streamq_stream_config sc = stream_config_defaults();
        sc.name = names[i];
        sc.queue.capacity = i == 2 ? (1 << 16) : (2 << 20);
        sc.queue.policy = (uint32_t)policies[i];
        sc.queue.prefault = false;
        streamq_producer *s = NULL;
        OK(streamq_writer_add_stream(w, &sc, &s));
        args[i] = (struct stream_arg){s, i, ns[i], lens[i], periods[i], i == 0, 0, pthread_self()};
    }
    /* Flush and reports from the main thread while the producers run. */
    for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&th[i], NULL, stream_producer, &args[i]) == 0);
    for (int k = 0; k < 5; k++) {
        streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
        OK(streamq_writer_get_report(w, &rep));
        OK(streamq_writer_flush(w));
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].failures == 0);
    }
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    CHECK(rep.frames_written == DEPTH_N + COLOR_N + IMU_N && rep.frames_failed == 0);
    CHECK(rep.frames_dropped_newest + rep.frames_dropped_oldest == 0 && rep.streams == 3);
    for (int i = 0; i < 3; i++) {
        streamq_stream_report sr = {.struct_size = sizeof(streamq_stream_report)};
        OK(streamq_writer_stream_report(w, (size_t)i, &sr));
        CHECK(strcmp(sr.name, names[i]) == 0 && sr.frames_written == (uint64_t)ns[i]);
        CHECK(sr.has_durable_seq && sr.durable_seq == (uint64_t)ns[i] - 1);
        streamq_producer_free(args[i].s);
    }
    /* Callbacks: on one thread (the writer's), neither main nor a producer. */
    CHECK(log.durable >= 3 && log.segments == 1 && log.errors == 0 && !log.cb_thread_changed);
    CHECK(log.durable_bad_name == 0);
    CHECK(log.cb_thread_set && !pthread_equal(log.cb_thread, pthread_self()));
    for (int i = 0; i < 3; i++) {
        CHECK(!pthread_equal(log.cb_thread, args[i].self));
        CHECK(log.durable_max[i] == (uint64_t)ns[i] - 1);
    }
    streamq_writer_free(w);

    /* Read back: every stream bit-exact, no holes, merged in timestamp order. */
    streamq_reader *r;
    OK(streamq_reader_open(path, &r));
    for (int i = 0; i < 3; i++) {
        OK(streamq_reader_iter_stream(r, (uint16_t)i));
        streamq_reader_frame f = {.struct_size = sizeof(streamq_reader_frame)};
        uint64_t expect = 0;
        while (streamq_reader_next(r, &f) == STREAMQ_RESULT_OK) {
            CHECK(f.seq == expect && f.len == lens[i]);
            int bad = 0;
            for (size_t j = 0; j < f.len; j++) bad |= f.data[j] != pattern(i, f.seq, j);
            CHECK(!bad);
            expect++;
        }
        CHECK(expect == (uint64_t)ns[i]);
    }
    OK(streamq_reader_iter_time(r));
    streamq_reader_frame f = {.struct_size = sizeof(streamq_reader_frame)};
    uint64_t last = 0, n = 0;
    while (streamq_reader_next(r, &f) == STREAMQ_RESULT_OK) {
        CHECK(f.device_ts_ns >= last);
        last = f.device_ts_ns;
        n++;
    }
    CHECK(n == DEPTH_N + COLOR_N + IMU_N);
    streamq_verify_report vr = {.struct_size = sizeof(streamq_verify_report)};
    OK(streamq_reader_verify(r, &vr));
    CHECK(vr.ok);
    streamq_reader_free(r);
    unlink(path);
    rmdir(dir);
    pthread_mutex_destroy(&log.mu);
}

/* ------------------- one stream handle shared by several threads, drop-oldest next door -- */

struct shared_arg {
    streamq_producer *s;
    int failures;
};

static void *push_shared(void *arg) {
    struct shared_arg *a = arg;
    uint8_t sample[64] = {0};
    for (int i = 0; i < 500; i++) {
        if (streamq_producer_push(a->s, sample, sizeof sample, NULL, NULL) != STREAMQ_RESULT_OK) a->failures++;
    }
    return NULL;
}

static void *push_dropping(void *arg) {
    struct shared_arg *a = arg;
    uint8_t big[8192] = {0};
    for (int i = 0; i < 500; i++) {
        streamq_result r = streamq_producer_push(a->s, big, sizeof big, NULL, NULL);
        if (r != STREAMQ_RESULT_OK && r != STREAMQ_RESULT_DROPPED) a->failures++;
    }
    return NULL;
}

static void test_stream_handle_shared(void) {
    char dir[] = "/tmp/streamq-cs-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/shared.sqcap", dir);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = path;
    streamq_writer *w;
    OK(streamq_writer_create(&wc, &w));
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "imu";
    sc.queue.capacity = 1 << 16;
    sc.queue.prefault = false;
    streamq_producer *imu, *preview;
    OK(streamq_writer_add_stream(w, &sc, &imu));
    sc.name = "preview";
    sc.queue.policy = STREAMQ_POLICY_DROP_OLDEST;
    OK(streamq_writer_add_stream(w, &sc, &preview));
    struct shared_arg a[4] = {{imu, 0}, {imu, 0}, {imu, 0}, {preview, 0}};
    pthread_t t[4];
    for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, push_shared, &a[i]) == 0);
    REQUIRE(pthread_create(&t[3], NULL, push_dropping, &a[3]) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].failures == 0);
    }
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &rep));
    streamq_stream_report sr = {.struct_size = sizeof(streamq_stream_report)};
    OK(streamq_writer_stream_report(w, 0, &sr));
    CHECK(sr.frames_written == 1500 && sr.frames_dropped_newest + sr.frames_dropped_oldest == 0);
    OK(streamq_writer_stream_report(w, 1, &sr));
    CHECK(sr.frames_written + sr.frames_dropped_newest + sr.frames_dropped_oldest + sr.frames_failed == 500);
    streamq_producer_free(imu);
    streamq_producer_free(preview);
    streamq_writer_free(w);
    /* Gap records in the file account for every drop of the preview stream. */
    streamq_reader *r;
    OK(streamq_reader_open(path, &r));
    streamq_stream_info si = {.struct_size = sizeof(streamq_stream_info)};
    OK(streamq_reader_stream(r, 1, &si));
    CHECK(si.frames + si.dropped == 500);
    streamq_reader_free(r);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    test_shared_producer();
    test_reservation_is_per_thread();
    test_writer_threads();
    test_stream_handle_shared();
    return check_report("test_threads");
}
