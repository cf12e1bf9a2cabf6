//! A deterministic Kinect-style sensor: depth, color, infrared and IMU frames derived
//! from the frame index alone.
//!
//! Frames look (and compress) like the real thing: depth is 16-bit millimetres of
//! smooth surfaces — a sloped back wall, a floor, a sphere moving across the scene —
//! with a few millimetres of sensor noise and invalid (zero) pixels, so zstd level 1
//! gives a few-fold ratio rather than 100×. Only integer arithmetic and `sqrt`
//! (correctly rounded by IEEE 754) are used, so any build on any machine regenerates
//! frame `n` bit-exact: [`Generator::frame`] is how tests check a capture's content.
//!
//! The frame index is also recoverable from the frame's device timestamp
//! ([`StreamSpec::index_of_ts`]), so content can be checked even when the overflow
//! policy made the engine's sequence numbers differ from the source's frame count.

use std::fmt;

/// Version tag stored in each synthetic stream's metadata (`generator`).
pub const GENERATOR: &str = "streamq-synthetic/1";

/// Rate of the synthetic IMU, samples per second.
pub const IMU_HZ: f64 = 1600.0;
/// Size of one IMU sample: 6 × f32 (accel, gyro), f32 temperature, u32 counter.
pub const IMU_SAMPLE_BYTES: usize = 32;

/// The kinds of synthetic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 16-bit depth in millimetres.
    Depth,
    /// 8-bit RGB, about 1.3 × the depth frame size.
    Color,
    /// 16-bit infrared intensity, half the depth frame size.
    Ir,
    /// 32-byte IMU samples at 1.6 kHz.
    Imu,
}

impl Kind {
    /// All kinds, in their usual stream order.
    pub const ALL: [Kind; 4] = [Kind::Depth, Kind::Color, Kind::Ir, Kind::Imu];

    /// Parses a stream name (`depth`, `color`/`colour`/`rgb`, `ir`/`infrared`, `imu`).
    pub fn parse(s: &str) -> Result<Kind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "depth" => Ok(Kind::Depth),
            "color" | "colour" | "rgb" => Ok(Kind::Color),
            "ir" | "infrared" => Ok(Kind::Ir),
            "imu" => Ok(Kind::Imu),
            other => Err(format!(
                "unknown stream '{other}' (choose from depth, color, ir, imu)"
            )),
        }
    }

    /// The stream name used in captures.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Depth => "depth",
            Kind::Color => "color",
            Kind::Ir => "ir",
            Kind::Imu => "imu",
        }
    }

    /// The media type stored in the stream definition.
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Depth => "depth/u16",
            Kind::Color => "color/rgb8",
            Kind::Ir => "ir/u16",
            Kind::Imu => "imu/f32x6",
        }
    }

    fn salt(self) -> u64 {
        match self {
            Kind::Depth => 0x6465_7074_6800_0001,
            Kind::Color => 0x636f_6c6f_7200_0002,
            Kind::Ir => 0x6972_0000_0000_0003,
            Kind::Imu => 0x696d_7500_0000_0004,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Shape and rate of one synthetic stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    /// What it carries.
    pub kind: Kind,
    /// Bytes per frame.
    pub frame_bytes: usize,
    /// Frames per second.
    pub hz: f64,
    /// Image width in pixels (1 for IMU).
    pub width: usize,
    /// Image height in pixels (1 for IMU).
    pub height: usize,
    /// When set, the source cycled this many pre-generated frames: frame `n` holds the
    /// content of frame `n % pool` (benchmarks, where synthesis must not be the cost).
    pub frame_pool: Option<u64>,
}

/// Picks an image width that divides `pixels`, preferring camera-like widths and a
/// not-too-flat aspect; 1 if nothing divides.
fn choose_width(pixels: usize) -> usize {
    const WIDTHS: [usize; 15] = [1280, 1024, 640, 512, 320, 256, 160, 128, 64, 32, 16, 8, 4, 2, 1];
    WIDTHS
        .iter()
        .copied()
        .find(|&w| pixels >= w && pixels.is_multiple_of(w) && pixels / w >= w / 2)
        .or_else(|| {
            WIDTHS
                .iter()
                .copied()
                .find(|&w| pixels >= w && pixels.is_multiple_of(w))
        })
        .unwrap_or(1)
}

impl StreamSpec {
    /// The stream of `kind` for a depth frame size of `frame_size` bytes at `fps`
    /// (color: ≈ 1.3 × frame_size, IR: frame_size / 2, IMU: 32 bytes at 1.6 kHz).
    pub fn new(kind: Kind, frame_size: usize, fps: f64) -> StreamSpec {
        let (frame_bytes, hz, bpp) = match kind {
            Kind::Depth => (frame_size, fps, 2),
            Kind::Color => ((frame_size as f64 * 1.3) as usize / 3 * 3, fps, 3),
            Kind::Ir => (frame_size / 2 / 2 * 2, fps, 2),
            Kind::Imu => (IMU_SAMPLE_BYTES, IMU_HZ, IMU_SAMPLE_BYTES),
        };
        let pixels = frame_bytes / bpp;
        let (width, height) = if kind == Kind::Imu || pixels == 0 {
            (1, pixels.max(1))
        } else {
            let w = choose_width(pixels);
            (w, pixels / w)
        };
        StreamSpec {
            kind,
            frame_bytes,
            hz,
            width,
            height,
            frame_pool: None,
        }
    }

    /// This spec with a pool of `n` pre-generated frames (see [`frame_pool`](Self::frame_pool)).
    pub fn with_frame_pool(mut self, n: Option<u64>) -> StreamSpec {
        self.frame_pool = n.filter(|&n| n > 0);
        self
    }

    /// The generator frame whose content frame `n` carries.
    pub fn content_index(&self, n: u64) -> u64 {
        match self.frame_pool {
            Some(pool) => n % pool,
            None => n,
        }
    }

    /// Device timestamp (ns from the start of the capture) of frame `n`.
    pub fn ts_of_index(&self, n: u64) -> u64 {
        (n as f64 * 1e9 / self.hz).round() as u64
    }

    /// The frame index whose timestamp is `ts_ns` (inverse of [`ts_of_index`](Self::ts_of_index)).
    pub fn index_of_ts(&self, ts_ns: u64) -> u64 {
        (ts_ns as f64 * self.hz / 1e9).round() as u64
    }

    /// Metadata pairs stored in the stream definition.
    pub fn metadata(&self) -> Vec<(String, String)> {
        let mut m = vec![
            ("generator".to_string(), GENERATOR.to_string()),
            ("frame_bytes".to_string(), self.frame_bytes.to_string()),
            ("rate_hz".to_string(), format!("{}", self.hz)),
        ];
        let (pf, units) = match self.kind {
            Kind::Depth => ("u16le", "mm"),
            Kind::Color => ("rgb8", ""),
            Kind::Ir => ("u16le", "counts"),
            Kind::Imu => ("f32le accel_xyz(m/s2) gyro_xyz(rad/s) temp(C) u32 counter", ""),
        };
        if self.kind != Kind::Imu {
            m.push(("width".to_string(), self.width.to_string()));
            m.push(("height".to_string(), self.height.to_string()));
        }
        m.push(("pixel_format".to_string(), pf.to_string()));
        if !units.is_empty() {
            m.push(("units".to_string(), units.to_string()));
        }
        if let Some(pool) = self.frame_pool {
            m.push(("frame_pool".to_string(), pool.to_string()));
        }
        m
    }

    /// Reads a spec back from stream metadata written by [`metadata`](Self::metadata)
    /// (`None` if the stream is not synthetic or the metadata is incomplete).
    pub fn from_metadata(name: &str, metadata: &[(String, String)]) -> Option<StreamSpec> {
        let get = |k: &str| metadata.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        if get("generator")? != GENERATOR {
            return None;
        }
        let kind = Kind::parse(name).ok()?;
        let frame_bytes: usize = get("frame_bytes")?.parse().ok()?;
        let hz: f64 = get("rate_hz")?.parse().ok()?;
        let (width, height) = if kind == Kind::Imu {
            (1, 1)
        } else {
            (get("width")?.parse().ok()?, get("height")?.parse().ok()?)
        };
        if !(hz.is_finite() && hz > 0.0) {
            return None;
        }
        let frame_pool = match get("frame_pool") {
            Some(v) => Some(v.parse::<u64>().ok().filter(|&n| n > 0)?),
            None => None,
        };
        Some(StreamSpec {
            kind,
            frame_bytes,
            hz,
            width,
            height,
            frame_pool,
        })
    }
}

/// splitmix64: a tiny, well-mixed, deterministic generator.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Triangle wave in `0..=period/2 .. 0` as an integer: smooth back-and-forth motion
/// without floating-point transcendental functions.
fn triangle(n: u64, period: u64) -> u64 {
    let p = n % period;
    if p < period / 2 { p } else { period - p }
}

/// Regenerates frames of one synthetic stream.
pub struct Generator {
    spec: StreamSpec,
    /// Static part of the scene, one value per pixel (depth: quantised mm; IR:
    /// quantised intensity) or per byte (color).
    background: Vec<u16>,
    /// Depth: the quantisation step of each background pixel.
    steps: Vec<u16>,
    /// Depth: (quantised value, step) for 0..=1400 mm, the range of the sphere.
    near: Vec<(i32, i32)>,
}

/// Depth quantisation step at `d` mm: coarser further away, like a structured-light
/// or time-of-flight sensor.
fn depth_step(d: i32) -> i32 {
    2 + d / 600
}

impl Generator {
    /// A generator for `spec`.
    pub fn new(spec: StreamSpec) -> Generator {
        let (w, h) = (spec.width, spec.height);
        let mut steps = Vec::new();
        let background = match spec.kind {
            Kind::Depth => {
                let mut b = vec![0u16; w * h];
                steps = vec![0u16; w * h];
                for y in 0..h {
                    for x in 0..w {
                        // Back wall at ~2.5–3.5 m, sloped; a floor rising towards the camera.
                        let wall = 2500 + (800 * x / w.max(1)) + (200 * y / h.max(1));
                        let floor_start = h * 2 / 3;
                        let d = if y > floor_start {
                            let t = (y - floor_start) * 1000 / (h - floor_start).max(1);
                            wall * (1000 - t * 6 / 10) / 1000
                        } else {
                            wall
                        } as i32;
                        let step = depth_step(d);
                        b[y * w + x] = (d / step * step) as u16;
                        steps[y * w + x] = step as u16;
                    }
                }
                b
            }
            Kind::Ir => {
                let mut b = vec![0u16; w * h];
                for y in 0..h {
                    for x in 0..w {
                        // Vignetted illumination: bright centre, darker corners.
                        let dx = x.abs_diff(w / 2) * 1000 / w.max(1);
                        let dy = y.abs_diff(h / 2) * 1000 / h.max(1);
                        let fall = (dx * dx + dy * dy) / 400;
                        b[y * w + x] = (1800usize.saturating_sub(fall).max(100) / 4 * 4) as u16;
                    }
                }
                b
            }
            Kind::Color => {
                let mut b = vec![0u16; w * h * 3];
                for y in 0..h {
                    for x in 0..w {
                        let i = (y * w + x) * 3;
                        b[i] = (60 + 120 * x / w.max(1)) as u16;
                        b[i + 1] = (80 + 100 * y / h.max(1)) as u16;
                        b[i + 2] = (140 - 60 * y / h.max(1)) as u16;
                    }
                }
                b
            }
            Kind::Imu => Vec::new(),
        };
        let near = if spec.kind == Kind::Depth {
            (0..=1400)
                .map(|d| {
                    let step = depth_step(d);
                    (d / step * step, step)
                })
                .collect()
        } else {
            Vec::new()
        };
        Generator {
            spec,
            background,
            steps,
            near,
        }
    }

    /// The stream's shape.
    pub fn spec(&self) -> &StreamSpec {
        &self.spec
    }

    /// Frame `n` as a new vector.
    pub fn frame(&self, n: u64) -> Vec<u8> {
        let mut v = vec![0u8; self.spec.frame_bytes];
        self.fill(n, &mut v);
        v
    }

    /// Writes frame `n` into `out`, which should be `frame_bytes` long (bytes past
    /// the frame are zeroed; a shorter buffer gets a prefix of the frame).
    pub fn fill(&self, n: u64, out: &mut [u8]) {
        let mut rng = Rng::new(self.spec.kind.salt() ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let pixels = self.spec.width * self.spec.height;
        let used = match self.spec.kind {
            Kind::Depth | Kind::Ir => pixels * 2,
            Kind::Color => pixels * 3,
            Kind::Imu => IMU_SAMPLE_BYTES,
        }
        .min(self.spec.frame_bytes)
        .min(out.len());
        out[used..].fill(0);
        let out = &mut out[..used];
        match self.spec.kind {
            Kind::Depth => self.fill_depth(n, &mut rng, out),
            Kind::Ir => self.fill_ir(n, &mut rng, out),
            Kind::Color => self.fill_color(n, &mut rng, out),
            Kind::Imu => fill_imu(n, &mut rng, out),
        }
    }

    /// The moving sphere of frame `n`: centre x, centre y, radius (pixels).
    fn sphere(&self, n: u64) -> (i64, i64, i64) {
        let (w, h) = (self.spec.width as i64, self.spec.height as i64);
        let r = (h.min(w) / 5).max(1);
        let travel = (w - 2 * r).max(1) as u64;
        let cx = r + triangle(n * 4, 2 * travel) as i64;
        let cy = h / 2 + (triangle(n, 90) as i64 - 22) * h / 200;
        (cx, cy, r)
    }

    /// Columns `a..b` of row `y` inside the sphere (empty when the row misses it).
    fn span(&self, (cx, cy, r): (i64, i64, i64), y: usize) -> (usize, usize) {
        let dy = y as i64 - cy;
        let q = r * r - dy * dy;
        if q < 0 {
            return (0, 0);
        }
        let half = (q as f64).sqrt() as i64;
        let w = self.spec.width as i64;
        (
            (cx - half).clamp(0, w) as usize,
            (cx + half + 1).clamp(0, w) as usize,
        )
    }

    fn fill_depth(&self, n: u64, rng: &mut Rng, out: &mut [u8]) {
        let w = self.spec.width.max(1);
        let sphere = self.sphere(n);
        let (cx, cy, r) = sphere;
        let invalid_cols = w / 64; // the sensor's blind stripe on the left
        let (mut bits, mut left) = (0u64, 0u32);
        for (y, row) in out.chunks_mut(2 * w).enumerate() {
            let (a, b) = self.span(sphere, y);
            let dy = y as i64 - cy;
            for (x, px) in row.chunks_exact_mut(2).enumerate() {
                let i = y * w + x;
                if left == 0 {
                    bits = rng.next();
                    left = 4;
                }
                let noise = (bits & 0xFFFF) as u32;
                bits >>= 16;
                left -= 1;
                let (q, step) = if x >= a && x < b {
                    let dx = x as i64 - cx;
                    let s = ((r * r - dx * dx - dy * dy).max(0) as f64).sqrt();
                    let d = (1400 - (s * 3.0) as i32).clamp(0, 1400);
                    self.near[d as usize]
                } else {
                    (self.background[i] as i32, self.steps[i] as i32)
                };
                // One pixel in four is off by a quantisation step; none is 0 (no return)
                // except the stripe and ~1 % dropouts.
                const JITTER: [i32; 8] = [-1, 1, 0, 0, 0, 0, 0, 0];
                let v = (q + JITTER[(noise & 7) as usize] * step).clamp(1, 65535);
                let value = if x < invalid_cols || (noise >> 8) < 3 {
                    0
                } else {
                    v
                };
                px.copy_from_slice(&(value as u16).to_le_bytes());
            }
        }
    }

    fn fill_ir(&self, n: u64, rng: &mut Rng, out: &mut [u8]) {
        const NOISE: [i32; 8] = [-8, 8, -4, 4, 0, 0, 0, 0];
        let w = self.spec.width.max(1);
        let sphere = self.sphere(n);
        let (mut bits, mut left) = (0u64, 0u32);
        for (y, row) in out.chunks_mut(2 * w).enumerate() {
            let (a, b) = self.span(sphere, y);
            for (x, px) in row.chunks_exact_mut(2).enumerate() {
                if left == 0 {
                    bits = rng.next();
                    left = 4;
                }
                let noise = NOISE[(bits & 7) as usize];
                bits >>= 16;
                left -= 1;
                let mut v = self.background[y * w + x] as i32;
                if x >= a && x < b {
                    v += 900;
                }
                px.copy_from_slice(&((v + noise).clamp(0, 65535) as u16).to_le_bytes());
            }
        }
    }

    fn fill_color(&self, n: u64, rng: &mut Rng, out: &mut [u8]) {
        const NOISE: [i16; 8] = [-2, 2, -1, 1, 0, 0, 0, 0];
        const BALL: [i16; 3] = [200, 60, 40];
        let w = self.spec.width.max(1);
        let sphere = self.sphere(n);
        let (mut bits, mut left) = (0u64, 0u32);
        for (y, row) in out.chunks_mut(3 * w).enumerate() {
            let (a, b) = self.span(sphere, y);
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let inside = x >= a && x < b;
                let i = (y * w + x) * 3;
                for (c, byte) in px.iter_mut().enumerate() {
                    if left == 0 {
                        bits = rng.next();
                        left = 8;
                    }
                    let noise = NOISE[(bits & 7) as usize];
                    bits >>= 8;
                    left -= 1;
                    let base = if inside {
                        BALL[c]
                    } else {
                        self.background[i + c] as i16
                    };
                    *byte = (base + noise).clamp(0, 255) as u8;
                }
            }
        }
    }
}

fn fill_imu(n: u64, rng: &mut Rng, out: &mut [u8]) {
    // Gentle motion (integer triangle waves) plus a little noise; gravity on z.
    let noise = |rng: &mut Rng, scale: f32| ((rng.next() & 0xFFF) as f32 - 2048.0) / 2048.0 * scale;
    let wave = |period: u64| (triangle(n, period) as f32 / (period / 2) as f32) - 0.5;
    let vals = [
        0.3 * wave(1600) + noise(rng, 0.02),
        0.2 * wave(2400) + noise(rng, 0.02),
        9.81 + noise(rng, 0.02),
        0.05 * wave(800) + noise(rng, 0.001),
        0.04 * wave(1200) + noise(rng, 0.001),
        0.02 * wave(3200) + noise(rng, 0.001),
        31.5 + (n / 16_000) as f32 * 0.01,
    ];
    for (k, v) in vals.iter().enumerate() {
        if let Some(dst) = out.get_mut(4 * k..4 * k + 4) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(dst) = out.get_mut(28..32) {
        dst.copy_from_slice(&(n as u32).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let d = StreamSpec::new(Kind::Depth, 900 * 1024, 30.0);
        assert_eq!((d.width, d.height, d.frame_bytes), (640, 720, 921_600));
        let c = StreamSpec::new(Kind::Color, 900 * 1024, 30.0);
        assert_eq!(c.frame_bytes % 3, 0);
        assert_eq!(c.width * c.height * 3, c.frame_bytes);
        let i = StreamSpec::new(Kind::Ir, 64 * 1024, 30.0);
        assert_eq!(i.frame_bytes, 32 * 1024);
        let m = StreamSpec::new(Kind::Imu, 64 * 1024, 30.0);
        assert_eq!((m.frame_bytes, m.hz), (32, 1600.0));
        assert_eq!(StreamSpec::new(Kind::Depth, 1, 30.0).frame_bytes, 1);
    }

    #[test]
    fn deterministic_and_distinct() {
        for kind in Kind::ALL {
            let spec = StreamSpec::new(kind, 10_000, 30.0);
            let g = Generator::new(spec.clone());
            let g2 = Generator::new(spec.clone());
            assert_eq!(g.frame(7), g2.frame(7));
            assert_ne!(g.frame(7), g.frame(8));
            assert_eq!(g.frame(7).len(), spec.frame_bytes);
            let back = StreamSpec::from_metadata(kind.name(), &spec.metadata()).unwrap();
            assert_eq!(back, spec);
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let s = StreamSpec::new(Kind::Depth, 1000, 30.0);
        for n in [0u64, 1, 29, 30, 1_000_000] {
            assert_eq!(s.index_of_ts(s.ts_of_index(n)), n);
        }
        let imu = StreamSpec::new(Kind::Imu, 1000, 30.0);
        assert_eq!(imu.ts_of_index(1600), 1_000_000_000);
    }

    #[test]
    fn odd_sizes_do_not_panic() {
        for size in [0usize, 1, 2, 3, 5, 17, 4097] {
            for kind in Kind::ALL {
                let g = Generator::new(StreamSpec::new(kind, size, 30.0));
                let _ = g.frame(3);
            }
        }
    }
}
