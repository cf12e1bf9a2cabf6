// streamq.hpp — a small header-only C++17 RAII wrapper over libstreamq's C API.
//
// Handles are move-only and free themselves; every failing call throws streamq::error
// (code + the library's detailed message), except the results a caller is expected to
// branch on, which come back as values: a dropped frame (Pushed::dropped), an empty queue
// or end of stream (std::nullopt from pop/next). A callback sink can be a std::function
// (Writer::callback_sink); exceptions it throws never cross into the C library: they fail
// the writer with their message.
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
}  // namespace detail

/// What happened to a pushed frame: queued, or dropped by the overflow policy.
struct Pushed {
    std::uint64_t seq;
    bool dropped;
};

inline std::optional<Pushed> pushed(streamq_result r, std::uint64_t seq) {
    if (r == STREAMQ_RESULT_DROPPED) return Pushed{seq, true};
    if (r == STREAMQ_RESULT_WOULD_BLOCK || r == STREAMQ_RESULT_TIMEOUT) return std::nullopt;
    check(r);
    return Pushed{seq, false};
}

/// Ring space being filled in place. Commit publishes it; destruction without a commit
/// aborts it (gives the space back). Must be committed on the thread that reserved it.
template <typename H, streamq_result (*Commit)(H *, std::uint64_t *), streamq_result (*CommitAt)(H *, std::uint64_t, std::uint64_t *),
          streamq_result (*Abort)(H *)>
class basic_reservation {
public:
    basic_reservation(H *h, std::uint8_t *data, std::size_t len) noexcept : h_(h), data_(data), len_(len) {}
    basic_reservation(basic_reservation &&o) noexcept
        : h_(std::exchange(o.h_, nullptr)), data_(o.data_), len_(o.len_) {}
    basic_reservation(const basic_reservation &) = delete;
    basic_reservation &operator=(const basic_reservation &) = delete;
    basic_reservation &operator=(basic_reservation &&) = delete;
    ~basic_reservation() {
        if (h_) Abort(h_);
    }
    std::uint8_t *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return len_; }
    std::uint64_t commit() {
        std::uint64_t seq = 0;
        check(Commit(std::exchange(h_, nullptr), &seq));
        return seq;
    }
    std::uint64_t commit_at(std::uint64_t timestamp_ns) {
        std::uint64_t seq = 0;
        check(CommitAt(std::exchange(h_, nullptr), timestamp_ns, &seq));
        return seq;
    }

private:
    H *h_;
    std::uint8_t *data_;
    std::size_t len_;
};

using Reservation = basic_reservation<streamq_producer, streamq_producer_commit, streamq_producer_commit_at,
                                      streamq_producer_abort>;
using StreamReservation =
    basic_reservation<streamq_stream, streamq_stream_commit, streamq_stream_commit_at, streamq_stream_abort>;

/// The producer end of a queue (thread-safe: several threads may push at once).
class Producer {
public:
    explicit Producer(streamq_producer *p) : h_(p) {}
    /// Copies a frame; nullopt if the queue stayed full (would block / timeout).
    std::optional<Pushed> push(const void *data, std::size_t len) {
        std::uint64_t seq = 0;
        return pushed(streamq_producer_push(h_.get(), static_cast<const std::uint8_t *>(data), len, &seq), seq);
    }
    std::optional<Pushed> try_push(const void *data, std::size_t len) {
        std::uint64_t seq = 0;
        return pushed(streamq_producer_try_push(h_.get(), static_cast<const std::uint8_t *>(data), len, &seq), seq);
    }
    Reservation reserve(std::size_t len) {
        std::uint8_t *p = nullptr;
        check(streamq_producer_reserve(h_.get(), len, &p));
        return Reservation(h_.get(), p, len);
    }
    streamq_queue_stats stats() const {
        streamq_queue_stats s;
        check(streamq_producer_stats(h_.get(), &s));
        return s;
    }
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
        Frame f;
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
        streamq_queue_stats s;
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

/// One stream of a writer (thread-safe; one per sensor thread is the usual layout).
class Stream {
public:
    explicit Stream(streamq_stream *s) : h_(s) {}
    std::optional<Pushed> push_at(const void *data, std::size_t len, std::uint64_t timestamp_ns) {
        std::uint64_t seq = 0;
        return pushed(
            streamq_stream_push_at(h_.get(), static_cast<const std::uint8_t *>(data), len, timestamp_ns, &seq), seq);
    }
    std::optional<Pushed> push(const void *data, std::size_t len) {
        std::uint64_t seq = 0;
        return pushed(streamq_stream_push(h_.get(), static_cast<const std::uint8_t *>(data), len, &seq), seq);
    }
    /// Ring space to fill in place; throws streamq::error with STREAMQ_RESULT_DROPPED if
    /// a drop policy refused the frame.
    StreamReservation reserve(std::size_t len) {
        std::uint8_t *p = nullptr;
        check(streamq_stream_reserve(h_.get(), len, &p));
        return StreamReservation(h_.get(), p, len);
    }
    std::uint16_t id() const {
        std::uint16_t id = 0;
        check(streamq_stream_id(h_.get(), &id));
        return id;
    }
    streamq_queue_stats stats() const {
        streamq_queue_stats s;
        check(streamq_stream_stats(h_.get(), &s));
        return s;
    }
    void close() { check(streamq_stream_close(h_.get())); }
    streamq_stream *get() const noexcept { return h_.get(); }

private:
    detail::handle<streamq_stream, streamq_stream_free> h_;
};

/// A frame given to a callback sink. `stream_name` and `data` point into the library and
/// are valid during the call only: copy what you keep.
struct SinkFrame {
    std::uint16_t stream_id;
    std::string_view stream_name;
    const std::uint8_t *data;  // never null, even when size is 0
    std::size_t size;
    std::uint64_t seq;
    std::uint64_t timestamp_ns;  // device timestamp (push_at / commit_at), else host time
    std::uint64_t host_time_ns;
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
    std::uint64_t host_time_ns;
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
                SinkFrame fr{f.stream_id, f.stream_name, f.data, f.len, f.seq, f.timestamp_ns, f.host_time_ns};
                st->fn(SinkEvent{&fr, nullptr});
            } else if (ev->kind == STREAMQ_SINK_EVENT_KIND_GAP && ev->gap) {
                const streamq_sink_gap &g = *ev->gap;
                SinkGap gap{g.stream_id, g.stream_name, g.first_seq, g.last_seq, g.count, g.reason, g.host_time_ns};
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
    static void forward_error(void *self, streamq_result code, const char *message) {
        auto *st = static_cast<sink_state *>(self);
        st->on_error(st->user, code, message);
    }
    static void forward_segment(void *self, const streamq_segment_info *info) {
        auto *st = static_cast<sink_state *>(self);
        st->on_segment(st->user, info);
    }
    static void forward_durable(void *self, std::uint16_t stream_id, std::uint64_t seq) {
        auto *st = static_cast<sink_state *>(self);
        st->on_durable(st->user, stream_id, seq);
    }
};
}  // namespace detail

/// A capture writer. close() returns the report (and throws on a writer error); the
/// destructor closes it if needed, ignoring errors.
class Writer {
public:
    explicit Writer(const streamq_writer_config &config) {
        streamq_writer *w = nullptr;
        check(streamq_writer_create(&config, &w));
        h_ = decltype(h_)(w);
    }
    explicit Writer(const std::string &path) {
        streamq_writer_config c = streamq_writer_config_default();
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
    static Writer callback_sink(SinkFn fn, streamq_writer_config config = streamq_writer_config_default()) {
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
    Stream add_stream(const streamq_stream_config &config) {
        streamq_stream *s = nullptr;
        check(streamq_writer_add_stream(h_.get(), &config, &s));
        return Stream(s);
    }
    Stream add_stream(const std::string &name, const std::string &media_type, std::size_t capacity,
                      streamq_policy policy = STREAMQ_POLICY_BLOCK) {
        streamq_stream_config c = streamq_stream_config_default();
        c.name = name.c_str();
        c.media_type = media_type.c_str();
        c.queue.capacity = capacity;
        c.queue.policy = static_cast<std::uint32_t>(policy);
        return add_stream(c);
    }
    void flush() { check(streamq_writer_flush(h_.get())); }
    streamq_writer_report close() {
        streamq_writer_report r;
        check(streamq_writer_close(h_.get(), &r));
        return r;
    }
    streamq_writer_report report() const {
        streamq_writer_report r;
        check(streamq_writer_get_report(h_.get(), &r));
        return r;
    }
    streamq_stream_report stream_report(std::size_t index) const {
        streamq_stream_report r;
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
    std::uint64_t host_time_ns;  // when the loss was recorded (host CLOCK_MONOTONIC)
    std::uint64_t offset;  // of the record within its segment file
    std::uint32_t segment;
};

inline Gap to_gap(const streamq_gap_info &g) {
    return Gap{g.stream_id, g.stream_name ? g.stream_name : "", g.first_seq, g.last_seq, g.count, g.reason,
               g.host_time_ns, g.offset, g.segment};
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
        ReaderFrame f;
        streamq_result r = streamq_reader_next(h_.get(), &f);
        if (r == STREAMQ_RESULT_END_OF_STREAM) return std::nullopt;
        check(r);
        return f;
    }
    void iter_time() { check(streamq_reader_iter_time(h_.get())); }
    void iter_stream(std::uint16_t id) { check(streamq_reader_iter_stream(h_.get(), id)); }
    void seek_seq(std::uint16_t id, std::uint64_t seq) { check(streamq_reader_seek_seq(h_.get(), id, seq)); }
    streamq_reader_info info() const {
        streamq_reader_info i;
        check(streamq_reader_get_info(h_.get(), &i));
        return i;
    }
    streamq_verify_report verify() {
        streamq_verify_report v;
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
            streamq_gap_info g;
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
            streamq_gap_info g;
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
