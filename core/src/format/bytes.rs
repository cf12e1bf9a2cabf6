//! Bounds-checked little-endian reading and the key/value block encoding.

use super::FormatError;

/// A bounds-checked little-endian reader over a byte slice. Every read checks the
/// remaining length first, so corrupt length fields never over-read or allocate.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if n > self.remaining() {
            return Err(FormatError::Truncated {
                needed: (self.pos as u64).saturating_add(n as u64),
                available: self.buf.len() as u64,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A `u32` length followed by that many UTF-8 bytes.
    pub(crate) fn string(&mut self) -> Result<String, FormatError> {
        let len = self.u32()? as usize;
        let b = self.bytes(len)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| FormatError::InvalidUtf8)
    }

    /// A key/value block: `u32` count, then `count` pairs of strings.
    pub(crate) fn kv_pairs(&mut self) -> Result<Vec<(String, String)>, FormatError> {
        let count = self.u32()?;
        // Each pair needs at least 8 bytes: reject impossible counts up front.
        if u64::from(count) * 8 > self.remaining() as u64 {
            return Err(FormatError::Malformed("key/value count exceeds its block"));
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let k = self.string()?;
            let v = self.string()?;
            out.push((k, v));
        }
        Ok(out)
    }
}

/// Appends a `u32`-length-prefixed string.
pub(crate) fn put_string(out: &mut Vec<u8>, s: &str) -> Result<(), FormatError> {
    let len = u32::try_from(s.len()).map_err(|_| FormatError::TooLarge("string"))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Appends a key/value block (`u32` count, then pairs of strings).
pub(crate) fn put_kv_pairs(out: &mut Vec<u8>, kv: &[(String, String)]) -> Result<(), FormatError> {
    let count = u32::try_from(kv.len()).map_err(|_| FormatError::TooLarge("metadata count"))?;
    out.extend_from_slice(&count.to_le_bytes());
    for (k, v) in kv {
        put_string(out, k)?;
        put_string(out, v)?;
    }
    Ok(())
}
