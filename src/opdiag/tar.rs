//! Reading tar streams: what `tar cf - PATH` prints in a container (Copy, as `kubectl cp` does)
//! and operator package archives (`--operator-package x.tgz`, often written by Go, which uses
//! PAX records for long paths). The `tar` crate reads the formats (ustar, PAX, GNU long names);
//! this keeps the regular files with their full paths and skips the rest.

/// A regular file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub content: Vec<u8>,
}

/// Why a tar stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// The stream ends inside a header or a file: the sender stopped early.
    #[error("the tar stream ends inside {what}: it was cut short")]
    Cut { what: String },
    /// The stream is not a tar archive the reader understands.
    #[error("cannot read the tar stream: {0}")]
    Unreadable(#[source] std::io::Error),
    /// An entry's path cannot be read.
    #[error("a tar entry has an unreadable path: {0}")]
    Path(#[source] std::io::Error),
    /// A file's content cannot be read.
    #[error("cannot read {path} from the tar stream: {source}")]
    Content {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The regular files of a tar stream, in order. A stream that ends early is an error naming
/// the file that was cut.
pub fn read(data: &[u8]) -> Result<Vec<Entry>, TarError> {
    let cut = |what: &str| TarError::Cut {
        what: what.to_string(),
    };
    let mut archive = tar::Archive::new(data);
    let entries = archive.entries().map_err(TarError::Unreadable)?;
    let mut out = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof || !data.len().is_multiple_of(512) {
                cut("a header")
            } else {
                TarError::Unreadable(e)
            }
        })?;
        // PAX `path` records, GNU long names and ustar prefixes are all applied by `path()`.
        let path = entry
            .path()
            .map_err(TarError::Path)?
            .to_string_lossy()
            .into_owned();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let declared = entry.size();
        let mut content = Vec::with_capacity(declared.min(64 << 20) as usize);
        std::io::Read::read_to_end(&mut entry, &mut content).map_err(|source| {
            TarError::Content {
                path: path.clone(),
                source,
            }
        })?;
        if (content.len() as u64) < declared {
            return Err(cut(&path));
        }
        out.push(Entry { path, content });
    }
    // The crate takes a partial last block for the end of the archive; archivers write whole
    // 512-byte blocks, so a stream that is not is cut inside a header.
    if !data.len().is_multiple_of(512) {
        return Err(cut("a header"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: usize, flag: u8) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let s = format!("{size:011o}\0");
        h[124..136].copy_from_slice(s.as_bytes());
        h[156] = flag;
        h[257..263].copy_from_slice(b"ustar\0");
        // The checksum real archivers write: the header's byte sum, its own field as spaces.
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    #[test]
    fn reads_files_and_skips_directories() {
        let mut t = header("conf/", 0, b'5');
        t.extend(header("conf/zoo.cfg", 5, b'0'));
        let mut body = b"a=1\nb".to_vec();
        body.resize(512, 0);
        t.extend(body);
        t.extend(vec![0u8; 1024]);
        let files = read(&t).unwrap();
        assert_eq!(
            files,
            vec![Entry {
                path: "conf/zoo.cfg".into(),
                content: b"a=1\nb".to_vec()
            }]
        );
        for cut in [600, 1026] {
            assert!(
                read(&t[..cut])
                    .unwrap_err()
                    .to_string()
                    .contains("cut short"),
                "{cut}"
            );
        }
    }

    /// Paths longer than ustar's 100-byte name field, in both ways archivers write them: a PAX
    /// `path` record (Go's archive/tar) and a GNU long-name entry (GNU tar).
    #[test]
    fn long_paths_in_pax_and_gnu_forms_are_read_whole() {
        let long = format!("operator/templates/{}/deployment.yaml", "x".repeat(120));
        let mut b = tar::Builder::new(Vec::new());
        // PAX: a ustar header with a cut name, preceded by an extended header with the path.
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_pax_extensions([("path", long.as_bytes())])
            .unwrap();
        h.as_mut_bytes()[..100].copy_from_slice(&long.as_bytes()[..100]);
        h.set_cksum();
        b.append(&h, &b"pax"[..]).unwrap();
        // GNU: the builder writes a ././@LongLink entry for a name that does not fit.
        let gnu = format!("{long}.gnu");
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, &gnu, &b"gnu"[..]).unwrap();
        let data = b.into_inner().unwrap();
        // The same through gzip, as a .tgz package is read.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &data).unwrap();
        let mut tgz = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gz.finish().unwrap()[..]),
            &mut tgz,
        )
        .unwrap();
        let files = read(&tgz).unwrap();
        assert!(long.len() > 100);
        assert_eq!(
            files,
            vec![
                Entry {
                    path: long.clone(),
                    content: b"pax".to_vec()
                },
                Entry {
                    path: gnu,
                    content: b"gnu".to_vec()
                },
            ]
        );
    }
}
