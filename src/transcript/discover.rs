//! Finding transcripts: the files of one session, and every session under the config dirs.
//!
//! Layout (Claude Code 2.0–2.1): `<config>/projects/<slug>/<session>.jsonl`, subagents in
//! `<slug>/<session>/subagents/agent-<id>.jsonl` (2.1.x) or flat `<slug>/agent-<id>.jsonl`
//! carrying the parent's `sessionId` (2.0.x).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::line;
use super::tally::FileRole;

/// The files that make up one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFiles {
    pub session_id: String,
    /// `<session>.jsonl`; absent when only subagent files were found.
    pub main: Option<PathBuf>,
    /// Subagent transcripts, sorted.
    pub subagents: Vec<PathBuf>,
}

impl SessionFiles {
    /// Every file with its role, main transcript first.
    pub fn files(&self) -> Vec<(PathBuf, FileRole)> {
        let main = self.main.iter().map(|p| (p.clone(), FileRole::Main));
        main.chain(self.subagents.iter().map(|p| (p.clone(), FileRole::Subagent))).collect()
    }

    /// Total size in bytes of the files that exist.
    pub fn size(&self) -> u64 {
        self.files().iter().filter_map(|(p, _)| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
    }
}

/// The files of the session whose main transcript is `main` (a hook's `transcript_path`).
/// The session id is the file stem. `main` need not exist yet.
pub fn session_files(main: &Path) -> SessionFiles {
    let session_id = main.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut subagents = Vec::new();
    if let Some(dir) = main.parent() {
        subagents.extend(jsonl_in(&dir.join(&session_id).join("subagents")));
        for path in jsonl_in(dir) {
            if is_agent_file(&path) && peek_session_id(&path).as_deref() == Some(session_id.as_str()) {
                subagents.push(path);
            }
        }
    }
    subagents.sort();
    SessionFiles { session_id, main: Some(main.to_path_buf()), subagents }
}

/// Claude's config dirs that exist: each of `CLAUDE_CONFIG_DIR` (comma-separated list allowed),
/// then `~/.claude` and `~/.config/claude`, without duplicates.
pub fn config_dirs(claude_config_dir: Option<&str>, home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(list) = claude_config_dir {
        dirs.extend(list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    if let Some(home) = home {
        dirs.push(home.join(".claude"));
        dirs.push(home.join(".config").join("claude"));
    }
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let key = d.canonicalize().unwrap_or_else(|_| d.clone());
        let keep = d.is_dir() && !seen.contains(&key);
        seen.push(key);
        keep
    });
    dirs
}

/// Every session under `roots`, grouped by session id. A root may be a config dir, a
/// `projects/` dir, a project dir, or a single transcript file. Sorted by session id.
pub fn discover_sessions(roots: &[PathBuf]) -> Vec<SessionFiles> {
    let mut files = Vec::new();
    for root in roots {
        if root.is_file() {
            files.push(root.clone());
        } else {
            walk(root, &mut files, 0);
        }
    }
    files.sort();
    files.dedup();
    let mut sessions: BTreeMap<String, SessionFiles> = BTreeMap::new();
    for path in files {
        let Some((session_id, role)) = classify(&path) else { continue };
        let entry =
            sessions.entry(session_id.clone()).or_insert_with(|| SessionFiles { session_id, ..Default::default() });
        match role {
            FileRole::Main if entry.main.is_none() => entry.main = Some(path),
            // The same session in a second config dir: its lines dedupe on message ids.
            FileRole::Main | FileRole::Subagent => entry.subagents.push(path),
        }
    }
    sessions.into_values().collect()
}

/// Session id and role of a transcript file, from its place in the layout.
fn classify(path: &Path) -> Option<(String, FileRole)> {
    let parent = path.parent()?;
    if parent.file_name().is_some_and(|n| n == "subagents") {
        let session = parent.parent()?.file_name()?.to_string_lossy().into_owned();
        return Some((session, FileRole::Subagent));
    }
    if is_agent_file(path) {
        return peek_session_id(path).map(|id| (id, FileRole::Subagent));
    }
    Some((path.file_stem()?.to_string_lossy().into_owned(), FileRole::Main))
}

fn is_agent_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("agent-"))
}

/// The `sessionId` of the first lines that carry one (bounded read).
fn peek_session_id(path: &Path) -> Option<String> {
    let file = File::open(path).ok()?;
    let reader = BufReader::new(file.take(256 << 10));
    for bytes in reader.split(b'\n').take(50) {
        let bytes = bytes.ok()?;
        if let Some(id) = line::parse(&bytes).and_then(|l| l.session_id.as_str().map(str::to_owned)) {
            return Some(id);
        }
    }
    None
}

fn jsonl_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect()
}

/// Collects `*.jsonl` below `dir`, not following symlinked directories.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out, depth + 1);
        } else if (kind.is_file() || kind.is_symlink()) && path.extension().is_some_and(|x| x == "jsonl") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn groups_main_nested_and_flat_subagent_files() {
        let root = tempfile::tempdir().unwrap();
        let proj = root.path().join("projects").join("-home-dev-app");
        write(&proj.join("s1.jsonl"), "{\"sessionId\":\"s1\"}\n");
        write(&proj.join("s1").join("subagents").join("agent-a.jsonl"), "{\"sessionId\":\"s1\"}\n");
        write(&proj.join("s1").join("subagents").join("agent-a.meta.json"), "{}");
        write(&proj.join("agent-b.jsonl"), "not json\n{\"type\":\"user\",\"sessionId\":\"s1\"}\n");
        write(&proj.join("s2.jsonl"), "{\"sessionId\":\"s2\"}\n");
        write(&proj.join("agent-c.jsonl"), "{\"sessionId\":\"s2\"}\n");

        let sessions = discover_sessions(&[root.path().to_path_buf()]);
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].session_id, "s1");
        assert_eq!(sessions[0].main.as_deref(), Some(proj.join("s1.jsonl").as_path()));
        assert_eq!(sessions[0].subagents, vec![proj.join("agent-b.jsonl"), proj.join("s1/subagents/agent-a.jsonl")]);
        assert_eq!(sessions[1].subagents, vec![proj.join("agent-c.jsonl")]);

        let one = session_files(&proj.join("s1.jsonl"));
        assert_eq!(one.subagents, vec![proj.join("agent-b.jsonl"), proj.join("s1/subagents/agent-a.jsonl")]);
    }

    #[test]
    fn config_dirs_keep_existing_ones_once_in_order() {
        let home = tempfile::tempdir().unwrap();
        let custom = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".claude")).unwrap();
        let list = format!("{}, {}", custom.path().display(), home.path().join(".claude").display());
        let dirs = config_dirs(Some(&list), Some(home.path()));
        assert_eq!(dirs, vec![custom.path().to_path_buf(), home.path().join(".claude")]);
    }
}
