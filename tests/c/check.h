/* Tiny test helpers shared by the C tests. */
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
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
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
            fprintf(stderr, "%s:%d: %s\n  returned %d (%s), expected %d (%s)\n  last error: %s\n", \
                    __FILE__, __LINE__, #call, (int)got_, streamq_result_str((int)got_), \
                    (int)(want), streamq_result_str((int)(want)), msg_);                \
            check_failures++;                                                           \
        }                                                                               \
    } while (0)

#define OK(call) EXPECT(STREAMQ_RESULT_OK, call)

/* Abort the test binary at once (a precondition for the rest failed). */
#define REQUIRE(cond)                                                                   \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);  \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static int check_report(const char *name) {
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) FAILED\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
