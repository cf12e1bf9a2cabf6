/* The header compiles on its own (nothing included before it), as C and as C++. */
#include "streamq.h"

int streamq_header_alone_check(void);
int streamq_header_alone_check(void) {
    streamq_queue_config c = streamq_queue_config_default();
    return (int)c.policy + STREAMQ_VERSION_NUMBER + (int)STREAMQ_RESULT_OK;
}
