//! Tamper evidence: the hash chain (`prev` = SHA-256 of the previous line's bytes) and the
//! SHA-256 digests of the input files recorded in each run header.
//!
//! What the chain proves: no line was changed, removed, inserted or reordered, except at
//! the very end (the last line has no successor to vouch for it, and a cut-off tail looks
//! like a crash). Keep the head hash this prints somewhere else (the ticket) to close that
//! gap. The chain is not keyed, so someone who rewrites every line from the edit onwards
//! goes unnoticed unless the head is known.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    /// 1-based line number of the first record whose `prev` does not match.
    pub line: u64,
    pub record_type: String,
    /// SHA-256 of the previous good line (what `prev` should say); `None` on line 1.
    pub expected: Option<String>,
    /// What the record's `prev` says.
    pub actual: Option<String>,
    /// The likely edit, in words.
    pub explanation: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChainReport {
    pub lines: u64,
    pub records: u64,
    /// SHA-256 of the last record's line: the next record's `prev`. Keep it elsewhere to
    /// detect later edits of the tail.
    pub head: Option<String>,
    /// The last line is an unfinished write (no newline, not JSON): a crash, not an edit.
    pub torn_tail: Option<u64>,
    /// Unparsable lines inside the file that the next run correctly stepped over (each was
    /// the torn tail of a crashed run).
    pub torn_inside: Vec<u64>,
    pub broken: Option<Break>,
}

impl ChainReport {
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// The fields of a ledger line the chain rules look at.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub record_type: Option<String>,
    pub prev: Option<String>,
    /// `status` records: the invocation that wrote them.
    pub check_id: Option<String>,
}

/// The chain rules, one line at a time, in constant memory (shared by `report --verify` and
/// by `delete` before it resumes).
///
/// A line that is not a record is only what a crash leaves: the last, unfinished line of a
/// run. The writer of the next run starts it on a fresh line, so such a line is accepted only
/// when the next good record chains past it *and* begins a new run (a `header`, or the first
/// `status` record of a new invocation), or when nothing but other torn lines follow it.
#[derive(Debug, Default)]
pub struct ChainChecker {
    rep: ChainReport,
    /// SHA-256 of the last good line, and its line number.
    expected: Option<(String, u64)>,
    /// Unparsable complete lines since the last good one.
    garbled: Vec<u64>,
    last_type: Option<String>,
    last_check_id: Option<String>,
}

impl ChainChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Check line `n` (1-based, without its newline); `env` is `None` when it is not a JSON
    /// record. Returns false once the chain is broken (later lines are not looked at).
    pub fn push(&mut self, n: u64, line: &[u8], complete: bool, env: Option<&Envelope>) -> bool {
        if self.rep.broken.is_some() {
            return false;
        }
        self.rep.lines = n;
        if line.is_empty() {
            return true;
        }
        let Some(env) = env else {
            if complete {
                self.garbled.push(n);
            } else {
                self.rep.torn_tail = Some(n);
            }
            return true;
        };
        let record_type = env
            .record_type
            .clone()
            .unwrap_or_else(|| "(no type)".to_owned());
        let want = self.expected.as_ref().map(|(h, _)| h.clone());
        if env.prev != want {
            self.rep.broken = Some(Break {
                line: n,
                record_type,
                expected: want,
                actual: env.prev.clone(),
                explanation: String::new(),
            });
            return false;
        }
        if let Some(&g) = self.garbled.first() {
            let new_status = record_type == "status"
                && (self.last_type.as_deref() != Some("status")
                    || env.check_id != self.last_check_id);
            if record_type != "header" && !new_status {
                self.rep.broken = Some(Break {
                    line: n,
                    record_type,
                    expected: want,
                    actual: env.prev.clone(),
                    explanation: format!(
                        "line {g} is not a ledger record, and line {n} after it does not start \
                         a new run (a crash tears only the last line a run wrote): line {g} was \
                         inserted or edited"
                    ),
                });
                return false;
            }
        }
        self.rep.torn_inside.append(&mut self.garbled);
        self.rep.records += 1;
        self.expected = Some((hex::encode(Sha256::digest(line)), n));
        self.last_type = Some(record_type);
        self.last_check_id = env.check_id.clone();
        true
    }

    pub fn broken(&self) -> Option<&Break> {
        self.rep.broken.as_ref()
    }

    /// SHA-256 of the last good line: what the next record's `prev` must be.
    pub fn head(&self) -> Option<&str> {
        self.expected.as_ref().map(|(h, _)| h.as_str())
    }

    /// The report, once every line was pushed. `find_line` finds the line whose hash a
    /// `prev` names (it re-reads the file: remembering every hash would cost memory in
    /// proportion to the ledger), to explain a break.
    pub fn finish(mut self, find_line: impl FnOnce(&str, u64) -> Option<u64>) -> ChainReport {
        if let Some(b) = &mut self.rep.broken {
            if b.explanation.is_empty() {
                let back = b.actual.as_deref().and_then(|a| find_line(a, b.line));
                b.explanation = explain(
                    b.line,
                    self.expected.as_ref(),
                    b.actual.as_deref(),
                    back,
                    &self.garbled,
                );
            }
            return self.rep;
        }
        // Non-records with nothing after them: what a crash leaves. A SIGKILL can cut a
        // write at a page boundary, so even a line that ends in a newline (the one the next
        // run starts with) may be torn. They carry no record, so they cannot forge one.
        self.rep.torn_inside.append(&mut self.garbled);
        self.rep.head = self.expected.map(|(h, _)| h);
        self.rep
    }
}

/// Read lines as the writer wrote them: `(line number, bytes without the newline, complete)`.
pub fn for_each_line(
    r: impl Read,
    mut f: impl FnMut(u64, &[u8], bool) -> std::io::Result<bool>,
) -> std::io::Result<()> {
    let mut rd = BufReader::with_capacity(256 * 1024, r);
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        if rd.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        n += 1;
        let complete = buf.last() == Some(&b'\n');
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if !f(n, line, complete)? {
            return Ok(());
        }
    }
}

/// The line (before `before`) whose SHA-256 is `hash`.
pub fn find_line(r: impl Read, hash: &str, before: u64) -> Option<u64> {
    let mut found = None;
    for_each_line(r, |n, line, _| {
        if n >= before {
            return Ok(false);
        }
        if !line.is_empty() && hex::encode(Sha256::digest(line)) == hash {
            found = Some(n);
            return Ok(false);
        }
        Ok(true)
    })
    .ok()?;
    found
}

/// Walk the chain. Stops at the first break.
pub fn chain<R: Read + Seek>(mut r: R) -> std::io::Result<ChainReport> {
    let mut checker = ChainChecker::new();
    for_each_line(&mut r, |n, line, complete| {
        let env = serde_json::from_slice::<Envelope>(line).ok();
        Ok(checker.push(n, line, complete, env.as_ref()))
    })?;
    Ok(checker.finish(|hash, before| {
        r.seek(SeekFrom::Start(0)).ok()?;
        find_line(&mut r, hash, before)
    }))
}

fn explain(
    n: u64,
    expected: Option<&(String, u64)>,
    actual: Option<&str>,
    back: Option<u64>,
    garbled: &[u64],
) -> String {
    let Some((_, prev_line)) = expected else {
        return format!(
            "line {n} is the first record but its prev is not null: records were removed \
             from the beginning of the ledger"
        );
    };
    if actual.is_none() {
        return format!("line {n} has no prev: it was inserted or its prev was removed");
    }
    if let Some(k) = back {
        return format!(
            "line {n} follows line {k} in the chain: lines {}..={prev_line} were inserted \
             or moved",
            k + 1
        );
    }
    if let Some(g) = garbled.first() {
        return format!(
            "line {g} is not a ledger record and line {n} does not chain past it: \
             line {g} was edited"
        );
    }
    format!(
        "line {prev_line} was changed, or lines were removed between line {prev_line} and \
         line {n}"
    )
}

/// One input file's digest check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputCheck {
    /// 1-based line of the header that recorded it.
    pub header_line: u64,
    pub run_id: String,
    /// As recorded.
    pub recorded_path: String,
    /// What was read (the recorded path, or the `--input` that replaced it).
    pub checked_path: Option<String>,
    pub expected: String,
    pub actual: Option<String>,
    /// ok, mismatch, missing, stdin.
    pub result: &'static str,
}

/// Re-hash every input recorded in a header (each distinct path/digest once). `overrides`
/// are `--input` files: each replaces the recorded input with the same file name, or, when
/// no name matches, the recorded inputs in order.
///
/// A relative recorded path that does not resolve from the working directory is also
/// looked for beside the ledger (where the default ledger sits), by file name.
pub fn inputs(
    headers: &[(u64, &crate::ledger::Header)],
    overrides: &[PathBuf],
    ledger_dir: Option<&Path>,
) -> anyhow::Result<Vec<InputCheck>> {
    let mut out: Vec<InputCheck> = Vec::new();
    let mut distinct: Vec<(u64, &str, &str, &str)> = Vec::new();
    for (line, h) in headers {
        for f in &h.inputs {
            if !distinct
                .iter()
                .any(|(_, _, p, s)| *p == f.path && *s == f.sha256)
            {
                distinct.push((*line, &h.run_id, &f.path, &f.sha256));
            }
        }
    }
    let mut unique_paths: Vec<&str> = Vec::new();
    for (_, _, p, _) in &distinct {
        if !unique_paths.contains(p) {
            unique_paths.push(p);
        }
    }
    for (line, run_id, path, sha) in distinct {
        let mut check = InputCheck {
            header_line: line,
            run_id: run_id.to_owned(),
            recorded_path: path.to_owned(),
            checked_path: None,
            expected: sha.to_owned(),
            actual: None,
            result: "missing",
        };
        let target = pick(path, &unique_paths, overrides);
        if path == "-" && target.is_none() {
            check.result = "stdin";
            out.push(check);
            continue;
        }
        let target = target.unwrap_or_else(|| {
            let p = PathBuf::from(path);
            match (ledger_dir, p.file_name()) {
                (Some(dir), Some(name)) if p.is_relative() && !p.exists() => dir.join(name),
                _ => p,
            }
        });
        check.checked_path = Some(target.display().to_string());
        match sha256_file(&target) {
            Ok(Some(actual)) => {
                check.result = if actual == sha { "ok" } else { "mismatch" };
                check.actual = Some(actual);
            }
            Ok(None) => {}
            Err(e) => {
                return Err(crate::error::UserError::usage(format!(
                    "cannot read {}: {e}",
                    target.display()
                ))
                .into());
            }
        }
        out.push(check);
    }
    Ok(out)
}

fn pick(recorded: &str, unique_paths: &[&str], overrides: &[PathBuf]) -> Option<PathBuf> {
    if overrides.is_empty() {
        return None;
    }
    let name = Path::new(recorded).file_name();
    if let Some(o) = overrides
        .iter()
        .find(|o| name.is_some() && o.file_name() == name)
    {
        return Some(o.clone());
    }
    let i = unique_paths.iter().position(|p| *p == recorded)?;
    overrides.get(i).cloned()
}

/// SHA-256 of a file's bytes, or `None` when it does not exist.
fn sha256_file(path: &Path) -> std::io::Result<Option<String>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut h = Sha256::new();
    std::io::copy(&mut BufReader::new(f), &mut h)?;
    Ok(Some(hex::encode(h.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines chained the way the writer chains them.
    fn ledger(n: usize) -> Vec<String> {
        let mut prev: Option<String> = None;
        (0..n)
            .map(|i| {
                let l = serde_json::json!({"v":1,"type":"attempt","i":i,"prev":prev}).to_string();
                prev = Some(hex::encode(Sha256::digest(l.as_bytes())));
                l
            })
            .collect()
    }

    fn join(lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn intact_and_head() {
        let l = ledger(4);
        let r = chain(std::io::Cursor::new(join(&l))).unwrap();
        assert!(r.intact());
        assert_eq!(r.records, 4);
        assert_eq!(
            r.head.as_deref(),
            Some(hex::encode(Sha256::digest(l[3].as_bytes())).as_str())
        );
    }

    #[test]
    fn an_edited_line_breaks_at_its_successor() {
        let mut l = ledger(4);
        l[1] = l[1].replace("\"i\":1", "\"i\":7");
        let b = chain(std::io::Cursor::new(join(&l)))
            .unwrap()
            .broken
            .unwrap();
        assert_eq!((b.line, b.record_type.as_str()), (3, "attempt"));
        assert!(
            b.explanation.contains("line 2 was changed"),
            "{}",
            b.explanation
        );
    }

    #[test]
    fn a_removed_first_line_and_a_moved_line() {
        let l = ledger(4);
        let b = chain(std::io::Cursor::new(join(&l[1..])))
            .unwrap()
            .broken
            .unwrap();
        assert_eq!(b.line, 1);
        assert!(b.explanation.contains("beginning"));
        let swapped = vec![l[0].clone(), l[2].clone(), l[1].clone(), l[3].clone()];
        let b = chain(std::io::Cursor::new(join(&swapped)))
            .unwrap()
            .broken
            .unwrap();
        assert_eq!(b.line, 2);
    }

    #[test]
    fn torn_tail_and_torn_line_stepped_over_are_not_tampering() {
        let l = ledger(3);
        let mut text = join(&l);
        text.push_str("{\"v\":1,\"ty");
        let r = chain(std::io::Cursor::new(text.clone())).unwrap();
        assert!(r.intact());
        assert_eq!(r.torn_tail, Some(4));
        // The next run starts on a fresh line and chains from the last good one.
        let next = serde_json::json!({"v":1,"type":"header",
            "prev": hex::encode(Sha256::digest(l[2].as_bytes()))})
        .to_string();
        text.push('\n');
        text.push_str(&next);
        text.push('\n');
        let r = chain(std::io::Cursor::new(text.clone())).unwrap();
        assert!(r.intact(), "{:?}", r.broken);
        assert_eq!(r.torn_inside, vec![4]);
        // A write cut by SIGKILL at a page boundary can leave a torn line that ends in the
        // newline a rerun starts with, and nothing after it: a crash, and no record touched.
        let mut cut = join(&l);
        cut.push_str("{\"v\":2,\"type\":\"outc\n");
        let r = chain(std::io::Cursor::new(cut)).unwrap();
        assert!(r.intact(), "{:?}", r.broken);
        assert_eq!(r.torn_inside, vec![4]);
    }

    #[test]
    fn a_non_json_line_inside_is_accepted_only_before_a_new_run() {
        // Garbage inserted between two records of one run: the next record still chains
        // past it (the garbage is not hashed), but no crash leaves a line there.
        let l = ledger(4);
        let mut text = join(&l[..2]);
        text.push_str("not a record\n");
        text.push_str(&join(&l[2..]));
        let b = chain(std::io::Cursor::new(text)).unwrap().broken.unwrap();
        assert_eq!(b.line, 4, "{b:?}");
        assert!(b.explanation.contains("line 3"), "{}", b.explanation);
        // Before a header it is what a crash followed by a rerun looks like.
        let header = serde_json::json!({"v":2,"type":"header",
            "prev": hex::encode(Sha256::digest(l[1].as_bytes()))})
        .to_string();
        let text = format!("{}{{\"v\":2,\"ty\n{header}\n", join(&l[..2]));
        let r = chain(std::io::Cursor::new(text)).unwrap();
        assert!(r.intact(), "{:?}", r.broken);
        assert_eq!(r.torn_inside, vec![3]);
    }
}
