//! What a regex match must also satisfy to count as a secret: not a placeholder, random enough,
//! a valid checksum, a secret-sounding name with a value that is not code.
//!
//! These checks are where false positives are won or lost: `password: ********`, `${API_KEY}`,
//! `<your-api-key>`, `$GITHUB_TOKEN`, `max_tokens: 4096`, `password: str` and `self.token`
//! must all stay as they are.

/// The extra condition a rule puts on its candidate secret.
#[derive(Debug, Clone, Copy)]
pub(super) enum Check {
    /// Not a placeholder.
    Plain,
    /// Not a placeholder, and at least this much Shannon entropy (bits per byte).
    Entropy(f64),
    /// A private-key body: at least 32 base64 characters (so `...` in documentation is kept).
    KeyBody,
    /// GitHub / npm style token whose last 6 base62 characters are a CRC32 of the rest: a valid
    /// checksum is proof; otherwise it must pass the placeholder and entropy checks.
    Crc32 { prefix_len: usize },
    /// `name = value`: the name must sound secret, the value must look like a literal secret.
    Assignment,
    /// The value of a password command-line flag (`--password X`, `mysql -pX`, `curl -u u:p`).
    FlagValue,
    /// An Authorization header's credentials: not a placeholder, not a bare scheme or variable
    /// name (`Bearer token`, `Bearer ${TOKEN}`, `Bearer ***`).
    Header,
    /// Random-looking: not a placeholder, letters and digits mixed, entropy of a generated key.
    Random,
    /// A Discord token: its first part is a numeric user id in base64.
    DiscordId,
    /// A base32 TOTP secret (spaces or dashes between groups allowed), not an upper-case word.
    Base32,
}

/// Kinds the generic checks report.
pub(super) const PASSWORD: &str = "password";
pub(super) const SECRET: &str = "secret";

/// Runs `check` on a candidate; returns the kind to report (normally `kind`), or `None` to drop
/// the candidate. `name` is the matched name for assignments, `quoted` whether the value was in
/// quotes, `after` the bytes that follow the value.
pub(super) fn check(
    check: Check,
    kind: &'static str,
    secret: &[u8],
    name: Option<&[u8]>,
    quoted: bool,
    before: &[u8],
    after: &[u8],
) -> Option<&'static str> {
    match check {
        Check::Plain => (!is_placeholder(secret)).then_some(kind),
        Check::Entropy(min) => (!is_placeholder(secret) && entropy(secret) >= min).then_some(kind),
        Check::KeyBody => {
            // Armor headers (`Comment: Bob <bob@example.com>`, `Proc-Type: 4,ENCRYPTED`) are not
            // the key: placeholders are looked for in the base64 lines only.
            // Lines end with a line break or, inside a JSON string, with a `\n` escape.
            let unescaped;
            let text = if contains(secret, b"\\n") {
                unescaped = String::from_utf8_lossy(secret).replace("\\n", "\n").into_bytes();
                &unescaped[..]
            } else {
                secret
            };
            let lines = text.split(|c| *c == b'\n').filter(|l| !contains(l, b": "));
            let body: Vec<u8> = lines.flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
            let b64 = body.iter().filter(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/')).count();
            (b64 >= 32 && !is_placeholder(&body)).then_some(kind)
        }
        Check::Crc32 { prefix_len } => {
            if crc32_base62_ok(secret, prefix_len) {
                return Some(kind);
            }
            (!is_placeholder(secret) && entropy(&secret[prefix_len.min(secret.len())..]) >= 3.0).then_some(kind)
        }
        Check::Assignment => {
            let ctx = Context { quoted, name: name?, before, after };
            match classify_name(name?) {
                Some(class) => value_is_secret(secret, class, &ctx).then_some(class),
                None => (hints_a_secret(name?) && value_is_secret(secret, SECRET, &ctx) && random_value(secret))
                    .then_some(SECRET),
            }
        }
        Check::FlagValue => {
            let ctx = Context { quoted: true, name: b"", before, after };
            value_is_secret(secret, PASSWORD, &ctx).then_some(kind)
        }
        Check::Header => header_credentials(secret).then_some(kind),
        Check::Random => looks_generated(secret).then_some(kind),
        Check::DiscordId => discord_id(secret).then_some(kind),
        Check::Base32 => base32_secret(secret).then_some(kind),
    }
}

fn header_credentials(v: &[u8]) -> bool {
    if is_placeholder(v) || v.len() < 6 {
        return false;
    }
    // A scheme or a variable alone (`Bearer token`, `Basic auth`, `Bearer apiKey`, `TOKEN`);
    // base64 credentials without digits (`dXNlcjpwYXNz`) mix cases throughout.
    let word = v.iter().all(|c| c.is_ascii_alphabetic() || *c == b'_');
    let inner_upper = v.iter().skip(1).filter(|c| c.is_ascii_uppercase()).count();
    let lower = v.iter().filter(|c| c.is_ascii_lowercase()).count();
    if word && v.len() < 24 && (inner_upper <= 2 || lower == 0) {
        return false;
    }
    // `"Bearer " + token`, `f"Bearer {token}"`, `Bearer %s`: code building the header.
    !matches!(v[0], b'+' | b'{' | b'(' | b'$' | b'%' | b'&' | b'=')
}

/// A generated key rather than a word, an identifier or a hash-like constant.
fn looks_generated(v: &[u8]) -> bool {
    if is_placeholder(v) || v.len() < 16 {
        return false;
    }
    let digit = v.iter().any(u8::is_ascii_digit);
    let alpha = v.iter().any(u8::is_ascii_alphabetic);
    digit && alpha && entropy(v) >= 3.5
}

fn discord_id(v: &[u8]) -> bool {
    let first = v.split(|c| *c == b'.').next().unwrap_or(b"");
    super::structured::base64_decode(first)
        .is_some_and(|id| (15..=20).contains(&id.len()) && id.iter().all(u8::is_ascii_digit))
}

fn base32_secret(v: &[u8]) -> bool {
    let body: Vec<u8> = v.iter().copied().filter(|c| !matches!(c, b' ' | b'-' | b'=')).collect();
    if body.len() < 16 || is_placeholder(&body) {
        return false;
    }
    // Grouped lower case is also four-letter words in a sentence: a digit shows it is base32.
    let lower = body.iter().any(u8::is_ascii_lowercase);
    let digit = body.iter().any(u8::is_ascii_digit);
    if lower && !digit {
        return false;
    }
    entropy(&body) >= 3.2
}

/// Shannon entropy in bits per byte.
pub(super) fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * libm::log2(p)
        })
        .sum()
}

/// Documentation and template stand-ins that are not secrets.
pub(super) fn is_placeholder(s: &[u8]) -> bool {
    if s.is_empty() {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    const MARKERS: &[&[u8]] = &[
        b"example",
        b"xxxxxx",
        b"placeholder",
        b"redacted",
        b"${",
        b"{{",
        b"<",
        b">",
        b"***",
        "\u{2022}\u{2022}".as_bytes(),
        "\u{25cf}\u{25cf}".as_bytes(),
        b"changeme",
        b"...",
        "\u{2026}".as_bytes(),
        b"your_",
        b"your-",
        b"yourtoken",
        b"yourkey",
        b"yourpassword",
        b"yoursecret",
        b"000000000000",
        b"replace_me",
        b"replace-me",
        b"insert_",
        b"insert-your",
        b"%s",
        b"%(",
    ];
    if MARKERS.iter().any(|m| contains(&lower, m)) {
        return true;
    }
    // A variable reference: $VAR, $(cmd), %VAR%, process.env.X is handled as code elsewhere.
    if s[0] == b'$' && s.get(1).is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'{' | b'(')) {
        return true;
    }
    if s[0] == b'%' && s.len() > 2 && s[s.len() - 1] == b'%' {
        return true;
    }
    // Runs of one character (`********`, `aaaaaaaa`, `--------`).
    let mut distinct = [false; 256];
    let mut n = 0;
    for &b in s {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            n += 1;
        }
    }
    s.len() >= 4 && n <= 2
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    memchr::memmem::find(h, n).is_some()
}

/// Splits `DB_PASSWORD`, `apiKey`, `spring.datasource.password`, `--api-key` into lowercase
/// parts.
fn name_parts(name: &[u8]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for &c in name {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            cur.push(c.to_ascii_lowercase() as char);
        } else {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pwd", "pass", "passphrase", "passcode", "pw"];
/// Words before `key` that make it a secret key (`api_key`, `private_key`, not `primary_key`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "private",
    "auth",
    "master",
    "encryption",
    "encrypt",
    "signing",
    "app",
    "license",
    "account",
    "subscription",
    "service",
    "storage",
    "shared",
    "consumer",
    "webhook",
    "session",
    "cookie",
    "hmac",
    "jwt",
    "secret",
    "client",
    "admin",
    "deploy",
    "write",
    "read",
];
/// Parts that may follow the secret word (`DB_PASSWORD_PROD`, `api_key_b64`).
const NEUTRAL_SUFFIXES: &[&str] = &[
    "value",
    "val",
    "str",
    "b64",
    "base64",
    "base",
    "salt",
    "seed",
    "hex",
    "raw",
    "enc",
    "encrypted",
    "plain",
    "text",
    "prod",
    "production",
    "dev",
    "development",
    "test",
    "staging",
    "live",
    "local",
    "new",
    "old",
    "current",
    "default",
    "hash",
    "digest",
    "main",
    "primary",
    "secondary",
    "v1",
    "v2",
];

/// Whether [`Check::Assignment`] can accept any value assigned to `name`: when not, a rule
/// need not run its regex there (see `rules::scan_regex`).
pub(super) fn names_a_secret(name: &[u8]) -> bool {
    classify_name(name).is_some() || hints_a_secret(name)
}

/// Last name parts that do not always hold a secret but do when the value is random:
/// `SIGNING_SALT`, `CACHE_KEY`, `SESSION_COOKIE`. Not `signature`: every thinking block of a
/// Claude Code transcript carries a random `"signature"` that is no secret.
const HINT_WORDS: &[&str] = &[
    "key", "keys", "salt", "pepper", "hmac", "cipher", "jwt", "cookie", "session", "license", "licence", "dsn", "otp",
    "totp", "mfa", "passkey", "private", "priv", "bearer", "cred", "creds",
];

/// A name whose last meaningful part hints at a secret ([`HINT_WORDS`], or any word ending in
/// `key`): its value is a secret when it looks generated.
fn hints_a_secret(name: &[u8]) -> bool {
    let parts = name_parts(name);
    let mut end = parts.len();
    while end > 0 && parts[end - 1].bytes().all(|c| c.is_ascii_digit()) {
        end -= 1;
    }
    let Some(last) = end.checked_sub(1).map(|i| parts[i].as_str()) else { return false };
    HINT_WORDS.contains(&last) || (last.len() > 4 && last.ends_with("key") && !last.ends_with("monkey"))
}

/// Whether a name sounds like it holds a secret, and which kind.
fn classify_name(name: &[u8]) -> Option<&'static str> {
    let parts = name_parts(name);
    // The secret word is the last part, or followed only by neutral parts.
    let mut end = parts.len();
    while end > 0
        && (NEUTRAL_SUFFIXES.contains(&parts[end - 1].as_str()) || parts[end - 1].bytes().all(|c| c.is_ascii_digit()))
    {
        end -= 1;
    }
    if end == 0 {
        return None;
    }
    let last = parts[end - 1].as_str();
    let prev = if end >= 2 { parts[end - 2].as_str() } else { "" };
    if PASSWORD_WORDS.contains(&last) || (last.len() > 8 && (last.ends_with("password") || last.ends_with("passwd"))) {
        // `pw` only as a whole name or with a qualifier, never inside other words.
        if last == "pw" && parts.len() > 3 {
            return None;
        }
        return Some(PASSWORD);
    }
    if last == "auth" && parts.len() > 1 {
        // `SERVER_AUTH`, `basic_auth`: a mode, not a credential (docker's and npm's bare `auth`
        // / `_auth` are).
        return None;
    }
    let secretish = matches!(last, "secret" | "token" | "apikey" | "credential" | "credentials" | "auth")
        || (last.len() > 6
            && ["secret", "token", "apikey", "accesskey", "privatekey", "secretkey"].iter().any(|w| last.ends_with(w)))
        || (last == "key" && KEY_QUALIFIERS.contains(&prev));
    if !secretish {
        return None;
    }
    // `auth` alone names a secret (docker, npm); `auth_type` was excluded above; `oauth` is not a
    // value.
    Some(SECRET)
}

/// Values in code that name types, keywords or variables rather than holding a secret.
const CODE_WORDS: &[&str] = &[
    "null",
    "nil",
    "none",
    "true",
    "false",
    "undefined",
    "yes",
    "no",
    "on",
    "off",
    "required",
    "optional",
    "string",
    "str",
    "int",
    "bool",
    "boolean",
    "number",
    "bytes",
    "any",
    "unknown",
    "object",
    "secret",
    "password",
    "token",
    "env",
    "os",
    "getenv",
    "self",
    "this",
    "void",
    "char",
    "text",
    "varchar",
    "hidden",
    "masked",
    "empty",
    "unset",
    "disabled",
    "enabled",
    "redacted",
    "omitted",
    "sensitive",
    "default",
    "auto",
    "input",
    "prompt",
    "stdin",
    "file",
    "vault",
    "keychain",
    "keyring",
    "config",
    "settings",
    "secretstr",
    "option",
    "bearer",
    "basic",
];

/// Where a value stands: quoted or not, its name, the text before and after it.
struct Context<'a> {
    quoted: bool,
    name: &'a [u8],
    before: &'a [u8],
    after: &'a [u8],
}

fn value_is_secret(v: &[u8], class: &str, ctx: &Context) -> bool {
    let Context { quoted, name, before, after } = *ctx;
    if is_placeholder(v) {
        return false;
    }
    let s = match std::str::from_utf8(v) {
        Ok(s) => s.trim(),
        Err(_) => return v.len() >= 4,
    };
    if s.is_empty() {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    // Key blocks have their own rules, which keep the BEGIN/END frame readable.
    if s.starts_with("-----BEGIN ") {
        return false;
    }
    // File paths and references (`password_file: /run/secrets/db` is named away, but
    // `PWD=/home/dev` is the shell's working directory).
    // (`%d/db-password`: systemd's credentials directory.)
    let specifier_path =
        s.len() > 3 && s.as_bytes()[0] == b'%' && s.as_bytes()[1].is_ascii_alphabetic() && s.as_bytes()[2] == b'/';
    if s.starts_with('/')
        || specifier_path
        || s.starts_with("./")
        || s.starts_with("~/")
        || s.starts_with("../")
        || s.starts_with("file:")
    {
        return false;
    }
    if CODE_WORDS.contains(&lower.as_str()) {
        return false;
    }
    let min_len = if class == PASSWORD { 3 } else { 8 };
    if s.chars().count() < min_len {
        return false;
    }
    let all_digits = s.bytes().all(|c| c.is_ascii_digit());
    if all_digits && (class != PASSWORD || s.len() < 4) {
        // `max_tokens: 4096`, `secret_version = 3`.
        return false;
    }
    if quoted {
        return true;
    }
    // Unquoted: code, or prose, unless it looks like a literal.
    let ident = s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    // `self.password`, `config.api.token`, `process.env.TOKEN`, `settings.SECRET_KEY`: a first
    // part of letters only, then identifiers (a literal like `M4ngo.FT4iq` has digits up front).
    let mut dotted = s.split('.');
    let first = dotted.next().unwrap_or("");
    let dotted_path = s.contains('.')
        && !first.is_empty()
        && first.bytes().all(|c| c.is_ascii_alphabetic() || c == b'_')
        && dotted.all(|p| {
            !p.is_empty()
                && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                && !p.as_bytes()[0].is_ascii_digit()
        });
    if dotted_path && !looks_random(s) {
        return false;
    }
    if ident {
        // `password=db_password`, `token=accessToken`: a variable named after a secret.
        const STEMS: &[&str] = &["pass", "pwd", "secret", "token", "key", "auth", "cred"];
        if STEMS.iter().any(|w| lower.contains(w)) && !looks_random(s) {
            return false;
        }
        let name_lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        if lower == name_lower || (!name_lower.is_empty() && name_parts(name).contains(&lower)) {
            return false;
        }
        // Prose: "reset your password: click the link", "password: The password for …".
        let word = s.bytes().all(|c| c.is_ascii_alphabetic()) && s.bytes().skip(1).all(|c| c.is_ascii_lowercase());
        if word && after.first() == Some(&b' ') && after.get(1).is_some_and(|c| c.is_ascii_lowercase()) {
            return false;
        }
        if code_context(name, before, after) {
            return false;
        }
    }
    if s.ends_with("()") || s.contains("::") && ident_like(s) {
        return false;
    }
    true
}

/// An identifier value in code rather than a literal: assigned to an attribute (`self.token =
/// nextchar`), chained or tuple assignment (`user, self.password = user, password`), a call or
/// an expression follows (`passwd = _raw_input(prompt)`, `Token = Whitespace + group(…)`).
fn code_context(name: &[u8], before: &[u8], after: &[u8]) -> bool {
    let sep = before.iter().rev().find(|c| !matches!(c, b' ' | b'\t'));
    let next = after.iter().find(|c| !matches!(c, b' ' | b'\t'));
    // `self.token = x`, but not `spring.datasource.password=x` in a .properties file.
    let attribute = [&b"self."[..], b"this.", b"cls."].iter().any(|p| name.starts_with(p));
    let assigned = sep == Some(&b'=');
    (assigned && attribute)
        || matches!(next, Some(b'(' | b'[' | b'+' | b'*' | b'/' | b'|' | b'=' | b'.'))
        || (assigned && matches!(next, Some(b',' | b')')))
}

fn ident_like(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'.'))
}

/// A value under a name that only hints at a secret: generated-looking (letters and digits, or
/// long base64), not an id (UUID), not a hash-like hex constant of a common size.
fn random_value(v: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(v) else { return false };
    let s = s.trim();
    let n = s.len();
    if n < 16 || s.contains(char::is_whitespace) || s.contains("://") {
        return false;
    }
    let b = s.as_bytes();
    let uuid = n == 36 && b.iter().filter(|c| **c == b'-').count() == 4;
    if uuid {
        return false;
    }
    let hex = b.iter().all(u8::is_ascii_hexdigit);
    if hex {
        // Digests (`cache_key: 9f86d0…`) are hex too; only a long random hex under a key name.
        return n >= 32 && !matches!(n, 40 | 64 | 128) && entropy(b) >= 3.5;
    }
    let digit = b.iter().any(u8::is_ascii_digit);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let shape_ok = b.iter().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'~' | b'!' | b'@' | b'#' | b'%' | b'^' | b'&' | b'*'
            )
    });
    shape_ok && digit && upper && lower && entropy(b) >= 3.8
}

/// Mixed classes and digits: a generated secret rather than a word.
fn looks_random(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().any(|c| c.is_ascii_digit());
    let upper = b.iter().any(|c| c.is_ascii_uppercase());
    let lower = b.iter().any(|c| c.is_ascii_lowercase());
    s.len() >= 16 && digits && upper && lower && entropy(b) >= 3.5
}

/// GitHub's (and npm's) token checksum: the last 6 base62 characters encode the CRC32 of the
/// random part between the prefix and the checksum.
fn crc32_base62_ok(tok: &[u8], prefix_len: usize) -> bool {
    if tok.len() < prefix_len + 7 {
        return false;
    }
    let (body, sum) = tok[prefix_len..].split_at(tok.len() - prefix_len - 6);
    let mut v: u64 = 0;
    for &c in sum {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return false,
        };
        v = v * 62 + d as u64;
    }
    v == crc32(body) as u64
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified_by_their_last_meaningful_part() {
        assert_eq!(classify_name(b"DB_PASSWORD"), Some(PASSWORD));
        assert_eq!(classify_name(b"PGPASSWORD"), Some(PASSWORD));
        assert_eq!(classify_name(b"mysqlPwd"), Some(PASSWORD));
        assert_eq!(classify_name(b"db_password_prod"), Some(PASSWORD));
        assert_eq!(classify_name(b"apiKey"), Some(SECRET));
        assert_eq!(classify_name(b"x-api-key"), Some(SECRET));
        assert_eq!(classify_name(b"client_secret"), Some(SECRET));
        assert_eq!(classify_name(b"GITHUB_TOKEN"), Some(SECRET));
        assert_eq!(classify_name(b"_authToken"), Some(SECRET));
        assert_eq!(classify_name(b"SECRET_KEY_BASE"), Some(SECRET));
        assert_eq!(classify_name(b"primary_key"), None);
        assert_eq!(classify_name(b"max_tokens"), None);
        assert_eq!(classify_name(b"password_min_length"), None);
        assert_eq!(classify_name(b"token_type"), None);
        assert_eq!(classify_name(b"bypass"), None);
        assert_eq!(classify_name(b"author"), None);
        assert_eq!(classify_name(b"keyboard"), None);
    }

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "********",
            "${API_KEY}",
            "<your-api-key>",
            "$GITHUB_TOKEN",
            "%DB_PASS%",
            "xxxxxxxxxxxx",
            "AKIAIOSFODNN7EXAMPLE",
            "your_token_here",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for s in ["hunter2", "ghp_R7c9d2Lk", "s3cr3t-P@ss"] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }

    fn ctx<'a>(name: &'a [u8], before: &'a [u8], after: &'a [u8]) -> Context<'a> {
        Context { quoted: false, name, before, after }
    }

    #[test]
    fn code_values_are_not_secrets() {
        for v in ["str", "self.password", "db_password", "process.env.TOKEN", "None", "/run/secrets/db"] {
            assert!(!value_is_secret(v.as_bytes(), PASSWORD, &ctx(b"password", b"password: ", b"")), "{v}");
        }
        assert!(value_is_secret(b"hunter2", PASSWORD, &ctx(b"password", b"password=", b"")));
        assert!(value_is_secret(b"Tr0ub4dor&3", PASSWORD, &ctx(b"password", b"password: ", b"\n")));
        assert!(!value_is_secret(b"4096", SECRET, &ctx(b"max_token", b"max_token: ", b"")));
        // Code around an identifier value.
        assert!(!value_is_secret(b"nextchar", SECRET, &ctx(b"self.token", b"self.token = ", b"\n")));
        assert!(!value_is_secret(b"_raw_input", PASSWORD, &ctx(b"passwd", b"passwd = ", b"(prompt)")));
        assert!(!value_is_secret(b"user", PASSWORD, &ctx(b"self.password", b"password = ", b", password")));
        assert!(!value_is_secret(b"The", PASSWORD, &ctx(b"password", b"- password: ", b" password for it")));
        // The same shapes in configuration stay secrets.
        assert!(value_is_secret(b"hunter2", PASSWORD, &ctx(b"password", b"{password: ", b", user: x}")));
    }

    #[test]
    fn github_checksum_is_verified() {
        // Built like the corpus generator builds tokens: crc32 of the 30 random chars, base62.
        let body = b"abcdefghijklmnopqrstuvwxyz0123";
        let mut v = crc32(body) as u64;
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut sum = [b'0'; 6];
        for i in (0..6).rev() {
            sum[i] = alphabet[(v % 62) as usize];
            v /= 62;
        }
        let tok = [&b"ghp_"[..], &body[..], &sum[..]].concat();
        assert!(crc32_base62_ok(&tok, 4));
        let mut bad = tok.clone();
        bad[10] = b'Z';
        assert!(!crc32_base62_ok(&bad, 4));
    }

    #[test]
    fn entropy_of_uniform_bytes() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
