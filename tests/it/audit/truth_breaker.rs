//! The systemic-failure breaker, vendor by vendor, and the error envelopes it reads.

use cdp_purge_sandbox::{MparticleErrors, Sandbox, SandboxConfig, SegmentWrongSpace};

use super::*;

fn lytics_delete(sb: &Sandbox, input: &Path) -> Command {
    let mut c = support::lytics_delete_to(&sb.base_url(), input);
    c.args(["--concurrency", "1"]);
    c
}

#[test]
fn a_lytics_batch_where_every_value_lacks_permission_stops_with_exit_3_within_the_first_batch() {
    // Lytics does not publish the per-value wording: each plausible one must stop the run.
    for message in [
        "permission denied: token lacks the Entity: Delete permission",
        "Not authorized to delete entities",
        "forbidden",
    ] {
        let sb = Sandbox::start_blocking(SandboxConfig {
            lytics_read_only_tokens: vec!["ro-token".into()],
            lytics_permission_message: message.into(),
            ..SandboxConfig::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let input = write_csv(dir.path(), "users.csv", "email", &emails(300));
        let (code, out, err) = run(lytics_delete(&sb, &input).env("LYTICS_API_TOKEN", "ro-token"));
        assert_eq!(code, Some(3), "{message}: {out}\n{err}");
        assert!(err.contains(message), "the vendor's reason: {err}");
        assert!(
            err.contains("LYTICS_API_TOKEN") && err.contains("Entity: Delete"),
            "the hint: {err}"
        );
        assert!(
            !err.contains("@example.com"),
            "no identifier printed: {err}"
        );
        assert_eq!(deletions(&sb.log()), 1, "stopped within the first batch");
        // Recorded as retryable, so the same command resends them once the token is fixed.
        let ledger = ledger_of(&input);
        let rs = results(&ledger);
        assert_eq!(rs.len(), 100);
        assert!(rs.iter().all(|(s, _)| s == "failed_retryable"), "{rs:?}");
        let (code, out, err) = run(&mut lytics_delete(&sb, &input));
        assert_eq!(code, Some(0), "{out}\n{err}");
        let acked = results(&ledger)
            .iter()
            .filter(|(s, _)| s == "acknowledged")
            .count();
        assert_eq!(acked, 300, "the rerun sent the stopped batch again");
    }
}

#[test]
fn a_misspelt_lytics_field_stops_with_exit_2_and_points_at_the_field() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write_csv(dir.path(), "users.csv", "email", &emails(150));
    let mut c = bin();
    c.args([
        "delete",
        "--vendor",
        "lytics",
        "--id-type",
        "emial",
        "--column",
        "email",
    ])
    .args(["--yes", "--no-validate", "--concurrency", "1"])
    .args(["--base-url", &sb.base_url(), "-i"])
    .arg(&input);
    let (code, _, err) = run(&mut c);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("emial") && err.contains("--id-type"), "{err}");
    assert_eq!(deletions(&sb.log()), 1);
}

#[test]
fn an_errors_array_400_stops_with_its_message_instead_of_bisecting() {
    // The documented errors[] envelope of mParticle's s2s APIs, and a bare message.
    for shape in [MparticleErrors::ErrorsArray, MparticleErrors::Message] {
        let sb = Sandbox::start_blocking(SandboxConfig {
            mparticle_errors: shape,
            ..SandboxConfig::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<String> = (0..60).map(|i| format!("C-{i}")).collect();
        let input = write_csv(dir.path(), "ids.csv", "id", &ids);
        // Not configured as unique in the sandbox's workspace (customerid is).
        let (code, out, err) =
            run(
                mparticle_delete_by(&sb.base_url(), &input, "customer_id", "id")
                    .args(["--concurrency", "1"]),
            );
        assert_eq!(code, Some(2), "{shape:?}: {out}\n{err}");
        assert!(err.contains("must be unique"), "{shape:?}: {err}");
        assert!(err.contains("customer_id"), "{err}");
        assert_eq!(
            deletions(&sb.log()),
            1,
            "{shape:?}: one request, no bisection"
        );
    }
}

fn segment_rows(n: usize, user: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("{user}-{i},user{i}@example.com"))
        .collect()
}

fn segment_delete(sb: &Sandbox, input: &Path, space: &str) -> Command {
    let mut c = bin();
    c.args(["delete", "--vendor", "segment", "--space", space])
        .args(["--id-type", "email", "--column", "email"])
        .args(["--user-id-column", "user_id", "--yes", "--concurrency", "1"])
        .args(["--base-url", &sb.base_url(), "-i"])
        .arg(input);
    c
}

#[test]
fn segment_with_every_row_not_found_stops_after_n_and_no_breaker_goes_on() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The sandbox answers 404 not_found for lookup user_ids containing "unknown".
    let input = write_csv(
        dir.path(),
        "rows.csv",
        "user_id,email",
        &segment_rows(60, "unknown"),
    );
    let (code, _, err) = run(&mut segment_delete(&sb, &input, "spa_1"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no profile with that user_id"), "{err}");
    assert!(
        err.contains("--space") && err.contains("--no-breaker"),
        "{err}"
    );
    assert_eq!(deletions(&sb.log()), 20);

    sb.clear_log();
    let (code, _, err) = run(segment_delete(&sb, &input, "spa_1")
        .arg("--breaker-after")
        .arg("5"));
    assert_eq!(code, Some(2), "{err}");
    // The first 20 are retryable from the last run and are sent again first.
    assert_eq!(deletions(&sb.log()), 5);

    sb.clear_log();
    let (code, out, err) = run(segment_delete(&sb, &input, "spa_1").arg("--no-breaker"));
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert_eq!(deletions(&sb.log()), 60);
}

#[test]
fn a_wrong_segment_space_is_stopped_whatever_segment_answers() {
    let cases = [
        (SegmentWrongSpace::ResourceNotFound, 20),
        (SegmentWrongSpace::ProfileNotFound, 20),
        (SegmentWrongSpace::SpaceNotFound, 1),
        (SegmentWrongSpace::Forbidden, 1),
    ];
    for (answer, requests) in cases {
        let sb = Sandbox::start_blocking(SandboxConfig {
            segment_spaces: Some(vec!["spa_right".into()]),
            segment_wrong_space: answer,
            ..SandboxConfig::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let input = write_csv(
            dir.path(),
            "rows.csv",
            "user_id,email",
            &segment_rows(50, "u"),
        );
        let (code, _, err) = run(&mut segment_delete(&sb, &input, "spa_wrong"));
        assert_eq!(code, Some(2), "{answer:?}: {err}");
        assert!(err.contains("--space"), "{answer:?}: {err}");
        assert_eq!(deletions(&sb.log()), requests, "{answer:?}");
        // The right space deletes them all.
        let (code, _, err) = run(&mut segment_delete(&sb, &input, "spa_right"));
        assert_eq!(code, Some(0), "{answer:?}: {err}");
    }
}

#[test]
fn hints_name_the_variable_a_config_target_reads() {
    let sb = Sandbox::start_blocking(SandboxConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cdp-purge.toml");
    std::fs::write(
        &config,
        format!(
            "[targets.sbx]\nvendor = \"lytics\"\nfield = \"email\"\nbase_url = \"{}\"\ncredentials = {{ token = \"SBX_LYTICS_TOKEN\" }}\n",
            sb.base_url()
        ),
    )
    .unwrap();
    let input = write_csv(dir.path(), "users.csv", "email", &emails(5));
    let (code, _, err) = run(bin()
        .env_remove("LYTICS_API_TOKEN")
        .env("SBX_LYTICS_TOKEN", "wrong")
        .arg("--config")
        .arg(&config)
        .args([
            "delete", "--target", "sbx", "--column", "email", "--yes", "-i",
        ])
        .arg(&input));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("check SBX_LYTICS_TOKEN"), "{err}");
    assert!(!err.contains("LYTICS_API_TOKEN"), "{err}");

    let (code, out, _) = run(bin()
        .env_remove("LYTICS_API_TOKEN")
        .env("SBX_LYTICS_TOKEN", "wrong")
        .arg("--config")
        .arg(&config)
        .args(["check", "--target", "sbx"]));
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("SBX_LYTICS_TOKEN") && !out.contains("LYTICS_API_TOKEN"),
        "{out}"
    );
}
