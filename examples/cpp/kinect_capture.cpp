// kinect_capture (C++17): the C example's capture through the RAII wrapper streamq.hpp.
// A camera thread fills 900 KiB depth frames in place in the writer's ring at 30 fps for
// N seconds; errors arrive as streamq::error exceptions; handles free themselves.
//
//   kinect_capture_cpp [--seconds N] [--out capture.sqcap]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "streamq.hpp"

namespace {
constexpr int kFps = 30, kWidth = 640, kHeight = 720;
constexpr std::size_t kFrameBytes = std::size_t{kWidth} * kHeight * 2;  // 900 KiB

void fill_depth(std::uint8_t *dst, std::uint64_t n) {
    auto *px = reinterpret_cast<std::uint16_t *>(dst);
    for (int y = 0; y < kHeight; y++)
        for (int x = 0; x < kWidth; x++) px[y * kWidth + x] = static_cast<std::uint16_t>(500 + ((x + y + n) & 0x3ff));
    std::memcpy(dst, &n, sizeof n);
}
}  // namespace

int main(int argc, char **argv) try {
    double seconds = 5;
    std::string out = "kinect_capture_cpp.sqcap";
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--seconds N] [--out FILE]\n", argv[0]);
            return 2;
        }
    }
    streamq::Writer writer(out);
    streamq_stream_config sc = streamq::stream_config();
    sc.name = "depth";
    sc.media_type = "depth/u16";
    streamq::set(sc, "capacity", "64MiB");  // the command line's and Python's option texts
    sc.queue.block_timeout_ms = 1000 / kFps;
    streamq::Producer depth = writer.add_stream(sc);

    const int frames = static_cast<int>(seconds * kFps);
    std::printf("kinect_capture_cpp: %d frames of %zu KiB at %d fps -> %s\n", frames, kFrameBytes / 1024, kFps,
                out.c_str());
    int refused = 0;
    std::thread camera([&] {
        using clock = std::chrono::steady_clock;
        const auto start = clock::now();
        for (int n = 0; n < frames; n++) {
            const auto due = start + std::chrono::nanoseconds(1'000'000'000LL * n / kFps);
            std::this_thread::sleep_until(due);
            try {
                const auto ts = static_cast<std::uint64_t>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(due - start).count());
                auto slot = depth.reserve(kFrameBytes, streamq::PushOptions::at(ts));  // filled in place
                fill_depth(slot.data(), static_cast<std::uint64_t>(n));
                slot.commit();
            } catch (const streamq::error &e) {
                if (e.code() != STREAMQ_RESULT_TIMEOUT && e.code() != STREAMQ_RESULT_DROPPED) throw;
                refused++;
            }
        }
    });
    camera.join();
    const streamq_queue_stats qs = depth.stats();
    const streamq_writer_report rep = writer.close();
    std::printf("  written        %llu frames, %.1f MiB, %llu writes\n",
                static_cast<unsigned long long>(rep.frames_written), rep.bytes_written / double(1 << 20),
                static_cast<unsigned long long>(rep.writes));
    std::printf("  dropped        %llu, failed %llu, refused %d\n",
                static_cast<unsigned long long>(rep.frames_dropped_newest + rep.frames_dropped_oldest),
                static_cast<unsigned long long>(rep.frames_failed), refused);
    std::printf("  push latency   p50 %.1f us, p99 %.1f us; queue peak %.1f MiB\n", qs.push_latency.p50_ns / 1e3,
                qs.push_latency.p99_ns / 1e3, qs.peak_level_bytes / double(1 << 20));

    streamq::Reader reader(out);
    std::uint64_t n = 0;
    while (auto f = reader.next()) {
        if (f->len != kFrameBytes) throw std::runtime_error("bad frame length");
        n++;
    }
    const streamq_verify_report v = reader.verify();
    std::printf("  verify         %s: %llu frames\n", v.ok ? "ok" : "FAILED", static_cast<unsigned long long>(n));
    return v.ok && n == rep.frames_written && rep.frames_written + refused == static_cast<std::uint64_t>(frames) ? 0 : 1;
} catch (const streamq::error &e) {
    std::fprintf(stderr, "kinect_capture_cpp: %s (%s)\n", e.what(), streamq_result_str(e.code()));
    return 1;
}
