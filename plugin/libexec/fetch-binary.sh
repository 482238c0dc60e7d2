#!/bin/sh
# The launcher's slow path: the binary for this plugin's version is not in place yet.
#
# Called by bin/claude-code-sync with CCS_PLUGIN_ROOT and CCS_VERSION set and the command's own
# arguments. In order, it uses:
#   - $CLAUDE_SYNC_BIN, or a debug build in the checkout (contributors);
#   - a `claude-code-sync` on PATH that reports this very version (linked in, nothing fetched);
#   - the release asset for this platform, fetched from $CLAUDE_SYNC_DOWNLOAD_URL, the config
#     file's "download_url", or the GitHub release of this version, and checked against the
#     release's SHA256SUMS before it is ever executed.
#
# A hook must never wait, print or fail: its stdin is kept in the spool (the product's data
# folder, spool/), the fetch runs detached, and the binary records the spooled events in order,
# with the time they happened, once it is in place. Other commands (status, sync-now, ...) fetch
# in the foreground and say what happened on stderr.
#
# The binary lands atomically in $CLAUDE_PLUGIN_DATA/bin/<version>/ (which survives plugin
# updates); older versions are removed, and bin/current points at the newest for terminal use.
# One fetch at a time, whatever the number of sessions starting together (a lock directory).

set -u
version=${CCS_VERSION:?}
root=${CCS_PLUGIN_ROOT:?}
repo_url=https://github.com/claude-code-sync/claude-code-sync

hooks=" session-start prompt-submit post-tool-use post-tool-use-failure stop subagent-stop pre-compact session-end "
case "$hooks" in *" ${1:-} "*) is_hook=1 ;; *) is_hook= ;; esac

# --- where things live -------------------------------------------------------------------------

# The product's data folder, as the binary computes it (src/paths.rs).
if [ -n "${CLAUDE_SYNC_DATA_DIR:-}" ]; then
  data=$CLAUDE_SYNC_DATA_DIR
elif [ "$(uname -s 2>/dev/null)" = Darwin ]; then
  data="$HOME/Library/Application Support/claude-code-sync"
else
  case "${XDG_DATA_HOME:-}" in
    /*) data="$XDG_DATA_HOME/claude-code-sync" ;;
    *) data="$HOME/.local/share/claude-code-sync" ;;
  esac
fi
log_file="$data/claude-code-sync.log"
state_file="$data/binary-install.state"

# The plugin's data folder: given to hooks; derived from the install path for slash commands.
pdata=${CLAUDE_PLUGIN_DATA:-}
if [ -z "$pdata" ]; then
  case "$root" in
    */plugins/cache/*/*/*)
      rest=${root%/*}; plugin=${rest##*/}; rest=${rest%/*}; market=${rest##*/}
      pdata="${rest%/cache/*}/data/$plugin-$market" ;;
    *) pdata="$data/plugin-data" ;;
  esac
fi
bin_dir="$pdata/bin"
target_bin="$bin_dir/$version/claude-code-sync"

umask 077
private_dir() { mkdir -p "$1" 2>/dev/null && chmod 700 "$1" 2>/dev/null; }

log() {
  private_dir "$data" || return 0
  printf '%s %s [%s] fetch-binary: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$$" "$2" >> "$log_file" 2>/dev/null
}

# One line for `status`: what the last attempt did, and when.
set_state() {
  private_dir "$data" || return 0
  printf 'state=%s\nversion=%s\nat=%s\nbinary=%s\ndetail=%s\n' "$1" "$version" "$(date +%s)" "$target_bin" "$2" \
    > "$state_file.tmp.$$" 2>/dev/null && mv -f "$state_file.tmp.$$" "$state_file" 2>/dev/null
}

# The slash commands' `!` lines show stdout and abort on a non-zero exit: status and sync-now
# report there and exit 0, like the binary does; other commands report on stderr and fail.
case "${1:-}" in status|sync-now) report_out=1 ;; *) report_out= ;; esac
say() {
  [ -z "$is_hook" ] || return 0
  if [ -n "$report_out" ]; then printf 'claude-code-sync: %s\n' "$*"; else printf 'claude-code-sync: %s\n' "$*" >&2; fi
}
give_up() { if [ -n "$report_out" ]; then exit 0; else exit 1; fi; }

# --- binaries that are already here ------------------------------------------------------------

run_existing() {
  for candidate in "${CLAUDE_SYNC_BIN:-}" "$target_bin" "$root/../target/debug/claude-code-sync"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ ! -d "$candidate" ]; then
      exec "$candidate" "$@"
    fi
  done
}

# A `claude-code-sync` on PATH of this very version is linked in, so the launcher's fast path
# finds it from now on.
link_from_path() {
  own=$(cd "$root/bin" 2>/dev/null && pwd -P)
  old_ifs=$IFS; IFS=:
  for dir in $PATH; do
    IFS=$old_ifs
    [ -n "$dir" ] || continue
    [ "$(cd "$dir" 2>/dev/null && pwd -P)" = "$own" ] && continue
    found="$dir/claude-code-sync"
    [ -x "$found" ] && [ ! -d "$found" ] || continue
    # A launcher like this one elsewhere on PATH would come back here: real binaries only.
    head -c 2 "$found" 2>/dev/null | grep -q '^#!' && continue
    if [ "$("$found" --version 2>/dev/null)" = "claude-code-sync $version" ]; then
      private_dir "$bin_dir/$version" && ln -sf "$found" "$target_bin.tmp.$$" && mv -f "$target_bin.tmp.$$" "$target_bin" \
        && { log INFO "using $found (version $version) from PATH"; set_state installed "linked from PATH: $found"; return 0; }
    fi
  done
  IFS=$old_ifs
  return 1
}

# --- the release asset -------------------------------------------------------------------------

asset_name() {
  os=$(uname -s 2>/dev/null); arch=$(uname -m 2>/dev/null)
  case "$arch" in
    x86_64|amd64) arch=x86_64 ;;
    aarch64|arm64) arch=aarch64 ;;
    *) return 1 ;;
  esac
  case "$os" in
    Linux) echo "claude-code-sync-$arch-unknown-linux-gnu" ;;
    Darwin) echo "claude-code-sync-$arch-apple-darwin" ;;
    MINGW*|MSYS*|CYGWIN*) [ "$arch" = x86_64 ] && echo "claude-code-sync-x86_64-pc-windows-msvc.exe" ;;
    *) return 1 ;;
  esac
}

config_download_url() {
  file=${CLAUDE_SYNC_CONFIG:-$HOME/.claude-code-sync.json}
  [ -f "$file" ] || return 0
  # The one string setting this script needs; the binary validates the whole file.
  sed -n 's/.*"download_url"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$file" 2>/dev/null | head -n 1
}

base_url() {
  url=${CLAUDE_SYNC_DOWNLOAD_URL:-}
  [ -n "$url" ] || url=$(config_download_url)
  [ -n "$url" ] || url="$repo_url/releases/download/v$version"
  echo "${url%/}"
}

# https anywhere; plain http only to this machine.
url_allowed() {
  case "$1" in
    https://*) return 0 ;;
    http://127.*|http://localhost:*|http://localhost/*|http://localhost|http://\[::1\]*) return 0 ;;
    *) return 1 ;;
  esac
}

fetch() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --connect-timeout 10 --speed-limit 1024 --speed-time 30 --retry 2 -o "$2" "$1" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 30 -t 2 -O "$2" "$1" 2>/dev/null
  else
    return 127
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else return 127
  fi
}

# Fetches, verifies and installs the asset. Returns 0 when the binary is in place.
download() {
  asset=$(asset_name) || {
    log ERROR "no release asset for $(uname -s)-$(uname -m); build from source (cargo build --release) or put claude-code-sync $version on PATH"
    set_state unsupported "no release asset for $(uname -s)-$(uname -m)"
    return 1
  }
  base=$(base_url)
  url_allowed "$base" || {
    log ERROR "download URL refused (https only, plain http only to loopback): $base"
    set_state error "download URL refused: $base"
    return 1
  }
  private_dir "$bin_dir" || { log ERROR "cannot create $bin_dir"; set_state error "cannot create $bin_dir"; return 1; }
  work="$bin_dir/.partial.$$"
  rm -rf "$work"; private_dir "$work" || return 1
  if ! fetch "$base/SHA256SUMS" "$work/SHA256SUMS" || ! fetch "$base/$asset" "$work/$asset"; then
    rm -rf "$work"
    log WARN "could not download $base/$asset (offline, or the host is down); events are kept and the download is retried"
    set_state offline "could not download $base/$asset"
    return 1
  fi
  expected=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1; exit }' "$work/SHA256SUMS")
  actual=$(sha256_of "$work/$asset") || {
    rm -rf "$work"; log ERROR "no sha256sum, shasum or openssl to verify the download"
    set_state error "no SHA-256 tool to verify the download"; return 1
  }
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    rm -rf "$work"
    log ERROR "checksum mismatch for $base/$asset (SHA256SUMS says '${expected:-nothing}', the file is $actual): not executed, deleted"
    set_state mismatch "checksum mismatch for $base/$asset"
    return 1
  fi
  chmod 755 "$work/$asset" && private_dir "$bin_dir/$version" && mv -f "$work/$asset" "$target_bin" || {
    rm -rf "$work"; log ERROR "cannot install $target_bin"; set_state error "cannot install $target_bin"; return 1
  }
  rm -rf "$work"
  log INFO "installed claude-code-sync $version from $base/$asset (sha256 $actual)"
  set_state installed "downloaded from $base/$asset, sha256 $actual"
  return 0
}

# After an install: bin/current names this version (for a terminal user's PATH); other
# versions go.
tidy() {
  rm -f "$bin_dir/current" && ln -s "$version" "$bin_dir/current" 2>/dev/null
  for old in "$bin_dir"/*; do
    name=${old##*/}
    [ -d "$old" ] && [ ! -L "$old" ] || continue
    [ "$name" = "$version" ] || rm -rf "$old"
  done
}

# One fetch at a time: a lock directory holding the owner's pid; a dead owner's lock is taken over.
lock() {
  lockd="$bin_dir/.fetch.lock"
  private_dir "$bin_dir" || return 1
  if mkdir "$lockd" 2>/dev/null; then echo $$ > "$lockd/pid"; return 0; fi
  owner=$(cat "$lockd/pid" 2>/dev/null)
  if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then return 1; fi
  # A lock without a pid may be one being taken this instant: leave it unless it is old.
  if [ -z "$owner" ] && [ -z "$(find "$lockd" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then return 1; fi
  rm -rf "$lockd"
  mkdir "$lockd" 2>/dev/null && echo $$ > "$lockd/pid"
}
unlock() { rm -rf "$bin_dir/.fetch.lock"; }

# The whole job: link or fetch, tidy, then record what was spooled. Returns 0 once the binary
# is in place, 1 when it could not be installed, 2 when another fetch holds the lock.
install_and_replay() {
  lock || return 2
  trap unlock EXIT
  [ -x "$target_bin" ] || link_from_path || download || return 1
  tidy
  unlock; trap - EXIT
  "$target_bin" replay-spool >/dev/null 2>&1 || log WARN "replaying the spooled events failed; the next hook retries"
  return 0
}

# A failed attempt is retried by a later hook: after a minute when the host could not be
# reached, after an hour when retrying cannot help soon (a checksum mismatch, no asset for this
# platform), so a bad mirror leaves one log line an hour, not one per hook.
# CLAUDE_SYNC_DOWNLOAD_RETRY_SECS sets both.
retry_due() {
  [ -f "$state_file" ] || return 0
  at=$(sed -n 's/^at=//p' "$state_file" 2>/dev/null)
  st=$(sed -n 's/^state=//p' "$state_file" 2>/dev/null)
  case "$st" in
    installed) return 0 ;;
    offline) wait=${CLAUDE_SYNC_DOWNLOAD_RETRY_SECS:-60} ;;
    *) wait=${CLAUDE_SYNC_DOWNLOAD_RETRY_SECS:-3600} ;;
  esac
  now=$(date +%s)
  [ -n "$at" ] && [ $((now - at)) -lt "$wait" ] && return 1
  return 0
}

# --- the hook: keep the event, fetch in the background, return at once ------------------------

spool_event() {
  spool="$data/spool"
  private_dir "$data" && private_dir "$spool" || { cat > /dev/null; log ERROR "cannot create $spool: $1 event lost"; return 0; }
  now=$(date +%s%N 2>/dev/null)
  case "$now" in ''|*N*) now="$(date +%s)000000000" ;; esac
  name="$now-$$.$1.json"
  # Hook payloads are small; a runaway stdin is cut one byte past the binary's own cap (so it
  # still sees it as oversized), then drained.
  # The binary removes the spool folder once it has emptied it: re-create it and write again
  # if it went away in between (a failed redirection reads nothing from stdin).
  { head -c 16777217 > "$spool/.$name.tmp"; } 2>/dev/null \
    || { private_dir "$spool"; head -c 16777217 > "$spool/.$name.tmp"; } 2>/dev/null
  cat > /dev/null
  mv -f "$spool/.$name.tmp" "$spool/$name" 2>/dev/null || log ERROR "cannot write $spool/$name"
}

if [ "${1:-}" = __fetch-detached ]; then
  shift
  install_and_replay
  exit 0
fi

# A binary already here (CLAUDE_SYNC_BIN, the download, a debug build) runs the command itself.
run_existing "$@"

if [ -n "$is_hook" ]; then
  spool_event "$1"
  if retry_due; then
    if command -v setsid >/dev/null 2>&1; then
      (setsid /bin/sh "$0" __fetch-detached </dev/null >/dev/null 2>&1 &)
    else
      (/bin/sh "$0" __fetch-detached </dev/null >/dev/null 2>&1 &)
    fi
  fi
  exit 0
fi

# Any other command: the user is waiting and reading.
say "the binary for version $version is not installed yet; fetching it (see $log_file)"
install_and_replay
case $? in
  0) ;;
  2) say "another download is under way; try again in a moment"; give_up ;;
  *)
    say "could not install it: $(sed -n 's/^detail=//p' "$state_file" 2>/dev/null)"
    say "build from source with 'cargo build --release', or set CLAUDE_SYNC_DOWNLOAD_URL to a mirror"
    give_up ;;
esac
exec "$target_bin" "$@"
