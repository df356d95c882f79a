//! Properties of intake + batcher over generated files (CSV, NDJSON, JSON arrays), checked
//! against a simple model of the cleaning rules.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use cdp_purge::batch::{Batch, Batcher, Item};
use cdp_purge::cli::Format;
use cdp_purge::input::{self, ColumnSel, IntakeSpec, IntakeStats, KindSource, Reject};
use proptest::prelude::*;

/// Values that must be rejected (null tokens, blanks, bad emails).
const JUNK: &[&str] = &[
    "",
    "   ",
    "null",
    "NULL",
    "NaN",
    "0",
    "N/A",
    "#N/A",
    "undefined",
    "not-an-email",
    "a@b",
    "x@@y.com",
    "@x.com",
    "a@.com",
    "a b@c.com",
];
/// Whitespace around a valid value that trimming must remove.
const PADS: &[&str] = &["", " ", "  ", "\t", "\u{a0}"];
const KINDS: &[&str] = &["email", "work_email"];

#[derive(Debug, Clone)]
enum Cell {
    Valid { email: usize, pad: usize },
    Junk(usize),
}

#[derive(Debug, Clone)]
struct Row {
    cell: Cell,
    kind: usize,
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    Csv,
    Ndjson,
    JsonArray,
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    let cell = prop_oneof![
        3 => (0..12usize, 0..PADS.len()).prop_map(|(email, pad)| Cell::Valid { email, pad }),
        1 => (0..JUNK.len()).prop_map(Cell::Junk),
    ];
    prop::collection::vec(
        (cell, 0..KINDS.len()).prop_map(|(cell, kind)| Row { cell, kind }),
        0..120,
    )
}

fn email(i: usize) -> String {
    format!("user{i}@example{}.com", i % 3)
}

fn text(c: &Cell) -> String {
    match c {
        Cell::Valid { email: e, pad } => format!("{p}{}{p}", email(*e), p = PADS[*pad]),
        Cell::Junk(j) => JUNK[*j].to_owned(),
    }
}

/// Write the rows; returns the path and each row's number as intake reports it.
fn write(dir: &Path, shape: Shape, rows: &[Row], per_row_kind: bool) -> (PathBuf, Vec<u64>) {
    match shape {
        Shape::Csv => {
            let p = dir.join("in.csv");
            let mut w = csv::Writer::from_path(&p).unwrap();
            w.write_record(["type", "email"]).unwrap();
            for r in rows {
                w.write_record([KINDS[r.kind], &text(&r.cell)]).unwrap();
            }
            w.flush().unwrap();
            (p, (0..rows.len() as u64).map(|i| i + 2).collect())
        }
        Shape::Ndjson => {
            let p = dir.join("in.ndjson");
            let mut s = String::new();
            for (i, r) in rows.iter().enumerate() {
                let v = text(&r.cell);
                // Plain strings are only possible without a per-row kind.
                if !per_row_kind && i % 2 == 1 {
                    s.push_str(&serde_json::to_string(&v).unwrap());
                } else {
                    s.push_str(&serde_json::json!({"type": KINDS[r.kind], "email": v}).to_string());
                }
                s.push('\n');
                if i % 5 == 0 {
                    s.push('\n'); // blank lines are skipped but still count as lines
                }
            }
            std::fs::write(&p, s).unwrap();
            let mut line = 0;
            let nums = (0..rows.len())
                .map(|i| {
                    line += 1;
                    let n = line;
                    if i % 5 == 0 {
                        line += 1;
                    }
                    n
                })
                .collect();
            (p, nums)
        }
        Shape::JsonArray => {
            let p = dir.join("in.json");
            let arr: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| serde_json::json!({"type": KINDS[r.kind], "nested": {"email": text(&r.cell)}}))
                .collect();
            std::fs::write(&p, serde_json::to_string_pretty(&arr).unwrap()).unwrap();
            (p, (1..=rows.len() as u64).collect())
        }
    }
}

fn spec(path: PathBuf, shape: Shape, per_row_kind: bool) -> IntakeSpec {
    let column = match shape {
        Shape::JsonArray => "nested.email",
        _ => "email",
    };
    let kind = if per_row_kind {
        KindSource::Column(ColumnSel::Name("type".into()))
    } else {
        KindSource::Fixed("email".into())
    };
    IntakeSpec::with_defaults(vec![path], ColumnSel::Name(column.into()), kind)
}

fn run(spec: &IntakeSpec, cap: usize) -> (IntakeStats, Vec<Item>, Vec<Reject>, Vec<Batch>) {
    let mut items = Vec::new();
    let mut rejects = Vec::new();
    let mut batches = Vec::new();
    let mut batcher = Batcher::new("lytics", cap, true);
    let stats = input::run(
        spec,
        &mut |item| {
            items.push(item.clone());
            batches.extend(batcher.push(item));
            Ok(())
        },
        &mut |r| {
            rejects.push(r.clone());
            Ok(())
        },
    )
    .expect("intake succeeds");
    batches.extend(batcher.finish());
    (stats, items, rejects, batches)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn intake_and_batching_match_the_model(
        rows in rows(),
        shape in prop_oneof![Just(Shape::Csv), Just(Shape::Ndjson), Just(Shape::JsonArray)],
        per_row_kind in any::<bool>(),
        cap in 1usize..7,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, row_numbers) = write(dir.path(), shape, &rows, per_row_kind);
        let (stats, items, rejects, batches) = run(&spec(path, shape, per_row_kind), cap);

        // The model: junk is rejected, valid values are trimmed and kept once per
        // (kind, value), in first-seen order.
        let mut seen = HashSet::new();
        let mut want_kept = Vec::new();
        let mut want_rejected_rows = Vec::new();
        let mut dups = 0u64;
        for (r, &n) in rows.iter().zip(&row_numbers) {
            let kind = if per_row_kind { KINDS[r.kind] } else { "email" };
            match r.cell {
                Cell::Junk(_) => want_rejected_rows.push(n),
                Cell::Valid { email: e, .. } => {
                    if seen.insert((kind, e)) {
                        want_kept.push((n, kind.to_owned(), email(e)));
                    } else {
                        dups += 1;
                    }
                }
            }
        }
        let got_kept: Vec<_> = items.iter().map(|i| (i.row, i.kind.clone(), i.value.clone())).collect();
        prop_assert_eq!(&got_kept, &want_kept);
        let got_rejected: Vec<u64> = rejects.iter().map(|r| r.row).collect();
        prop_assert_eq!(&got_rejected, &want_rejected_rows);
        for r in &rejects {
            prop_assert!(!r.reason.code().is_empty());
            prop_assert_eq!(r.file, 0);
        }

        prop_assert_eq!(stats.rows_read, rows.len() as u64);
        prop_assert_eq!(stats.kept, want_kept.len() as u64);
        prop_assert_eq!(stats.duplicates, dups);
        prop_assert_eq!(stats.rejected_total(), want_rejected_rows.len() as u64);
        prop_assert_eq!(stats.rows_read, stats.kept + stats.rejected_total() + stats.duplicates);
        prop_assert_eq!(stats.files[0].rows, rows.len() as u64);

        // Batches: within the cap, one kind each, and together every kept item exactly once,
        // each kind's items in first-seen order.
        let mut in_batches = Vec::new();
        for b in &batches {
            prop_assert!(!b.is_empty() && b.len() <= cap, "batch of {}", b.len());
            for it in &b.items {
                prop_assert_eq!(Some(&it.kind), b.kind.as_ref());
            }
            in_batches.extend(b.items.iter().map(|i| (i.row, i.kind.clone(), i.value.clone())));
        }
        for kind in KINDS {
            let per_kind = |v: &[(u64, String, String)]| -> Vec<(u64, String, String)> {
                v.iter().filter(|x| x.1 == *kind).cloned().collect()
            };
            prop_assert_eq!(per_kind(&in_batches), per_kind(&want_kept));
        }
        prop_assert_eq!(in_batches.len(), want_kept.len());
    }
}

#[test]
fn json_numbers_keep_their_exact_digits() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ids.json");
    std::fs::write(
        &p,
        "[9007199254740993, 12345678901234567891, {\"id\": -9223372036854775808}, 1.2E+18]",
    )
    .unwrap();
    let mut s = spec(p, Shape::JsonArray, false);
    s.column = ColumnSel::Name("id".into());
    s.kind = KindSource::Fixed("customerid".into());
    let (_, items, _, _) = run(&s, 100);
    let values: Vec<_> = items.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(
        values,
        [
            "9007199254740993",
            "12345678901234567891",
            "-9223372036854775808",
            "1.2E+18"
        ]
    );

    // As MPIDs, only the ones that fit in i64 (and are integers) survive, still exact.
    s.kind = KindSource::Fixed("mpid".into());
    let (stats, items, rejects, _) = run(&s, 100);
    let values: Vec<_> = items.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["9007199254740993", "-9223372036854775808"]);
    assert_eq!(stats.rejected.get("invalid"), Some(&2));
    assert!(
        rejects
            .iter()
            .all(|r| !r.reason.to_string().contains("1234"))
    );
}

#[test]
fn segment_lookup_and_kind_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("seg.csv");
    std::fs::write(
        &p,
        "user_id,type,value\nu1,email,a@x.io\n,email,b@x.io\nu3,email,u3\nu4,,c@x.io\nu5,anonymous_id,anon-1\nu1,email,a@x.io\nu6,email,a@x.io\n",
    )
    .unwrap();
    let mut s = spec(p, Shape::Csv, true);
    s.column = ColumnSel::Name("value".into());
    s.lookup = Some(ColumnSel::Name("user_id".into()));
    let (stats, items, rejects, _) = run(&s, 100);
    let got: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i.row,
                i.kind.as_str(),
                i.lookup.as_deref(),
                i.value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (2, "email", Some("u1"), "a@x.io"),
            (6, "anonymous_id", Some("u5"), "anon-1"),
            (8, "email", Some("u6"), "a@x.io"),
        ]
    );
    let why: Vec<_> = rejects
        .iter()
        .map(|r| (r.row, r.column.as_str(), r.reason.code()))
        .collect();
    assert_eq!(
        why,
        [
            (3, "user_id", "missing_lookup"),
            (4, "value", "same_as_lookup"),
            (5, "type", "missing_kind"),
        ]
    );
    assert_eq!(stats.duplicates, 1, "same (kind, lookup, value) as row 2");
}

#[test]
fn lowercase_merges_case_variants_before_dedupe() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.csv");
    std::fs::write(&p, "email\nA@X.io\na@x.io\nÄ@X.io\n").unwrap();
    let mut s = spec(p, Shape::Csv, false);
    s.lowercase = true;
    let (stats, items, _, _) = run(&s, 100);
    let values: Vec<_> = items.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["a@x.io", "ä@x.io"]);
    assert_eq!(stats.duplicates, 1);
}

#[test]
fn duplicates_across_many_chunks_are_found_in_input_order() {
    // Far more rows than one chunk between the intake threads (1,024 events), values drawn
    // from a pool so that repeats fall in other chunks than their first, and the de-dup set
    // grows several times: the three-thread pipeline must keep exactly the first of each
    // value, in input order, with every reject in its row.
    let mut rng = fastrand::Rng::with_seed(9);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.csv");
    let mut body = String::from("email\n");
    let (mut model, mut seen, mut dups, mut junk_rows) =
        (Vec::new(), HashSet::new(), 0, Vec::new());
    for row in 2..60_002u64 {
        if rng.u8(..20) == 0 {
            body.push_str("null\n");
            junk_rows.push(row);
            continue;
        }
        let v = format!("u{}@x.io", rng.usize(..25_000));
        if seen.insert(v.clone()) {
            model.push((row, v.clone()));
        } else {
            dups += 1;
        }
        body.push_str(&v);
        body.push('\n');
    }
    std::fs::write(&p, body).unwrap();
    let (stats, items, rejects, _) = run(&spec(p, Shape::Csv, false), 100);
    let got: Vec<(u64, String)> = items.into_iter().map(|i| (i.row, i.value)).collect();
    assert_eq!(got, model);
    assert_eq!(stats.duplicates, dups);
    assert_eq!(stats.kept, model.len() as u64);
    let rows: Vec<u64> = rejects.iter().map(|r| r.row).collect();
    assert_eq!(rows, junk_rows);
    assert_eq!(stats.rows_read, 60_000);
}

#[test]
fn a_failing_callback_stops_intake_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.csv");
    let body: String = std::iter::once("email\n".to_owned())
        .chain((0..50_000).map(|i| format!("u{i}@x.io\n")))
        .collect();
    std::fs::write(&p, body).unwrap();
    let s = spec(p, Shape::Csv, false);
    let mut n = 0;
    let err = input::run(
        &s,
        &mut |_| {
            n += 1;
            if n == 10 {
                anyhow::bail!("downstream full")
            } else {
                Ok(())
            }
        },
        &mut |_| Ok(()),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "downstream full");
    assert_eq!(n, 10);
}

#[test]
fn format_flag_overrides_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("list.txt");
    std::fs::write(&p, "\"a@x.io\"\n\"b@x.io\"\n").unwrap();
    let mut s = spec(p, Shape::Ndjson, false);
    s.format = Some(Format::Ndjson);
    let (stats, _, _, _) = run(&s, 100);
    assert_eq!(stats.kept, 2);
}
