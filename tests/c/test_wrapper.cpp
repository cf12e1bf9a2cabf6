// The C++ RAII wrapper: results become exceptions, handles free themselves,
// reservations abort when not committed; Reader::gaps(); Writer::callback_sink with a
// std::function, including one that throws. Threads synchronise through mutexes and
// condition variables only (no sleeps). Built with ASan/UBSan.
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
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
            std::printf("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);            \
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

// Holds the thread that calls wait() while `hold` is set (the writer thread, inside a
// callback), so a stream's ring fills and its drop policy applies.
struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool hold = false, entered = false;
    int durable_calls = 0;
    void wait() {
        std::unique_lock<std::mutex> l(m);
        if (!hold) return;
        entered = true;
        cv.notify_all();
        cv.wait(l, [&] { return !hold; });
    }
    void close() {
        std::lock_guard<std::mutex> l(m);
        hold = true;
        entered = false;
    }
    void wait_entered() {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return entered; });
    }
    void open() {
        std::lock_guard<std::mutex> l(m);
        hold = false;
        cv.notify_all();
    }
};

static void gate_on_durable(void *user, const streamq_durable *) {
    auto *g = static_cast<Gate *>(user);
    {
        std::lock_guard<std::mutex> l(g->m);
        g->durable_calls++;
    }
    g->wait();
}

static std::uint64_t dropped(const streamq::Producer &s) {
    auto st = s.stats();
    return st.frames_dropped_newest + st.frames_dropped_oldest;
}

// With the writer thread held in `gate`, pushes 1000-byte frames to `s` (64 KiB ring,
// drop policy) until at least 5 were dropped; then lets the writer go. Returns the
// number of frames pushed.
static std::uint64_t drop_some(Gate &gate, streamq::Producer &s) {
    std::vector<std::uint8_t> frame(1000, 0x3C);
    gate.close();
    std::uint64_t pushed = 0;
    CHECK(s.push(frame.data(), frame.size()));
    pushed++;
    gate.wait_entered();
    std::uint64_t before = dropped(s);
    for (int i = 0; i < 100000 && dropped(s) < before + 5; i++) {
        CHECK(s.push(frame.data(), frame.size()));
        pushed++;
    }
    CHECK(dropped(s) >= before + 5);
    gate.open();
    return pushed;
}

// Reader::gaps() on a capture recorded with drops: the records match the writer's drop
// counters, are ordered and disjoint; the per-stream form selects.
static void test_reader_gaps(const std::string &dir) {
    std::string path = dir + "/gaps.sqcap";
    Gate gate;
    std::uint64_t pushed = 0, lost = 0;
    {
        streamq_writer_config wc = streamq::writer_config();
        wc.path = path.c_str();
        wc.fsync_policy = STREAMQ_FSYNC_ALWAYS;  // on_durable after every write
        wc.on_durable = gate_on_durable;
        wc.callback_user = &gate;
        streamq::Writer w(wc);
        streamq::Producer cam = w.add_stream("cam", "test/bytes", 64 << 10, STREAMQ_POLICY_DROP_NEWEST);
        streamq::Producer imu = w.add_stream("imu", "test/bytes", 1 << 20);
        pushed += drop_some(gate, cam);
        w.flush();
        pushed += drop_some(gate, cam);
        std::uint8_t b[8] = {};
        CHECK(imu.push(b, sizeof b));
        CHECK(cam.push(b, sizeof b));
        pushed++;
        auto rep = w.close();
        CHECK(!rep.failed);
        auto sr = w.stream_report(0);
        lost = sr.frames_dropped_newest;
        CHECK(lost >= 10 && lost == dropped(cam) && sr.frames_written + lost == pushed);
    }
    streamq::Reader r(path);
    auto it = r.next();  // the gap calls leave the frame cursor alone
    CHECK(it && it->seq == 0);
    std::vector<streamq::Gap> gaps = r.gaps();
    CHECK(gaps.size() >= 2);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < gaps.size(); i++) {
        const streamq::Gap &g = gaps[i];
        CHECK(g.stream_id == 0 && g.stream_name == "cam" && g.reason == STREAMQ_DROP_REASON_NEWEST);
        CHECK(g.count > 0 && g.last_seq == g.first_seq + g.count - 1 && g.last_seq < pushed);
        CHECK(g.host_ts_ns > 0 && g.segment == 0 && g.offset > 0);
        if (i > 0) CHECK(g.first_seq > gaps[i - 1].last_seq && g.offset > gaps[i - 1].offset);
        sum += g.count;
    }
    CHECK(sum == lost);
    auto cam_gaps = r.gaps(0);
    CHECK(cam_gaps.size() == gaps.size());
    for (std::size_t i = 0; i < cam_gaps.size() && i < gaps.size(); i++)
        CHECK(cam_gaps[i].first_seq == gaps[i].first_seq && cam_gaps[i].count == gaps[i].count &&
              cam_gaps[i].offset == gaps[i].offset);
    CHECK(r.gaps(1).empty());
    CHECK(throws([&] { r.gaps(9); }) == STREAMQ_RESULT_NOT_FOUND);
    it = r.next();
    CHECK(it && it->seq == 1);
    auto v = r.verify();
    CHECK(v.ok && v.gaps == gaps.size() && v.dropped == lost && v.unexplained_missing == 0);
    std::remove(path.c_str());
}

// What a C++ callback sink saw (copied: the views are valid during the call only).
struct Seen {
    std::mutex m;
    std::vector<std::string> names;
    std::vector<std::uint64_t> seqs;  // frames; gaps are recorded in gap_*
    std::vector<std::vector<std::uint8_t>> data;
    std::uint64_t gap_next = 0, gap_frames = 0, gap_events = 0;
    bool order_ok = true;
    int calls = 0;
};

struct Errors {
    std::mutex m;
    int durable = 0, errors = 0;
    streamq_result code = STREAMQ_RESULT_OK;
    std::string message;
};

static void count_durable(void *user, const streamq_durable *) {
    auto *e = static_cast<Errors *>(user);
    std::lock_guard<std::mutex> l(e->m);
    e->durable++;
}

static void record_error(void *user, streamq_result code, const char *message) {
    auto *e = static_cast<Errors *>(user);
    std::lock_guard<std::mutex> l(e->m);
    e->errors++;
    e->code = code;
    e->message = message;
}

static void test_callback_sink() {
    // Argument checks.
    CHECK(throws([] { streamq::Writer::callback_sink(streamq::SinkFn()); }) == STREAMQ_RESULT_NULL_POINTER);
    streamq_writer_config bad = streamq::writer_config();
    bad.path = "/tmp/streamq-never-created.sqcap";
    CHECK(throws([&] { streamq::Writer::callback_sink([](const streamq::SinkEvent &) {}, bad); }) ==
          STREAMQ_RESULT_INVALID_ARGUMENT);  // the library: path must be NULL
    bad = streamq::writer_config();
    bad.sink_fn = [](void *, const streamq_sink_event *, char *, std::size_t) -> int { return 0; };
    CHECK(throws([&] { streamq::Writer::callback_sink([](const streamq::SinkEvent &) {}, bad); }) ==
          STREAMQ_RESULT_INVALID_ARGUMENT);

    // Frames of two streams, in order and bit-exact; the config's on_durable still gets
    // its own callback_user.
    {
        Seen seen;
        Errors errs;
        streamq_writer_config wc = streamq::writer_config();
        wc.fsync_policy = STREAMQ_FSYNC_ALWAYS;
        wc.on_durable = count_durable;
        wc.callback_user = &errs;
        streamq::Writer w = streamq::Writer::callback_sink(
            [&](const streamq::SinkEvent &ev) {
                std::lock_guard<std::mutex> l(seen.m);
                seen.calls++;
                if (!ev.frame || ev.gap) {
                    seen.order_ok = false;
                    return;
                }
                seen.names.emplace_back(ev.frame->stream_name);
                seen.seqs.push_back(ev.frame->seq);
                seen.data.emplace_back(ev.frame->data, ev.frame->data + ev.frame->size);
            },
            wc);
        streamq::Producer a = w.add_stream("a", "test/bytes", 1 << 20);
        streamq::Producer b = w.add_stream("b", "test/bytes", 1 << 20);
        for (int i = 0; i < 50; i++) {
            std::vector<std::uint8_t> v(static_cast<std::size_t>(i) + 1, static_cast<std::uint8_t>(i));
            a.push(v.data(), v.size(), streamq::PushOptions::at(static_cast<std::uint64_t>(i)));
            v.assign(static_cast<std::size_t>(i), static_cast<std::uint8_t>(200 - i));  // 0-byte frame first
            b.push(v.data(), v.size());
        }
        auto rep = w.close();
        CHECK(rep.frames_written == 100 && !rep.failed);
        std::lock_guard<std::mutex> l(seen.m);
        CHECK(seen.order_ok && seen.calls == 100 && seen.seqs.size() == 100);
        std::uint64_t next[2] = {0, 0};
        int bad_frames = 0;
        for (std::size_t k = 0; k < seen.seqs.size(); k++) {
            int s = seen.names[k] == "a" ? 0 : seen.names[k] == "b" ? 1 : -1;
            if (s < 0 || seen.seqs[k] != next[s]) {
                bad_frames++;
                continue;
            }
            std::uint64_t i = seen.seqs[k];
            std::vector<std::uint8_t> want = s == 0 ? std::vector<std::uint8_t>(i + 1, static_cast<std::uint8_t>(i))
                                                    : std::vector<std::uint8_t>(i, static_cast<std::uint8_t>(200 - i));
            if (seen.data[k] != want) bad_frames++;
            next[s]++;
        }
        CHECK(bad_frames == 0 && next[0] == 50 && next[1] == 50);
        std::lock_guard<std::mutex> le(errs.m);
        CHECK(errs.durable > 0 && errs.errors == 0);
    }

    // Gaps reach the C++ sink: the sink holds the writer thread while the ring fills.
    {
        Seen seen;
        Gate gate;
        streamq::Writer w = streamq::Writer::callback_sink([&](const streamq::SinkEvent &ev) {
            {
                std::lock_guard<std::mutex> l(seen.m);
                seen.calls++;
                if (ev.frame) {
                    if (ev.frame->seq != seen.gap_next || ev.frame->stream_name != "cam") seen.order_ok = false;
                    seen.gap_next = ev.frame->seq + 1;
                    seen.seqs.push_back(ev.frame->seq);
                } else {
                    const streamq::SinkGap &g = *ev.gap;
                    if (g.first_seq != seen.gap_next || g.count == 0 || g.last_seq != g.first_seq + g.count - 1 ||
                        g.reason != STREAMQ_DROP_REASON_OLDEST || g.stream_name != "cam")
                        seen.order_ok = false;
                    seen.gap_next = g.last_seq + 1;
                    seen.gap_frames += g.count;
                    seen.gap_events++;
                }
            }
            gate.wait();
        });
        streamq::Producer cam = w.add_stream("cam", "test/bytes", 64 << 10, STREAMQ_POLICY_DROP_OLDEST);
        std::uint64_t pushed = drop_some(gate, cam);
        w.flush();
        std::uint8_t b[8] = {};
        CHECK(cam.push(b, sizeof b));
        pushed++;
        auto rep = w.close();
        std::uint64_t lost = rep.frames_dropped_oldest;
        CHECK(!rep.failed && lost >= 5 && rep.frames_written + lost == pushed);
        std::lock_guard<std::mutex> l(seen.m);
        CHECK(seen.order_ok && seen.gap_events >= 1 && seen.gap_frames == lost && seen.gap_next == pushed);
        CHECK(seen.seqs.size() == rep.frames_written);
    }

    // A sink that throws: the exception stays on the writer thread and fails the
    // writer with its message; the sink is not called again.
    for (int kind = 0; kind < 2; kind++) {
        Seen seen;
        Errors errs;
        bool thrown = false;
        int calls_after = 0;
        streamq_writer_config wc = streamq::writer_config();
        wc.on_error = record_error;
        wc.callback_user = &errs;
        streamq::Writer w = streamq::Writer::callback_sink(
            [&](const streamq::SinkEvent &ev) {
                std::lock_guard<std::mutex> l(seen.m);
                if (thrown) calls_after++;
                if (ev.frame && ev.frame->seq == 3) {
                    thrown = true;
                    if (kind == 0) throw std::runtime_error("uplink down at frame 3");
                    throw 42;  // not a std::exception
                }
            },
            wc);
        streamq::Producer s = w.add_stream("net", "test/bytes", 1 << 20);
        std::uint8_t b[16] = {};
        for (int i = 0; i < 10; i++) {
            streamq_result r = throws([&] { s.push(b, sizeof b); });
            CHECK(r == STREAMQ_RESULT_OK || r == STREAMQ_RESULT_FAILED);
        }
        std::string what;
        try {
            w.flush();
        } catch (const streamq::error &e) {
            CHECK(e.code() == STREAMQ_RESULT_FAILED);
            what = e.what();
        }
        const char *want = kind == 0 ? "uplink down at frame 3" : "unknown C++ exception";
        CHECK(what.find(want) != std::string::npos && what.find("sink_fn returned 1") != std::string::npos);
        CHECK(throws([&] { s.push(b, sizeof b); }) == STREAMQ_RESULT_FAILED);
        CHECK(throws([&] { w.close(); }) == STREAMQ_RESULT_FAILED);
        CHECK(throws([&] { w.close(); }) == STREAMQ_RESULT_FAILED);  // idempotent
        CHECK(w.report().failed);
        {
            std::lock_guard<std::mutex> l(errs.m);
            CHECK(errs.errors == 1 && errs.code == STREAMQ_RESULT_FAILED);
            CHECK(errs.message.find(want) != std::string::npos);
        }
        std::lock_guard<std::mutex> l(seen.m);
        CHECK(thrown && calls_after == 0);
    }

    // Move assignment frees the old writer (stopping its thread) before its sink state.
    {
        int first = 0, second = 0;
        streamq::Writer w = streamq::Writer::callback_sink([&](const streamq::SinkEvent &) { first++; });
        {
            streamq::Producer s = w.add_stream("x", "test/bytes", 1 << 16);
            for (int i = 0; i < 20; i++) s.push("abcd", 4);
        }
        w = streamq::Writer::callback_sink([&](const streamq::SinkEvent &) { second++; });
        CHECK(first == 20);  // the old writer was closed (its frames written) when freed
        streamq::Producer s = w.add_stream("y", "test/bytes", 1 << 16);
        s.push("ab", 2);
        w.close();
        CHECK(second == 1);
    }
}

// One Producer class for a bare queue and a writer stream; push options; an interrupt
// that cuts a blocked push short; options by name.
static void test_producer_and_options(const std::string &dir) {
    streamq_queue_config qc = streamq::queue_config();
    streamq::set(qc, "capacity", "64KiB");
    streamq::set(qc, "policy", "block");
    CHECK(streamq::get(qc, "capacity") == "64KiB" && streamq::get(qc, "policy") == "block");
    CHECK(throws([&] { streamq::set(qc, "colour", "red"); }) == STREAMQ_RESULT_INVALID_ARGUMENT);
    CHECK(throws([&] { streamq::set(qc, "capacity", "12 parsecs"); }) == STREAMQ_RESULT_INVALID_ARGUMENT);
    qc.prefault = false;
    auto [tx, rx] = streamq::make_queue(qc);
    CHECK(!tx.stream_id());  // a bare queue's producer
    CHECK(throws([&] { tx.durable_seq(); }) == STREAMQ_RESULT_NOT_A_STREAM);
    std::vector<std::uint8_t> big(4096, 1);
    while (tx.push(big.data(), big.size(), streamq::PushOptions::never())) {
    }
    CHECK(!tx.push(big.data(), big.size(), streamq::PushOptions::within(5)));  // timeout: nullopt
    streamq::Interrupt stop;
    std::thread t([&] { stop.trigger(); });
    // Blocks (the queue is full, nobody pops) until the other thread triggers.
    CHECK(!tx.push(big.data(), big.size(), streamq::PushOptions::forever().with(stop)));
    t.join();
    CHECK(stop.triggered());
    CHECK(!tx.wait_below_low(-1, &stop));  // interrupted at once
    stop.reset();
    CHECK(!stop.triggered());
    CHECK(rx.pop(0));

    streamq::Writer w(dir + "/producer.sqcap");
    streamq::Producer s = w.add_stream("imu", "test/bytes", 1 << 16);
    CHECK(s.stream_id() == std::optional<std::uint16_t>(0));
    CHECK(!s.durable_seq());  // nothing durable yet
    CHECK(s.push("abc", 3, streamq::PushOptions::at(7)));
    CHECK(!s.above_high_water() && s.wait_below_low(0));
    w.close();
    CHECK(s.durable_seq() == std::optional<std::uint64_t>(0));
    CHECK(throws([&] { s.push("x", 1); }) == STREAMQ_RESULT_CLOSED);
    streamq::Reader r(dir + "/producer.sqcap");
    auto f = r.next();
    CHECK(f && f->device_ts_ns == 7 && f->len == 3);
    std::remove((dir + "/producer.sqcap").c_str());
}

int main() {
    CHECK(streamq::version_number() == STREAMQ_VERSION_NUMBER);

    // Config errors throw with the library's message.
    streamq_queue_config bad = streamq::queue_config();
    bad.capacity = 0;
    CHECK(throws([&] { streamq::make_queue(bad); }) == STREAMQ_RESULT_INVALID_ARGUMENT);

    streamq_queue_config c = streamq::queue_config();
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
        streamq::Producer a = w.add_stream("a", "test/bytes", 1 << 20);
        streamq::Producer b = w.add_stream("b", "test/bytes", 1 << 20);
        CHECK(a.stream_id() == std::optional<std::uint16_t>(0) && b.stream_id() == std::optional<std::uint16_t>(1));
        std::thread ta([&] {
            for (int i = 0; i < 100; i++) {
                auto s = a.reserve(1000, streamq::PushOptions::at(static_cast<std::uint64_t>(i) * 2));
                std::memset(s.data(), i, 1000);
                s.commit();
            }
        });
        std::thread tb([&] {
            std::vector<std::uint8_t> v(500);
            for (int i = 0; i < 100; i++)
                b.push(v.data(), v.size(), streamq::PushOptions::at(static_cast<std::uint64_t>(i) * 2 + 1));
        });
        ta.join();
        tb.join();
        w.flush();
        auto rep = w.close();
        CHECK(rep.frames_written == 200 && rep.frames_failed == 0);
        CHECK(w.stream_report(1).frames_written == 100);
        CHECK(w.close().frames_written == 200);  // idempotent: the same report again
        CHECK(throws([&] { a.push("x", 1); }) == STREAMQ_RESULT_CLOSED);
        CHECK(throws([&] { a.close(); }) == STREAMQ_RESULT_CLOSED);  // the writer ended it first
        CHECK(a.durable_seq() == std::optional<std::uint64_t>(99));
        CHECK(throws([&] { w.add_stream("c", "x", 1 << 16); }) == STREAMQ_RESULT_CLOSED);
    }
    {
        streamq::Reader r(path);
        CHECK(r.info().frames == 200 && r.info().streams == 2);
        r.iter_time();
        std::uint64_t last = 0, n = 0;
        while (auto fr = r.next()) {
            CHECK(fr->device_ts_ns >= last);
            last = fr->device_ts_ns;
            n++;
        }
        CHECK(n == 200);
        CHECK(r.verify().ok);
        CHECK(throws([&] { r.iter_stream(9); }) == STREAMQ_RESULT_NOT_FOUND);
    }
    CHECK(throws([] { streamq::Reader r("/nonexistent/x.sqcap"); }) == STREAMQ_RESULT_IO);
    std::remove(path.c_str());
    test_reader_gaps(dir);
    test_callback_sink();
    test_producer_and_options(dir);
    rmdir(dir);
    if (failures) {
        std::printf("test_wrapper: %d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("test_wrapper: all checks passed\n");
    return 0;
}
