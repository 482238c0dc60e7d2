//! Behaviour of the engine as a whole: what is replaced, what stays.

use super::*;

fn r() -> Redactor {
    Redactor::new(&[], &[]).0
}

fn red(s: &str) -> String {
    r().redact(s).into_owned()
}

const GHP: &str = "ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi";

#[test]
fn only_the_secret_part_is_replaced() {
    assert_eq!(red("export DB_PASSWORD=hunter2"), "export DB_PASSWORD=[REDACTED:password]");
    assert_eq!(
        red("postgres://app:S3cr3t!x@db.internal:5432/app"),
        "postgres://app:[REDACTED:database-url-password]@db.internal:5432/app"
    );
    assert_eq!(red("Authorization: Bearer abcdef123456"), "Authorization: Bearer [REDACTED:authorization-header]");
    assert_eq!(
        red(&format!("git remote add origin https://{GHP}@github.com/o/r.git")),
        "git remote add origin https://[REDACTED:github-pat]@github.com/o/r.git"
    );
}

#[test]
fn text_without_secrets_is_borrowed() {
    let t = "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 fixed the token counter";
    assert!(matches!(r().redact(t), Cow::Borrowed(_)));
}

#[test]
fn placeholders_stay() {
    for t in [
        "password: ********",
        "export API_KEY=${API_KEY}",
        "api_key = \"<your-api-key>\"",
        "curl -H \"Authorization: Bearer $GITHUB_TOKEN\" https://api.github.com",
        "GITHUB_TOKEN=$GITHUB_TOKEN",
        "def login(password: str, token: Optional[str] = None):",
        "max_tokens: 4096",
        "self.password = password",
    ] {
        assert_eq!(red(t), t);
    }
}

#[test]
fn private_key_in_a_json_string_is_redacted_and_the_frame_kept() {
    let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu";
    let t = format!(
        r#"{{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"}}"#
    );
    let out = red(&t);
    assert!(!out.contains("MIIEvQ"), "{out}");
    assert!(
        out.contains(r"-----BEGIN PRIVATE KEY-----\n[REDACTED:pkcs8-private-key]\n-----END PRIVATE KEY-----"),
        "{out}"
    );
}

#[test]
fn percent_encoded_password_is_redacted() {
    let out = red("GET /login?user=bob&password%3Dhunter2xyz%26next=1");
    assert!(!out.contains("hunter2xyz"), "{out}");
}

#[test]
fn double_escaped_json_is_redacted() {
    let out = red(r#"{\"db\": {\"password\": \"Zq8#kL2pW\"}}"#);
    assert!(!out.contains("Zq8#kL2pW"), "{out}");
    assert!(out.contains(r#"\"password\": \""#), "{out}");
}

#[test]
fn redaction_is_idempotent() {
    let t = format!("token={GHP} and password: 'p4ss w0rd' and Cookie: a=b; c=d");
    let once = red(&t);
    assert_eq!(red(&once), once);
}

#[test]
fn utf8_around_secrets_is_preserved() {
    let t = format!("clé: «{GHP}» — ok ✓");
    let out = red(&t);
    assert_eq!(out, "clé: «[REDACTED:github-pat]» — ok ✓");
}

#[test]
fn user_patterns_add_kinds_and_bad_ones_are_reported() {
    let pats = vec![
        UserPattern { kind: "employee id".into(), regex: r"EMP-\d{6}".into() },
        UserPattern { kind: "ticket".into(), regex: r"TICKET=(?P<secret>\w+)".into() },
        UserPattern { kind: "broken".into(), regex: r"(unclosed".into() },
        UserPattern { kind: "empty".into(), regex: r"x*".into() },
    ];
    let (r, problems) = Redactor::new(&pats, &[]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("broken") && problems[1].contains("empty"));
    assert_eq!(r.redact("EMP-123456 TICKET=abc").as_ref(), "[REDACTED:employee-id] TICKET=[REDACTED:ticket]");
}

#[test]
fn allowlist_exempts_exact_strings_and_whole_matches_of_regexes() {
    let allow = vec![GHP.to_string(), "hunter[0-9]".to_string()];
    let (r, _) = Redactor::new(&[], &allow);
    let t = format!("a={GHP} password=hunter2 password=hunter22");
    assert_eq!(r.redact(&t).as_ref(), format!("a={GHP} password=hunter2 password=[REDACTED:password]"));
}

#[test]
fn findings_point_at_the_secret() {
    let t = format!("x {GHP} y");
    let f = r().findings(&t);
    assert_eq!(f, vec![Finding { kind: "github-pat".into(), rule: "github-pat".into(), start: 2, len: GHP.len() }]);
}

#[test]
fn redact_json_walks_values_not_keys() {
    let mut v = serde_json::json!({
        "password": "hunter2x",
        "tool_input": {"command": format!("echo {GHP}")},
        "list": [1, "Authorization: Basic dXNlcjpwYXNz", null],
    });
    r().redact_json(&mut v);
    assert_eq!(v["password"], "hunter2x", "a bare value is not a secret without its name");
    assert_eq!(v["tool_input"]["command"], "echo [REDACTED:github-pat]");
    assert_eq!(v["list"][1], "Authorization: Basic [REDACTED:authorization-header]");
}

#[test]
fn redact_json_survives_deep_nesting() {
    let mut v = serde_json::Value::String(format!("t {GHP}"));
    for _ in 0..100_000 {
        v = serde_json::Value::Array(vec![v]);
    }
    r().redact_json(&mut v);
    // Dismantle iteratively: serde_json's own Drop recurses and would overflow here.
    let mut cur = v;
    loop {
        match cur {
            serde_json::Value::Array(mut a) if a.len() == 1 => cur = a.pop().unwrap(),
            other => {
                assert_eq!(other, serde_json::Value::String("t [REDACTED:github-pat]".into()));
                break;
            }
        }
    }
}

#[test]
fn kubernetes_secret_values_go_keys_stay() {
    let y = "apiVersion: v1\nkind: Secret\ndata:\n  password: czNjcjN0UGFzcw==\n";
    assert_eq!(red(y), "apiVersion: v1\nkind: Secret\ndata:\n  password: [REDACTED:kubernetes-secret]\n");
}

#[test]
fn command_line_flags() {
    assert_eq!(red("mysql -u root -pS3cretPw db"), "mysql -u root -p[REDACTED:password] db");
    assert_eq!(red("sshpass -p 'pa55 word' ssh host"), "sshpass -p '[REDACTED:password]' ssh host");
    assert_eq!(red("curl -u admin:Adm1nPw https://x"), "curl -u admin:[REDACTED:password] https://x");
    assert_eq!(red("app --password Pa55w0rd --port 80"), "app --password [REDACTED:password] --port 80");
}

#[test]
fn redaction_reaches_a_fixed_point() {
    // Found by cargo-fuzz: the first pass removed the `:3P` that made `pW3Pw::3P` look like a
    // code path, so a second pass found `pW3Pw:` as a password.
    let t = "3333\t:pass:pW3Pw::3P";
    let once = red(t);
    assert_eq!(red(&once), once);
}

#[test]
fn chains_that_a_pass_only_shortens_are_stable() {
    // Found by cargo-fuzz: each pass peeled one `Pw::` off the end of this chain.
    let t = "Se SSBSBcPw::sBcPw::rcrcPw::sBcPw::sBcPw:SSBSBcPw::sBcrPw::rcP";
    let once = red(t);
    assert_eq!(red(&once), once);
}

/// Every text of the redaction corpus (`tests/redaction/`), positives and negatives.
pub(super) fn corpus_texts() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/redaction");
    let mut texts = Vec::new();
    for file in ["positives.jsonl", "negatives.jsonl"] {
        for line in std::fs::read_to_string(dir.join(file)).unwrap().lines() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            texts.push(case["text"].as_str().unwrap().to_string());
        }
    }
    texts
}

/// The keyword-anchored rules find, at their keywords, exactly what a search of the whole
/// text finds: over every text of the redaction corpus, as is and with each keyword of the
/// rule spliced in at several places (so every rule runs on every text).
#[test]
fn anchored_scans_find_what_whole_scans_find() {
    let texts = corpus_texts();
    assert!(texts.len() > 500);
    let mut compared = 0;
    for (i, r) in rules::RULES.iter().enumerate() {
        if *rules::KEYWORD_ANCHORED & (1 << i) == 0 {
            continue;
        }
        for text in &texts {
            let mut variants = vec![text.clone()];
            for k in r.keywords {
                let mid = (0..=text.len() / 2).rev().find(|&m| text.is_char_boundary(m)).unwrap();
                variants.push(format!("{k}={text}"));
                variants.push(format!("{}{} {k}: {}", &text[..mid], k.to_uppercase(), &text[mid..]));
            }
            for v in &variants {
                let hits = keywords::keyword_hits(v.as_bytes(), &[]);
                let (mut whole, mut anchored) = (Vec::new(), Vec::new());
                rules::scan(i, v.as_bytes(), None::<std::iter::Empty<usize>>, &mut whole);
                rules::scan(i, v.as_bytes(), hits.starts(i), &mut anchored);
                assert_eq!(whole, anchored, "rule {} on {v:?}", r.id);
                compared += usize::from(!whole.is_empty());
            }
        }
    }
    assert!(compared > 100, "only {compared} texts had matches");
}

/// When the keyword search fails every rule runs, the keyword-anchored ones through the
/// whole text (their keyword starts are unknown then).
#[test]
fn a_failed_keyword_search_runs_every_rule_over_the_whole_text() {
    let hits = keywords::Hits::all();
    let text = b"DB_PASSWORD=Zq8#kL2pW9x and ghp_R8d2kLmQ9vXw3ZpT7yBn4cFh6JsA1eGu5oKi";
    let mut found = Vec::new();
    for i in hits.iter() {
        rules::scan(i, text, hits.starts(i), &mut found);
    }
    let kinds: Vec<&str> = found
        .iter()
        .map(|&(_, _, k, _)| match k {
            KindRef::Builtin(k) => k,
            KindRef::User(_) => "user",
        })
        .collect();
    assert!(kinds.contains(&"password"), "{kinds:?}");
    assert!(kinds.contains(&"github-pat"), "{kinds:?}");
}
