//! `report --proof` (issue 17): one person's deletion across two destinations' ledgers, with
//! the requests that carried it, the vendor's IDs, later checks, and chain heads that match
//! the ledger lines they name.

use sha2::{Digest, Sha256};
use support::TestContext;

use super::*;

/// The same list deleted from Lytics and CleverTap: two destinations, two ledgers.
fn two_destinations(cx: &TestContext) -> (PathBuf, PathBuf, Vec<String>) {
    let ids = emails(12);
    let input = write_csv(cx.dir(), "people.csv", "email", &ids);
    let (code, _, err) = run(&mut cx.lytics_delete(&input));
    assert_eq!(code, Some(0), "{err}");
    let lytics = ledger_of(&input);
    let mut ct = cx.cmd_with_credentials();
    ct.args(["delete", "--vendor", "clevertap", "--id-type", "identity"])
        .args([
            "--column",
            "email",
            "--yes",
            "--base-url",
            &cx.fake().base_url(),
        ])
        .arg("-i")
        .arg(&input);
    let (code, _, err) = run(&mut ct);
    assert_eq!(code, Some(0), "{err}");
    let ledgers: Vec<PathBuf> = std::fs::read_dir(cx.dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("people.csv.ledger.clevertap-") && n.ends_with(".jsonl")
        })
        .collect();
    assert_eq!(ledgers.len(), 1, "{ledgers:?}");
    (lytics, ledgers[0].clone(), ids)
}

fn proof(ledgers: &[&Path], extra: &[&str]) -> (Option<i32>, String, String) {
    let mut c = bin();
    c.arg("report").arg("--proof").args(extra);
    for l in ledgers {
        c.arg("--ledger").arg(l);
    }
    run(&mut c)
}

/// The SHA-256 of line `n` (1-based) of `path`.
fn line_hash(path: &Path, n: u64) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text.lines().nth(n as usize - 1).unwrap();
    hex::encode(Sha256::digest(line.as_bytes()))
}

#[test]
fn proof_of_one_row_across_two_destinations() {
    let cx = TestContext::with_fake(cdp_purge_sandbox::SandboxConfig {
        lytics_state_step: std::time::Duration::ZERO,
        ..Default::default()
    });
    let (lytics, clevertap, ids) = two_destinations(&cx);
    // A later check, so the Lytics side has one.
    let (code, _, err) = run(bin()
        .args(["status", "--max-rps", "200", "--ledger"])
        .arg(&lytics));
    assert_eq!(code, Some(0), "{err}");

    // Row 4 of the input is its third data row (the header is row 1).
    let (code, out, err) = proof(&[&lytics, &clevertap], &["4", "--json"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    for id in &ids {
        assert!(!out.contains(id.as_str()), "no raw identifier: {out}");
    }
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let dests = v["proofs"][0]["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 2, "{out}");
    let vendors: Vec<&str> = dests
        .iter()
        .map(|d| d["vendor"].as_str().unwrap())
        .collect();
    assert_eq!(vendors, ["lytics", "clevertap"]);
    for d in dests {
        let ledger = PathBuf::from(d["ledger"].as_str().unwrap());
        assert_eq!(d["row"], 4);
        assert_eq!(d["outcome"], "acknowledged");
        assert_eq!(d["id_hmac"].as_str().unwrap().len(), 64);
        let sent = d["sent"].as_array().unwrap();
        assert!(sent.iter().any(|a| a["phase"] == "sent"), "{d}");
        assert!(
            sent.iter().any(|a| a["phase"] == "result"
                && a["http_status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))),
            "{d}"
        );
        // Every chain head is the hash of the line it names.
        let at = &d["outcome_at"];
        assert_eq!(
            at["chain_head"].as_str().unwrap(),
            line_hash(&ledger, at["line"].as_u64().unwrap())
        );
        for a in sent {
            assert_eq!(
                a["at"]["chain_head"].as_str().unwrap(),
                line_hash(&ledger, a["at"]["line"].as_u64().unwrap())
            );
        }
        // And the ledger's head is what `report --verify` vouches for.
        let (_, vout, _) = run(bin().args(["report", "--verify", "--ledger"]).arg(&ledger));
        let head = d["ledger_chain_head"].as_str().unwrap();
        assert!(vout.contains(&format!("head sha256 {head}")), "{vout}");
    }
    let lyt = &dests[0];
    assert!(
        lyt["vendor_id"].as_str().is_some_and(|s| !s.is_empty()),
        "Lytics' request id"
    );
    let checks = lyt["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{lyt}");
    assert_eq!(checks[0]["state"], "done");
    assert!(dests[1]["checks"].as_array().unwrap().is_empty());

    // Text, and by the person's value: the same two destinations; the value shows only
    // because it was given.
    let (code, out, _) = proof(&[&lytics, &clevertap], &["--lookup", &ids[2]]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("proof for lookup 1 (user2@example.com, as given): 2 destination(s)"),
        "{out}"
    );
    assert!(out.contains("destination lytics-"), "{out}");
    assert!(out.contains("destination clevertap-"), "{out}");
    assert!(out.contains("checked     "), "{out}");
    for id in ids.iter().filter(|i| *i != &ids[2]) {
        assert!(!out.contains(id.as_str()), "{out}");
    }

    // A row no ledger has: exit 1 and said so.
    let (code, out, _) = proof(&[&lytics, &clevertap], &["99"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no row in the ledger(s) given"), "{out}");

    // Several ledgers only with --proof.
    let (code, _, err) = run(bin()
        .args(["report", "--ledger"])
        .arg(&lytics)
        .arg("--ledger")
        .arg(&clevertap));
    assert_eq!(code, Some(2), "{err}");
}
