#!/usr/bin/env bash
# Install the pinned Claude Code CLI used by the end-to-end tests, once, into a cache dir.
#
# Usage: tests/e2e/install-claude-code.sh
#   CCS_CLAUDE_CACHE   install prefix (default: <repo>/.cache/claude-code)
#   CCS_CLAUDE_VERSION override the pinned version (default: the pin below)
#
# Prints exactly one line on stdout: the absolute path of the native binary.
# Everything else goes to stderr. Exits non-zero, saying why, when the install fails.
# Idempotent: when the binary of the pinned version is already there, npm is not called.
set -euo pipefail

PINNED_VERSION="2.1.331"
version="${CCS_CLAUDE_VERSION:-$PINNED_VERSION}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prefix="${CCS_CLAUDE_CACHE:-$repo_root/.cache/claude-code}"
# npm needs an absolute prefix; make it so without requiring it to exist yet.
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac

# The wrapper package only selects a platform package; the native binary lives there.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64)  platform_pkg="claude-code-linux-x64" ;;
  Linux-aarch64) platform_pkg="claude-code-linux-arm64" ;;
  Darwin-arm64)  platform_pkg="claude-code-darwin-arm64" ;;
  Darwin-x86_64) platform_pkg="claude-code-darwin-x64" ;;
  *) echo "install-claude-code: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
bin="$prefix/node_modules/@anthropic-ai/$platform_pkg/claude"

fail() { echo "install-claude-code: $*" >&2; exit 1; }

installed_version() {
  # `claude --version` prints e.g. "2.1.331 (Claude Code)". Run it with a throwaway HOME so
  # probing never writes into the caller's home.
  local home
  home="$(mktemp -d)"
  HOME="$home" DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    "$bin" --version 2>/dev/null | awk '{print $1}' || true
  rm -rf "$home"
}

if [[ -x "$bin" && "$(installed_version)" == "$version" ]]; then
  echo "$bin"
  exit 0
fi

command -v npm >/dev/null || fail "npm not found on PATH (needs Node.js and npm)"
mkdir -p "$prefix" || fail "cannot create $prefix"
# A package.json of its own keeps npm from walking up into the repository's files.
[[ -f "$prefix/package.json" ]] || echo '{"name":"ccs-e2e-claude-code","private":true}' > "$prefix/package.json"

echo "install-claude-code: installing @anthropic-ai/claude-code@$version into $prefix (~400 MB, once)" >&2
# --ignore-scripts: the wrapper's postinstall only links the platform binary, which we call
# directly; skipping it avoids npm's "scripts not allowed" failures and any network fetch.
npm install --prefix "$prefix" --no-audit --no-fund --ignore-scripts --include=optional --loglevel=error \
  --save-exact "@anthropic-ai/claude-code@$version" >&2 \
  || fail "npm install @anthropic-ai/claude-code@$version failed"

[[ -f "$bin" ]] || fail "npm finished but $bin is missing (did npm skip the optional platform package $platform_pkg?)"
chmod +x "$bin" 2>/dev/null || true
got="$(installed_version)"
[[ "$got" == "$version" ]] || fail "$bin reports version '$got', expected $version"

echo "$bin"
