use super::*;
use crate::batch::{BatchHash, Item};
use crate::error::{Class, UserError};

fn item(v: &str) -> Item {
    Item {
        file: 0,
        row: 2,
        value: v.into(),
        kind: "email".into(),
        lookup: None,
    }
}

fn dest(space: &str) -> Destination {
    Destination {
        vendor: "segment".into(),
        origin: "https://profiles.segment.com".into(),
        params: [("space".to_owned(), space.to_owned())]
            .into_iter()
            .collect(),
    }
}

fn header(run: &str, d: &Destination) -> Record {
    Record::Header(Header {
        run_id: run.into(),
        tool: "cdp-purge".into(),
        version: "0".into(),
        vendor: d.vendor.clone(),
        destination: Some(d.clone()),
        endpoint: "POST x".into(),
        account: Default::default(),
        inputs: Vec::new(),
        limits: serde_json::Value::Null,
        started_at: "t".into(),
        plan: PlanCounts::default(),
        resumed: false,
        include_identifiers: false,
    })
}

fn outcome(key: &[u8; 32], run: &str, batch: BatchHash, items: &[(&str, ItemStatus)]) -> Record {
    Record::Outcome(Outcome {
        run_id: run.into(),
        batch,
        parent: None,
        seq: 0,
        items: items.len() as u32,
        attempts: 1,
        bisected: false,
        results: items
            .iter()
            .map(|(v, s)| ItemResult {
                file: 0,
                row: 2,
                id_hmac: id_hmac(key, v),
                key: Some(key_hex(item_key(key, &item(v)))),
                status: *s,
                vendor_id: None,
                message: None,
                value: None,
                lookup_hmac: None,
            })
            .collect(),
    })
}

fn sent(key: &[u8; 32], run: &str, batch: BatchHash, values: &[&str]) -> Record {
    Record::Attempt(Attempt {
        phase: Phase::Sent,
        run_id: run.into(),
        batch,
        parent: None,
        attempt: 1,
        items: values.len() as u32,
        sent_at: "t".into(),
        received_at: None,
        status: None,
        error: None,
        request_ids: Default::default(),
        decision: None,
        delay_ms: None,
        reason: None,
        maybe_delivered_before: false,
        keys: values
            .iter()
            .map(|v| key_hex(item_key(key, &item(v))))
            .collect(),
    })
}

fn h(b: u8) -> BatchHash {
    BatchHash([b; 32])
}

fn state(r: &Resume, key: &[u8; 32], v: &str) -> KeyState {
    r.state(item_key(key, &item(v)))
}

#[tokio::test]
async fn resume_is_per_identifier_and_per_destination() {
    use ItemStatus::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.jsonl");
    let (a, b) = (dest("spa_a"), dest("spa_b"));
    {
        let l = Ledger::open(&path).unwrap();
        let k = l.key;
        let w = l.handle();
        w.write(header("r1", &a)).await.unwrap();
        w.write(outcome(
            &k,
            "r1",
            h(1),
            &[("x", Acknowledged), ("y", Invalid)],
        ))
        .await
        .unwrap();
        w.write(outcome(
            &k,
            "r1",
            h(2),
            &[("z", FailedRetryable), ("u", Unknown)],
        ))
        .await
        .unwrap();
        // In flight when the process died: no result, no outcome.
        w.write(sent(&k, "r1", h(3), &["m"])).await.unwrap();
        w.write(header("r2", &b)).await.unwrap();
        w.write(outcome(&k, "r2", h(4), &[("w", Acknowledged)]))
            .await
            .unwrap();
        l.close().unwrap();
    }
    // A crash mid-line: a torn last line without its newline.
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"v":2,"type":"outcome","run_id":"r2","bat"#)
        .unwrap();
    drop(f);

    let l = Ledger::open(&path).unwrap();
    l.require_intact().unwrap();
    assert_eq!(l.scan.torn, 1);
    let k = l.key;
    let ra = l.resume(&a).unwrap();
    assert_eq!(ra.runs, 1);
    assert_eq!(state(&ra, &k, "x"), KeyState::Done);
    assert_eq!(state(&ra, &k, "y"), KeyState::FailedPermanent);
    assert_eq!(
        state(&ra, &k, "u"),
        KeyState::Unknown,
        "an unknown outcome is neither done nor resent by default"
    );
    assert_eq!(
        state(&ra, &k, "z"),
        KeyState::Send {
            maybe_delivered: false
        }
    );
    assert_eq!(
        state(&ra, &k, "m"),
        KeyState::Send {
            maybe_delivered: true
        },
        "a sent intent without a result may have been delivered"
    );
    assert_eq!(
        state(&ra, &k, "w"),
        KeyState::Send {
            maybe_delivered: false
        },
        "another destination's success does not count here"
    );
    let rb = l.resume(&b).unwrap();
    assert_eq!(state(&rb, &k, "w"), KeyState::Done);
    assert_eq!(
        state(&rb, &k, "x"),
        KeyState::Send {
            maybe_delivered: false
        }
    );
    // The next record starts on a fresh line and chains to the last good one.
    l.handle().write(header("r3", &a)).await.unwrap();
    l.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let r = crate::audit::verify::chain(std::io::Cursor::new(text)).unwrap();
    assert!(r.intact(), "{:?}", r.broken);
    assert_eq!(r.torn_inside.len(), 1);
}

#[tokio::test]
async fn a_forged_line_stops_resume_with_its_line_number() {
    use ItemStatus::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.jsonl");
    let a = dest("spa_a");
    {
        let l = Ledger::open(&path).unwrap();
        let k = l.key;
        let w = l.handle();
        w.write(header("r1", &a)).await.unwrap();
        w.write(outcome(&k, "r1", h(1), &[("x", Acknowledged)]))
            .await
            .unwrap();
        w.write(outcome(&k, "r1", h(2), &[("y", Acknowledged)]))
            .await
            .unwrap();
        l.close().unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let forged = text.replacen("acknowledged", "not_found", 1);
    std::fs::write(&path, forged).unwrap();
    let l = Ledger::open(&path).unwrap();
    let err = l.require_intact().unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("line 3"), "{msg}");
    assert!(
        UserError::find(&err)
            .and_then(|u| u.hint.as_deref())
            .unwrap()
            .contains("--ledger NEW")
    );
}

#[test]
fn a_used_ledger_without_its_key_is_refused_and_an_empty_key_is_absent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.jsonl");
    // Empty ledger, empty key (a full disk under an older version): a new key is made.
    std::fs::write(&path, "").unwrap();
    std::fs::write(key_path(&path), "").unwrap();
    let l = Ledger::open(&path).unwrap();
    let k = l.key;
    l.close().unwrap();
    assert_eq!(read_key(&key_path(&path)).unwrap(), Some(k));
    // A ledger with records whose key is gone or empty is refused, naming the key file.
    std::fs::write(&path, "{\"v\":2,\"type\":\"end\",\"prev\":null}\n").unwrap();
    for key_bytes in [None, Some("")] {
        match key_bytes {
            None => std::fs::remove_file(key_path(&path)).unwrap(),
            Some(b) => std::fs::write(key_path(&path), b).unwrap(),
        }
        let err = Ledger::open(&path).err().expect("refused");
        assert!(err.to_string().contains("l.jsonl.key"), "{err}");
        assert!(
            !key_path(&path).exists() || key_bytes.is_some(),
            "no new key"
        );
    }
}

#[test]
fn a_locked_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.jsonl");
    let first = Ledger::open(&path).unwrap();
    let err = Ledger::open(&path).err().expect("second open must fail");
    let u = UserError::find(&err).expect("classified");
    let (class, hint) = (u.class, u.hint.clone());
    assert_eq!(class, Class::Usage);
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
    let d = dest("spa_a");
    let slug = d.slug();
    assert_eq!(
        default_path(Path::new("dir/ids.csv"), &d),
        PathBuf::from(format!("dir/ids.csv.ledger.{slug}.jsonl"))
    );
    assert_eq!(
        default_path(Path::new("-"), &d),
        PathBuf::from(format!("cdp-purge-stdin.ledger.{slug}.jsonl"))
    );
    assert_ne!(
        default_path(Path::new("ids.csv"), &d),
        default_path(Path::new("ids.csv"), &dest("spa_b"))
    );
    assert_eq!(key_path(Path::new("x.jsonl")), PathBuf::from("x.jsonl.key"));
}

#[test]
fn a_device_is_refused_instead_of_read_forever() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("full.ledger.jsonl");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let err = Ledger::open(&link).err().expect("a device is not a ledger");
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn table_hex_matches_the_formatter() {
    for k in [
        0u128,
        1,
        0xdead_beef,
        u128::MAX,
        0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
    ] {
        assert_eq!(key_hex(k), format!("{k:032x}"));
        assert_eq!(parse_key_hex(&key_hex(k)), Some(k));
    }
    let b: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
    assert_eq!(super::hex32(&b), hex::encode(b));
}

/// A result and its outcome appended in one write are the same bytes, chained the same way,
/// as the two appended one after the other; after a torn line both start on a fresh line.
#[tokio::test]
async fn a_result_and_its_outcome_in_one_write_are_the_two_lines_chained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dest("spa_a");
    let mut texts = Vec::new();
    let first = dir.path().join("lfalse.jsonl");
    let key = create_key(&key_path(&first)).unwrap();
    for together in [false, true] {
        let path = dir.path().join(format!("l{together}.jsonl"));
        std::fs::write(&path, b"").unwrap();
        if path != first {
            std::fs::copy(key_path(&first), key_path(&path)).unwrap();
        }
        let Record::Attempt(mut result) = sent(&key, "r1", h(1), &[]) else {
            unreachable!()
        };
        result.phase = Phase::Result;
        result.status = Some(200);
        result.decision = Some("done".into());
        let draft = OutcomeDraft {
            run_id: "r1",
            batch: h(1),
            parent: None,
            seq: 0,
            items: 1,
            attempts: 1,
            bisected: false,
            results: vec![DraftItem {
                file: 0,
                row: 2,
                id_hmac: [7; 32],
                key: 42,
                status: ItemStatus::Acknowledged,
                vendor_id: None,
                message: Some("a \"quoted\" note".into()),
                value: None,
                lookup_hmac: None,
            }],
        };
        {
            let l = Ledger::open(&path).unwrap();
            let w = l.handle();
            w.write(header("r1", &d)).await.unwrap();
            w.write(sent(&key, "r1", h(1), &["x", "y"])).await.unwrap();
            if together {
                w.write_result_and_outcome(&result, &draft).await.unwrap();
            } else {
                w.write(Record::Attempt(result.clone())).await.unwrap();
                w.write(Record::Outcome(draft.to_record())).await.unwrap();
            }
            l.close().unwrap();
        }
        // A torn line, then a new run's header and the pair: a fresh line, the same chain.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"v":2,"type":"outc"#).unwrap();
        drop(f);
        {
            let l = Ledger::open(&path).unwrap();
            let w = l.handle();
            w.write(header("r2", &d)).await.unwrap();
            if together {
                w.write_result_and_outcome(&result, &draft).await.unwrap();
            } else {
                w.write(Record::Attempt(result.clone())).await.unwrap();
                w.write(Record::Outcome(draft.to_record())).await.unwrap();
            }
            l.close().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let r = crate::audit::verify::chain(std::io::Cursor::new(text.clone())).unwrap();
        assert!(r.intact(), "{:?}", r.broken);
        assert_eq!(text.lines().count(), 8, "{text}");
        texts.push(text);
    }
    assert_eq!(texts[0], texts[1]);
}

#[test]
fn item_key_is_the_hmac_of_its_length_prefixed_fields() {
    // Resume keys of earlier ledgers: the message written out byte by byte, for values
    // that fit the one-update path and one that does not.
    use hmac::{Hmac, Mac};
    let key = [9u8; 32];
    let long = "x".repeat(300);
    // Messages from one block to past two with the padding (52 bytes of tag, kind and
    // lengths before a customerid's value).
    let around: Vec<String> = (0..90).map(|n| "v".repeat(n)).collect();
    let mut cases = vec![
        ("email", None, "a@x.io"),
        ("user_id", Some("u-1"), "é"),
        ("customerid", None, long.as_str()),
        ("", None, ""),
    ];
    cases.extend(around.iter().map(|v| ("customerid", None, v.as_str())));
    let (mut items, mut wants) = (Vec::new(), Vec::new());
    for (kind, lookup, value) in cases {
        let it = Item {
            file: 0,
            row: 2,
            value: value.into(),
            kind: kind.into(),
            lookup: lookup.map(Into::into),
        };
        let mut msg = b"cdp-purge/item/v1\0".to_vec();
        for f in [kind, lookup.unwrap_or(""), value] {
            msg.extend_from_slice(&(f.len() as u64).to_le_bytes());
            msg.extend_from_slice(f.as_bytes());
        }
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("any key");
        m.update(&msg);
        let mac = m.finalize().into_bytes();
        let want = u128::from_be_bytes(mac[..16].try_into().expect("16 bytes"));
        assert_eq!(
            item_key(&key, &it),
            want,
            "{kind} {lookup:?} {}",
            value.len()
        );
        items.push(it);
        wants.push(want);
    }
    // A batch's keys at once (sixteen at a time where the CPU can, the rest one by one)
    // are the same keys, for every group size, and so are its id_hmacs.
    let h = Hasher::new(&key);
    for n in [0, 1, 5, 8, 16, 17, 40, items.len()] {
        assert_eq!(h.item_keys(&items[..n]), wants[..n], "{n} items");
        let hmacs = h.id_hmacs(items[..n].iter().map(|it| it.value.as_str()));
        let one_by_one: Vec<[u8; 32]> = items[..n]
            .iter()
            .map(|it| h.id_hmac_bytes(&it.value))
            .collect();
        assert_eq!(hmacs, one_by_one, "{n} values");
    }
}
