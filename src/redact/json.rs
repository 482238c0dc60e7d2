//! Walking a JSON document's strings without recursion: hook input may nest 100,000 levels deep
//! and a hook must not die of a stack overflow.

use serde_json::Value;

/// Calls `f` on every string value (not on object keys); a `Some` result replaces the string.
pub(super) fn redact_strings(root: &mut Value, f: impl Fn(&str) -> Option<String>) {
    let mut stack: Vec<&mut Value> = vec![root];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(new) = f(s) {
                    *s = new;
                }
            }
            Value::Array(a) => stack.extend(a.iter_mut()),
            Value::Object(m) => stack.extend(m.values_mut()),
            _ => {}
        }
    }
}
