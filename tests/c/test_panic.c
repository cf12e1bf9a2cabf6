/* A Rust panic inside the library reaches the C caller as STREAMQ_RESULT_PANIC with its
 * message in streamq_last_error() — and the library prints nothing: no panic message, no
 * backtrace (even with RUST_BACKTRACE=full), on the calling thread or another. stderr is
 * redirected to a file around the calls and must stay empty (tests/c/Makefile also
 * checks the whole run's stderr). Linked against the library built with the `testing`
 * feature (streamq_debug_panic is a test-only symbol, tests/c/streamq_testing.h). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "streamq_testing.h"

static char tmpfile_path[64];

/* Points fd 2 at a fresh temporary file; returns the saved original fd 2. */
static int capture_stderr(void) {
    snprintf(tmpfile_path, sizeof tmpfile_path, "/tmp/streamq-panic-XXXXXX");
    int fd = mkstemp(tmpfile_path);
    REQUIRE(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    REQUIRE(saved >= 0 && dup2(fd, 2) == 2);
    close(fd);
    return saved;
}

/* Restores fd 2; returns how many bytes were written to it meanwhile (and prints them on
 * stdout). */
static long restore_stderr(int saved) {
    fflush(stderr);
    REQUIRE(dup2(saved, 2) == 2);
    close(saved);
    struct stat st;
    REQUIRE(stat(tmpfile_path, &st) == 0);
    if (st.st_size > 0) {
        printf("the library wrote %ld bytes on stderr:\n", (long)st.st_size);
        FILE *f = fopen(tmpfile_path, "r");
        int c;
        while (f && (c = fgetc(f)) != EOF) putchar(c);
        if (f) fclose(f);
    }
    unlink(tmpfile_path);
    return (long)st.st_size;
}

static void *panic_on_a_thread(void *arg) {
    streamq_result *r = arg;
    *r = streamq_debug_panic();
    return NULL;
}

int main(void) {
    setenv("RUST_BACKTRACE", "full", 1); /* the default hook would print a backtrace */
    int saved = capture_stderr();
    streamq_result first = streamq_debug_panic();
    char msg[256];
    size_t n = streamq_last_error(msg, sizeof msg);
    streamq_result second = streamq_debug_panic();
    streamq_result on_thread = STREAMQ_RESULT_OK;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, panic_on_a_thread, &on_thread) == 0);
    pthread_join(t, NULL);
    /* A usual failure next to it prints nothing either. */
    streamq_result null_arg = streamq_queue_create(NULL, NULL, NULL);
    long written = restore_stderr(saved);

    EXPECT(STREAMQ_RESULT_PANIC, first);
    EXPECT(STREAMQ_RESULT_PANIC, second);
    EXPECT(STREAMQ_RESULT_PANIC, on_thread);
    EXPECT(STREAMQ_RESULT_NULL_POINTER, null_arg);
    CHECK(n > 0 && strstr(msg, "streamq_debug_panic") != NULL && strstr(msg, "was called") != NULL);
    CHECK(strstr(msg, "internal error (panic)") != NULL);
    CHECK(written == 0);
    /* The library still works after a caught panic. */
    streamq_queue_config c = queue_config_defaults();
    c.capacity = 1 << 16;
    c.prefault = false;
    streamq_producer *p = NULL;
    streamq_consumer *q = NULL;
    OK(streamq_queue_create(&c, &p, &q));
    OK(streamq_producer_push(p, (const uint8_t *)"ok", 2, NULL, NULL));
    streamq_producer_free(p);
    streamq_consumer_free(q);
    return check_report("test_panic");
}
