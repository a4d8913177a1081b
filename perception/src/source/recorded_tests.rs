//! Round trips of depth recordings and the errors of damaged ones.

use vigor_msgs::project::{DepthData, Intrinsics};

use super::*;

fn frame(seq: u64) -> DepthFrame {
    let k = Intrinsics {
        fx_px: 33.7,
        fy_px: 32.5,
        cx_px: 1.5,
        cy_px: 1.0,
    };
    let depth = if seq.is_multiple_of(2) {
        DepthData::Metres((0..6).map(|i| i as f32 * 0.25 + seq as f32).collect())
    } else {
        DepthData::Millimetres((0..6).map(|i| i * 100 + seq as u16).collect())
    };
    DepthFrame {
        seq,
        stamp_ns: 33_333_333 * seq,
        width: 3,
        height: 2,
        intrinsics: k,
        depth,
    }
}

/// A recording of frames 0, 1, 2 in a fresh directory; returns the directory and the path.
fn recording() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("depth.vdf");
    let mut w = FrameWriter::create(&path).unwrap();
    for seq in 0..3 {
        w.write(&frame(seq)).unwrap();
    }
    assert_eq!(w.frames(), 3);
    assert_eq!(w.finish().unwrap(), 3);
    (dir, path)
}

fn read_all(path: &Path) -> Result<Vec<DepthFrame>, PerceptionError> {
    let mut r = RecordedSource::open(path, false)?;
    let mut out = Vec::new();
    while let Some(f) = r.next_frame()? {
        out.push(f);
    }
    Ok(out)
}

/// The error of reading `path` to its end, as text, checked to name the file.
fn read_error(path: &Path) -> String {
    let err = read_all(path)
        .expect_err("a damaged recording must not read cleanly")
        .to_string();
    assert!(
        err.contains(&path.display().to_string()),
        "error does not name the file: {err}"
    );
    err
}

#[test]
fn three_frames_round_trip() {
    let (_dir, path) = recording();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"VIGORDF1");
    // Frame 0: 41-byte header + 6 metres of 4 bytes = 65 bytes, after its 4-byte length.
    assert_eq!(&bytes[8..12], &65_u32.to_le_bytes());
    assert_eq!(read_all(&path).unwrap(), [frame(0), frame(1), frame(2)]);
    let mut r = RecordedSource::open(&path, false).unwrap();
    for _ in 0..3 {
        r.next_frame().unwrap();
    }
    assert_eq!(r.next_frame().unwrap(), None);
    assert_eq!(
        r.next_frame().unwrap(),
        None,
        "an exhausted source stays exhausted"
    );
    assert!(r.describe().contains("depth.vdf"), "{}", r.describe());
}

#[test]
fn looping_restarts_after_the_last_frame() {
    let (_dir, path) = recording();
    let mut r = RecordedSource::open(&path, true).unwrap();
    let seqs: Vec<u64> = (0..7)
        .map(|_| r.next_frame().unwrap().unwrap().seq)
        .collect();
    assert_eq!(seqs, [0, 1, 2, 0, 1, 2, 0]);
    // An empty recording ends even when looping.
    let empty = path.with_file_name("empty.vdf");
    FrameWriter::create(&empty).unwrap().finish().unwrap();
    assert_eq!(
        RecordedSource::open(&empty, true)
            .unwrap()
            .next_frame()
            .unwrap(),
        None
    );
}

#[test]
fn bad_magic_names_the_file() {
    let (_dir, path) = recording();
    std::fs::write(&path, b"NOTDEPTH\x00\x00\x00\x00").unwrap();
    let err = read_error(&path);
    assert!(err.contains("not a vigor depth recording"), "{err}");
    std::fs::write(&path, b"VIG").unwrap();
    let err = read_error(&path);
    assert!(err.contains("[56, 49, 47]"), "{err}");
    let missing = path.with_file_name("missing.vdf");
    let err = read_error(&missing);
    assert!(err.contains("missing.vdf"), "{err}");
}

#[test]
fn truncation_names_the_file_and_frame() {
    let (_dir, path) = recording();
    let bytes = std::fs::read(&path).unwrap();
    // Two stray bytes after frame 2: frame 3's length is cut.
    std::fs::write(&path, [&bytes[..], &[1, 0]].concat()).unwrap();
    let err = read_error(&path);
    assert!(
        err.contains("frame 3: truncated length: 2 of 4 bytes"),
        "{err}"
    );
    // Five bytes short: frame 2's body is cut.
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let err = read_error(&path);
    assert!(err.contains("frame 2: truncated frame"), "{err}");
    // An absurd length is refused before allocating.
    std::fs::write(&path, [&bytes[..8], &u32::MAX.to_le_bytes()].concat()).unwrap();
    let err = read_error(&path);
    assert!(err.contains("frame 0: length 4294967295 exceeds"), "{err}");
}

#[test]
fn undecodable_frames_name_the_file_and_frame() {
    let (_dir, path) = recording();
    let mut bytes = std::fs::read(&path).unwrap();
    // Frame 1 starts after the magic and frame 0 (4 + 65 bytes); its 4-byte length follows, then
    // the message header "VG", kind, schema. Change the kind.
    let frame1 = 8 + 4 + 65 + 4;
    assert_eq!(&bytes[frame1..frame1 + 2], b"VG");
    bytes[frame1 + 2] = 99;
    std::fs::write(&path, &bytes).unwrap();
    let err = read_error(&path);
    assert!(
        err.contains("frame 1: DepthFrame: not this message"),
        "{err}"
    );
    // The frames before the damage still read.
    let mut r = RecordedSource::open(&path, false).unwrap();
    assert_eq!(r.next_frame().unwrap(), Some(frame(0)));
}

#[test]
fn invalid_frames_are_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.vdf");
    let mut w = FrameWriter::create(&path).unwrap();
    w.write(&frame(0)).unwrap();
    let mut bad = frame(0);
    bad.width = 4;
    let err = w.write(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.vdf") && err.contains("cannot record frame 1"),
        "{err}"
    );
    assert_eq!(w.finish().unwrap(), 1);
    assert_eq!(read_all(&path).unwrap(), [frame(0)]);
}
