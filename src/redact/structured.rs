//! Matchers for secrets defined by document structure rather than by their own shape.

use std::sync::LazyLock;

use regex::bytes::{Regex, RegexBuilder};

fn re(p: &str) -> Regex {
    RegexBuilder::new(p).unicode(false).build().expect("built-in pattern compiles")
}

static YAML_KIND: LazyLock<Regex> = LazyLock::new(|| re(r#"(?m)^[ \t]*kind:[ \t]*["']?Secret["']?[ \t]*\r?$"#));
static JSON_KIND: LazyLock<Regex> = LazyLock::new(|| re(r#""kind"[ \t]*:[ \t]*"Secret""#));
static JSON_DATA: LazyLock<Regex> = LazyLock::new(|| re(r#""(?:data|stringData)"\s*:\s*\{(?P<body>[^{}]*)\}"#));
static JSON_VALUE: LazyLock<Regex> = LazyLock::new(|| re(r#""[^"\r\n]*"\s*:\s*"(?P<v>[^"\r\n]*)""#));

/// The values under `data:` / `stringData:` of a Kubernetes Secret, in YAML (`kubectl get secret
/// -o yaml`, manifests) or JSON (`-o json`). Keys stay, so the dashboard still shows which keys
/// the secret holds.
pub(super) fn kubernetes_secret(hay: &[u8], _starts: Option<&[usize]>, out: &mut Vec<(usize, usize)>) {
    if JSON_KIND.is_match(hay) {
        for c in JSON_DATA.captures_iter(hay) {
            let body = c.name("body").expect("group exists");
            for v in JSON_VALUE.captures_iter(body.as_bytes()) {
                let m = v.name("v").expect("group exists");
                if !m.is_empty() {
                    out.push((body.start() + m.start(), body.start() + m.end()));
                }
            }
        }
    }
    if YAML_KIND.is_match(hay) {
        yaml_data_values(hay, out);
    }
}

/// Where `key: value` (or a bare `key:`) has its colon.
fn value_colon(body: &[u8]) -> Option<usize> {
    body.windows(2).position(|w| w == b": ").or_else(|| body.ends_with(b":").then(|| body.len() - 1))
}

fn indent(line: &[u8]) -> usize {
    line.iter().take_while(|c| **c == b' ' || **c == b'\t').count()
}

/// Walks lines: after a `data:` or `stringData:` line, every more-indented `key: value` line has
/// its value redacted (block scalars `key: |` take their continuation lines with them).
fn yaml_data_values(hay: &[u8], out: &mut Vec<(usize, usize)>) {
    let mut section: Option<usize> = None; // indent of the data: line
    let mut block: Option<usize> = None; // indent of a `key: |` line whose lines are secret
    let mut start = 0;
    while start < hay.len() {
        let end = hay[start..].iter().position(|c| *c == b'\n').map_or(hay.len(), |p| start + p);
        let line = &hay[start..end];
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        let ind = indent(content);
        let body = &content[ind..];
        let blank = body.is_empty() || body.starts_with(b"#");
        if let Some(b) = block {
            if blank || ind > b {
                if !blank {
                    out.push((start + ind, start + content.len()));
                }
                start = end + 1;
                continue;
            }
            block = None;
        }
        if let Some(sec) = section {
            if !blank && ind <= sec {
                section = None;
            } else if let Some(colon) = (!blank).then(|| value_colon(body)).flatten() {
                let vstart = colon + 1 + body[colon + 1..].iter().take_while(|c| **c == b' ').count();
                let mut v = (start + ind + vstart, start + content.len());
                let val = &body[vstart..];
                if val == b"|" || val == b">" || val.starts_with(b"|-") || val.starts_with(b">-") {
                    block = Some(ind);
                } else if !val.is_empty() {
                    if val.len() >= 2 && (val[0] == b'"' || val[0] == b'\'') && val[val.len() - 1] == val[0] {
                        v = (v.0 + 1, v.1 - 1);
                    }
                    if v.1 > v.0 {
                        out.push(v);
                    }
                }
            }
        }
        if section.is_none() && (body == b"data:" || body == b"stringData:") {
            section = Some(ind);
        }
        start = end + 1;
    }
}

/// Base64 runs long enough to hold a key, starting like base64 of `-----BEGIN` or of a JSON
/// object (`{"`, `{\n`).
static B64_BLOB: LazyLock<Regex> = LazyLock::new(|| re(r"(?:LS0tLS1CRUdJTi|eyJ|ewo|ew0K)[A-Za-z0-9+/_\-]{60,}={0,2}"));

/// Key material that was base64-encoded whole: a PEM private key (`LS0tLS1CRUdJTi…`, what
/// `base64 < id_rsa` prints) or a Google service-account JSON (`GOOGLE_CREDENTIALS=ewog…`). The
/// blob is decoded and kept only if it holds a private key, so other base64 (JWTs, data URIs,
/// public keys) stays.
pub(super) fn encoded_private_key(hay: &[u8], _starts: Option<&[usize]>, out: &mut Vec<(usize, usize)>) {
    for m in B64_BLOB.find_iter(hay) {
        let blob = m.as_bytes();
        // Inside a longer word it is not a blob of its own.
        if m.start() > 0 && hay[m.start() - 1].is_ascii_alphanumeric() {
            continue;
        }
        let Some(text) = base64_decode(blob) else { continue };
        let holds_key = memchr::memmem::find(&text, b"PRIVATE KEY").is_some()
            || memchr::memmem::find(&text, b"\"private_key\"").is_some()
            || memchr::memmem::find(&text, b"\"service_account\"").is_some();
        if holds_key {
            out.push((m.start(), m.end()));
        }
    }
}

/// Standard or URL-safe base64, padding optional; `None` if not base64.
pub(super) fn base64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<&str> {
        let mut v = Vec::new();
        kubernetes_secret(text.as_bytes(), None, &mut v);
        v.iter().map(|&(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn yaml_secret_data_values_are_found() {
        let y = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  username: YWRtaW4=\n  password: \"czNjcjN0\"\nstringData:\n  cert: |\n    line1\n    line2\ntype: Opaque\n";
        assert_eq!(values(y), vec!["YWRtaW4=", "czNjcjN0", "line1", "line2"]);
    }

    #[test]
    fn configmap_is_left_alone() {
        assert!(values("kind: ConfigMap\ndata:\n  level: debug\n").is_empty());
    }

    #[test]
    fn json_secret_data_values_are_found() {
        let j = r#"{"apiVersion": "v1", "data": {"password": "czNjcjN0", "user": "YWRtaW4="}, "kind": "Secret"}"#;
        assert_eq!(values(j), vec!["czNjcjN0", "YWRtaW4="]);
    }
}
