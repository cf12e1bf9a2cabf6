// The C++ RAII wrapper: results become exceptions, handles free themselves,
// reservations abort when not committed. Built with ASan/UBSan.
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "streamq.hpp"

static int failures = 0;
#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);    \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

template <typename F>
static streamq_result throws(F f) {
    try {
        f();
    } catch (const streamq::error &e) {
        CHECK(std::strlen(e.what()) > 0);
        return e.code();
    }
    return STREAMQ_RESULT_OK;
}

int main() {
    CHECK(streamq::version_number() == STREAMQ_VERSION_NUMBER);

    // Config errors throw with the library's message.
    streamq_queue_config bad = streamq_queue_config_default();
    bad.capacity = 0;
    CHECK(throws([&] { streamq::make_queue(bad); }) == STREAMQ_RESULT_INVALID_ARGUMENT);

    streamq_queue_config c = streamq_queue_config_default();
    c.capacity = 1 << 16;
    c.policy = STREAMQ_POLICY_DROP_NEWEST;
    c.prefault = false;
    auto [tx, rx] = streamq::make_queue(c);
    auto p = tx.push("hello", 5);
    CHECK(p && !p->dropped && p->seq == 0);
    {
        auto slot = tx.reserve(3);
        std::memcpy(slot.data(), "abc", 3);
        CHECK(slot.commit() == 1);
    }
    { auto aborted = tx.reserve(10); }  // destroyed without commit: aborted
    std::vector<char> big(40000, 'x');
    CHECK(tx.push(big.data(), big.size()));
    auto d = tx.push(big.data(), big.size());  // queue full under drop-newest
    CHECK(d && d->dropped);
    CHECK(throws([&] { tx.push(big.data(), 1 << 20); }) == STREAMQ_RESULT_TOO_LARGE);

    auto f = rx.pop(0);
    CHECK(f && f->data.size() == 5 && std::memcmp(f->data.data(), "hello", 5) == 0);
    f = rx.pop(0);
    CHECK(f && f->info.seq == 1 && f->data.size() == 3);
    f = rx.pop(0);  // grows its buffer past BUFFER_TOO_SMALL
    CHECK(f && f->data.size() == big.size());
    CHECK(!rx.pop(0) && !rx.finished());
    CHECK(rx.stats().frames_dropped_newest == 1);
    tx.close();
    CHECK(throws([&] { tx.close(); }) == STREAMQ_RESULT_CLOSED);
    CHECK(!rx.pop(-1) && rx.finished());

    // Writer + streams from threads + reader.
    char dir[] = "/tmp/streamq-cpp-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    std::string path = std::string(dir) + "/w.sqcap";
    {
        streamq::Writer w(path);
        streamq::Stream a = w.add_stream("a", "test/bytes", 1 << 20);
        streamq::Stream b = w.add_stream("b", "test/bytes", 1 << 20);
        CHECK(a.id() == 0 && b.id() == 1);
        std::thread ta([&] {
            for (int i = 0; i < 100; i++) {
                auto s = a.reserve(1000);
                std::memset(s.data(), i, 1000);
                s.commit_at(static_cast<std::uint64_t>(i) * 2);
            }
        });
        std::thread tb([&] {
            std::vector<std::uint8_t> v(500);
            for (int i = 0; i < 100; i++) b.push_at(v.data(), v.size(), static_cast<std::uint64_t>(i) * 2 + 1);
        });
        ta.join();
        tb.join();
        w.flush();
        auto rep = w.close();
        CHECK(rep.frames_written == 200 && rep.frames_failed == 0);
        CHECK(w.stream_report(1).frames_written == 100);
        CHECK(throws([&] { w.close(); }) == STREAMQ_RESULT_CLOSED);
        CHECK(throws([&] { a.push("x", 1); }) == STREAMQ_RESULT_CLOSED);
        CHECK(throws([&] { w.add_stream("c", "x", 1 << 16); }) == STREAMQ_RESULT_CLOSED);
    }
    {
        streamq::Reader r(path);
        CHECK(r.info().frames == 200 && r.info().streams == 2);
        r.iter_time();
        std::uint64_t last = 0, n = 0;
        while (auto fr = r.next()) {
            CHECK(fr->timestamp_ns >= last);
            last = fr->timestamp_ns;
            n++;
        }
        CHECK(n == 200);
        CHECK(r.verify().ok);
        CHECK(throws([&] { r.iter_stream(9); }) == STREAMQ_RESULT_NOT_FOUND);
    }
    CHECK(throws([] { streamq::Reader r("/nonexistent/x.sqcap"); }) == STREAMQ_RESULT_IO);
    std::remove(path.c_str());
    rmdir(dir);
    if (failures) {
        std::fprintf(stderr, "test_wrapper: %d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("test_wrapper: all checks passed\n");
    return 0;
}
