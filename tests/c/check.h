/* Tiny test helpers shared by the C tests.
 *
 * The tests print on stdout only: stderr is kept for the library, which must never write
 * there (tests/c/Makefile fails a test whose stderr is not empty). */
#ifndef STREAMQ_TEST_CHECK_H
#define STREAMQ_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamq.h"

static int check_failures = 0;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            printf("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
            fflush(stdout);                                                             \
            check_failures++;                                                           \
        }                                                                               \
    } while (0)

/* Expect a result code; print both names and the last error on mismatch. */
#define EXPECT(want, call)                                                              \
    do {                                                                                \
        streamq_result got_ = (call);                                                   \
        if (got_ != (want)) {                                                           \
            char msg_[512];                                                             \
            streamq_last_error(msg_, sizeof msg_);                                      \
            printf("%s:%d: %s\n  returned %d (%s), expected %d (%s)\n  last error: %s\n", \
                   __FILE__, __LINE__, #call, (int)got_, streamq_result_str((int)got_), \
                   (int)(want), streamq_result_str((int)(want)), msg_);                 \
            fflush(stdout);                                                             \
            check_failures++;                                                           \
        }                                                                               \
    } while (0)

#define OK(call) EXPECT(STREAMQ_RESULT_OK, call)

/* Abort the test binary at once (a precondition for the rest failed). */
#define REQUIRE(cond)                                                                   \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            printf("%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);           \
            fflush(stdout);                                                             \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static int check_report(const char *name) {
    if (check_failures) {
        printf("%s: %d check(s) FAILED\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

/* Configs filled with the library's defaults (by value: same header, same size). */
static inline streamq_queue_config queue_config_defaults(void) {
    streamq_queue_config c;
    REQUIRE(STREAMQ_QUEUE_CONFIG_INIT(&c) == STREAMQ_RESULT_OK);
    return c;
}

static inline streamq_stream_config stream_config_defaults(void) {
    streamq_stream_config c;
    REQUIRE(STREAMQ_STREAM_CONFIG_INIT(&c) == STREAMQ_RESULT_OK);
    return c;
}

static inline streamq_writer_config writer_config_defaults(void) {
    streamq_writer_config c;
    REQUIRE(STREAMQ_WRITER_CONFIG_INIT(&c) == STREAMQ_RESULT_OK);
    return c;
}

/* Push options as compound literals (C only): a device timestamp, or a wait. All other
 * fields are 0, which is their default. */
#define AT(ts)                                                                          \
    (&(streamq_push_options){.struct_size = sizeof(streamq_push_options),               \
                             .has_device_ts = true,                                     \
                             .device_ts_ns = (ts)})
#define WAIT(mode, ms)                                                                  \
    (&(streamq_push_options){.struct_size = sizeof(streamq_push_options),               \
                             .wait = (uint32_t)(mode),                                  \
                             .timeout_ms = (ms)})
/* The old `timeout_ms` convention (negative: for ever, 0: never, else at most that). */
#define WITHIN(ms)                                                                      \
    ((ms) < 0 ? WAIT(STREAMQ_WAIT_FOREVER, 0)                                           \
              : (ms) == 0 ? WAIT(STREAMQ_WAIT_NEVER, 0) : WAIT(STREAMQ_WAIT_TIMEOUT, (uint64_t)(ms)))
#define NO_WAIT WAIT(STREAMQ_WAIT_NEVER, 0)

#endif
