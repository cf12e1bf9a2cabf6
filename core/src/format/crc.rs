//! CRC32C definitions used by record headers and records.

use super::RECORD_HEADER_LEN;

/// Offset of the record CRC field in the record header.
pub(crate) const CRC_FIELD: usize = 40;

/// CRC32C of a record header's first 40 bytes (everything but the two CRC fields).
///
/// Stored at header offset 44; lets a scanner validate a candidate header without
/// reading its payload.
pub fn header_crc(header: &[u8; RECORD_HEADER_LEN]) -> u32 {
    crc32c::crc32c(&header[..CRC_FIELD])
}

/// CRC32C of a record: the 48-byte header with bytes 40..48 (both CRC fields) set
/// to zero, followed by the payload. Padding is not covered.
pub fn record_crc(header: &[u8; RECORD_HEADER_LEN], payload: &[u8]) -> u32 {
    record_crc_from_header_crc(header_crc(header), payload)
}

/// [`record_crc`] given an already computed [`header_crc`].
pub(crate) fn record_crc_from_header_crc(hcrc: u32, payload: &[u8]) -> u32 {
    let c = crc32c::crc32c_append(hcrc, &[0u8; RECORD_HEADER_LEN - CRC_FIELD]);
    crc32c::crc32c_append(c, payload)
}
