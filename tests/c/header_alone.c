/* The header compiles on its own (nothing included before it), as C and as C++. */
#include "streamq.h"

int streamq_header_alone_check(void);
int streamq_header_alone_check(void) {
    streamq_queue_config c;
    if (STREAMQ_QUEUE_CONFIG_INIT(&c) != STREAMQ_RESULT_OK) return -1;
    streamq_queue_stats st;
    STREAMQ_OUTPUT_INIT(&st);
    return (int)c.policy + STREAMQ_VERSION_NUMBER + (int)STREAMQ_RESULT_OK + (int)st.struct_size;
}
