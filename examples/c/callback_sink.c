/* callback_sink: frames sent over a socket by a user callback sink (STREAMQ_SINK_CALLBACK).
 *
 * A camera thread pushes frames into a writer stream; instead of a file, the writer
 * thread hands every frame (and every gap, had the policy dropped any) to `send_event`,
 * which sends it over a stream socket with a small header: the shape of a network
 * uplink or a custom container format. The time the callback takes is the write, so a
 * slow link fills the stream's ring and the producer meets its overflow policy, as with
 * a slow disk. A receiver thread on the other end reads the messages back and checks
 * each frame's sequence number and checksum. If sending fails, the callback returns the
 * errno with a message: the writer stops cleanly and the camera's next push, flush and
 * close all report it.
 *
 *   callback_sink [--frames N] [--frame-size BYTES]
 *
 * Build: cc -std=c11 callback_sink.c $(pkg-config --cflags --libs streamq) -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "streamq.h"

static void die(const char *what, streamq_result r) {
    char msg[512];
    streamq_last_error(msg, sizeof msg);
    fprintf(stderr, "callback_sink: %s failed: %s (%s)\n", what, streamq_result_str((int)r), msg);
    exit(1);
}

#define TRY(call)                                      \
    do {                                               \
        streamq_result r_ = (call);                    \
        if (r_ != STREAMQ_RESULT_OK) die(#call, r_);   \
    } while (0)

/* On the wire: a header, then `len` payload bytes (frames only). */
struct wire_header {
    uint32_t kind; /* 0 frame, 1 gap */
    uint32_t len;
    uint64_t seq;  /* frame: its seq; gap: first dropped seq */
    uint64_t arg;  /* frame: FNV-1a of the payload; gap: number of frames dropped */
};

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int send_all(int fd, const void *buf, size_t len) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The sink: runs on the writer thread, one event at a time. */
static int send_event(void *user, const streamq_sink_event *ev, char *message, size_t message_len) {
    int fd = *(const int *)user;
    struct wire_header h;
    memset(&h, 0, sizeof h);
    const uint8_t *payload = NULL;
    if (ev->kind == STREAMQ_SINK_EVENT_KIND_FRAME) {
        const streamq_sink_frame *f = ev->frame;
        h.kind = 0;
        h.len = (uint32_t)f->len;
        h.seq = f->seq;
        h.arg = fnv1a(f->data, f->len);
        payload = f->data;
    } else {
        h.kind = 1;
        h.seq = ev->gap->first_seq;
        h.arg = ev->gap->count;
    }
    if (send_all(fd, &h, sizeof h) != 0 || (h.len > 0 && send_all(fd, payload, h.len) != 0)) {
        int e = errno;
        snprintf(message, message_len, "send to the receiver: %s", strerror(e));
        return e ? e : -1;
    }
    return 0;
}

struct receiver {
    int fd;
    uint64_t frames, gaps, dropped, bytes, bad;
    size_t max_len;
};

static int recv_all(int fd, void *buf, size_t len) {
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *receive(void *arg) {
    struct receiver *r = arg;
    uint8_t *buf = malloc(r->max_len ? r->max_len : 1);
    uint64_t next = 0;
    struct wire_header h;
    while (buf && recv_all(r->fd, &h, sizeof h) == 0) {
        if (h.kind == 1) {
            if (h.seq != next) r->bad++;
            r->gaps++;
            r->dropped += h.arg;
            next = h.seq + h.arg;
            continue;
        }
        if (h.len > r->max_len || recv_all(r->fd, buf, h.len) != 0) {
            r->bad++;
            break;
        }
        if (h.seq != next || fnv1a(buf, h.len) != h.arg) r->bad++;
        next = h.seq + 1;
        r->frames++;
        r->bytes += h.len;
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv) {
    int frames = 300;
    size_t frame_size = 64 << 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc) frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--frame-size") && i + 1 < argc) frame_size = (size_t)strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--frames N] [--frame-size BYTES]\n", argv[0]);
            return 2;
        }
    }
    if (frames < 1 || frame_size < 8) {
        fprintf(stderr, "callback_sink: need at least 1 frame of at least 8 bytes\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("socketpair");
        return 1;
    }
    struct receiver rx = {.fd = sv[1], .max_len = frame_size};
    pthread_t rx_thread;
    if (pthread_create(&rx_thread, NULL, receive, &rx) != 0) return 1;

    streamq_writer_config wc;
    TRY(STREAMQ_WRITER_CONFIG_INIT(&wc));
    wc.sink = STREAMQ_SINK_CALLBACK; /* path stays NULL */
    wc.sink_fn = send_event;
    wc.callback_user = &sv[0];
    streamq_writer *w = NULL;
    TRY(streamq_writer_create(&wc, &w));
    streamq_stream_config sc;
    TRY(STREAMQ_STREAM_CONFIG_INIT(&sc));
    sc.name = "depth";
    sc.media_type = "depth/u16";
    sc.queue.capacity = 8 * frame_size; /* the link's buffer: the producer waits when full */
    sc.queue.prefault = false;
    streamq_producer *depth = NULL;
    TRY(streamq_writer_add_stream(w, &sc, &depth));

    /* The "camera": fills each frame in place in the ring (no copy). */
    for (int n = 0; n < frames; n++) {
        uint8_t *dst = NULL;
        TRY(streamq_producer_reserve(depth, frame_size, NULL, &dst));
        for (size_t i = 0; i < frame_size; i++) dst[i] = (uint8_t)(i * 13 + (size_t)n);
        TRY(streamq_producer_commit(depth, NULL));
    }
    streamq_writer_report rep;
    STREAMQ_OUTPUT_INIT(&rep);
    TRY(streamq_writer_close(w, &rep));
    shutdown(sv[0], SHUT_WR); /* end of the messages: the receiver stops */
    pthread_join(rx_thread, NULL);
    printf("callback_sink: writer: %" PRIu64 " frames written, %" PRIu64 " dropped, %" PRIu64 " failed\n",
           rep.frames_written, rep.frames_dropped_newest + rep.frames_dropped_oldest, rep.frames_failed);
    printf("callback_sink: receiver: %" PRIu64 " frames (%" PRIu64 " bytes), %" PRIu64 " gap(s), %" PRIu64
           " bad message(s)\n",
           rx.frames, rx.bytes, rx.gaps, rx.bad);
    streamq_producer_free(depth);
    streamq_writer_free(w);
    close(sv[0]);
    close(sv[1]);
    int ok = rx.bad == 0 && rx.frames == rep.frames_written && rep.frames_written == (uint64_t)frames;
    if (!ok) fprintf(stderr, "callback_sink: the receiver did not get every frame intact\n");
    return ok ? 0 : 1;
}
