// streamq.hpp — a small header-only C++17 RAII wrapper over libstreamq's C API.
//
// Handles are move-only and free themselves; every failing call throws streamq::error
// (code + the library's detailed message), except the results a caller is expected to
// branch on, which come back as values: a frame not taken because the queue stayed full
// or the wait was interrupted (std::nullopt from push), a dropped frame
// (Pushed::dropped), an empty queue or end of stream (std::nullopt from pop/next).
//
// One Producer class serves a bare queue (make_queue) and a writer's stream
// (Writer::add_stream), as the C API's streamq_producer does. Exceptions never cross into
// the C library: the callback trampolines are noexcept, and a C++ callback sink's
// exception fails the writer with its message instead.
#ifndef STREAMQ_HPP
#define STREAMQ_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "streamq.h"

namespace streamq {

/// A failed call: the result code and the message from streamq_last_error().
class error : public std::runtime_error {
public:
    error(streamq_result code, const std::string &what) : std::runtime_error(what), code_(code) {}
    streamq_result code() const noexcept { return code_; }

private:
    streamq_result code_;
};

/// Throws streamq::error unless `r` is STREAMQ_RESULT_OK.
inline void check(streamq_result r) {
    if (r == STREAMQ_RESULT_OK) return;
    std::string msg(streamq_last_error(nullptr, 0) + 1, '\0');
    streamq_last_error(msg.data(), msg.size());
    msg.resize(msg.size() - 1);
    if (msg.empty()) msg = streamq_result_str(static_cast<int>(r));
    throw error(r, msg);
}

inline std::uint32_t version_number() noexcept { return streamq_version_number(); }

/// An output struct ready for a call that fills it (its struct_size set).
template <typename T>
T output() noexcept {
    T v{};
    v.struct_size = sizeof v;
    return v;
}

/// The configs, filled with the library's defaults.
inline streamq_queue_config queue_config() {
    streamq_queue_config c{};
    check(STREAMQ_QUEUE_CONFIG_INIT(&c));
    return c;
}
inline streamq_stream_config stream_config() {
    streamq_stream_config c{};
    check(STREAMQ_STREAM_CONFIG_INIT(&c));
    return c;
}
inline streamq_writer_config writer_config() {
    streamq_writer_config c{};
    check(STREAMQ_WRITER_CONFIG_INIT(&c));
    return c;
}

/// Sets an option by name from its text ("compression" "zstd:3", "capacity" "256MiB" …),
/// as the command line and Python spell it.
inline void set(streamq_queue_config &c, const std::string &name, const std::string &value) {
    check(streamq_queue_config_set(&c, name.c_str(), value.c_str()));
}
inline void set(streamq_stream_config &c, const std::string &name, const std::string &value) {
    check(streamq_stream_config_set(&c, name.c_str(), value.c_str()));
}
inline void set(streamq_writer_config &c, const std::string &name, const std::string &value) {
    check(streamq_writer_config_set(&c, name.c_str(), value.c_str()));
}

namespace detail {
// A move-only owner of a C handle with its free function.
template <typename T, void (*Free)(T *)>
class handle {
public:
    handle() noexcept = default;
    explicit handle(T *p) noexcept : p_(p) {}
    handle(handle &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    handle &operator=(handle &&o) noexcept {
        if (this != &o) {
            Free(p_);
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    handle(const handle &) = delete;
    handle &operator=(const handle &) = delete;
    ~handle() { Free(p_); }
    T *get() const noexcept { return p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    T *p_ = nullptr;
};

// Prints an option's canonical text through a C getter.
template <typename Config, streamq_result (*Get)(const Config *, const char *, char *, std::size_t, std::size_t *)>
std::string get(const Config &c, const std::string &name) {
    std::size_t n = 0;
    streamq_result r = Get(&c, name.c_str(), nullptr, 0, &n);
    if (r != STREAMQ_RESULT_BUFFER_TOO_SMALL) check(r);
    std::string s(n + 1, '\0');
    check(Get(&c, name.c_str(), s.data(), s.size(), &n));
    s.resize(n);
    return s;
}
}  // namespace detail

/// The canonical text of an option, as the engine prints it ("zstd:3", "every:64MiB").
inline std::string get(const streamq_queue_config &c, const std::string &name) {
    return detail::get<streamq_queue_config, streamq_queue_config_get>(c, name);
}
inline std::string get(const streamq_stream_config &c, const std::string &name) {
    return detail::get<streamq_stream_config, streamq_stream_config_get>(c, name);
}
inline std::string get(const streamq_writer_config &c, const std::string &name) {
    return detail::get<streamq_writer_config, streamq_writer_config_get>(c, name);
}

/// Cuts blocking pushes and water-mark waits short from another thread.
class Interrupt {
public:
    Interrupt() {
        streamq_interrupt *i = nullptr;
        check(streamq_interrupt_create(&i));
        h_ = decltype(h_)(i);
    }
    void trigger() const { check(streamq_interrupt_trigger(h_.get())); }
    void reset() const { check(streamq_interrupt_reset(h_.get())); }
    bool triggered() const {
        bool t = false;
        check(streamq_interrupt_is_triggered(h_.get(), &t));
        return t;
    }
    const streamq_interrupt *get() const noexcept { return h_.get(); }

private:
    detail::handle<streamq_interrupt, streamq_interrupt_free> h_;
};

/// Options of one push or reservation: device timestamp, how long to wait, an
/// interrupt. The default is the host clock and the queue's configured wait.
struct PushOptions {
    std::optional<std::uint64_t> device_ts_ns;
    streamq_wait wait = STREAMQ_WAIT_CONFIGURED;
    std::uint64_t timeout_ms = 0;  // with STREAMQ_WAIT_TIMEOUT
    const Interrupt *interrupt = nullptr;

    static PushOptions at(std::uint64_t ts) {
        PushOptions o;
        o.device_ts_ns = ts;
        return o;
    }
    static PushOptions never() {
        PushOptions o;
        o.wait = STREAMQ_WAIT_NEVER;
        return o;
    }
    static PushOptions within(std::uint64_t ms) {
        PushOptions o;
        o.wait = STREAMQ_WAIT_TIMEOUT;
        o.timeout_ms = ms;
        return o;
    }
    static PushOptions forever() {
        PushOptions o;
        o.wait = STREAMQ_WAIT_FOREVER;
        return o;
    }
    PushOptions &with(const Interrupt &i) {
        interrupt = &i;
        return *this;
    }
    streamq_push_options c() const {
        streamq_push_options o{};
        check(STREAMQ_PUSH_OPTIONS_INIT(&o));
        o.has_device_ts = device_ts_ns.has_value();
        o.device_ts_ns = device_ts_ns.value_or(0);
        o.wait = static_cast<std::uint32_t>(wait);
        o.timeout_ms = timeout_ms;
        o.interrupt = interrupt ? interrupt->get() : nullptr;
        return o;
    }
};

/// What happened to a pushed frame: queued, or dropped by the overflow policy.
struct Pushed {
    std::uint64_t seq;
    bool dropped;
};

/// Ring space being filled in place. Commit publishes it (with the timestamp of the
/// options it was reserved with); destruction without a commit aborts it (gives the space
/// back). Must be committed on the thread that reserved it.
class Reservation {
public:
    Reservation(streamq_producer *p, std::uint8_t *data, std::size_t len) noexcept : p_(p), data_(data), len_(len) {}
    Reservation(Reservation &&o) noexcept : p_(std::exchange(o.p_, nullptr)), data_(o.data_), len_(o.len_) {}
    Reservation(const Reservation &) = delete;
    Reservation &operator=(const Reservation &) = delete;
    Reservation &operator=(Reservation &&) = delete;
    ~Reservation() {
        if (p_) streamq_producer_abort(p_);
    }
    std::uint8_t *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return len_; }
    std::uint64_t commit() {
        std::uint64_t seq = 0;
        check(streamq_producer_commit(std::exchange(p_, nullptr), &seq));
        return seq;
    }

private:
    streamq_producer *p_;
    std::uint8_t *data_;
    std::size_t len_;
};

/// The producer of a bare queue or of a writer's stream (thread-safe: several threads may
/// push at once; one per sensor thread is the usual layout for a writer).
class Producer {
public:
    explicit Producer(streamq_producer *p) : h_(p) {}
    /// Copies a frame. nullopt if it was not taken because the queue stayed full (would
    /// block, timeout) or the wait was interrupted; Pushed::dropped if a drop policy
    /// dropped it; throws on anything else (closed, failed, too large …).
    std::optional<Pushed> push(const void *data, std::size_t len, const PushOptions &opts = {}) {
        std::uint64_t seq = 0;
        const streamq_push_options o = opts.c();
        streamq_result r = streamq_producer_push(h_.get(), static_cast<const std::uint8_t *>(data), len, &o, &seq);
        if (r == STREAMQ_RESULT_DROPPED) return Pushed{seq, true};
        if (r == STREAMQ_RESULT_WOULD_BLOCK || r == STREAMQ_RESULT_TIMEOUT || r == STREAMQ_RESULT_INTERRUPTED)
            return std::nullopt;
        check(r);
        return Pushed{seq, false};
    }
    /// Ring space to fill in place; throws streamq::error (STREAMQ_RESULT_DROPPED if a
    /// drop policy refused the frame, STREAMQ_RESULT_TIMEOUT …) when there is none.
    Reservation reserve(std::size_t len, const PushOptions &opts = {}) {
        std::uint8_t *p = nullptr;
        const streamq_push_options o = opts.c();
        check(streamq_producer_reserve(h_.get(), len, &o, &p));
        return Reservation(h_.get(), p, len);
    }
    /// The stream's id in its capture; nullopt for a bare queue's producer.
    std::optional<std::uint16_t> stream_id() const {
        std::uint16_t id = 0;
        streamq_result r = streamq_producer_stream_id(h_.get(), &id);
        if (r == STREAMQ_RESULT_NOT_A_STREAM) return std::nullopt;
        check(r);
        return id;
    }
    /// Highest sequence number of this stream on stable storage; nullopt while nothing
    /// is (throws STREAMQ_RESULT_NOT_A_STREAM for a bare queue).
    std::optional<std::uint64_t> durable_seq() const {
        std::uint64_t seq = 0;
        streamq_result r = streamq_producer_durable_seq(h_.get(), &seq);
        if (r == STREAMQ_RESULT_NOT_FOUND) return std::nullopt;
        check(r);
        return seq;
    }
    std::size_t max_frame_len() const {
        std::size_t n = 0;
        check(streamq_producer_max_frame_len(h_.get(), &n));
        return n;
    }
    streamq_queue_stats stats() const {
        auto s = output<streamq_queue_stats>();
        check(streamq_producer_stats(h_.get(), &s));
        return s;
    }
    bool above_high_water() const {
        bool above = false;
        check(streamq_producer_above_high_water(h_.get(), &above));
        return above;
    }
    /// Waits until the queue is not above high water; false on timeout or interrupt.
    bool wait_below_low(std::int64_t timeout_ms = -1, const Interrupt *interrupt = nullptr) const {
        streamq_result r =
            streamq_producer_wait_below_low(h_.get(), timeout_ms, interrupt ? interrupt->get() : nullptr);
        if (r == STREAMQ_RESULT_TIMEOUT || r == STREAMQ_RESULT_INTERRUPTED) return false;
        check(r);
        return true;
    }
    int water_mark_fd() const noexcept { return streamq_producer_water_mark_fd(h_.get()); }
    void clear_water_mark_event() const { check(streamq_producer_clear_water_mark_event(h_.get())); }
    void close() { check(streamq_producer_close(h_.get())); }
    streamq_producer *get() const noexcept { return h_.get(); }

private:
    detail::handle<streamq_producer, streamq_producer_free> h_;
};

/// A frame copied out of a queue.
struct Frame {
    streamq_frame info;
    std::vector<std::uint8_t> data;
};

/// The consumer end of a queue.
class Consumer {
public:
    explicit Consumer(streamq_consumer *c) : h_(c) {}
    /// The next frame (waiting up to timeout_ms; negative: for ever); nullopt when none
    /// arrived in time or at end of stream (see finished()).
    std::optional<Frame> pop(std::int64_t timeout_ms = -1) {
        Frame f{output<streamq_frame>(), {}};
        f.data.resize(buf_hint_);
        for (;;) {
            streamq_result r = streamq_consumer_pop(h_.get(), f.data.data(), f.data.size(), timeout_ms, &f.info);
            if (r == STREAMQ_RESULT_BUFFER_TOO_SMALL) {
                buf_hint_ = f.info.len;
                f.data.resize(f.info.len);
                continue;
            }
            if (r == STREAMQ_RESULT_END_OF_STREAM) finished_ = true;
            if (r == STREAMQ_RESULT_END_OF_STREAM || r == STREAMQ_RESULT_EMPTY || r == STREAMQ_RESULT_TIMEOUT)
                return std::nullopt;
            check(r);
            f.data.resize(f.info.len);
            f.info.data = f.data.data();
            return f;
        }
    }
    bool finished() const noexcept { return finished_; }
    streamq_queue_stats stats() const {
        auto s = output<streamq_queue_stats>();
        check(streamq_consumer_stats(h_.get(), &s));
        return s;
    }
    void close() { check(streamq_consumer_close(h_.get())); }
    streamq_consumer *get() const noexcept { return h_.get(); }

private:
    detail::handle<streamq_consumer, streamq_consumer_free> h_;
    std::size_t buf_hint_ = 4096;
    bool finished_ = false;
};

/// Creates a queue; returns its two ends.
inline std::pair<Producer, Consumer> make_queue(const streamq_queue_config &config) {
    streamq_producer *p = nullptr;
    streamq_consumer *c = nullptr;
    check(streamq_queue_create(&config, &p, &c));
    return {Producer(p), Consumer(c)};
}

/// A frame given to a callback sink. `stream_name` and `data` point into the library and
/// are valid during the call only: copy what you keep.
struct SinkFrame {
    std::uint16_t stream_id;
    std::string_view stream_name;
    const std::uint8_t *data;  // never null, even when size is 0
    std::size_t size;
    std::uint64_t seq;
    std::uint64_t device_ts_ns;  // from the push options, else the host time
    std::uint64_t host_ts_ns;
};

/// Frames of one stream dropped by its overflow policy, given to a callback sink before
/// the frames that follow them. `stream_name` is valid during the call only.
struct SinkGap {
    std::uint16_t stream_id;
    std::string_view stream_name;
    std::uint64_t first_seq;
    std::uint64_t last_seq;  // first_seq + count - 1
    std::uint64_t count;
    std::uint32_t reason;  // STREAMQ_DROP_REASON_NEWEST or STREAMQ_DROP_REASON_OLDEST
    std::uint64_t host_ts_ns;
};

/// One event of a callback sink: exactly one of `frame` and `gap` is non-null.
struct SinkEvent {
    const SinkFrame *frame;
    const SinkGap *gap;
};

/// A callback sink in C++: stores one event (see Writer::callback_sink). Throwing fails
/// the writer, with the exception's what() as the message.
using SinkFn = std::function<void(const SinkEvent &)>;

namespace detail {
// What the C trampolines of a C++ callback sink need; owned by the Writer, which frees
// it only after the writer thread has stopped.
struct sink_state {
    SinkFn fn;
    // The config's own callbacks and callback_user, called through forwarders (the
    // library's callback_user now points here).
    void *user = nullptr;
    streamq_error_fn on_error = nullptr;
    streamq_segment_fn on_segment = nullptr;
    streamq_durable_fn on_durable = nullptr;

    // streamq_sink_fn: runs on the writer thread. noexcept: nothing may unwind into C.
    static int sink(void *self, const streamq_sink_event *ev, char *message, std::size_t message_len) noexcept {
        auto *st = static_cast<sink_state *>(self);
        try {
            if (ev->kind == STREAMQ_SINK_EVENT_KIND_FRAME && ev->frame) {
                const streamq_sink_frame &f = *ev->frame;
                SinkFrame fr{f.stream_id, f.stream_name, f.data, f.len, f.seq, f.device_ts_ns, f.host_ts_ns};
                st->fn(SinkEvent{&fr, nullptr});
            } else if (ev->kind == STREAMQ_SINK_EVENT_KIND_GAP && ev->gap) {
                const streamq_sink_gap &g = *ev->gap;
                SinkGap gap{g.stream_id, g.stream_name, g.first_seq, g.last_seq, g.count, g.reason, g.host_ts_ns};
                st->fn(SinkEvent{nullptr, &gap});
            } else {
                std::snprintf(message, message_len, "streamq.hpp: sink event kind %u is unknown to this wrapper",
                              static_cast<unsigned>(ev->kind));
                return 1;
            }
            return 0;
        } catch (const std::exception &e) {
            std::snprintf(message, message_len, "%s", e.what());
        } catch (...) {
            std::snprintf(message, message_len, "unknown C++ exception");
        }
        return 1;
    }
    // The forwarders call C function pointers; noexcept: a throwing callback terminates
    // here rather than unwinding into the library.
    static void forward_error(void *self, streamq_result code, const char *message) noexcept {
        auto *st = static_cast<sink_state *>(self);
        st->on_error(st->user, code, message);
    }
    static void forward_segment(void *self, const streamq_segment_info *info) noexcept {
        auto *st = static_cast<sink_state *>(self);
        st->on_segment(st->user, info);
    }
    static void forward_durable(void *self, const streamq_durable *durable) noexcept {
        auto *st = static_cast<sink_state *>(self);
        st->on_durable(st->user, durable);
    }
};
}  // namespace detail

/// A capture writer. close() returns the report (and throws on a writer error; a second
/// close returns or throws the same again); the destructor closes it if needed, ignoring
/// errors.
class Writer {
public:
    explicit Writer(const streamq_writer_config &config) {
        streamq_writer *w = nullptr;
        check(streamq_writer_create(&config, &w));
        h_ = decltype(h_)(w);
    }
    explicit Writer(const std::string &path) {
        streamq_writer_config c = writer_config();
        c.path = path.c_str();
        streamq_writer *w = nullptr;
        check(streamq_writer_create(&c, &w));
        h_ = decltype(h_)(w);
    }
    /// A writer whose frames and gaps go to `fn` on the writer thread
    /// (STREAMQ_SINK_CALLBACK), one call at a time, in order: a stream's frames in
    /// sequence order, each gap before the frames that follow it. The call's duration is
    /// the write (the streams' overflow policies apply while it runs). If `fn` throws,
    /// the exception is caught on the writer thread and the writer fails with its
    /// what() as the message: flush(), close() and the streams' next pushes throw
    /// streamq::error with STREAMQ_RESULT_FAILED, and `fn` is not called again. As for
    /// any writer callback, `fn` must not flush, close or destroy this writer nor push
    /// to its streams (deadlock).
    ///
    /// `config` gives the other settings (fsync policy, on_error/on_segment/on_durable
    /// with its callback_user, which they still receive); its `path` must be null and
    /// its `sink_fn` unset.
    static Writer callback_sink(SinkFn fn, streamq_writer_config config = writer_config()) {
        if (!fn) throw error(STREAMQ_RESULT_NULL_POINTER, "streamq::Writer::callback_sink: fn is empty");
        if (config.sink_fn)
            throw error(STREAMQ_RESULT_INVALID_ARGUMENT,
                        "streamq::Writer::callback_sink: config.sink_fn is set (the C++ sink takes its place)");
        auto st = std::make_unique<detail::sink_state>();
        st->fn = std::move(fn);
        st->user = config.callback_user;
        st->on_error = config.on_error;
        st->on_segment = config.on_segment;
        st->on_durable = config.on_durable;
        config.sink = STREAMQ_SINK_CALLBACK;
        config.sink_fn = &detail::sink_state::sink;
        config.callback_user = st.get();
        if (config.on_error) config.on_error = &detail::sink_state::forward_error;
        if (config.on_segment) config.on_segment = &detail::sink_state::forward_segment;
        if (config.on_durable) config.on_durable = &detail::sink_state::forward_durable;
        Writer w;
        streamq_writer *h = nullptr;
        check(streamq_writer_create(&config, &h));
        w.sink_ = std::move(st);
        w.h_ = decltype(h_)(h);
        return w;
    }
    Writer(Writer &&) noexcept = default;
    // Frees the old writer (stopping its thread) before the sink state it may use.
    Writer &operator=(Writer &&o) noexcept {
        if (this != &o) {
            h_ = std::move(o.h_);
            sink_ = std::move(o.sink_);
        }
        return *this;
    }
    /// Adds a stream; its producer is the same Producer class a queue gives.
    Producer add_stream(const streamq_stream_config &config) {
        streamq_producer *p = nullptr;
        check(streamq_writer_add_stream(h_.get(), &config, &p));
        return Producer(p);
    }
    Producer add_stream(const std::string &name, const std::string &media_type, std::size_t capacity,
                        streamq_policy policy = STREAMQ_POLICY_BLOCK) {
        streamq_stream_config c = stream_config();
        c.name = name.c_str();
        c.media_type = media_type.c_str();
        c.queue.capacity = capacity;
        c.queue.policy = static_cast<std::uint32_t>(policy);
        return add_stream(c);
    }
    void flush() { check(streamq_writer_flush(h_.get())); }
    streamq_writer_report close() {
        auto r = output<streamq_writer_report>();
        check(streamq_writer_close(h_.get(), &r));
        return r;
    }
    streamq_writer_report report() const {
        auto r = output<streamq_writer_report>();
        check(streamq_writer_get_report(h_.get(), &r));
        return r;
    }
    streamq_stream_report stream_report(std::size_t index) const {
        auto r = output<streamq_stream_report>();
        check(streamq_writer_stream_report(h_.get(), index, &r));
        return r;
    }
    streamq_writer *get() const noexcept { return h_.get(); }

private:
    Writer() = default;
    // Declared before h_, so destroyed after it: streamq_writer_free stops the writer
    // thread, the only user of the sink state.
    std::unique_ptr<detail::sink_state> sink_;
    detail::handle<streamq_writer, streamq_writer_free> h_;
};

/// A frame read from a capture; `data` is valid until the next call on the reader.
using ReaderFrame = streamq_reader_frame;

/// A gap record of a capture: `count` frames of one stream that were lost (dropped by the
/// overflow policy, or not written).
struct Gap {
    std::uint16_t stream_id;
    std::string stream_name;  // "" if the stream has no definition
    std::uint64_t first_seq;
    std::uint64_t last_seq;  // first_seq + count - 1
    std::uint64_t count;
    std::uint32_t reason;  // STREAMQ_DROP_REASON_NEWEST / _OLDEST / _WRITE_ERROR, or an unknown code
    std::uint64_t host_ts_ns;  // when the loss was recorded (host CLOCK_MONOTONIC)
    std::uint64_t offset;  // of the record within its segment file
    std::uint32_t segment;
};

inline Gap to_gap(const streamq_gap_info &g) {
    return Gap{g.stream_id, g.stream_name ? g.stream_name : "", g.first_seq, g.last_seq, g.count, g.reason,
               g.host_ts_ns, g.offset, g.segment};
}

/// An open capture file.
class Reader {
public:
    explicit Reader(const std::string &path) {
        streamq_reader *r = nullptr;
        check(streamq_reader_open(path.c_str(), &r));
        h_ = decltype(h_)(r);
    }
    /// The next frame, or nullopt at the end.
    std::optional<ReaderFrame> next() {
        auto f = output<ReaderFrame>();
        streamq_result r = streamq_reader_next(h_.get(), &f);
        if (r == STREAMQ_RESULT_END_OF_STREAM) return std::nullopt;
        check(r);
        return f;
    }
    void iter_time() { check(streamq_reader_iter_time(h_.get())); }
    void iter_stream(std::uint16_t id) { check(streamq_reader_iter_stream(h_.get(), id)); }
    void seek_seq(std::uint16_t id, std::uint64_t seq) { check(streamq_reader_seek_seq(h_.get(), id, seq)); }
    streamq_reader_info info() const {
        auto i = output<streamq_reader_info>();
        check(streamq_reader_get_info(h_.get(), &i));
        return i;
    }
    streamq_verify_report verify() {
        auto v = output<streamq_verify_report>();
        check(streamq_reader_verify(h_.get(), &v));
        return v;
    }
    /// Gap records, all streams, in file order. Does not move the frame cursor.
    std::vector<Gap> gaps() const {
        std::size_t n = 0;
        check(streamq_reader_gap_count(h_.get(), &n));
        std::vector<Gap> v;
        v.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            auto g = output<streamq_gap_info>();
            check(streamq_reader_gap(h_.get(), i, &g));
            v.push_back(to_gap(g));
        }
        return v;
    }
    /// Gap records of one stream, in file order; throws STREAMQ_RESULT_NOT_FOUND for an
    /// unknown stream id.
    std::vector<Gap> gaps(std::uint16_t stream_id) const {
        std::size_t n = 0;
        check(streamq_reader_stream_gap_count(h_.get(), stream_id, &n));
        std::vector<Gap> v;
        v.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            auto g = output<streamq_gap_info>();
            check(streamq_reader_stream_gap(h_.get(), stream_id, i, &g));
            v.push_back(to_gap(g));
        }
        return v;
    }

private:
    detail::handle<streamq_reader, streamq_reader_free> h_;
};

}  // namespace streamq

#endif  // STREAMQ_HPP
