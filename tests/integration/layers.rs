//! The layers' import rule, checked over the source: domain ← store ← core ← edges (ingest, web, api,
//! cli, worker) ← app, and no edge imports another. `notify` (outgoing messages) sits beside `store`:
//! core and the worker drive it, it imports neither.

use std::path::{Path, PathBuf};

const EDGES: [&str; 5] = ["ingest", "web", "api", "cli", "worker"];

/// What each module may not name, as `crate::<module>`.
fn forbidden(module: &str) -> Vec<&'static str> {
    let mut above: Vec<&'static str> = match module {
        "domain" => vec!["store", "core", "notify", "app", "config"],
        "store" => vec!["core", "notify", "app"],
        "notify" => vec!["core", "app"],
        "core" => vec!["app"],
        _ => vec!["app"],
    };
    above.extend(EDGES.iter().copied().filter(|edge| *edge != module));
    above
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn imports_point_down_and_no_edge_imports_another() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for module in [
        "domain", "store", "notify", "core", "ingest", "web", "api", "cli", "worker",
    ] {
        let mut files = Vec::new();
        rust_files(&src.join(module), &mut files);
        if let Some(file) = Some(src.join(format!("{module}.rs"))).filter(|f| f.exists()) {
            files.push(file);
        }
        assert!(!files.is_empty(), "no sources for {module}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in forbidden(module) {
                let needle = format!("crate::{name}::");
                let bare = format!("crate::{name};");
                if text.contains(&needle) || text.contains(&bare) {
                    violations.push(format!("{} names crate::{name}", file.display()));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers:\n{}",
        violations.join("\n")
    );
}
