//! Reading tar streams: what `tar cf - PATH` prints in a container (Copy, as `kubectl cp` does)
//! and operator package archives (`--operator-package x.tgz`). Only what those need: regular
//! files with their paths (ustar prefix and GNU long names), directories skipped.

/// A regular file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub content: Vec<u8>,
}

fn field_str(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn octal(b: &[u8]) -> Result<u64, String> {
    let s = field_str(b);
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(s, 8).map_err(|_| format!("bad size field {s:?} in a tar header"))
}

/// The regular files of a tar stream, in order. A stream that ends early is an error naming
/// the file that was cut.
pub fn read(data: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut long_name: Option<String> = None;
    while pos + 512 <= data.len() {
        let h = &data[pos..pos + 512];
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let size = octal(&h[124..136])? as usize;
        let flag = h[156];
        let mut name = field_str(&h[0..100]);
        if &h[257..262] == b"ustar" {
            let prefix = field_str(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        if let Some(l) = long_name.take() {
            name = l;
        }
        let start = pos + 512;
        let end = start + size;
        if end > data.len() {
            return Err(format!(
                "the tar stream ends inside {name}: it was cut short"
            ));
        }
        let content = &data[start..end];
        match flag {
            b'L' => long_name = Some(field_str(content)),
            b'0' | 0 | b'7' => out.push(Entry {
                path: name,
                content: content.to_vec(),
            }),
            _ => {}
        }
        pos = start + size.div_ceil(512) * 512;
    }
    if pos < data.len() && pos + 512 > data.len() {
        return Err("the tar stream ends inside a header: it was cut short".into());
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
            assert!(read(&t[..cut]).unwrap_err().contains("cut short"), "{cut}");
        }
    }
}
