//! The layout rules of docs/architecture.md, checked on the source: the hook path imports
//! nothing of the network layer, and transports never open the store.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The file of the longest prefix of `segments` that is a module (`a/b.rs` or `a/b/mod.rs`).
fn module_file(segments: &[&str]) -> Option<PathBuf> {
    (1..=segments.len()).rev().find_map(|n| {
        let dir = segments[..n].iter().fold(src(), |p, s| p.join(s));
        [dir.with_extension("rs"), dir.join("mod.rs")].into_iter().find(|f| f.is_file())
    })
}

/// The module path of a source file, as segments (`src/delivery/launch.rs` -> delivery, launch).
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut segments: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// Every path a file names through `crate::`, `super::` or `mod x;`, as absolute module paths.
/// Grouped imports (`use crate::a::{b, c::d}`) are expanded one level, which is how this crate
/// writes them.
fn references(file: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap();
    let own = module_of(file);
    let parent: Vec<String> = own[..own.len().saturating_sub(1)].to_vec();
    let segments = |path: &str| -> Vec<String> {
        let path = path.split(" as ").next().unwrap_or(path);
        path.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "self").map(str::to_string).collect()
    };
    let mut found = Vec::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent)] {
        for (at, _) in text.match_indices(prefix) {
            let rest = &text[at + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            let mut path = base.clone();
            path.extend(segments(&rest[..end]));
            match rest[end..].strip_prefix('{') {
                Some(group) => {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    for item in group.split(',') {
                        found.push(path.iter().cloned().chain(segments(item)).collect());
                    }
                }
                None => found.push(path),
            }
        }
    }
    for line in text.lines() {
        let line = line.trim();
        let decl = line.strip_prefix("pub ").or_else(|| line.strip_prefix("pub(crate) ")).unwrap_or(line);
        if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            found.push(own.iter().cloned().chain([name.to_string()]).collect());
        }
    }
    found
}

/// The source files reachable from `start` through the modules each one names.
fn reachable(start: &Path) -> BTreeSet<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([start.to_path_buf()]);
    while let Some(file) = queue.pop_front() {
        if !seen.insert(file.clone()) {
            continue;
        }
        for path in references(&file) {
            let segments: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(next) = module_file(&segments) {
                queue.push_back(next);
            }
        }
    }
    seen
}

fn relative(files: &BTreeSet<PathBuf>) -> Vec<String> {
    files.iter().map(|f| f.strip_prefix(src()).unwrap().display().to_string()).collect()
}

#[test]
fn the_hook_path_imports_nothing_of_the_network_layer() {
    let files = reachable(&src().join("hook/mod.rs"));
    let names = relative(&files);
    // The walk must see the hook's real dependencies, or an empty result would prove nothing.
    for module in ["store", "redact", "delivery/launch", "ingest"] {
        let found = names.iter().any(|n| *n == format!("{module}.rs") || *n == format!("{module}/mod.rs"));
        assert!(found, "{module} not found from the hook: {names:?}");
    }
    let network: Vec<&String> =
        names.iter().filter(|n| n.starts_with("transport/") || n.as_str() == "delivery/drain.rs").collect();
    assert!(network.is_empty(), "the hook path reaches the network layer through {network:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.contains("reqwest"), "{} (on the hook path) uses reqwest", file.display());
    }
}

#[test]
fn transports_never_open_the_store() {
    let mut files = vec![];
    let mut dirs = vec![src().join("transport")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 4, "transport sources not found: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let store = references(&file).into_iter().find(|p| p.len() == 2 && p[0] == "store" && p[1] == "Store");
        assert!(store.is_none(), "{} imports the store: a transport gets what it sends", file.display());
        for opener in ["Store::open", "rusqlite"] {
            assert!(!text.contains(opener), "{} names `{opener}`: a transport gets what it sends", file.display());
        }
    }
}
