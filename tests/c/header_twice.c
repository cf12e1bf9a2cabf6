/* Including the header twice is harmless (include guard). */
#include "streamq.h"
#include "streamq.h"

int streamq_header_twice_check(void);
int streamq_header_twice_check(void) {
    return (int)STREAMQ_POLICY_DROP_OLDEST + (int)STREAMQ_SINK_DIRECTORY + (int)STREAMQ_FSYNC_ALWAYS + (int)STREAMQ_WAIT_FOREVER;
}
