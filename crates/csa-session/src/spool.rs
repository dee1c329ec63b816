//! Text set aside while a list is read, to be written out later in another
//! order: in memory up to a limit, then in an unnamed temporary file, so
//! that the JSON of 100,000 rows (about 64 MB) never sits in memory.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

/// Bytes kept in memory before the spool moves to a file.
const IN_MEMORY: usize = 4 << 20;

/// Where one piece of text is in a [`Spool`].
#[derive(Debug, Clone, Copy)]
pub struct Span {
    at: u64,
    len: u32,
}

/// Pieces of text, appended from any thread and read back by [`Span`].
#[derive(Debug, Default)]
pub struct Spool {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
    failed: Option<io::Error>,
}

impl Spool {
    /// Set `text` aside; `None` once the spool failed (see [`Spool::check`]).
    pub fn push(&self, text: &str) -> Option<Span> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.failed.is_some() {
            return None;
        }
        match inner.push(text.as_bytes()) {
            Ok(span) => Some(span),
            Err(err) => {
                inner.failed = Some(err);
                None
            }
        }
    }

    /// The error that stopped the spool, if one did.
    pub fn check(&self) -> io::Result<()> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.failed.take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The text set aside at `span`, into `out` (cleared first).
    pub fn read(&self, span: Span, out: &mut Vec<u8>) -> io::Result<()> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        out.clear();
        let len = span.len as usize;
        let Some(file) = &mut inner.file else {
            let start = usize::try_from(span.at).map_err(io::Error::other)?;
            let text = inner
                .memory
                .get(start..start + len)
                .ok_or_else(|| io::Error::other("a span past the spool's end"))?;
            out.extend_from_slice(text);
            return Ok(());
        };
        file.flush()?;
        let file = file.get_mut();
        file.seek(SeekFrom::Start(span.at))?;
        out.resize(len, 0);
        file.read_exact(out)
    }
}

impl Inner {
    fn push(&mut self, bytes: &[u8]) -> io::Result<Span> {
        let span = Span {
            at: self.len,
            len: u32::try_from(bytes.len()).map_err(io::Error::other)?,
        };
        if self.file.is_none() && self.memory.len() + bytes.len() > IN_MEMORY {
            let mut file = BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(bytes)?,
            None => self.memory.extend_from_slice(bytes),
        }
        self.len += bytes.len() as u64;
        Ok(span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_read_back_by_span_in_memory_and_once_spilled_to_a_file() {
        let spool = Spool::default();
        let small = spool.push("first").expect("pushed");
        let big_text = "x".repeat(IN_MEMORY);
        let big = spool.push(&big_text).expect("pushed");
        let after = spool.push("after the spill").expect("pushed");
        assert!(
            spool.inner.lock().expect("lock").file.is_some(),
            "the spool moved to a file"
        );
        let mut out = Vec::new();
        for (span, text) in [
            (after, "after the spill"),
            (small, "first"),
            (big, &big_text),
        ] {
            spool.read(span, &mut out).expect("read back");
            assert_eq!(out, text.as_bytes());
        }
        spool.check().expect("no failure");
    }
}
