// The C++ wrapper compiles on its own, and twice.
#include "streamq.hpp"
#include "streamq.hpp"

int streamq_wrapper_alone_check();
int streamq_wrapper_alone_check() { return static_cast<int>(streamq::version_number() > 0); }
