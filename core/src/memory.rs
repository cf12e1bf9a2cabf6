//! The ring's backing memory: `capacity` bytes that can be addressed as if they were
//! followed by a second copy of themselves, so a frame that crosses the end of the ring
//! is still one contiguous slice.
//!
//! Three backings, tried in this order:
//!
//! 1. **Transparent huge pages** (Linux, when THP is `always` or `madvise` and the ring is
//!    at least one huge page): an anonymous mapping of `2 × capacity` bytes of address
//!    space, `MADV_HUGEPAGE`, of which the first `capacity` bytes plus one huge page are
//!    faulted in up front. Huge pages make the up-front fault, the copies into the ring
//!    (one TLB entry per 2 MiB instead of 512) and the final `munmap` far cheaper: on the
//!    2-core VM this project is measured on, freeing a 256 MiB ring took 50–150 ms with
//!    4 KiB pages and 1 ms with huge pages, and the slowest of 2,000 900 KiB copies into
//!    it fell from 1.5–2.5 ms to under 0.3 ms. The second half is *not* a mirror (see
//!    below), so it costs RAM only where wrapping frames overrun into it: at most the
//!    largest frame that ever crossed the end (one huge page, prefaulted, covers frames
//!    that overrun by ≤ 2 MiB).
//! 2. **A `memfd` mapped twice back to back** (the technique of the kernel's BPF ring
//!    buffer): both halves are the same physical pages, so the ring costs exactly
//!    `capacity` bytes of RAM. Used when THP is off (shared-memory THP is rarely enabled,
//!    so the mirror cannot have huge pages).
//! 3. **A heap block** of `2 × capacity` bytes (loom models, other systems).
//!
//! Backings 1 and 3 are sound without a mirror because every frame is only ever touched
//! through its own start offset (`< capacity`) and length (`≤ capacity`): a slot header
//! and payload are always addressed from the slot's start position, so bytes that run
//! past the end land in the overrun area and are read back from there, and the two
//! halves never need to agree. [`RingMemory::is_double_mapped`] reports which kind it is.

use std::io;
use std::ptr::NonNull;

/// Bytes of ring memory addressable contiguously across the wrap.
pub(crate) struct RingMemory {
    base: NonNull<u8>,
    /// What `Drop` must give back.
    backing: Backing,
    capacity: usize,
    /// `capacity - 1` when the capacity is a power of two (positions reduce with a mask
    /// instead of a 64-bit division on every access), else 0.
    mask: u64,
}

/// How the bytes were obtained, so `Drop` can return them the same way.
#[cfg_attr(loom, allow(dead_code))] // loom builds always use the heap
enum Backing {
    /// The THP mapping (unmapped by its own `Drop`).
    Anonymous(#[allow(dead_code)] AnonymousMapping), // held for its Drop
    /// The double-mapped memfd: `munmap(base, 2 × capacity)`.
    DoubleMapped,
    /// `std::alloc::dealloc(base, 2 × capacity, page aligned)`.
    Heap,
}

// SAFETY: RingMemory is a raw allocation; which thread may touch which bytes is decided
// by the ring protocol (head/tail positions), not by this type.
unsafe impl Send for RingMemory {}
// SAFETY: as above; shared access only hands out raw pointers.
unsafe impl Sync for RingMemory {}

/// The granularity ring capacities are rounded to: the page size (for the double
/// mapping), or 8 bytes in loom models so a ring of a few frames can be explored.
pub(crate) fn ring_granule() -> usize {
    if cfg!(loom) { 8 } else { page_size() }
}

/// The system page size (the granularity of the double mapping).
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p <= 0 { 4096 } else { p as usize }
}

impl RingMemory {
    /// Allocates `capacity` bytes (already a multiple of the page size), touching every
    /// page up front when `prefault` is set so the producer never takes a page fault.
    pub(crate) fn new(capacity: usize, prefault: bool) -> io::Result<Self> {
        assert!(capacity > 0 && capacity.is_multiple_of(ring_granule()));
        #[cfg(all(target_os = "linux", not(loom)))]
        {
            if let Some(huge) = thp_page_size()
                && capacity >= huge
                && let Ok(m) = Self::huge_pages(capacity, huge, prefault)
            {
                return Ok(m);
            }
            if let Ok(m) = Self::double_map(capacity, prefault) {
                return Ok(m);
            }
        }
        Self::heap(capacity, prefault)
    }

    /// Backing 1: `2 × capacity` of anonymous memory aligned to and advised for huge
    /// pages; the ring proper plus one huge page of overrun faulted in when `prefault`.
    #[cfg(all(target_os = "linux", not(loom)))]
    fn huge_pages(capacity: usize, huge: usize, prefault: bool) -> io::Result<Self> {
        let map = AnonymousMapping::new(2 * capacity, true)?;
        if prefault {
            prefault_range(map.base.as_ptr(), capacity + huge.min(capacity));
        }
        Ok(RingMemory {
            base: map.base,
            backing: Backing::Anonymous(map),
            capacity,
            mask: mask_for(capacity),
        })
    }

    #[cfg(all(target_os = "linux", not(loom)))]
    fn double_map(capacity: usize, prefault: bool) -> io::Result<Self> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        // SAFETY: the name is a valid NUL-terminated string; flags are valid.
        let fd = unsafe { libc::memfd_create(c"streamq-ring".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by memfd_create and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: valid fd, non-negative length.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), capacity as libc::off_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // Reserve 2 × capacity of address space, then map the file over both halves.
        // SAFETY: an anonymous PROT_NONE reservation has no preconditions.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * capacity,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let populate = if prefault { libc::MAP_POPULATE } else { 0 };
        for half in 0..2 {
            // SAFETY: `base + half*capacity .. + capacity` lies inside our own reservation,
            // so MAP_FIXED replaces only pages we own.
            let addr = unsafe { (base as *mut u8).add(half * capacity) } as *mut libc::c_void;
            // SAFETY: valid fd of at least `capacity` bytes, address inside our reservation.
            let p = unsafe {
                libc::mmap(
                    addr,
                    capacity,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_FIXED | if half == 0 { populate } else { 0 },
                    fd.as_raw_fd(),
                    0,
                )
            };
            if p == libc::MAP_FAILED || p != addr {
                let err = io::Error::last_os_error();
                // SAFETY: unmapping our own reservation.
                unsafe { libc::munmap(base, 2 * capacity) };
                return Err(err);
            }
        }
        // The mappings keep the memfd alive; the descriptor itself is closed here.
        drop(fd);
        Ok(RingMemory {
            // SAFETY: mmap succeeded, so base is non-null.
            base: unsafe { NonNull::new_unchecked(base as *mut u8) },
            backing: Backing::DoubleMapped,
            capacity,
            mask: mask_for(capacity),
        })
    }

    fn heap(capacity: usize, prefault: bool) -> io::Result<Self> {
        let layout = std::alloc::Layout::from_size_align(2 * capacity, page_size())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: layout has non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        if prefault && !p.is_null() {
            // alloc_zeroed may hand back lazily-zeroed pages; touch one byte per page.
            let page = page_size();
            for off in (0..2 * capacity).step_by(page) {
                // SAFETY: off < 2 × capacity, inside the allocation.
                unsafe { p.add(off).write_volatile(0) };
            }
        }
        let base = NonNull::new(p).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        Ok(RingMemory {
            base,
            backing: Backing::Heap,
            capacity,
            mask: mask_for(capacity),
        })
    }

    /// Whether both halves share physical pages (true on Linux with memfd).
    #[allow(dead_code)] // reported by tests and benchmarks through `QueueStats` later
    pub(crate) fn is_double_mapped(&self) -> bool {
        matches!(self.backing, Backing::DoubleMapped)
    }

    /// Pointer to the byte at ring position `pos` (any u64; reduced modulo capacity).
    /// The pointer is valid for reads and writes of up to `capacity` bytes.
    #[inline]
    pub(crate) fn ptr_at(&self, pos: u64) -> *mut u8 {
        let off = if self.mask != 0 {
            pos & self.mask
        } else {
            pos % self.capacity as u64
        } as usize;
        // SAFETY: off < capacity and the mapping spans 2 × capacity bytes.
        unsafe { self.base.as_ptr().add(off) }
    }
}

impl RingMemory {
    /// Hints the CPU to load the cache line at ring position `pos` (any u64) soon. Only
    /// a hint: it reads nothing and cannot fault.
    #[inline(always)]
    pub(crate) fn prefetch(&self, pos: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let p = self.ptr_at(pos);
            // SAFETY: `_mm_prefetch` is unsafe only because it is an SSE intrinsic, and
            // SSE is part of the x86_64 baseline; a prefetch never faults or reads memory
            // into the program (the address is inside our mapping anyway).
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = pos;
    }
}

/// Zeroed anonymous memory straight from the kernel, unmapped on drop; with `huge` and
/// transparent huge pages available, aligned to a huge page and advised `MADV_HUGEPAGE`
/// (the kernel only backs whole aligned 2 MiB ranges with huge pages).
#[cfg_attr(loom, allow(dead_code))] // used by the writer, which loom builds leave out
pub(crate) struct AnonymousMapping {
    /// Start of the usable `len` bytes (page aligned; huge-page aligned when advised).
    pub(crate) base: NonNull<u8>,
    start: *mut libc::c_void,
    len: usize,
}

#[cfg_attr(loom, allow(dead_code))] // used by the writer, which loom builds leave out
impl AnonymousMapping {
    /// Maps `len` (> 0) bytes, rounded up to whole pages.
    pub(crate) fn new(len: usize, huge: bool) -> io::Result<Self> {
        let len = len.div_ceil(page_size()) * page_size();
        #[cfg(all(target_os = "linux", not(loom)))]
        let huge = if huge {
            thp_page_size().filter(|&h| len >= h)
        } else {
            None
        };
        #[cfg(not(all(target_os = "linux", not(loom))))]
        let huge: Option<usize> = {
            let _ = huge;
            None
        };
        // Over-allocate by one huge page so the usable range can start on a boundary.
        let map_len = len + huge.unwrap_or(0);
        // SAFETY: an anonymous private mapping with no address hint has no preconditions.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let pad = huge.map_or(0, |h| (h - (start as usize) % h) % h);
        // SAFETY: pad < the extra huge page mapped, so `start + pad .. + len` is inside.
        let base = unsafe { (start as *mut u8).add(pad) };
        let map = AnonymousMapping {
            // SAFETY: mmap succeeded, so start (and base above it) is non-null.
            base: unsafe { NonNull::new_unchecked(base) },
            start,
            len: map_len,
        };
        #[cfg(all(target_os = "linux", not(loom)))]
        if huge.is_some() {
            // Only advice: without it the memory still works, with small pages.
            // SAFETY: advising a range of our own mapping.
            unsafe { libc::madvise(base.cast(), len, libc::MADV_HUGEPAGE) };
        }
        Ok(map)
    }
}

impl Drop for AnonymousMapping {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `new`, unmapped once; its owner hands out
        // no references that outlive it.
        unsafe { libc::munmap(self.start, self.len) };
    }
}

// SAFETY: the mapping is plain memory uniquely owned by this value; moving it between
// threads moves that ownership.
unsafe impl Send for AnonymousMapping {}

/// The huge page size when transparent huge pages can back an `madvise`d anonymous
/// mapping (`/sys/kernel/mm/transparent_hugepage/enabled` is `[always]` or `[madvise]`),
/// read once per process.
#[cfg(all(target_os = "linux", not(loom)))]
fn thp_page_size() -> Option<usize> {
    static SIZE: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        let enabled = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
        if !(enabled.contains("[always]") || enabled.contains("[madvise]")) {
            return None;
        }
        let size = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size").ok()?;
        size.trim()
            .parse::<usize>()
            .ok()
            .filter(|s| s.is_power_of_two() && *s >= page_size())
    })
}

/// Faults in `len` bytes from `base` for writing, so the producer never takes a fault:
/// `MADV_POPULATE_WRITE` (Linux 5.14+) in one call, else a write to every page.
#[cfg(all(target_os = "linux", not(loom)))]
fn prefault_range(base: *mut u8, len: usize) {
    // SAFETY: the caller passes a range of its own read-write mapping.
    if unsafe { libc::madvise(base.cast(), len, libc::MADV_POPULATE_WRITE) } == 0 {
        return;
    }
    for off in (0..len).step_by(page_size()) {
        // SAFETY: off < len, inside the caller's mapping; nothing else uses it yet.
        unsafe { base.add(off).write_volatile(0) };
    }
}

fn mask_for(capacity: usize) -> u64 {
    if capacity.is_power_of_two() {
        capacity as u64 - 1
    } else {
        0
    }
}

impl Drop for RingMemory {
    fn drop(&mut self) {
        match self.backing {
            // Its own Drop unmaps it, after this.
            Backing::Anonymous(_) => {}
            Backing::DoubleMapped => {
                // SAFETY: unmapping exactly the 2 × capacity region mapped in `double_map`;
                // no references into it outlive the ring (they all borrow its owner).
                unsafe { libc::munmap(self.base.as_ptr().cast(), 2 * self.capacity) };
            }
            Backing::Heap => {
                let layout = std::alloc::Layout::from_size_align(2 * self.capacity, page_size())
                    .expect("layout was valid at allocation");
                // SAFETY: allocated in `heap` with this same layout.
                unsafe { std::alloc::dealloc(self.base.as_ptr(), layout) };
            }
        }
    }
}

#[cfg(all(test, target_os = "linux", not(loom)))]
mod tests {
    use super::*;

    /// Writes `len` bytes at ring position `pos` through `ptr_at(pos)` and reads them
    /// back the same way, as every slot is addressed.
    fn round_trip(m: &RingMemory, pos: u64, len: usize, salt: u8) {
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect();
        // SAFETY: len ≤ capacity, and ptr_at's pointer is valid for capacity bytes.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), m.ptr_at(pos), len) };
        // SAFETY: as above; nothing else touches the memory.
        let back = unsafe { std::slice::from_raw_parts(m.ptr_at(pos), len) };
        assert_eq!(back, &data[..], "pos {pos} len {len}");
    }

    #[test]
    fn a_ring_of_at_least_a_huge_page_uses_huge_pages_when_the_kernel_offers_them() {
        let cap = 8 << 20;
        let m = RingMemory::new(cap, true).unwrap();
        match thp_page_size() {
            Some(huge) => {
                assert!(
                    !m.is_double_mapped(),
                    "THP available: anonymous huge-page ring expected"
                );
                assert_eq!(
                    m.ptr_at(0) as usize % huge,
                    0,
                    "ring starts on a huge-page boundary"
                );
            }
            None => assert!(m.is_double_mapped(), "no THP: the memfd mirror is used"),
        }
        // A ring smaller than a huge page keeps the exact-size mirror.
        let small = RingMemory::new(64 * 1024, true).unwrap();
        assert!(small.is_double_mapped());
    }

    #[test]
    fn frames_crossing_the_end_read_back_from_their_own_start_in_every_backing() {
        let cap = 4 << 20;
        for m in [
            RingMemory::new(cap, true).unwrap(),
            RingMemory::new(cap, false).unwrap(),
            RingMemory::double_map(cap, true).unwrap(),
            RingMemory::heap(cap, false).unwrap(),
        ] {
            // Ends just before, at, and far past the end of the ring; the last one
            // overruns by more than the prefaulted huge page.
            for (i, (pos, len)) in [
                (cap as u64 - 10, 10),
                (cap as u64 - 10, 4096),
                (cap as u64 - 1, 3 << 20),
                (7 * cap as u64 + 5, cap),
            ]
            .into_iter()
            .enumerate()
            {
                round_trip(&m, pos, len, i as u8);
            }
            // A slot at the ring's start is untouched by the overrun of an earlier one
            // only in the mirror-less backings; either way it reads back what was
            // written through its own start.
            round_trip(&m, 0, 4096, 0xAA);
        }
    }
}
