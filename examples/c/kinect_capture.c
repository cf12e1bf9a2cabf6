/* kinect_capture: a Kinect-style depth capture through libstreamq.
 *
 * A "camera" thread delivers 30 frames/s of 900 KiB for N seconds. Like a camera SDK
 * callback, it writes each frame straight into ring space reserved in the writer's depth
 * stream (streamq_producer_reserve with the frame's timestamp → fill →
 * streamq_producer_commit): no copy, no I/O on the camera's thread. The writer thread lands the frames in a capture file. At the end
 * the program prints the writer's figures and verifies the file.
 *
 *   kinect_capture [--seconds N] [--out capture.sqcap] [--zstd LEVEL]
 *
 * Build: cc -std=c11 kinect_capture.c $(pkg-config --cflags --libs streamq) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "streamq.h"

enum { FPS = 30, WIDTH = 640, HEIGHT = 720, FRAME_BYTES = WIDTH * HEIGHT * 2 }; /* 900 KiB */

static void die(const char *what, streamq_result r) {
    char msg[512];
    streamq_last_error(msg, sizeof msg);
    fprintf(stderr, "kinect_capture: %s failed: %s (%s)\n", what, streamq_result_str((int)r), msg);
    exit(1);
}

#define TRY(call)                                      \
    do {                                               \
        streamq_result r_ = (call);                    \
        if (r_ != STREAMQ_RESULT_OK) die(#call, r_);   \
    } while (0)

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct camera {
    streamq_producer *depth;
    int frames;
    uint64_t dropped, refused;
};

/* The "sensor": a depth ramp that moves with the frame number, written in place. */
static void fill_depth(uint8_t *dst, uint64_t n) {
    uint16_t *px = (uint16_t *)(void *)dst;
    for (int y = 0; y < HEIGHT; y++)
        for (int x = 0; x < WIDTH; x++) px[y * WIDTH + x] = (uint16_t)(500 + ((x + y + (int)n) & 0x3ff));
    memcpy(dst, &n, sizeof n); /* frame number in the first 8 bytes */
}

static void *camera_thread(void *arg) {
    struct camera *cam = arg;
    uint64_t start = now_ns(), period = 1000000000ull / FPS;
    for (int n = 0; n < cam->frames; n++) {
        uint64_t due = start + (uint64_t)n * period;
        uint64_t t = now_ns();
        if (t < due) {
            struct timespec d = {(time_t)((due - t) / 1000000000ull), (long)((due - t) % 1000000000ull)};
            while (nanosleep(&d, &d) == -1 && errno == EINTR) {
            }
        }
        uint8_t *dst = NULL;
        streamq_push_options opts;
        TRY(STREAMQ_PUSH_OPTIONS_INIT(&opts));
        opts.has_device_ts = true; /* the sensor's capture time, used when reading by time */
        opts.device_ts_ns = due;
        streamq_result r = streamq_producer_reserve(cam->depth, FRAME_BYTES, &opts, &dst);
        if (r == STREAMQ_RESULT_DROPPED) { /* counted by the library; the file gets a gap */
            cam->dropped++;
            continue;
        }
        if (r == STREAMQ_RESULT_TIMEOUT || r == STREAMQ_RESULT_WOULD_BLOCK) {
            cam->refused++;
            continue;
        }
        if (r != STREAMQ_RESULT_OK) die("streamq_producer_reserve", r);
        fill_depth(dst, (uint64_t)n);
        TRY(streamq_producer_commit(cam->depth, NULL));
    }
    return NULL;
}

int main(int argc, char **argv) {
    double seconds = 5;
    const char *out = "kinect_capture.sqcap";
    int zstd = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--zstd") && i + 1 < argc) zstd = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--seconds N] [--out FILE] [--zstd LEVEL]\n", argv[0]);
            return 2;
        }
    }
    if (streamq_version_number() != STREAMQ_VERSION_NUMBER) {
        fprintf(stderr, "libstreamq %s does not match streamq.h %s\n", streamq_version(), STREAMQ_VERSION_STRING);
        return 1;
    }

    streamq_kv file_meta[] = {{"sensor", "kinect-like depth camera (synthetic)"}, {"program", "kinect_capture.c"}};
    streamq_writer_config wc;
    TRY(STREAMQ_WRITER_CONFIG_INIT(&wc));
    wc.path = out;
    wc.metadata = file_meta;
    wc.metadata_len = 2;
    wc.compression_level = zstd;
    /* Options can also be set as text, with the command line's and Python's spellings. */
    TRY(streamq_writer_config_set(&wc, "fsync", "every:1s"));
    streamq_writer *writer = NULL;
    TRY(streamq_writer_create(&wc, &writer));

    char w[16], h[16];
    snprintf(w, sizeof w, "%d", WIDTH);
    snprintf(h, sizeof h, "%d", HEIGHT);
    streamq_kv depth_meta[] = {{"width", w}, {"height", h}, {"pixel_format", "u16"}, {"units", "mm"}};
    streamq_stream_config sc;
    TRY(STREAMQ_STREAM_CONFIG_INIT(&sc));
    sc.name = "depth";
    sc.media_type = "depth/u16";
    sc.metadata = depth_meta;
    sc.metadata_len = 4;
    sc.queue.capacity = 64u << 20; /* ~2 s of frames: the disk may stall that long */
    sc.queue.policy = STREAMQ_POLICY_BLOCK;
    sc.queue.block_timeout_ms = 1000 / FPS; /* never hold the camera longer than a frame */
    streamq_producer *depth = NULL;
    TRY(streamq_writer_add_stream(writer, &sc, &depth));

    struct camera cam = {depth, (int)(seconds * FPS), 0, 0};
    printf("kinect_capture: %d frames of %d KiB at %d fps (%.1f s) -> %s%s\n", cam.frames, FRAME_BYTES / 1024, FPS,
           seconds, out, zstd ? " (zstd)" : "");
    pthread_t t;
    if (pthread_create(&t, NULL, camera_thread, &cam) != 0) return 1;
    pthread_join(t, NULL);

    /* Outputs carry their size too: set it before the call. */
    streamq_queue_stats qs;
    STREAMQ_OUTPUT_INIT(&qs);
    TRY(streamq_producer_stats(depth, &qs));
    streamq_writer_report rep;
    STREAMQ_OUTPUT_INIT(&rep);
    TRY(streamq_writer_close(writer, &rep));
    streamq_stream_report sr;
    STREAMQ_OUTPUT_INIT(&sr);
    TRY(streamq_writer_stream_report(writer, 0, &sr));

    printf("  written        %" PRIu64 " frames, %.1f MiB payload, %.1f MiB on disk, %" PRIu64 " writes, %" PRIu64
           " syncs\n",
           rep.frames_written, (double)rep.bytes_written / (1 << 20), (double)rep.stored_bytes / (1 << 20), rep.writes,
           rep.syncs);
    printf("  dropped        %" PRIu64 " (newest %" PRIu64 ", oldest %" PRIu64 "), failed %" PRIu64
           ", refused by camera %" PRIu64 "\n",
           rep.frames_dropped_newest + rep.frames_dropped_oldest, rep.frames_dropped_newest,
           rep.frames_dropped_oldest, rep.frames_failed, cam.refused);
    printf("  throughput     %.1f MB/s over %.2f s\n", rep.seconds > 0 ? (double)rep.bytes_written / 1e6 / rep.seconds : 0,
           rep.seconds);
    printf("  push latency   p50 %.1f us, p99 %.1f us, max %.1f us (%" PRIu64 " samples)\n",
           (double)qs.push_latency.p50_ns / 1e3, (double)qs.push_latency.p99_ns / 1e3,
           (double)qs.push_latency.max_ns / 1e3, qs.push_latency.count);
    printf("  write latency  p50 %.1f us, p99 %.1f us, max %.1f us\n", (double)rep.write_latency.p50_ns / 1e3,
           (double)rep.write_latency.p99_ns / 1e3, (double)rep.write_latency.max_ns / 1e3);
    printf("  queue peak     %.1f MiB of %.1f MiB, durable up to seq %" PRIu64 "\n",
           (double)qs.peak_level_bytes / (1 << 20), (double)qs.capacity_bytes / (1 << 20),
           sr.has_durable_seq ? sr.durable_seq : 0);
    streamq_producer_free(depth);
    streamq_writer_free(writer);

    /* Read the capture back and verify it. */
    streamq_reader *reader = NULL;
    TRY(streamq_reader_open(out, &reader));
    streamq_verify_report v;
    STREAMQ_OUTPUT_INIT(&v);
    TRY(streamq_reader_verify(reader, &v));
    streamq_reader_frame f;
    STREAMQ_OUTPUT_INIT(&f);
    uint64_t n = 0, bad = 0;
    while (streamq_reader_next(reader, &f) == STREAMQ_RESULT_OK) {
        uint64_t num;
        memcpy(&num, f.data, sizeof num);
        if (f.len != FRAME_BYTES) bad++;
        n++;
        (void)num;
    }
    streamq_reader_free(reader);
    printf("  verify         %s: %" PRIu64 " frames, %" PRIu64 " gaps, %" PRIu64 " dropped, %" PRIu64 " bad\n",
           v.ok ? "ok" : "FAILED", v.frames, v.gaps, v.dropped, bad);
    int lost = rep.frames_written + rep.frames_dropped_newest + rep.frames_dropped_oldest + cam.refused !=
               (uint64_t)cam.frames;
    return (v.ok && !bad && n == rep.frames_written && !lost) ? 0 : 1;
}
