/* The C half of `make -C tests/c bench-c`: pushes 900 KiB frames through a 64 MiB queue
 * drained by a consumer thread (zero-copy batches), exactly as
 * bench/programs/src/bin/push_baseline.rs does with the Rust API, and prints `MBps <figure>`. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamq.h"

enum { FRAME = 900 << 10 };

static void *drain(void *arg) {
    streamq_consumer *q = arg;
    size_t count;
    unsigned long long *bytes = calloc(1, sizeof *bytes);
    for (;;) {
        streamq_result r = streamq_consumer_peek_batch(q, 16, SIZE_MAX, -1, &count);
        if (r == STREAMQ_RESULT_END_OF_STREAM) break;
        if (r != STREAMQ_RESULT_OK) {
            fprintf(stderr, "peek_batch: %s\n", streamq_result_str(r));
            exit(1);
        }
        for (size_t i = 0; i < count; i++) {
            streamq_frame f;
            STREAMQ_OUTPUT_INIT(&f);
            streamq_consumer_batch_frame(q, i, &f);
            *bytes += f.len;
        }
        streamq_consumer_release(q);
    }
    return bytes;
}

int main(int argc, char **argv) {
    long frames = argc > 1 ? atol(argv[1]) : 2000;
    streamq_queue_config c;
    if (STREAMQ_QUEUE_CONFIG_INIT(&c) != STREAMQ_RESULT_OK) return 1;
    c.capacity = 64u << 20;
    c.policy = STREAMQ_POLICY_BLOCK;
    streamq_producer *p;
    streamq_consumer *q;
    if (streamq_queue_create(&c, &p, &q) != STREAMQ_RESULT_OK) return 1;
    uint8_t *frame = malloc(FRAME);
    memset(frame, 0x5a, FRAME);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t t;
    pthread_create(&t, NULL, drain, q);
    for (long i = 0; i < frames; i++) {
        if (streamq_producer_push(p, frame, FRAME, NULL, NULL) != STREAMQ_RESULT_OK) return 1;
    }
    streamq_producer_close(p);
    void *res;
    pthread_join(t, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    unsigned long long bytes = *(unsigned long long *)res;
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (bytes != (unsigned long long)frames * FRAME) return 1;
    printf("MBps %.1f\n", (double)bytes / 1e6 / secs);
    free(res);
    free(frame);
    streamq_producer_free(p);
    streamq_consumer_free(q);
    return 0;
}
