//! The shape of the test tree itself: one binary, every module compiled, nothing that
//! changes the shared process.

use std::path::{Path, PathBuf};

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Cargo makes a test binary of every `tests/*.rs` and `tests/*/main.rs`; only `it` may
/// exist, or a one-line change relinks them all again.
#[test]
fn there_is_one_integration_test_binary() {
    let mut stray = Vec::new();
    for e in std::fs::read_dir(tests_dir()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_file() && name.ends_with(".rs") {
            stray.push(name);
        } else if p.is_dir() && name != "it" && p.join("main.rs").exists() {
            stray.push(format!("{name}/main.rs"));
        }
    }
    assert!(
        stray.is_empty(),
        "move {stray:?} into tests/it/ as modules (declared in tests/it/main.rs)"
    );
}

/// A file under tests/it/ that no `mod` names is never compiled: its tests silently vanish.
#[test]
fn every_file_under_it_is_a_declared_module() {
    let it = tests_dir().join("it");
    let mut files = Vec::new();
    rust_files(&it, &mut files);
    let mut missing = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&it).unwrap().to_path_buf();
        if rel == Path::new("main.rs") {
            continue;
        }
        // `a/mod.rs` and `a.rs` are declared in their parent as `mod a;`; `a/b.rs` in `a`.
        let (parent, name) = if rel.file_name().unwrap() == "mod.rs" {
            let dir = rel.parent().unwrap();
            (
                dir.parent().unwrap().to_path_buf(),
                dir.file_name().unwrap(),
            )
        } else {
            (
                rel.parent().unwrap().to_path_buf(),
                rel.file_stem().unwrap(),
            )
        };
        let parent_src = if parent.as_os_str().is_empty() {
            it.join("main.rs")
        } else if it.join(&parent).join("mod.rs").exists() {
            it.join(&parent).join("mod.rs")
        } else {
            it.join(parent.with_extension("rs"))
        };
        let decl = format!("mod {};", name.to_string_lossy());
        let src = std::fs::read_to_string(&parent_src).unwrap_or_default();
        if !src
            .lines()
            .any(|l| l.trim_start().trim_start_matches("pub ") == decl)
        {
            missing.push(rel.display().to_string());
        }
    }
    assert!(missing.is_empty(), "not declared as modules: {missing:?}");
}

/// The modules run as threads of one process: changing the process's environment, current
/// directory or global logger from one test changes it under every other. Such settings
/// belong on the child `Command` (`.env`, `.current_dir`, `pre_exec`). A raw pipe(2) is not
/// close-on-exec: a child another test spawns meanwhile inherits both ends
/// (`std::io::pipe` is).
#[test]
fn no_test_changes_the_shared_process() {
    let forbidden = [
        ["env::", "set_var("],
        ["env::", "remove_var("],
        ["env::", "set_current_dir("],
        ["set_global_", "default("],
        ["libc::", "umask("],
        ["libc::", "pipe("],
    ]
    .map(|p| p.concat());
    let mut files = Vec::new();
    rust_files(&tests_dir().join("it"), &mut files);
    let mut hits = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        for (i, line) in src.lines().enumerate() {
            for pat in &forbidden {
                if line.contains(pat.as_str()) {
                    hits.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "process-wide changes in tests:\n{}",
        hits.join("\n")
    );
}
