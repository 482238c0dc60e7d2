//! What the store records about delivery, in its meta table: whether delivery is stopped until
//! something changes, how long to hold off after passing failures, and the last success and
//! error (`status` shows them). Shared by the hook's launch decision and the drain loop.

use anyhow::Result;

use crate::config::Config;
use crate::store::Store;
use crate::time;

const META_FINGERPRINT: &str = "delivery_fingerprint";
pub(super) const META_HOLD_UNTIL: &str = "hold_until";
pub(super) const META_BLOCKED: &str = "blocked";
pub const META_LAST_SUCCESS: &str = "last_success_at";
pub const META_LAST_ERROR: &str = "last_error";
pub const META_LAST_ERROR_AT: &str = "last_error_at";

/// When the URL or key changed since the last delivery attempt, rejected events get another
/// chance: the change may be the fix.
pub fn refresh_on_config_change(store: &mut Store, config: &Config) -> Result<()> {
    let fingerprint = config.delivery_fingerprint();
    if store.meta_get(META_FINGERPRINT)?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    retry_rejected(store, None)?;
    store.meta_set(META_FINGERPRINT, &fingerprint)
}

/// Puts parked events back in the queue and lifts every hold (`sync-now`, `login`, a config
/// change): the fix may have been made on either side.
pub fn retry_rejected(store: &mut Store, session: Option<&str>) -> Result<usize> {
    store.meta_delete(META_BLOCKED)?;
    store.meta_delete(META_HOLD_UNTIL)?;
    store.unpark(session)
}

/// Why delivery is stopped until something changes, if it is.
pub fn blocked_reason(store: &Store) -> Result<Option<String>> {
    store.meta_get(META_BLOCKED)
}

/// Whether delivery waits out a hold left by an uploader that gave up on passing failures.
pub(super) fn on_hold(store: &Store) -> Result<bool> {
    let hold_until: i64 = store.meta_get(META_HOLD_UNTIL)?.and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(time::now_ms() < hold_until)
}

pub(super) fn note_error(store: &Store, message: &str) -> Result<()> {
    store.meta_set(META_LAST_ERROR, message)?;
    store.meta_set(META_LAST_ERROR_AT, &time::now_ms().to_string())
}
