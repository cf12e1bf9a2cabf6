/* Test-only symbols of libstreamq: present only in a library built with the ffi crate's
 * `testing` cargo feature (tests/c/Makefile builds one for the tests that need it), and
 * never declared in the public include/streamq.h. */
#ifndef STREAMQ_TESTING_H
#define STREAMQ_TESTING_H

#include "streamq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Panics inside the library's boundary wrapper and returns what the wrapper made of it:
 * STREAMQ_RESULT_PANIC, the panic's message in streamq_last_error(), nothing printed. */
enum streamq_result streamq_debug_panic(void);

#ifdef __cplusplus
}
#endif

#endif
