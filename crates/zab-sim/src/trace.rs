//! The run's trace: every event the engine processes, folded into a running stable hash and
//! optionally written as JSON lines. Two runs are the same run exactly when their hashes match.

use crate::hash::StableHasher;
use crate::time::SimTime;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The running trace.
pub struct Trace {
    hasher: StableHasher,
    events: u64,
    writer: Option<BufWriter<File>>,
    write_error: Option<String>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}

impl Trace {
    /// A trace that is only hashed.
    pub fn new() -> Trace {
        Trace {
            hasher: StableHasher::new(),
            events: 0,
            writer: None,
            write_error: None,
        }
    }

    /// A trace that is also written to `path`, one JSON object per line.
    pub fn to_file(path: &Path) -> std::io::Result<Trace> {
        let file = File::create(path)?;
        let mut trace = Trace::new();
        trace.writer = Some(BufWriter::new(file));
        Ok(trace)
    }

    /// Is a file being written? Callers skip building detail strings otherwise.
    pub fn is_writing(&self) -> bool {
        self.writer.is_some()
    }

    /// Fold one event in. `kind` names the event, `node` is its subject (0 for none), and
    /// `content` hashes whatever else identifies it. `detail` is only called when writing.
    #[inline]
    pub fn record(
        &mut self,
        at: SimTime,
        kind: &'static str,
        node: u64,
        content: impl FnOnce(&mut StableHasher),
        detail: impl FnOnce() -> String,
    ) {
        self.events += 1;
        self.hasher.write_u64(at.0);
        self.hasher.write_str(kind);
        self.hasher.write_u64(node);
        content(&mut self.hasher);
        if let Some(writer) = self.writer.as_mut() {
            let line = serde_json::json!({
                "n": self.events,
                "t_us": at.0,
                "kind": kind,
                "node": node,
                "detail": detail(),
            });
            if let Err(e) = writeln!(writer, "{line}") {
                self.write_error.get_or_insert(e.to_string());
            }
        }
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    /// The hash of everything recorded so far.
    pub fn hash(&self) -> u64 {
        let mut h = self.hasher;
        h.write_u64(self.events);
        h.finish()
    }

    /// Flush the file; reports the first write error, if any.
    pub fn finish(&mut self) -> Result<(), String> {
        if let Some(w) = self.writer.as_mut() {
            w.flush().map_err(|e| e.to_string())?;
        }
        match self.write_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// How trace hashes are shown to people and stored in reports.
pub fn format_hash(hash: u64) -> String {
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_order_and_content() {
        let mut a = Trace::new();
        a.record(SimTime(1), "x", 1, |h| h.write_u64(5), String::new);
        a.record(SimTime(2), "y", 2, |_| {}, String::new);
        let mut b = Trace::new();
        b.record(SimTime(2), "y", 2, |_| {}, String::new);
        b.record(SimTime(1), "x", 1, |h| h.write_u64(5), String::new);
        assert_ne!(a.hash(), b.hash());
        let mut c = Trace::new();
        c.record(SimTime(1), "x", 1, |h| h.write_u64(6), String::new);
        c.record(SimTime(2), "y", 2, |_| {}, String::new);
        assert_ne!(a.hash(), c.hash());
        assert_eq!(a.events(), 2);
    }

    #[test]
    fn trace_file_has_one_json_line_per_event() {
        let dir = std::env::temp_dir().join(format!("zabsim-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let mut t = Trace::to_file(&path).unwrap();
        t.record(SimTime(1), "x", 1, |_| {}, || "hello".into());
        t.record(SimTime(2), "y", 2, |_| {}, || "world".into());
        t.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["detail"], "world");
        std::fs::remove_dir_all(&dir).ok();
    }
}
