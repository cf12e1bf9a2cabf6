//! How a frame sits in the ring: a 32-byte slot header followed by the payload, the
//! whole slot padded to 8 bytes so every header and payload stays 8-byte aligned.

use crate::memory::RingMemory;

/// Bytes of the per-frame header stored in the ring.
pub(crate) const SLOT_HEADER_LEN: u64 = 32;
/// Alignment of every slot (and so of every payload).
pub(crate) const SLOT_ALIGN: u64 = 8;

/// The header in front of every frame in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct SlotHeader {
    pub(crate) len: u32,
    pub(crate) flags: u32,
    pub(crate) seq: u64,
    pub(crate) device_ts: u64,
    pub(crate) host_ts: u64,
}

const _: () = assert!(std::mem::size_of::<SlotHeader>() as u64 == SLOT_HEADER_LEN);

/// Ring bytes taken by a frame of `len` payload bytes.
#[inline]
pub(crate) fn slot_size(len: u64) -> u64 {
    SLOT_HEADER_LEN + len.div_ceil(SLOT_ALIGN) * SLOT_ALIGN
}

/// Writes a slot header at ring position `pos`.
///
/// # Safety
/// The caller must own ring bytes `pos .. pos + SLOT_HEADER_LEN` (reserved by the
/// producer and not yet published), and `pos` must be 8-byte aligned.
#[inline]
pub(crate) unsafe fn write_header(mem: &RingMemory, pos: u64, h: SlotHeader) {
    // SAFETY: guaranteed by the caller; the ring base is page aligned and pos is 8-aligned,
    // so the pointer is aligned for SlotHeader.
    unsafe { mem.ptr_at(pos).cast::<SlotHeader>().write(h) }
}

/// Reads the slot header at ring position `pos`.
///
/// # Safety
/// The slot at `pos` must be published (below the tail the reader acquired) and not yet
/// freed, so no one writes it concurrently.
#[inline]
pub(crate) unsafe fn read_header(mem: &RingMemory, pos: u64) -> SlotHeader {
    // SAFETY: guaranteed by the caller; alignment as in write_header.
    unsafe { mem.ptr_at(pos).cast::<SlotHeader>().read() }
}

/// Reads only the payload length of the slot at `pos` (a 4-byte load: the hot consume
/// path needs nothing else until the caller asks for the metadata).
///
/// # Safety
/// As for [`read_header`].
#[inline]
pub(crate) unsafe fn read_len(mem: &RingMemory, pos: u64) -> u32 {
    // SAFETY: guaranteed by the caller; `len` is the first field of the 8-aligned header.
    unsafe { mem.ptr_at(pos).cast::<u32>().read() }
}

/// The payload of the slot at `pos`, `len` bytes.
///
/// # Safety
/// As for [`read_header`]; the returned slice must not outlive the slot's release.
#[inline]
pub(crate) unsafe fn payload(mem: &RingMemory, pos: u64, len: u32) -> &[u8] {
    // SAFETY: the payload starts below `capacity` (ptr_at reduces the position) and is at
    // most capacity - 32 bytes long, so it lies inside the doubled mapping.
    unsafe { std::slice::from_raw_parts(mem.ptr_at(pos + SLOT_HEADER_LEN), len as usize) }
}

/// A writable view of the payload of the slot at `pos`.
///
/// # Safety
/// The producer must own the reserved, unpublished bytes of this slot, and the returned
/// slice must be the only reference to them.
#[inline]
#[allow(clippy::mut_from_ref)] // ring bytes are owned through the ring protocol, not through &RingMemory
pub(crate) unsafe fn payload_mut(mem: &RingMemory, pos: u64, len: usize) -> &mut [u8] {
    // SAFETY: as for payload, plus exclusive ownership from the caller.
    unsafe { std::slice::from_raw_parts_mut(mem.ptr_at(pos + SLOT_HEADER_LEN), len) }
}
