//! The callback sink: every frame and gap goes to the user's function on the writer
//! thread, in order. The time the function takes is the write, so back-pressure and the
//! drop policies behave exactly as with a file.

use crate::format::StreamDef;
use crate::writer::error::WriterError;
use crate::writer::report::FinishedSegment;
use crate::writer::sink::{Item, Sink};

/// Callback sink: every frame and gap goes to the user's function on the writer thread.
pub(crate) struct CallbackSink {
    pub(crate) f: crate::writer::config::SinkCallback,
    pub(crate) names: Vec<String>,
    /// Items of the last `write` the callback accepted before it failed.
    pub(crate) delivered: usize,
}

impl Sink for CallbackSink {
    fn add_stream(&mut self, def: &StreamDef) -> Result<(), WriterError> {
        while self.names.len() <= def.id as usize {
            self.names.push(String::new());
        }
        self.names[def.id as usize] = def.name.clone();
        Ok(())
    }

    fn write(&mut self, items: &[Item<'_>]) -> Result<u64, WriterError> {
        use crate::writer::config::{SinkEvent, SinkFrame};
        let mut n = 0;
        self.delivered = 0;
        for item in items {
            let ev = match item {
                Item::Frame(f) => {
                    n += f.data.len() as u64;
                    SinkEvent::Frame(SinkFrame {
                        stream_id: f.stream,
                        stream: self.names.get(f.stream as usize).map_or("", |s| s.as_str()),
                        info: f.info,
                        data: f.data,
                    })
                }
                Item::Gap(stream, g) => SinkEvent::Gap {
                    stream_id: *stream,
                    stream: self.names.get(*stream as usize).map_or("", |s| s.as_str()),
                    gap: *g,
                },
            };
            let f = &mut self.f;
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(ev))) {
                Ok(Ok(())) => self.delivered += 1,
                Ok(Err(m)) => return Err(WriterError::Sink(m)),
                Err(_) => return Err(WriterError::Sink("callback panicked".into())),
            }
        }
        Ok(n)
    }

    fn items_stored_before_error(&self) -> usize {
        self.delivered
    }

    fn sync(&mut self) -> Result<(), WriterError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<Option<FinishedSegment>, WriterError> {
        Ok(None)
    }
}
