use super::*;

fn outcome(batch: BatchHash, statuses: &[ItemStatus]) -> Record {
    Record::Outcome(Outcome {
        run_id: "r".into(),
        batch,
        parent: None,
        seq: 0,
        items: statuses.len() as u32,
        attempts: 1,
        bisected: false,
        results: statuses
            .iter()
            .enumerate()
            .map(|(i, s)| ItemResult {
                file: 0,
                row: i as u64 + 2,
                id_hmac: "00".into(),
                status: *s,
                vendor_id: None,
                message: None,
                value: None,
            })
            .collect(),
    })
}

fn h(b: u8) -> BatchHash {
    BatchHash([b; 32])
}

#[tokio::test]
async fn resume_set_torn_line_and_hash_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.jsonl");
    {
        let l = Ledger::open(&path).unwrap();
        let w = l.handle();
        w.write(outcome(
            h(1),
            &[ItemStatus::Acknowledged, ItemStatus::AlreadyDone],
        ))
        .await
        .unwrap();
        w.write(outcome(
            h(2),
            &[ItemStatus::Acknowledged, ItemStatus::Invalid],
        ))
        .await
        .unwrap();
        w.write(outcome(h(3), &[ItemStatus::FailedRetryable]))
            .await
            .unwrap();
        l.close().unwrap();
    }
    // A crash mid-line: a torn last line without its newline.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"v":1,"type":"outcome","run_id":"r","bat"#)
        .unwrap();
    drop(f);

    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.prior.torn, 1);
    assert!(l.prior.is_done(&h(1), false));
    assert!(
        l.prior.is_done(&h(2), false),
        "permanent failures are final"
    );
    assert!(!l.prior.is_done(&h(2), true), "unless --retry-failed");
    assert!(!l.prior.is_done(&h(3), false), "failed-retryable is resent");
    assert!(!l.prior.is_done(&h(4), false));
    // The next record starts on a fresh line and chains to the last good one.
    l.handle()
        .write(outcome(h(3), &[ItemStatus::Acknowledged]))
        .await
        .unwrap();
    l.close().unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    let mut prev: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            assert_eq!(i, 3, "only the torn line is garbage");
            continue;
        };
        assert_eq!(v["v"], 1);
        assert_eq!(v["prev"].as_str().map(str::to_owned), prev);
        prev = Some(hex::encode(Sha256::digest(line.as_bytes())));
    }
    let again = read(File::open(&path).unwrap()).unwrap();
    assert!(again.is_done(&h(3), false), "a later outcome wins");
}

#[test]
fn a_locked_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.jsonl");
    let first = Ledger::open(&path).unwrap();
    let err = Ledger::open(&path).err().expect("second open must fail");
    let (code, hint) = crate::exit::classify(&err);
    assert_eq!(code, crate::exit::Code::Usage);
    assert!(hint.is_some());
    assert!(err.to_string().contains("in use"));
    first.close().unwrap();
    Ledger::open(&path).unwrap().close().unwrap();
}

#[test]
fn key_is_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let kp = dir.path().join("l.key");
    let k1 = load_or_create_key(&kp).unwrap();
    let k2 = load_or_create_key(&kp).unwrap();
    assert_eq!(k1, k2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kp).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_ne!(id_hmac(&k1, "a@b.c"), id_hmac(&[0; 32], "a@b.c"));
    assert_eq!(id_hmac(&k1, "a@b.c").len(), 64);
}

#[test]
fn default_paths() {
    assert_eq!(
        default_path(Path::new("dir/ids.csv")),
        PathBuf::from("dir/ids.csv.ledger.jsonl")
    );
    assert_eq!(
        default_path(Path::new("-")),
        PathBuf::from("cdp-purge-stdin.ledger.jsonl")
    );
    assert_eq!(key_path(Path::new("x.jsonl")), PathBuf::from("x.jsonl.key"));
}
