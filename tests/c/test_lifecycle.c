/* Every handle type through every call after its own close, after the close of the handle
 * it belongs to, and after that handle was freed (where it outlives it), each result
 * checked against what include/streamq.h says:
 *
 *   streamq_producer (queue)   own close | consumer closed | consumer freed
 *   streamq_producer (stream)  own close | writer closed   | writer freed
 *   streamq_consumer           own close | producer closed | producer freed
 *   streamq_writer             own close (it belongs to nothing; its producers outlive it)
 *
 * streamq_reader and streamq_interrupt have no close and belong to nothing: every call
 * on them works until their own _free (test_api.c, test_wrapper.cpp). Built with
 * ASan/UBSan and run under valgrind. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[64];
static const char *scenario = "";

/* EXPECT, naming the scenario. */
#define EXPECTS(want, call)                                                             \
    do {                                                                                \
        int before_ = check_failures;                                                   \
        EXPECT(want, call);                                                             \
        if (check_failures != before_) printf("  (scenario: %s)\n", scenario);          \
    } while (0)
#define CHECKS(cond)                                                                    \
    do {                                                                                \
        int before_ = check_failures;                                                   \
        CHECK(cond);                                                                    \
        if (check_failures != before_) printf("  (scenario: %s)\n", scenario);          \
    } while (0)

static streamq_queue_config small_queue(void) {
    streamq_queue_config c = queue_config_defaults();
    c.capacity = 1 << 16;
    c.prefault = false;
    return c;
}

/* ----------------------------------------------------------------- producers -- */

struct producer_expect {
    streamq_result push;           /* push and reserve */
    streamq_result close;          /* the first close in the walk */
    streamq_result stream_id;      /* OK or NOT_A_STREAM */
    streamq_result durable_seq;    /* OK, NOT_FOUND or NOT_A_STREAM */
    uint64_t durable;              /* with OK */
    streamq_result wait_below_low; /* OK (level only falls) or CLOSED (other side gone) */
};

/* Every streamq_producer_* call; close last (then again: CLOSED). */
static void walk_producer(streamq_producer *p, struct producer_expect e) {
    uint64_t seq = 77;
    EXPECTS(e.push, streamq_producer_push(p, (const uint8_t *)"x", 1, NULL, &seq));
    EXPECTS(e.push, streamq_producer_push(p, (const uint8_t *)"x", 1, NO_WAIT, &seq));
    EXPECTS(e.push, streamq_producer_push(p, (const uint8_t *)"x", 1, AT(5), &seq));
    CHECKS(seq == 77); /* outputs untouched on failure */
    uint8_t *dst = (uint8_t *)&seq;
    EXPECTS(e.push, streamq_producer_reserve(p, 4, NULL, &dst));
    EXPECTS(e.push, streamq_producer_reserve(p, 4, WAIT(STREAMQ_WAIT_FOREVER, 0), &dst));
    CHECKS(dst == (uint8_t *)&seq);
    EXPECTS(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_commit(p, &seq));
    EXPECTS(STREAMQ_RESULT_NO_RESERVATION, streamq_producer_abort(p));
    CHECKS(seq == 77);

    uint16_t id = 999;
    EXPECTS(e.stream_id, streamq_producer_stream_id(p, &id));
    CHECKS(e.stream_id == STREAMQ_RESULT_OK ? id == 0 : id == 999);
    uint64_t durable = 12345;
    EXPECTS(e.durable_seq, streamq_producer_durable_seq(p, &durable));
    CHECKS(e.durable_seq == STREAMQ_RESULT_OK ? durable == e.durable : durable == 12345);

    size_t max = 0;
    OK(streamq_producer_max_frame_len(p, &max));
    CHECKS(max > 0);
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    OK(streamq_producer_stats(p, &st));
    CHECKS(st.frames_pushed >= 1);
    bool above = true;
    OK(streamq_producer_above_high_water(p, &above));
    CHECKS(!above);
    CHECKS(streamq_producer_water_mark_fd(p) >= 0);
    OK(streamq_producer_clear_water_mark_event(p));
    EXPECTS(e.wait_below_low, streamq_producer_wait_below_low(p, 0, NULL));
    EXPECTS(e.wait_below_low, streamq_producer_wait_below_low(p, -1, NULL)); /* returns at once */

    EXPECTS(e.close, streamq_producer_close(p));
    EXPECTS(STREAMQ_RESULT_CLOSED, streamq_producer_close(p));
    EXPECTS(STREAMQ_RESULT_CLOSED, streamq_producer_push(p, (const uint8_t *)"x", 1, NULL, NULL));
}

static const struct producer_expect queue_closed_by_consumer = {
    .push = STREAMQ_RESULT_CLOSED,
    .close = STREAMQ_RESULT_CLOSED, /* the stream had already ended */
    .stream_id = STREAMQ_RESULT_NOT_A_STREAM,
    .durable_seq = STREAMQ_RESULT_NOT_A_STREAM,
    .wait_below_low = STREAMQ_RESULT_CLOSED,
};

static void test_queue_producer(void) {
    streamq_queue_config c = small_queue();
    streamq_producer *p;
    streamq_consumer *q;

    scenario = "queue producer after its own close";
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    OK(streamq_producer_close(p));
    walk_producer(p, (struct producer_expect){
                         .push = STREAMQ_RESULT_CLOSED,
                         .close = STREAMQ_RESULT_CLOSED,
                         .stream_id = STREAMQ_RESULT_NOT_A_STREAM,
                         .durable_seq = STREAMQ_RESULT_NOT_A_STREAM,
                         .wait_below_low = STREAMQ_RESULT_OK, /* the consumer is still there */
                     });
    streamq_producer_free(p);
    streamq_consumer_free(q);

    scenario = "queue producer after its consumer's close";
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    OK(streamq_consumer_close(q));
    walk_producer(p, queue_closed_by_consumer);
    streamq_producer_free(p);
    streamq_consumer_free(q);

    scenario = "queue producer after its consumer's free";
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    streamq_consumer_free(q);
    walk_producer(p, queue_closed_by_consumer);
    streamq_producer_free(p);
}

/* A writer with one stream "s" that has one frame pushed. */
static streamq_writer *writer_with_stream(const char *name, streamq_producer **s) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s.sqcap", tmpdir, name);
    streamq_writer_config wc = writer_config_defaults();
    wc.path = path;
    streamq_writer *w = NULL;
    OK(streamq_writer_create(&wc, &w));
    REQUIRE(w != NULL);
    streamq_stream_config sc = stream_config_defaults();
    sc.name = "s";
    sc.queue.capacity = 1 << 16;
    sc.queue.prefault = false;
    *s = NULL;
    OK(streamq_writer_add_stream(w, &sc, s));
    REQUIRE(*s != NULL);
    OK(streamq_producer_push(*s, (const uint8_t *)"frame", 5, NULL, NULL));
    return w;
}

static const struct producer_expect stream_ended_by_writer = {
    .push = STREAMQ_RESULT_CLOSED,
    .close = STREAMQ_RESULT_CLOSED, /* the writer ended the stream first (the old bug: OK) */
    .stream_id = STREAMQ_RESULT_OK,
    .durable_seq = STREAMQ_RESULT_OK, /* the final value: the close synced frame 0 */
    .durable = 0,
    .wait_below_low = STREAMQ_RESULT_CLOSED,
};

static void test_stream_producer(void) {
    streamq_producer *s;
    streamq_writer *w;

    scenario = "stream producer after its own close";
    w = writer_with_stream("own", &s);
    OK(streamq_producer_close(s));
    walk_producer(s, (struct producer_expect){
                         .push = STREAMQ_RESULT_CLOSED,
                         .close = STREAMQ_RESULT_CLOSED,
                         .stream_id = STREAMQ_RESULT_OK,
                         .durable_seq = STREAMQ_RESULT_NOT_FOUND, /* fsync on close: not yet */
                         .wait_below_low = STREAMQ_RESULT_OK,
                     });
    OK(streamq_writer_close(w, NULL));
    uint64_t d = 99;
    OK(streamq_producer_durable_seq(s, &d));
    CHECKS(d == 0);
    streamq_producer_free(s);
    streamq_writer_free(w);

    scenario = "stream producer after its writer's close";
    w = writer_with_stream("closed", &s);
    OK(streamq_writer_close(w, NULL));
    walk_producer(s, stream_ended_by_writer);
    streamq_producer_free(s);
    streamq_writer_free(w);

    scenario = "stream producer after its writer's free";
    w = writer_with_stream("freed", &s);
    streamq_writer_free(w); /* closes the writer; the producer outlives it */
    walk_producer(s, stream_ended_by_writer);
    streamq_producer_free(s);

    scenario = "stream producer freed after its writer's free, no close anywhere";
    w = writer_with_stream("plain", &s);
    streamq_writer_free(w);
    streamq_producer_free(s);
}

/* ----------------------------------------------------------------- consumer -- */

struct consumer_expect {
    streamq_result take;    /* pop, pop_batch, peek, peek_batch */
    streamq_result held;    /* batch_frame, release */
    streamq_result close;   /* the first close in the walk */
};

/* Every streamq_consumer_* call; close last (then again: CLOSED). */
static void walk_consumer(streamq_consumer *q, struct consumer_expect e) {
    uint8_t buf[64];
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};
    f.seq = 4242;
    streamq_frame frames[2] = {{.struct_size = sizeof(streamq_frame)}};
    size_t count = 31;
    EXPECTS(e.take, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
    EXPECTS(e.take, streamq_consumer_pop(q, buf, sizeof buf, -1, &f)); /* no wait either way */
    EXPECTS(e.take, streamq_consumer_pop_batch(q, buf, sizeof buf, frames, 2, -1, &count));
    EXPECTS(e.take, streamq_consumer_peek(q, -1, &f));
    EXPECTS(e.take, streamq_consumer_peek_batch(q, 4, 1000, -1, &count));
    CHECKS(f.seq == 4242 && count == 31);
    EXPECTS(e.held, streamq_consumer_batch_frame(q, 0, &f));
    EXPECTS(e.held, streamq_consumer_release(q));
    CHECKS(f.seq == 4242);
    streamq_queue_stats st = {.struct_size = sizeof(streamq_queue_stats)};
    OK(streamq_consumer_stats(q, &st));
    CHECKS(st.frames_pushed >= 1);
    EXPECTS(e.close, streamq_consumer_close(q));
    EXPECTS(STREAMQ_RESULT_CLOSED, streamq_consumer_close(q));
    EXPECTS(STREAMQ_RESULT_CLOSED, streamq_consumer_pop(q, buf, sizeof buf, 0, &f));
}

static const struct consumer_expect consumer_after_end = {
    .take = STREAMQ_RESULT_END_OF_STREAM,
    .held = STREAMQ_RESULT_NOT_FOUND,
    .close = STREAMQ_RESULT_OK,
};

static void test_consumer(void) {
    streamq_queue_config c = small_queue();
    streamq_producer *p;
    streamq_consumer *q;
    uint8_t buf[64];
    streamq_frame f = {.struct_size = sizeof(streamq_frame)};

    scenario = "consumer after its own close";
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    OK(streamq_consumer_peek(q, 0, &f)); /* held frames are released by the close */
    OK(streamq_consumer_close(q));
    walk_consumer(q, (struct consumer_expect){
                         .take = STREAMQ_RESULT_CLOSED,
                         .held = STREAMQ_RESULT_CLOSED,
                         .close = STREAMQ_RESULT_CLOSED,
                     });
    streamq_consumer_free(q);
    streamq_producer_free(p);

    scenario = "consumer after its producer's close";
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    OK(streamq_producer_close(p));
    OK(streamq_consumer_pop(q, buf, sizeof buf, -1, &f)); /* drains what was queued */
    CHECKS(f.len == 1 && buf[0] == 'a');
    walk_consumer(q, consumer_after_end);
    streamq_consumer_free(q);
    streamq_producer_free(p);

    scenario = "consumer after its producer's free";
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"a", 1, NULL, NULL));
    streamq_producer_free(p);
    OK(streamq_consumer_pop(q, buf, sizeof buf, -1, &f));
    walk_consumer(q, consumer_after_end);
    streamq_consumer_free(q);
}

/* ------------------------------------------------------------------- writer -- */

static void test_writer(void) {
    scenario = "writer after its own close";
    streamq_producer *s;
    streamq_writer *w = writer_with_stream("writer", &s);
    streamq_writer_report first = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_close(w, &first));
    CHECKS(first.frames_written == 1 && first.streams == 1);

    streamq_stream_config sc = stream_config_defaults();
    sc.name = "late";
    streamq_producer *late = (streamq_producer *)&sc;
    EXPECTS(STREAMQ_RESULT_CLOSED, streamq_writer_add_stream(w, &sc, &late));
    CHECKS(late == (streamq_producer *)&sc);
    EXPECTS(STREAMQ_RESULT_CLOSED, streamq_writer_flush(w));
    /* Idempotent: the same result and the same report, every time. */
    for (int i = 0; i < 2; i++) {
        streamq_writer_report again = {.struct_size = sizeof(streamq_writer_report)};
        OK(streamq_writer_close(w, &again));
        CHECKS(again.frames_written == first.frames_written && again.bytes_written == first.bytes_written &&
               again.seconds == first.seconds);
    }
    OK(streamq_writer_close(w, NULL));
    streamq_writer_report rep = {.struct_size = sizeof(streamq_writer_report)};
    OK(streamq_writer_get_report(w, &rep));
    CHECKS(rep.frames_written == 1 && rep.seconds == first.seconds); /* final, not live */
    streamq_stream_report sr = {.struct_size = sizeof(streamq_stream_report)};
    OK(streamq_writer_stream_report(w, 0, &sr));
    CHECKS(strcmp(sr.name, "s") == 0 && sr.frames_written == 1 && sr.has_durable_seq && sr.durable_seq == 0);
    EXPECTS(STREAMQ_RESULT_NOT_FOUND, streamq_writer_stream_report(w, 1, &sr));
    streamq_writer_free(w);
    streamq_producer_free(s);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/streamq-life-XXXXXX");
    REQUIRE(mkdtemp(tmpdir) != NULL);
    test_queue_producer();
    test_stream_producer();
    test_consumer();
    test_writer();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("warning: could not remove %s\n", tmpdir);
    return check_report("test_lifecycle");
}
