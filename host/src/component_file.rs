//! Reading a component file someone else may have put in the plugins folder
//! (or named on the command line) without letting it hang or exhaust the
//! host.
//!
//! The file is opened with `O_NONBLOCK`, so opening a FIFO returns at once
//! instead of waiting for a writer; its type is then taken from the opened
//! descriptor (no window between a check and the open), symbolic links
//! having been resolved by the open. Anything but a regular file is refused
//! with a message naming what it is. A regular file larger than the limit is
//! refused from its size without reading it, and the read itself stops at
//! the limit, for files whose size says nothing (`/proc`).

use std::fs::{File, FileType, OpenOptions};
use std::io::Read as _;
use std::path::Path;

use crate::error::PluginFailure;

/// Reads the component file at `path`, at most `limit` bytes; refuses FIFOs,
/// devices, sockets and directories (after following symbolic links) and
/// anything larger, with a clear reason.
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, PluginFailure> {
    let mut file = open(path)?;
    let meta = file.metadata().map_err(|e| cannot_read(&e))?;
    if !meta.is_file() {
        return Err(not_a_file(meta.file_type()));
    }
    if meta.len() > limit {
        return Err(PluginFailure::Load(format!(
            "the file is {} bytes; plugins may be at most {limit}",
            meta.len()
        )));
    }
    // The size is a hint only: a file may grow, and pseudo-files report 0.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Fixed-size reads: some pseudo-files (`/proc/*/pagemap`) accept only
    // reads of whole 8-byte entries.
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cannot_read(&e)),
        };
        if (bytes.len() + n) as u64 > limit {
            return Err(PluginFailure::Load(format!(
                "the file is larger than {limit} bytes; plugins may be at most {limit}"
            )));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// The size of each read.
const CHUNK: usize = 64 << 10;

/// Opens `path` for reading without blocking on a FIFO.
fn open(path: &Path) -> Result<File, PluginFailure> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    options.open(path).map_err(|e| {
        // Opening a Unix socket fails (ENXIO); say what it is instead.
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => not_a_file(meta.file_type()),
            _ => cannot_read(&e),
        }
    })
}

fn cannot_read(e: &std::io::Error) -> PluginFailure {
    PluginFailure::Load(format!("cannot read: {e}"))
}

fn not_a_file(file_type: FileType) -> PluginFailure {
    PluginFailure::Load(format!("{}, not a component file", describe(file_type)))
}

/// What a file that is not a regular file is, e.g. "is a FIFO".
fn describe(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        return "is a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "is a FIFO";
        }
        if file_type.is_char_device() {
            return "is a character device";
        }
        if file_type.is_block_device() {
            return "is a block device";
        }
        if file_type.is_socket() {
            return "is a socket";
        }
    }
    "is not a regular file"
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn reason(path: &Path, limit: u64) -> String {
        read(path, limit).unwrap_err().to_string()
    }

    #[test]
    fn reads_regular_files_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wasm");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read(&path, 10).unwrap(), b"0123456789");
        assert!(reason(&path, 9).contains("the file is 10 bytes"));
        let link = dir.path().join("link.wasm");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read(&link, 10).unwrap(), b"0123456789");
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(reason(dir.path(), 10).contains("is a directory, not a component file"));
        assert!(
            reason(Path::new("/dev/null"), 10)
                .contains("is a character device, not a component file")
        );
        let socket = dir.path().join("s.wasm");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(reason(&socket, 10).contains("is a socket"));
    }

    #[test]
    fn stops_reading_past_the_limit_when_the_size_says_nothing() {
        // procfs files report size 0 and produce more than that.
        let text = reason(Path::new("/proc/self/maps"), 8);
        assert!(text.contains("larger than 8 bytes"), "{text}");
    }
}
