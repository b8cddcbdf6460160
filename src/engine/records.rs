//! The journal's record stream: an append-only file of batches beside the journal's sled
//! database (`journal/records`), and where each node's latest entry starts in it.
//!
//! A batch is every node change of one flush, framed as `u32 LE length | entries | the first 8
//! bytes of blake3(entries)`. An entry is `u32 LE id length | id | u32 LE record length |
//! record JSON`, or the length [`REMOVED`] and nothing for a removal. Opening reads the batches
//! in order and keeps, per node, only the offset of its latest entry: records are read back from
//! the file when they are asked for, never held in memory (a node record with its artifacts is
//! a few hundred bytes; at 100,000 nodes and more, holding them was most of a run's memory,
//! docs/PERFORMANCE.md).
//!
//! A batch cut short at the end of the file, or whose checksum fails there, is the write of a
//! flush that never completed (its fsync did not return, so nothing relied on it): it is cut
//! off and later batches follow the last whole one. A damaged batch before the end is reported,
//! never skipped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The length that marks a removal (a done node forgotten by `redo`) in an entry.
pub(crate) const REMOVED: u32 = u32::MAX;
/// Bytes of blake3 that close a batch.
const SUM: usize = 8;

/// Why the stream cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The content is not what this build writes: the message says where.
    #[error("{0}")]
    Damaged(String),
}

/// Where each node's latest entry starts, by node id.
pub(crate) type Index = HashMap<Arc<str>, u64>;

/// The open stream. Appends are serialized by the caller (one flush at a time) and by `end`;
/// reads are positioned and need no lock.
pub(crate) struct RecordStream {
    file: File,
    /// Where the next batch goes: the end of the last whole batch.
    end: Mutex<u64>,
}

impl RecordStream {
    /// Opens the stream at `path` (created if missing) and reads every batch: the offset of
    /// each node's latest entry. A torn last batch is cut off.
    pub fn open(path: &Path) -> Result<(RecordStream, Index), StreamError> {
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if created {
            // The file's name must survive a crash as much as its content.
            if let Some(dir) = path.parent() {
                File::open(dir)?.sync_all()?;
            }
        }
        let size = file.metadata()?.len();
        let (index, end) = replay(&file, size)?;
        if end < size {
            file.set_len(end)?;
            file.sync_all()?;
        }
        let stream = RecordStream {
            file,
            end: Mutex::new(end),
        };
        Ok((stream, index))
    }

    /// Appends one batch (`entries`, encoded by [`encode_entry`]) and syncs it. Returns where
    /// the batch's entries start: add an entry's offset inside `entries` to it. (The journal
    /// writes with [`RecordStream::append_entries`]; this frames bytes made elsewhere, for
    /// tests of what a reader makes of them.)
    #[cfg(test)]
    pub fn append(&self, entries: &[u8]) -> io::Result<u64> {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        let len = batch_len(entries.len())?;
        let mut frame = Vec::with_capacity(4 + entries.len() + SUM);
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(entries);
        frame.extend_from_slice(&blake3::hash(entries).as_bytes()[..SUM]);
        self.write_frame(&mut end, |w| w.write_all(&frame))?;
        Ok(*end - frame.len() as u64 + 4)
    }

    /// Appends one batch made of `entries` (node id, record JSON or `None` for a removal) and
    /// syncs it. Returns where each entry starts, in order (what the index keeps).
    ///
    /// The entries are written as they are framed, through a small buffer, never copied into
    /// one batch first: a fan-out source's record holds its items (a list of 5,000 Pods is
    /// about 17 MB of JSON), and a batch and its frame built in memory were two more copies of
    /// it at the peak of a run.
    pub fn append_entries(&self, entries: &[(&str, Option<&[u8]>)]) -> io::Result<Vec<u64>> {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        let body: usize = entries
            .iter()
            .map(|(id, rec)| 8 + id.len() + rec.map_or(0, <[u8]>::len))
            .sum();
        let len = batch_len(body)?;
        let mut at = *end + 4;
        let offsets = entries
            .iter()
            .map(|(id, rec)| {
                let o = at;
                at += (8 + id.len() + rec.map_or(0, <[u8]>::len)) as u64;
                o
            })
            .collect();
        self.write_frame(&mut end, |w| {
            w.write_all(&len.to_le_bytes())?;
            let mut out = Summed::new(w);
            for (id, rec) in entries {
                out.write_all(&(id.len() as u32).to_le_bytes())?;
                out.write_all(id.as_bytes())?;
                match rec {
                    Some(r) => {
                        out.write_all(&(r.len() as u32).to_le_bytes())?;
                        out.write_all(r)?;
                    }
                    None => out.write_all(&REMOVED.to_le_bytes())?,
                }
            }
            let sum = out.sum.finalize();
            w.write_all(&sum.as_bytes()[..SUM])
        })?;
        Ok(offsets)
    }

    /// Appends a batch of one entry whose record of `rec_len` bytes `write` streams out, and
    /// syncs it. Returns where the entry starts. A fan-out source's record is mostly its items
    /// (a list of 20,000 Pods is 66 MB of JSON): written this way it is never in memory whole.
    /// A `write` that fails, or writes other than `rec_len` bytes, leaves nothing behind.
    pub fn append_streamed(
        &self,
        node: &str,
        rec_len: usize,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<u64> {
        let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
        let rec_len32 = u32::try_from(rec_len)
            .ok()
            .filter(|&n| n != REMOVED)
            .ok_or_else(|| io::Error::other("a journal record is larger than 4 GiB"))?;
        let len = batch_len(8 + node.len() + rec_len)?;
        let at = *end + 4;
        self.write_frame(&mut end, |w| {
            w.write_all(&len.to_le_bytes())?;
            let mut out = Summed::new(w);
            out.write_all(&(node.len() as u32).to_le_bytes())?;
            out.write_all(node.as_bytes())?;
            out.write_all(&rec_len32.to_le_bytes())?;
            let head = out.written;
            write(&mut out)?;
            if out.written - head != rec_len {
                return Err(io::Error::other(format!(
                    "the record of {node} was to be {rec_len} bytes, {} were written",
                    out.written - head
                )));
            }
            let sum = out.sum.finalize();
            w.write_all(&sum.as_bytes()[..SUM])
        })?;
        Ok(at)
    }

    /// Writes one frame at `end` with `write` and syncs it; on success `end` moves past it.
    /// On failure whatever reached the file is a torn batch, cut off now (best effort; the next
    /// open does it anyway).
    fn write_frame(
        &self,
        end: &mut u64,
        write: impl FnOnce(&mut BufWriter<WriteAt<'_>>) -> io::Result<()>,
    ) -> io::Result<()> {
        let written = (|| {
            let mut w = BufWriter::with_capacity(1 << 16, WriteAt::new(&self.file, *end));
            write(&mut w)?;
            let new_end = w.into_inner().map_err(io::IntoInnerError::into_error)?.pos;
            self.file.sync_data()?;
            Ok(new_end)
        })();
        match written {
            Ok(new_end) => {
                *end = new_end;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(*end);
                Err(e)
            }
        }
    }

    /// `len` bytes at `offset`: a part of a record whose place a scan gave.
    pub fn read_span(&self, offset: u64, len: u32) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len as usize];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }

    /// The node id of the entry at `offset`.
    pub fn read_id(&self, offset: u64) -> Result<String, StreamError> {
        let mut len = [0u8; 4];
        self.file.read_exact_at(&mut len, offset)?;
        let id_len = u32::from_le_bytes(len);
        // Ids are a task name and a Kubernetes object's key: far under this.
        if id_len > 1 << 16 {
            return Err(StreamError::Damaged(format!(
                "no entry starts at offset {offset} (its id would be {id_len} bytes)"
            )));
        }
        let mut id = vec![0u8; id_len as usize];
        self.file.read_exact_at(&mut id, offset + 4)?;
        String::from_utf8(id).map_err(|_| {
            StreamError::Damaged(format!(
                "the node id of the entry at offset {offset} is not UTF-8"
            ))
        })
    }

    /// The record of the entry at `offset`, which must be `node`'s.
    pub fn read(&self, offset: u64, node: &str) -> Result<Vec<u8>, StreamError> {
        if self.read_id(offset)? != node {
            return Err(StreamError::Damaged(format!(
                "the entry of {node} at offset {offset} names another node"
            )));
        }
        let id_len = node.len() as u64;
        let mut len = [0u8; 4];
        self.file.read_exact_at(&mut len, offset + 4 + id_len)?;
        let rec_len = u32::from_le_bytes(len);
        if rec_len == REMOVED {
            return Err(StreamError::Damaged(format!(
                "the entry of {node} at offset {offset} is a removal"
            )));
        }
        let mut rec = vec![0u8; rec_len as usize];
        self.file.read_exact_at(&mut rec, offset + 8 + id_len)?;
        Ok(rec)
    }
}

impl RecordStream {
    /// Reads every batch from the start, in order, handing each record entry to `f` with the
    /// offset it starts at (what the index holds for a node's latest entry).
    ///
    /// A record longer than [`WHOLE_RECORD`] (a fan-out source's, mostly its items: 66 MB for
    /// 20,000 Pods) is handed without its top-level `items` member, which it is never read
    /// into memory for: what comes before the member keeps its offsets. Its batch is read
    /// entry by entry, not whole.
    pub fn scan(&self, mut f: impl FnMut(u64, &str, &[u8])) -> Result<(), StreamError> {
        let end = *self.end.lock().unwrap_or_else(|e| e.into_inner());
        let mut r = BufReader::with_capacity(1 << 16, ReadAt::new(&self.file));
        let mut pos = 0u64;
        let mut buf = Vec::new();
        while pos < end {
            let mut len = [0u8; 4];
            r.read_exact(&mut len)?;
            let n = u32::from_le_bytes(len) as usize;
            if n > WHOLE_RECORD {
                self.scan_big_batch(&mut r, pos, n, &mut f)?;
            } else {
                buf.resize(n + SUM, 0);
                r.read_exact(&mut buf)?;
                for e in entries(&buf[..n]).map_err(StreamError::Damaged)? {
                    if let Some(rec) = e.record {
                        f(pos + 4 + e.at as u64, e.node, rec);
                    }
                }
            }
            pos += (4 + n + SUM) as u64;
        }
        Ok(())
    }

    /// `scan` of a batch of `n` bytes (its length read already, at `pos`), entry by entry.
    fn scan_big_batch(
        &self,
        r: &mut impl Read,
        pos: u64,
        n: usize,
        f: &mut impl FnMut(u64, &str, &[u8]),
    ) -> Result<(), StreamError> {
        let cut = |what: &str| {
            StreamError::Damaged(format!(
                "a batch entry at offset {pos} is cut short ({what} past the batch's end)"
            ))
        };
        let read_u32 = |r: &mut dyn Read| -> io::Result<u32> {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            Ok(u32::from_le_bytes(b))
        };
        let mut off = 0;
        let mut rec = Vec::new();
        while off < n {
            let at = off;
            let id_len = read_u32(r)? as usize;
            if off + 8 + id_len > n {
                return Err(cut("its id"));
            }
            let mut id = vec![0; id_len];
            r.read_exact(&mut id)?;
            let node = String::from_utf8(id)
                .map_err(|_| StreamError::Damaged("a node id is not UTF-8".into()))?;
            let rec_len = read_u32(r)?;
            off += 8 + id_len;
            if rec_len == REMOVED {
                continue;
            }
            let rec_len = rec_len as usize;
            if off + rec_len > n {
                return Err(cut("its record"));
            }
            let rec_at = pos + 4 + off as u64;
            off += rec_len;
            let entry_at = pos + 4 + at as u64;
            if rec_len <= WHOLE_RECORD {
                rec.resize(rec_len, 0);
                r.read_exact(&mut rec)?;
                f(entry_at, &node, &rec);
                continue;
            }
            rec.resize(RECORD_HEAD, 0);
            r.read_exact(&mut rec)?;
            io::copy(
                &mut (&mut *r).take((rec_len - RECORD_HEAD) as u64),
                &mut io::sink(),
            )?;
            match top_level_member(&rec, b"items") {
                Some(comma) => {
                    rec.truncate(comma);
                    rec.push(b'}');
                }
                // Not the layout `Claim::commit_with_items` writes (items last, right after
                // the rest): read whole.
                None => {
                    rec.resize(rec_len, 0);
                    self.file.read_exact_at(&mut rec, rec_at)?;
                }
            }
            f(entry_at, &node, &rec);
        }
        let mut sum = [0u8; SUM];
        r.read_exact(&mut sum)?;
        Ok(())
    }
}

/// Records up to this long are handed to [`RecordStream::scan`]'s callback whole.
const WHOLE_RECORD: usize = 4 << 20;
/// How much of a longer record `scan` reads to find its `items` member (its artifacts, a few
/// hundred bytes each, come before it).
const RECORD_HEAD: usize = 1 << 20;

/// Where the member `key` of the JSON object `json` starts (the comma before its name), looked
/// for at the object's top level only, outside strings: a rule or a label named alike, deeper
/// in, is not it. `None` if `json` does not have it (in the part given).
fn top_level_member(json: &[u8], key: &[u8]) -> Option<usize> {
    let mut depth = 0u32;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in json.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => {
                let rest = &json[i + 1..];
                let name = rest.strip_prefix(b"\"").and_then(|r| r.strip_prefix(key));
                if name.is_some_and(|r| r.starts_with(b"\":")) {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A batch's length as its frame holds it.
fn batch_len(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::other("a journal batch is larger than 4 GiB"))
}

/// Appends one entry: `u32 LE id length, id, u32 LE record length (REMOVED for a removal),
/// record JSON`.
#[cfg(test)]
pub(crate) fn encode_entry(out: &mut Vec<u8>, node: &str, record: Option<&[u8]>) {
    out.extend_from_slice(&(node.len() as u32).to_le_bytes());
    out.extend_from_slice(node.as_bytes());
    match record {
        Some(r) => {
            out.extend_from_slice(&(r.len() as u32).to_le_bytes());
            out.extend_from_slice(r);
        }
        None => out.extend_from_slice(&REMOVED.to_le_bytes()),
    }
}

/// One entry of a batch: where it starts in the batch, its node, and whether it is a record
/// (false: a removal).
pub(crate) struct Entry<'a> {
    pub at: usize,
    pub node: &'a str,
    pub record: Option<&'a [u8]>,
}

/// The entries of one batch, or why it is unreadable.
pub(crate) fn entries(batch: &[u8]) -> Result<Vec<Entry<'_>>, String> {
    fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], String> {
        let left = buf.len() - *pos;
        if left < n {
            return Err(format!(
                "a batch entry is cut short ({left} bytes left, {n} needed)"
            ));
        }
        let out = &buf[*pos..*pos + n];
        *pos += n;
        Ok(out)
    }
    fn len(buf: &[u8], pos: &mut usize) -> Result<u32, String> {
        let b = take(buf, pos, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < batch.len() {
        let at = pos;
        let n = len(batch, &mut pos)? as usize;
        let node = std::str::from_utf8(take(batch, &mut pos, n)?)
            .map_err(|_| "a node id is not UTF-8".to_string())?;
        let record = match len(batch, &mut pos)? {
            REMOVED => None,
            n => Some(take(batch, &mut pos, n as usize)?),
        };
        out.push(Entry { at, node, record });
    }
    Ok(out)
}

/// Reads every batch of a stream of `size` bytes: the index and the end of the last whole
/// batch.
fn replay(file: &File, size: u64) -> Result<(Index, u64), StreamError> {
    let mut index = Index::new();
    let mut r = BufReader::with_capacity(1 << 16, ReadAt::new(file));
    let mut pos = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 4];
        let header = read_full(&mut r, &mut len)?;
        if header == 0 {
            return Ok((index, pos));
        }
        let n = u32::from_le_bytes(len) as usize;
        let frame_end = pos + 4 + n as u64 + SUM as u64;
        if header < 4 || frame_end > size {
            // Cut short by a write that never completed.
            return Ok((index, pos));
        }
        buf.resize(n + SUM, 0);
        r.read_exact(&mut buf)?;
        let (batch, sum) = buf.split_at(n);
        if &blake3::hash(batch).as_bytes()[..SUM] != sum {
            if frame_end == size {
                return Ok((index, pos));
            }
            return Err(StreamError::Damaged(format!(
                "the batch at offset {pos} does not match its checksum"
            )));
        }
        for e in entries(batch).map_err(StreamError::Damaged)? {
            match e.record {
                Some(_) => {
                    let at = pos + 4 + e.at as u64;
                    match index.get_mut(e.node) {
                        Some(o) => *o = at,
                        None => {
                            index.insert(Arc::from(e.node), at);
                        }
                    }
                }
                None => {
                    index.remove(e.node);
                }
            }
        }
        pos = frame_end;
    }
}

/// Writes a file from `pos` on with positioned writes, leaving the file's own cursor alone (the
/// counterpart of [`ReadAt`]).
struct WriteAt<'a> {
    file: &'a File,
    pos: u64,
}

impl<'a> WriteAt<'a> {
    fn new(file: &'a File, pos: u64) -> Self {
        WriteAt { file, pos }
    }
}

impl Write for WriteAt<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that hashes and counts what goes through it: the entries of a batch, between its
/// length and its checksum.
struct Summed<'a, W: Write> {
    inner: &'a mut W,
    sum: blake3::Hasher,
    written: usize,
}

impl<'a, W: Write> Summed<'a, W> {
    fn new(inner: &'a mut W) -> Self {
        Summed {
            inner,
            sum: blake3::Hasher::new(),
            written: 0,
        }
    }
}

impl<W: Write> Write for Summed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sum.update(&buf[..n]);
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a file from its start with positioned reads, leaving the file's own cursor (shared
/// by every handle to it) alone.
struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl<'a> ReadAt<'a> {
    fn new(file: &'a File) -> Self {
        ReadAt { file, pos: 0 }
    }
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the file; returns how many.
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
mod tests {
    use super::*;

    fn batch(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut b = Vec::new();
        for (node, rec) in entries {
            encode_entry(&mut b, node, rec.map(str::as_bytes));
        }
        b
    }

    #[test]
    fn entries_written_as_they_are_framed_make_the_same_batch_and_their_offsets_are_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let big = "x".repeat(200_000); // past the write buffer
        let es: [(&str, Option<&str>); 4] = [
            ("a", Some("1")),
            ("b", None),
            ("big", Some(&big)),
            ("c", Some("{}")),
        ];
        let framed = dir.path().join("framed");
        let (s, _) = RecordStream::open(&framed).unwrap();
        s.append(&batch(&es)).unwrap();
        let streamed = dir.path().join("streamed");
        let (s, _) = RecordStream::open(&streamed).unwrap();
        let entries: Vec<(&str, Option<&[u8]>)> =
            es.iter().map(|(n, r)| (*n, r.map(str::as_bytes))).collect();
        let offsets = s.append_entries(&entries).unwrap();
        let second = s.append_entries(&[("a", Some(b"2"))]).unwrap();
        drop(s);
        let bytes = std::fs::read(&streamed).unwrap();
        let first_len = std::fs::metadata(&framed).unwrap().len() as usize;
        assert_eq!(bytes[..first_len], std::fs::read(&framed).unwrap()[..]);
        let (s, index) = RecordStream::open(&streamed).unwrap();
        assert_eq!(index["big"], offsets[2]);
        assert_eq!(index["c"], offsets[3]);
        assert_eq!(index["a"], second[0], "the later entry counts");
        assert!(!index.contains_key("b"));
        assert_eq!(s.read(offsets[2], "big").unwrap(), big.as_bytes());
        assert_eq!(s.read(second[0], "a").unwrap(), b"2");
    }

    #[test]
    fn a_streamed_record_is_the_batch_of_its_one_entry_and_a_short_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let big = "y".repeat(300_000); // written in many pieces, past the write buffer
        let framed = dir.path().join("framed");
        let (s, _) = RecordStream::open(&framed).unwrap();
        s.append(&batch(&[("pods", Some(&big))])).unwrap();
        let streamed = dir.path().join("streamed");
        let (s, _) = RecordStream::open(&streamed).unwrap();
        let at = s
            .append_streamed("pods", big.len(), |w| {
                big.as_bytes()
                    .chunks(7_000)
                    .try_for_each(|c| w.write_all(c))
            })
            .unwrap();
        let whole = std::fs::read(&streamed).unwrap();
        assert_eq!(whole, std::fs::read(&framed).unwrap());
        // A writer that falls short, or fails, is refused and cut off: the stream goes on
        // from the last whole batch.
        let short = s.append_streamed("x", 10, |w| w.write_all(b"12345"));
        assert!(short.unwrap_err().to_string().contains("10 bytes"));
        let failed = s.append_streamed("x", 10, |_| Err(io::Error::other("no")));
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&streamed).unwrap(), whole);
        let next = s.append_entries(&[("a", Some(b"1"))]).unwrap();
        drop(s);
        let (s, index) = RecordStream::open(&streamed).unwrap();
        assert_eq!(index["pods"], at);
        assert_eq!(index["a"], next[0]);
        assert!(!index.contains_key("x"));
        assert_eq!(s.read(at, "pods").unwrap(), big.as_bytes());
    }

    #[test]
    fn a_top_level_member_is_found_outside_strings_and_nested_objects() {
        let json = br#"{"error":"a,\"items\":1","artifacts":[{"rules":{"b":1,"items":2}}],"items":[{"items":[]}]}"#;
        let at = top_level_member(json, b"items").unwrap();
        assert_eq!(&json[at..at + 10], br#","items":["#);
        assert_eq!(
            top_level_member(br#"{"a":[1,{"items":2}]}"#, b"items"),
            None
        );
        assert_eq!(
            top_level_member(br#"{"a":"\\","items":1}"#, b"items"),
            Some(9)
        );
    }

    #[test]
    fn records_are_read_back_from_their_latest_entry_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records");
        {
            let (s, index) = RecordStream::open(&path).unwrap();
            assert!(index.is_empty());
            s.append(&batch(&[("a", Some("1")), ("b", Some("2"))]))
                .unwrap();
            s.append(&batch(&[("a", Some("3")), ("b", None), ("c", Some("4"))]))
                .unwrap();
        }
        let (s, index) = RecordStream::open(&path).unwrap();
        assert_eq!(index.len(), 2, "b was removed");
        assert_eq!(s.read(index["a"], "a").unwrap(), b"3");
        assert_eq!(s.read(index["c"], "c").unwrap(), b"4");
        // An offset asked for under another node's name is refused, not misread.
        assert!(matches!(
            s.read(index["a"], "c"),
            Err(StreamError::Damaged(_))
        ));
    }

    #[test]
    fn a_scan_sees_every_record_entry_with_the_offsets_the_index_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = RecordStream::open(&dir.path().join("records")).unwrap();
        s.append(&batch(&[("a", Some("1")), ("b", Some("2"))]))
            .unwrap();
        s.append(&batch(&[("a", Some("3")), ("b", None)])).unwrap();
        let (_, index) = RecordStream::open(&dir.path().join("records")).unwrap();
        let mut seen = Vec::new();
        s.scan(|at, node, rec| {
            let latest = index.get(node) == Some(&at);
            seen.push((
                node.to_string(),
                String::from_utf8_lossy(rec).into_owned(),
                latest,
            ));
        })
        .unwrap();
        let want = [("a", "1", false), ("b", "2", false), ("a", "3", true)];
        assert_eq!(
            seen,
            want.map(|(n, r, l)| (n.to_string(), r.to_string(), l))
        );
    }

    #[test]
    fn a_torn_last_batch_is_cut_off_and_the_next_follows_the_last_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records");
        {
            let (s, _) = RecordStream::open(&path).unwrap();
            s.append(&batch(&[("a", Some("1"))])).unwrap();
            s.append(&batch(&[("b", Some("2"))])).unwrap();
        }
        let whole = std::fs::metadata(&path).unwrap().len();
        // The second batch loses its last 3 bytes (a kill during its write).
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(whole - 3).unwrap();
        drop(f);
        {
            let (s, index) = RecordStream::open(&path).unwrap();
            assert_eq!(index.keys().map(|k| &**k).collect::<Vec<_>>(), ["a"]);
            s.append(&batch(&[("c", Some("3"))])).unwrap();
        }
        let (s, index) = RecordStream::open(&path).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(s.read(index["c"], "c").unwrap(), b"3");
        // A last batch of the right length but the wrong content (zeros after a crash) too.
        let len = std::fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&[0, 0], len - SUM as u64 - 2).unwrap();
        drop(f);
        let (_, index) = RecordStream::open(&path).unwrap();
        assert_eq!(index.keys().map(|k| &**k).collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn a_damaged_batch_before_the_end_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records");
        {
            let (s, _) = RecordStream::open(&path).unwrap();
            s.append(&batch(&[("a", Some("1"))])).unwrap();
            s.append(&batch(&[("b", Some("2"))])).unwrap();
        }
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(b"x", 9).unwrap();
        drop(f);
        let Err(StreamError::Damaged(why)) = RecordStream::open(&path) else {
            panic!("a damaged first batch is an error")
        };
        assert!(why.contains("checksum"), "{why}");
    }
}
