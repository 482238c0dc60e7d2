//! Credentials written in sentences rather than assignments: "my password is Xk9-plover-Quartz77
//! if the console asks", "the pinecone api key is 8NcL…", "Passwort ist …", "密码是…".
//!
//! A regex cannot tell "the password is hunter2!x" from "the password is stored in the vault":
//! both are a noun, some words, and a token. So the scanner finds the noun, walks the few words
//! that follow it on the same line, skips plain words (any script) and connectors, and judges
//! the first token that is not a plain word: if it looks like a literal secret it is redacted,
//! otherwise the phrase is abandoned. Only the token goes; the sentence stays.

use super::checks::{entropy, is_placeholder};

/// Password nouns, in the languages users write prompts in; also the rule's keywords
/// (`rules::RULES`), so every noun starts at a keyword. `pw` only as `pw:` (an abbreviation
/// elsewhere, and a two-byte keyword would make the prefilter stop at every `pw`). Matched ASCII-case-insensitively,
/// the longest that fits first (`passwords` before `password`), without a regex: a hook process
/// would pay for compiling one.
pub(super) const PASSWORD_NOUNS: &[&str] = &[
    "passwords",
    "password",
    "passwort",
    "passwd",
    "passphrase",
    "passcode",
    "passord",
    "kennwort",
    "mot de passe",
    "mot-de-passe",
    "contraseña",
    "contrasena",
    "senha",
    "parola d'ordine",
    "wachtwoord",
    "hasło",
    "haslo",
    "lösenord",
    "losenord",
    "salasana",
    "adgangskode",
    "heslo",
    "jelszó",
    "jelszo",
    "şifre",
    "sifre",
    "parol",
    "пароль",
    "密码",
    "密碼",
    "口令",
    "パスワード",
    "비밀번호",
    "mật khẩu",
    "סיסמה",
    "كلمة المرور",
    "पासवर्ड",
    "pwd",
    "pw:",
];

/// Head nouns of keys, tokens and secrets. A `key` needs a qualifier before it (`api key`,
/// `apiKey`, `license key`: "the key is the user id" is no credential); the others announce a
/// value by themselves, which must then look generated.
pub(super) const CREDENTIAL_NOUNS: &[&str] = &[
    "keys",
    "key",
    "tokens",
    "token",
    "secrets",
    "secret",
    "credentials",
    "credential",
    "salt",
    "pepper",
    "clé",
    "schlüssel",
    "schlussel",
    "clave",
    "chave",
    "ключ",
    "токен",
    "密钥",
    "令牌",
    "秘钥",
    "キー",
    "トークン",
    "키",
    "토큰",
];

/// Words that make a `key` a credential when they come right before it.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "app",
    "application",
    "access",
    "secret",
    "private",
    "license",
    "licence",
    "deploy",
    "admin",
    "master",
    "signing",
    "service",
    "auth",
    "encryption",
    "client",
    "webhook",
    "integration",
    "account",
    "subscription",
    "storage",
    "server",
    "write",
    "publishable",
    "root",
    "ssh",
];

/// The longest noun of `nouns` at `at`, as its length.
fn noun_at(nouns: &[&str], hay: &[u8], at: usize) -> Option<usize> {
    let rest = &hay[at..];
    nouns
        .iter()
        .filter(|n| rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n.as_bytes()))
        .map(|n| n.len())
        .max()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Password,
    Credential,
}

/// Passwords announced in prose. `starts`: where the rule's keywords start, when known.
pub(super) fn passwords(hay: &[u8], starts: Option<&[usize]>, out: &mut Vec<(usize, usize)>) {
    scan(PASSWORD_NOUNS, Class::Password, hay, starts, out);
}

/// API keys, tokens and secrets announced in prose.
pub(super) fn credentials(hay: &[u8], starts: Option<&[usize]>, out: &mut Vec<(usize, usize)>) {
    scan(CREDENTIAL_NOUNS, Class::Credential, hay, starts, out);
}

/// Whether the `key` at `at` follows a qualifier: `api key`, `API_KEY` (read by the assignment
/// rules, but "the api-key is …" too), `apikey`, `license key`.
fn qualified_key(hay: &[u8], at: usize) -> bool {
    let mut end = at;
    if end > 0 && matches!(hay[end - 1], b' ' | b'_' | b'-') {
        end -= 1;
    }
    let start = hay[..end].iter().rposition(|c| !c.is_ascii_alphabetic()).map_or(0, |p| p + 1);
    let word = hay[start..end].to_ascii_lowercase();
    KEY_QUALIFIERS
        .iter()
        .any(|q| q.as_bytes() == word.as_slice() || (word.len() > q.len() && word.ends_with(q.as_bytes()) && end == at))
}

/// Words after the noun that say the phrase is about something other than the value:
/// "password hash is sha256", "token limit is 4096", "secret manager at …".
const OFF_TOPIC: &[&str] = &[
    "hash",
    "hashes",
    "hashed",
    "hashing",
    "digest",
    "salt",
    "policy",
    "policies",
    "length",
    "lengths",
    "limit",
    "limits",
    "count",
    "counts",
    "field",
    "fields",
    "reset",
    "resets",
    "manager",
    "managers",
    "prompt",
    "prompts",
    "hint",
    "hints",
    "strength",
    "rule",
    "rules",
    "requirement",
    "requirements",
    "expiry",
    "expires",
    "expired",
    "expiration",
    "rotation",
    "file",
    "files",
    "path",
    "store",
    "stored",
    "vault",
    "env",
    "variable",
    "variables",
    "var",
    "type",
    "types",
    "format",
    "formats",
    "id",
    "ids",
    "name",
    "names",
    "usage",
    "budget",
    "budgets",
    "window",
    "size",
    "sizes",
    "ttl",
    "scope",
    "scopes",
    "header",
    "headers",
    "endpoint",
    "url",
    "uri",
    "location",
    "flow",
    "input",
    "inputs",
    "output",
    "outputs",
    "cost",
    "costs",
    "price",
    "pricing",
    "used",
    "counter",
    "counting",
    "bucket",
    "arn",
    "version",
    "versions",
    "check",
    "validation",
    "generator",
    "length:",
    "helper",
    "class",
];

/// Plain words and connectors a value may follow: "is", "was", "to", "for the staging db", "ist".
fn is_filler(tok: &[u8]) -> bool {
    if tok.is_empty() {
        return true;
    }
    if tok.iter().all(|c| matches!(c, b':' | b'=' | b'-' | b'>' | b'(' | b')' | b',')) {
        return true;
    }
    let Ok(s) = std::str::from_utf8(tok) else { return false };
    let s = s.trim_end_matches([':', ',', '=', '：']);
    let chars = s.chars().count();
    if chars == 0 || chars > 16 {
        return chars == 0;
    }
    // Letters of any script, with an apostrophe or a hyphen inside ("can't", "e-mail").
    s.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '’')
        && !(s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && s.chars().skip(1).any(|c| c.is_ascii_uppercase())
            && s.len() >= 8)
        || matches!(s, "e-mail" | "sign-in" | "log-in" | "one-time" | "read-only" | "pre-prod")
}

fn scan(nouns: &[&str], class: Class, hay: &[u8], starts: Option<&[usize]>, out: &mut Vec<(usize, usize)>) {
    let found;
    let positions = match starts {
        Some(s) => s,
        None => {
            // Every position (the keyword starts are unknown only when the prefilter failed).
            found = (0..hay.len()).filter(|&i| noun_at(nouns, hay, i).is_some()).collect::<Vec<_>>();
            &found[..]
        }
    };
    for &a in positions {
        // Most keyword starts are inside identifiers (`input_tokens`, `cfg.token`): rejected
        // before the regex runs. A `key` may be glued to its qualifier (`apiKey`).
        if a > 0
            && hay[a].is_ascii()
            && !hay[a].eq_ignore_ascii_case(&b'k')
            && (hay[a - 1].is_ascii_alphanumeric() || matches!(hay[a - 1], b':' | b'/' | b'_' | b'.' | b'$'))
        {
            continue;
        }
        if hay[a].eq_ignore_ascii_case(&b'k') && !qualified_key(hay, a) {
            continue;
        }
        let Some(len) = noun_at(nouns, hay, a) else { continue };
        let b = a + len;
        let noun = &hay[a..b];
        let ascii = noun.is_ascii();
        // The noun is a word of its own: not inside `bypass`, `password_hash`, `tokens.length`,
        // nor a segment of an id or a path (`arn:…:secret:prod/db`, `/v1/token/…`), nor part of
        // an identifier (`DB_PASSWORD=…`, `cfg.password`: the assignment rules read those).
        let glued = a > 0 && hay[a - 1].is_ascii_alphanumeric();
        let is_key = class == Class::Credential
            && noun.len() <= 4
            && noun.get(..3).is_some_and(|k| k.eq_ignore_ascii_case(b"key"));
        if is_key {
            if !qualified_key(hay, a) {
                continue;
            }
        } else if ascii && (glued || a > 0 && matches!(hay[a - 1], b':' | b'/' | b'_' | b'.' | b'$')) {
            continue;
        }
        if ascii
            && (hay.get(b).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                || (hay.get(b).is_some_and(|c| matches!(c, b'.' | b'-'))
                    && hay.get(b + 1).is_some_and(|c| c.is_ascii_alphanumeric())))
        {
            continue;
        }
        let next = hay[b..].iter().find(|c| !matches!(c, b' ' | b'\t'));
        if next == Some(&b'=') {
            continue;
        }
        // `pw`, `pwd` are also commands and abbreviations: only with a colon right after them
        // ("pwd: x"), never as a prose noun.
        if class == Class::Password && noun.len() <= 3 && !noun.ends_with(b":") && next != Some(&b':') {
            continue;
        }
        if let Some(span) = value_after(hay, b, class) {
            out.push(span);
        }
    }
}

/// The value announced after a noun ending at `at`: the first token of the same line (within a
/// few words) that is not a plain word, if it looks like a secret.
fn value_after(hay: &[u8], at: usize, class: Class) -> Option<(usize, usize)> {
    let limit = hay.len().min(at + 120);
    let mut i = at;
    let mut words = 0;
    while i < limit && words < 8 {
        // Blanks (and no line break: a value is on the noun's line).
        while i < limit && matches!(hay[i], b' ' | b'\t') {
            i += 1;
        }
        if i >= limit || matches!(hay[i], b'\n' | b'\r') {
            return None;
        }
        // A literal `\n` of a JSON string ends the line too.
        if hay[i] == b'\\' && hay.get(i + 1).is_some_and(|c| matches!(c, b'n' | b'r')) {
            return None;
        }
        // Quoted value: 'x', "x", `x`, \"x\" (inside a JSON string).
        let (q, open) = match hay[i] {
            b'\'' | b'"' | b'`' => (hay[i], 1),
            b'\\' if hay.get(i + 1) == Some(&b'"') => (b'"', 2),
            _ => (0, 0),
        };
        if q != 0 {
            let start = i + open;
            let close = hay[start..hay.len().min(start + 200)].iter().position(|c| *c == q || *c == b'\n')?;
            let mut end = start + close;
            if hay[end] != q {
                return None;
            }
            if open == 2 && end > start && hay[end - 1] == b'\\' {
                end -= 1;
            }
            let v = &hay[start..end];
            if is_filler(v) && v.len() < 16 {
                // "the word 'password' is …", a quoted plain word: not a value.
                if quoted_word_ok(v, class) {
                    return Some((start, end));
                }
                return None;
            }
            return looks_secret(v, class, true).then_some((start, end));
        }
        // Unquoted token: up to a blank, a quote, a backslash or the end of the line.
        let start = i;
        while i < hay.len() && !matches!(hay[i], b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\\' | b'`' | b'<' | b'>') {
            i += 1;
        }
        let raw = &hay[start..i];
        // Script boundaries: "密码是Xk9…", "Xk9…，请": the ASCII run is the token.
        let (ts, te) = ascii_core(raw);
        if te == ts {
            words += 1;
            continue;
        }
        let tok = &raw[ts..te];
        let lower = tok.to_ascii_lowercase();
        let bare = trim_trailing_punct(tok);
        if OFF_TOPIC.contains(&std::str::from_utf8(&lower[..bare]).unwrap_or("")) {
            return None;
        }
        if is_filler(tok) {
            // A list goes on after a comma: "password: str, token: …" names parameters.
            if tok.ends_with(b",") || tok.ends_with(b";") {
                return None;
            }
            words += 1;
            continue;
        }
        // An e-mail address or user name in "password for bob@example.com is …".
        if tok.contains(&b'@') && !tok.starts_with(b"@") && tok.iter().filter(|c| **c == b'@').count() == 1 {
            let dot = tok.iter().rposition(|c| *c == b'@').is_some_and(|p| tok[p..].contains(&b'.'));
            if dot {
                words += 1;
                continue;
            }
        }
        let v = &tok[..bare];
        let (vs, ve) = (start + ts, start + ts + bare);
        // A leading `:` or `=` stuck to the value ("pwd:x", "password=x" in prose).
        let lead = v.iter().take_while(|c| matches!(c, b':' | b'=' | b'(')).count();
        let v = &v[lead..];
        return looks_secret(v, class, false).then_some((vs + lead, ve));
    }
    None
}

/// A quoted plain word after a password noun ("password 'sunshine'") is a password; after a
/// key noun it is a name.
fn quoted_word_ok(v: &[u8], class: Class) -> bool {
    class == Class::Password && v.len() >= 6 && !is_placeholder(v) && !is_common_word(v)
}

fn is_common_word(v: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "password",
        "passwords",
        "secret",
        "secrets",
        "token",
        "tokens",
        "changeme",
        "required",
        "optional",
        "hidden",
        "masked",
        "redacted",
        "default",
        "example",
        "sample",
        "string",
        "value",
        "unknown",
        "username",
        "admin",
        "letmein",
        "none",
        "null",
        "empty",
        "blank",
        "forgot",
        "reset",
    ];
    let l = v.to_ascii_lowercase();
    WORDS.iter().any(|w| w.as_bytes() == l.as_slice())
}

/// The ASCII part of a token that may carry words of another script before or after it.
fn ascii_core(raw: &[u8]) -> (usize, usize) {
    let start = raw.iter().position(|c| c.is_ascii()).unwrap_or(raw.len());
    let end = raw[start..].iter().position(|c| !c.is_ascii()).map_or(raw.len(), |p| start + p);
    (start, end)
}

/// Length of `tok` without sentence punctuation at its end ("… is Xk9abc." / "Xk9abc, then").
fn trim_trailing_punct(tok: &[u8]) -> usize {
    let mut e = tok.len();
    while e > 0 && matches!(tok[e - 1], b'.' | b',' | b';' | b':' | b')' | b']' | b'}' | b'\'') {
        e -= 1;
    }
    // "is it Xk9abc?" and "… Xk9abc!": a question or exclamation mark after a letter or digit.
    if e > 1 && matches!(tok[e - 1], b'?' | b'!') && tok[e - 2].is_ascii_alphanumeric() && e == tok.len() {
        let body = &tok[..e - 1];
        if body.iter().any(|c| c.is_ascii_digit()) && body.iter().any(|c| c.is_ascii_alphabetic()) {
            e -= 1;
        }
    }
    e
}

/// Names of algorithms, encodings and units that look like `letters+digits` but are not
/// secrets.
const TECH_WORDS: &[&str] = &[
    "sha1",
    "sha256",
    "sha384",
    "sha512",
    "sha-1",
    "sha-256",
    "sha-512",
    "md5",
    "bcrypt",
    "scrypt",
    "argon2",
    "argon2id",
    "argon2i",
    "pbkdf2",
    "base64",
    "base32",
    "utf8",
    "utf-8",
    "aes256",
    "aes-256",
    "aes128",
    "aes-128",
    "rsa2048",
    "rsa4096",
    "ed25519",
    "x25519",
    "hmac-sha256",
    "oauth2",
    "http2",
    "2fa",
    "mfa",
    "totp",
    "ipv4",
    "ipv6",
    "s3",
    "ec2",
    "k8s",
    "i18n",
    "l10n",
    "1password",
    "keepassxc",
    "keepass",
    "pass",
    "gpg2",
];

/// Whether a token announced by a noun is a literal secret rather than a word, number, path,
/// reference or placeholder.
fn looks_secret(v: &[u8], class: Class, quoted: bool) -> bool {
    if v.is_empty() || is_placeholder(v) {
        return false;
    }
    let Ok(s) = std::str::from_utf8(v) else { return false };
    let lower = s.to_ascii_lowercase();
    if TECH_WORDS.contains(&lower.as_str()) || is_common_word(v) {
        return false;
    }
    // References and locations: $VAR, %VAR%, {var}, paths, URLs, ARNs, code.
    if s.starts_with(['$', '{', '/', '~', '@', '<', '['])
        || s.starts_with("./")
        || s.starts_with("../")
        || s.contains("://")
        || lower.starts_with("arn:")
        || lower.starts_with("env.")
        || lower.starts_with("process.env")
        || lower.starts_with("os.environ")
        || s.ends_with("()")
        || s.ends_with(')') && s.contains('(')
        || is_call(s)
    {
        return false;
    }
    let n = s.chars().count();
    let has = |f: fn(&u8) -> bool| v.iter().any(f);
    let digit = has(u8::is_ascii_digit);
    let upper = has(u8::is_ascii_uppercase);
    let lowerc = has(u8::is_ascii_lowercase);
    let symbol = has(|c| c.is_ascii_punctuation());
    let letters = upper || lowerc;
    // Numbers, versions, dates, sizes, durations: "8", "1.2.3", "2024-01-01", "90d", "64bit".
    if !letters {
        return class == Class::Password && quoted && n >= 6 && digit;
    }
    if is_version_or_unit(s) {
        return false;
    }
    match class {
        Class::Password => {
            if n < 6 && !(quoted && n >= 4) {
                return false;
            }
            if quoted {
                return true;
            }
            // A word with a capital ("Vault", "GitHub") is a name; a password mixes classes.
            let classes =
                [digit, upper && (lowerc || digit), symbol && (lowerc || upper)].iter().filter(|b| **b).count();
            if classes >= 1 && (digit || symbol) {
                return !is_identifier_path(s);
            }
            // Words joined by hyphens or dots (diceware): raven-sunset-quartz-cinder.
            let parts = s.split(['-', '.', '_']).filter(|p| p.len() >= 3).count();
            parts >= 3 && n >= 14 && !s.contains("__")
        }
        Class::Credential => {
            if n < 16 || is_identifier_path(s) {
                return false;
            }
            // `prod/db-password-x7`, `team/api/keys`: a path with words in it.
            let words = s.split('/').filter(|p| p.len() >= 3 && p.bytes().all(|c| c.is_ascii_lowercase())).count();
            if s.contains('/') && words >= 1 && s.split('/').count() >= 2 && !s.contains(['+', '=']) {
                return false;
            }
            if is_uuid(s) {
                return false;
            }
            let hex = v.iter().all(|c| c.is_ascii_hexdigit());
            if hex {
                return n >= 32 && digit && letters;
            }
            digit && letters && entropy(v) >= 3.2
        }
    }
}

/// `getpass.getpass(`, `os.getenv(`, `Optional[str]`: a call or a type, the start of code.
fn is_call(s: &str) -> bool {
    s.find(['(', '[']).is_some_and(|i| {
        i > 0
            && s[..i].bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':'))
            && !s[..i].bytes().any(|c| c.is_ascii_digit())
    })
}

/// `snake_case_name`, `dotted.path.name`, `kebab-case-words` without digits: code, not a value.
fn is_identifier_path(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['.', '_', '-', '/']).filter(|p| !p.is_empty()).collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            let lower_word = p.bytes().all(|c| c.is_ascii_lowercase());
            let upper_word = p.bytes().all(|c| c.is_ascii_uppercase());
            let capital_word =
                p.as_bytes()[0].is_ascii_uppercase() && p.bytes().skip(1).all(|c| c.is_ascii_lowercase());
            lower_word || upper_word || capital_word
        })
        && !s.contains(['!', '#', '$', '%', '*', '+', '?', '&'])
}

fn is_version_or_unit(s: &str) -> bool {
    let t = s.trim_start_matches(['v', 'V']);
    // 1.2.3, 2024-01-01, 10:30
    if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b':')) {
        return true;
    }
    // 90d, 64bit, 8chars, 12h, 4096tokens
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && digits < s.len() && s[digits..].bytes().all(|c| c.is_ascii_lowercase()) && s.len() - digits <= 8
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(f: super::super::rules::Scanner, t: &str) -> Vec<String> {
        let mut v = Vec::new();
        f(t.as_bytes(), None, &mut v);
        v.into_iter().map(|(s, e)| t[s..e].to_string()).collect()
    }

    #[test]
    fn passwords_in_sentences_are_found_and_the_sentence_is_not() {
        for (t, want) in [
            ("my password is Xk9-plover-Quartz77 if the console asks", "Xk9-plover-Quartz77"),
            ("set the staging db password to Lantern.thunder1841* and restart", "Lantern.thunder1841*"),
            ("I can't log in with password 'xoH.eFFj3w4x#!J_5' anymore", "xoH.eFFj3w4x#!J_5"),
            ("mein Passwort ist Tr0ub4dor&3.", "Tr0ub4dor&3"),
            ("mon mot de passe est Gl4ce-pomme9, merci", "Gl4ce-pomme9"),
            ("密码是Xk9plover77，谢谢", "Xk9plover77"),
            ("pwd: hunter2x9", "hunter2x9"),
        ] {
            assert_eq!(found(passwords, t), vec![want.to_string()], "{t}");
        }
    }

    #[test]
    fn sentences_about_passwords_stay() {
        for t in [
            "the password is stored in the vault",
            "password must be at least 8 characters",
            "the password hash is sha256",
            "reset your password at https://example.com/reset",
            "password: ${DB_PASSWORD}",
            "run pwd to see the folder",
            "the password is in 1Password",
            "password for the db is <your-password>",
            "Password: ********",
            "bypass the password_hash field",
        ] {
            assert!(found(passwords, t).is_empty(), "{t}: {:?}", found(passwords, t));
        }
    }

    #[test]
    fn keys_in_sentences_are_found() {
        assert_eq!(
            found(credentials, "the pinecone api key is 8NcLQ5Li7IpNLom8oQcqTmXHYodSY3MDGjrkPfb4, can you add it"),
            vec!["8NcLQ5Li7IpNLom8oQcqTmXHYodSY3MDGjrkPfb4"]
        );
        for t in [
            "the api key is required",
            "the session token is 550e8400-e29b-41d4-a716-446655440000",
            "api key: $OPENAI_API_KEY",
            "the secret is arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
        ] {
            assert!(found(credentials, t).is_empty(), "{t}");
        }
    }
}
