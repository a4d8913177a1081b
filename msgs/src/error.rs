//! The one error type of this crate.

/// Why a payload could not be decoded. Each variant says what a caller can log and count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload length is not the message's fixed length (or is too short for its header).
    #[error("{message}: expected {expected} bytes, got {got}")]
    Length {
        /// Which message.
        message: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// The payload ended inside a field of a variable-length message.
    #[error("{message}: truncated at byte {offset} while reading `{field}`")]
    Truncated {
        /// Which message.
        message: &'static str,
        /// The field being read.
        field: &'static str,
        /// Byte offset where the data ran out.
        offset: usize,
    },
    /// Bytes were left after the last field.
    #[error("{message}: {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// Which message.
        message: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// The 4-byte XCDR1 encapsulation header is not `00 01 00 00` (CDR little-endian).
    #[error(
        "bad encapsulation header {found:02x?}, expected [00, 01, 00, 00] (XCDR1 little-endian)"
    )]
    Header {
        /// The four header bytes found.
        found: [u8; 4],
    },
    /// An alignment padding byte of the CDR body is not zero (the frame was altered).
    #[error("{message}: non-zero padding byte at body offset {offset}")]
    Padding {
        /// Which message.
        message: &'static str,
        /// Offset from the start of the CDR body.
        offset: usize,
    },
    /// The CRC field does not match the CRC of the decoded content.
    #[error("{message}: CRC mismatch: frame says {received:#010x}, content gives {computed:#010x}")]
    Crc {
        /// Which message.
        message: &'static str,
        /// CRC carried by the frame.
        received: u32,
        /// CRC computed over the decoded content.
        computed: u32,
    },
    /// A vigor message whose magic bytes or kind tag are not the expected ones.
    #[error("{message}: not this message (magic/kind {found:02x?})")]
    Kind {
        /// The message expected.
        message: &'static str,
        /// Magic and kind bytes found.
        found: [u8; 3],
    },
    /// A vigor message of a schema version this build does not read.
    #[error("{message}: schema version {found}, this build reads {supported}")]
    Schema {
        /// Which message.
        message: &'static str,
        /// Version found.
        found: u8,
        /// Version this build reads.
        supported: u8,
    },
    /// A field holds a value outside its domain (unknown enum code, bad size, invalid UTF-8, ...).
    #[error("{message}: invalid `{field}`: {reason}")]
    Invalid {
        /// Which message.
        message: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}
