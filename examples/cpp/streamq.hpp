// streamq.hpp — a small header-only C++17 RAII wrapper over libstreamq's C API.
//
// Handles are move-only and free themselves; every failing call throws streamq::error
// (code + the library's detailed message), except the results a caller is expected to
// branch on, which come back as values: a dropped frame (Pushed::dropped), an empty queue
// or end of stream (std::nullopt from pop/next).
#ifndef STREAMQ_HPP
#define STREAMQ_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
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
    detail::handle<streamq_writer, streamq_writer_free> h_;
};

/// A frame read from a capture; `data` is valid until the next call on the reader.
using ReaderFrame = streamq_reader_frame;

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

private:
    detail::handle<streamq_reader, streamq_reader_free> h_;
};

}  // namespace streamq

#endif  // STREAMQ_HPP
