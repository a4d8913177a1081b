//! Depth recordings: [`FrameWriter`] writes them, [`RecordedSource`] replays them.
//!
//! File format (integers little-endian):
//!
//! ```text
//! magic   8 bytes   "VIGORDF1"
//! frame*  u32 n     length of the encoded frame, bytes (at most MAX_FRAME_BYTES)
//!         n bytes   DepthFrame::encode(): vigor message header (magic, kind, schema version),
//!                   then the frame
//! ```
//!
//! The file ends right after its last frame; a partial length or frame, an oversized length or
//! a frame that does not decode is corruption, reported with the file and the frame's index.
//!
//! Invariants: frames replay exactly as recorded (`seq` and `stamp_ns` included, so a looping
//! replay repeats them); the reader never allocates more than [`MAX_FRAME_BYTES`] for a frame.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use vigor_msgs::project::{DepthFrame, MAX_DEPTH_SIDE_PX};

use super::DepthSource;
use crate::error::PerceptionError;

/// The first 8 bytes of every depth recording.
pub const MAGIC: [u8; 8] = *b"VIGORDF1";

/// Largest encoded frame, bytes: a 2048 x 2048 image in metres plus its 41-byte header, rounded
/// up to 64.
pub const MAX_FRAME_BYTES: u32 = 64 + 4 * (MAX_DEPTH_SIDE_PX as u32) * (MAX_DEPTH_SIDE_PX as u32);

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> PerceptionError + '_ {
    move |source| PerceptionError::Io {
        file: path.display().to_string(),
        source,
    }
}

/// Writes a depth recording, frame by frame.
#[derive(Debug)]
pub struct FrameWriter {
    path: PathBuf,
    out: BufWriter<File>,
    frames: u64,
}

impl FrameWriter {
    /// Creates (or truncates) `path` and writes the magic.
    ///
    /// # Errors
    /// [`PerceptionError::Io`] naming the file.
    pub fn create(path: &Path) -> Result<Self, PerceptionError> {
        let file = File::create(path).map_err(io_error(path))?;
        let mut out = BufWriter::new(file);
        out.write_all(&MAGIC).map_err(io_error(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out,
            frames: 0,
        })
    }

    /// Appends one frame.
    ///
    /// # Errors
    /// [`PerceptionError::Encode`] for a frame whose size or data length is invalid (nothing is
    /// written); [`PerceptionError::Io`] naming the file.
    pub fn write(&mut self, frame: &DepthFrame) -> Result<(), PerceptionError> {
        let bytes = frame.encode().map_err(|source| PerceptionError::Encode {
            file: self.path.display().to_string(),
            frame: self.frames,
            source,
        })?;
        // Encoding checked the size, so the length is at most MAX_FRAME_BYTES.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.out
            .write_all(&len.to_le_bytes())
            .and_then(|()| self.out.write_all(&bytes))
            .map_err(io_error(&self.path))?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    #[must_use]
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flushes and syncs the file to disk; returns the number of frames written. Dropping a
    /// writer without `finish` flushes on a best-effort basis and ignores errors.
    ///
    /// # Errors
    /// [`PerceptionError::Io`] naming the file.
    pub fn finish(self) -> Result<u64, PerceptionError> {
        let Self { path, out, frames } = self;
        let file = out
            .into_inner()
            .map_err(|e| io_error(&path)(e.into_error()))?;
        file.sync_all().map_err(io_error(&path))?;
        Ok(frames)
    }
}

/// Replays a depth recording, optionally looping.
#[derive(Debug)]
pub struct RecordedSource {
    path: PathBuf,
    reader: BufReader<File>,
    looping: bool,
    /// Index in the file of the next frame.
    index: u64,
    /// Encoded frame buffer, reused.
    buf: Vec<u8>,
}

impl RecordedSource {
    /// Opens `path` and checks its magic. With `looping`, the recording restarts after its last
    /// frame (an empty recording still ends).
    ///
    /// # Errors
    /// [`PerceptionError::Io`] or [`PerceptionError::BadMagic`], naming the file.
    pub fn open(path: &Path, looping: bool) -> Result<Self, PerceptionError> {
        let file = File::open(path).map_err(io_error(path))?;
        let mut reader = BufReader::new(file);
        let mut magic = [0; MAGIC.len()];
        let got = read_full(&mut reader, &mut magic).map_err(io_error(path))?;
        if magic[..got] != MAGIC {
            return Err(PerceptionError::BadMagic {
                file: path.display().to_string(),
                found: magic[..got].to_vec(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            looping,
            index: 0,
            buf: Vec::new(),
        })
    }

    /// The recording's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&self, reason: String) -> PerceptionError {
        PerceptionError::CorruptFrame {
            file: self.path.display().to_string(),
            frame: self.index,
            reason,
        }
    }
}

impl DepthSource for RecordedSource {
    fn next_frame(&mut self) -> Result<Option<DepthFrame>, PerceptionError> {
        let mut len = [0; 4];
        let mut got = read_full(&mut self.reader, &mut len).map_err(io_error(&self.path))?;
        if got == 0 && self.looping && self.index > 0 {
            self.reader
                .seek(SeekFrom::Start(MAGIC.len() as u64))
                .map_err(io_error(&self.path))?;
            self.index = 0;
            got = read_full(&mut self.reader, &mut len).map_err(io_error(&self.path))?;
        }
        match got {
            0 => return Ok(None),
            4 => {}
            _ => return Err(self.corrupt(format!("truncated length: {got} of 4 bytes"))),
        }
        let n = u32::from_le_bytes(len);
        if n > MAX_FRAME_BYTES {
            return Err(self.corrupt(format!(
                "length {n} exceeds the largest frame, {MAX_FRAME_BYTES} bytes"
            )));
        }
        self.buf.resize(n as usize, 0);
        let got = read_full(&mut self.reader, &mut self.buf).map_err(io_error(&self.path))?;
        if got < self.buf.len() {
            return Err(self.corrupt(format!("truncated frame: {got} of {n} bytes")));
        }
        let frame = DepthFrame::decode(&self.buf).map_err(|e| self.corrupt(e.to_string()))?;
        self.index += 1;
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        let looping = if self.looping { ", looping" } else { "" };
        format!("recording: {}{looping}", self.path.display())
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
#[path = "recorded_tests.rs"]
mod tests;
