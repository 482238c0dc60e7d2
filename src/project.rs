//! Project identity for a working directory: the project's name and the git branch, read from
//! the files under `.git` (no `git` subprocess: this runs in every hook).

use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectInfo {
    pub name: Option<String>,
    pub git_branch: Option<String>,
}

/// How far up from the working directory to look for a repository.
const MAX_ASCENT: usize = 32;

pub fn detect(cwd: &Path) -> ProjectInfo {
    match find_git_dir(cwd) {
        Some((top, git_dir)) => ProjectInfo { name: base_name(&top), git_branch: read_branch(&git_dir) },
        None => ProjectInfo { name: base_name(cwd), git_branch: None },
    }
}

fn base_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// The work tree's top and its git dir; `.git` may be a directory or, for worktrees and
/// submodules, a file saying `gitdir: <path>`.
fn find_git_dir(cwd: &Path) -> Option<(PathBuf, PathBuf)> {
    for dir in cwd.ancestors().take(MAX_ASCENT) {
        let dot_git = dir.join(".git");
        let Ok(meta) = fs::metadata(&dot_git) else { continue };
        if meta.is_dir() {
            return Some((dir.to_path_buf(), dot_git));
        }
        let text = fs::read_to_string(&dot_git).ok()?;
        let target = text.trim().strip_prefix("gitdir:")?.trim();
        return Some((dir.to_path_buf(), dir.join(target)));
    }
    None
}

/// `ref: refs/heads/main` gives `main`; a detached HEAD gives its short hash.
fn read_branch(git_dir: &Path) -> Option<String> {
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    if let Some(reference) = head.strip_prefix("ref:") {
        let reference = reference.trim();
        return Some(reference.strip_prefix("refs/heads/").unwrap_or(reference).to_string());
    }
    (head.len() >= 7 && head.bytes().all(|b| b.is_ascii_hexdigit())).then(|| head[..7].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_branch_and_top_level_name_from_subdirectories() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("my-app");
        fs::create_dir_all(repo.join(".git")).unwrap();
        fs::create_dir_all(repo.join("src/deep")).unwrap();
        fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feature/x\n").unwrap();
        let info = detect(&repo.join("src/deep"));
        assert_eq!(info.name.as_deref(), Some("my-app"));
        assert_eq!(info.git_branch.as_deref(), Some("feature/x"));

        fs::write(repo.join(".git/HEAD"), "0123456789abcdef0123456789abcdef01234567\n").unwrap();
        assert_eq!(detect(&repo).git_branch.as_deref(), Some("0123456"));
    }

    #[test]
    fn follows_worktree_gitdir_files_and_handles_no_repo() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real-gitdir");
        fs::create_dir_all(&real).unwrap();
        fs::write(real.join("HEAD"), "ref: refs/heads/wt\n").unwrap();
        let wt = tmp.path().join("wt");
        fs::create_dir_all(&wt).unwrap();
        fs::write(wt.join(".git"), format!("gitdir: {}\n", real.display())).unwrap();
        assert_eq!(detect(&wt), ProjectInfo { name: Some("wt".into()), git_branch: Some("wt".into()) });

        let plain = tmp.path().join("plain");
        fs::create_dir_all(&plain).unwrap();
        assert_eq!(detect(&plain), ProjectInfo { name: Some("plain".into()), git_branch: None });
    }
}
