//! The ring's backing memory: `capacity` bytes that can be addressed as if they were
//! followed by a second copy of themselves, so a frame that crosses the end of the ring
//! is still one contiguous slice.
//!
//! On Linux the memory is a `memfd` mapped twice back to back (the technique of the
//! kernel's BPF ring buffer): both halves are the same physical pages, so the ring costs
//! exactly `capacity` bytes of RAM. Where that is unavailable (loom models, exotic
//! kernels) a heap block of `2 × capacity` bytes gives the same addressing: every frame
//! is only ever touched through its own start offset (`< capacity`) and length
//! (`≤ capacity`), so the two halves never need to agree — at the price of up to twice
//! the memory, which [`RingMemory::is_double_mapped`] reports.

use std::io;
use std::ptr::NonNull;

/// Bytes of ring memory addressable contiguously across the wrap.
pub(crate) struct RingMemory {
    base: NonNull<u8>,
    capacity: usize,
    /// `capacity - 1` when the capacity is a power of two (positions reduce with a mask
    /// instead of a 64-bit division on every access), else 0.
    mask: u64,
    double_mapped: bool,
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
            if let Ok(m) = Self::double_map(capacity, prefault) {
                return Ok(m);
            }
        }
        Self::heap(capacity, prefault)
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
            capacity,
            mask: mask_for(capacity),
            double_mapped: true,
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
        Ok(RingMemory { base, capacity, mask: mask_for(capacity), double_mapped: false })
    }

    /// Whether both halves share physical pages (true on Linux with memfd).
    #[allow(dead_code)] // reported by tests and benchmarks through `QueueStats` later
    pub(crate) fn is_double_mapped(&self) -> bool {
        self.double_mapped
    }

    /// Pointer to the byte at ring position `pos` (any u64; reduced modulo capacity).
    /// The pointer is valid for reads and writes of up to `capacity` bytes.
    #[inline]
    pub(crate) fn ptr_at(&self, pos: u64) -> *mut u8 {
        let off = if self.mask != 0 { pos & self.mask } else { pos % self.capacity as u64 } as usize;
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

fn mask_for(capacity: usize) -> u64 {
    if capacity.is_power_of_two() { capacity as u64 - 1 } else { 0 }
}

impl Drop for RingMemory {
    fn drop(&mut self) {
        if self.double_mapped {
            // SAFETY: unmapping exactly the 2 × capacity region we mapped in `double_map`;
            // no references into it outlive the ring (they all borrow the ring's owner).
            unsafe { libc::munmap(self.base.as_ptr() as *mut libc::c_void, 2 * self.capacity) };
        } else {
            let layout = std::alloc::Layout::from_size_align(2 * self.capacity, page_size())
                .expect("layout was valid at allocation");
            // SAFETY: allocated in `heap` with this same layout.
            unsafe { std::alloc::dealloc(self.base.as_ptr(), layout) };
        }
    }
}
