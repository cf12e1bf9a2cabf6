//! STREAM_DEF records.

use super::bytes::{Cursor, put_kv_pairs, put_string};
use super::record::{RecordKind, encode_record, expect_kind};
use super::{FormatError, RecordHeader};

/// Declares one stream of the capture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamDef {
    /// Stream id used by FRAME/GAP records of this stream.
    pub id: u16,
    /// Human-readable name, e.g. `"depth"`.
    pub name: String,
    /// Media type / encoding, e.g. `"depth/u16"`, `"color/rgb8"`, `"imu/f32x6"`.
    pub media_type: String,
    /// User metadata, e.g. `width`, `height`, `pixel_format`, `units`.
    pub metadata: Vec<(String, String)>,
}

impl StreamDef {
    /// A definition without metadata.
    pub fn new(id: u16, name: impl Into<String>, media_type: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            media_type: media_type.into(),
            metadata: Vec::new(),
        }
    }

    /// Encodes the complete STREAM_DEF record (header, payload, padding).
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let mut p = Vec::new();
        put_string(&mut p, &self.name)?;
        put_string(&mut p, &self.media_type)?;
        put_kv_pairs(&mut p, &self.metadata)?;
        let raw_len = u32::try_from(p.len()).map_err(|_| FormatError::TooLarge("stream def"))?;
        let h = RecordHeader {
            kind: RecordKind::StreamDef as u8,
            stream_id: self.id,
            raw_len,
            ..RecordHeader::default()
        };
        encode_record(&h, &p)
    }

    /// Decodes the body of a STREAM_DEF whose header is `h`.
    pub fn decode_body(h: &RecordHeader, payload: &[u8]) -> Result<StreamDef, FormatError> {
        expect_kind(h, RecordKind::StreamDef)?;
        let mut c = Cursor::new(payload);
        let name = c.string()?;
        let media_type = c.string()?;
        let metadata = c.kv_pairs()?;
        Ok(StreamDef {
            id: h.stream_id,
            name,
            media_type,
            metadata,
        })
    }

    /// The first value for `key` in the metadata.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
