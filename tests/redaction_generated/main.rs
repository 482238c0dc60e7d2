//! Recall and false positives of the redaction engine on a corpus generated here, at test time,
//! by class: fake secrets of every class the engine covers (random characters in the real
//! format, real checksums where a format has one), each written into many contexts (prose in
//! several languages, code, config files, command lines, JSON-escaped inside hook payloads,
//! percent-encoded in URLs, YAML, line-numbered file reads), and look-alikes that must come back
//! byte for byte (placeholders, masked values, environment references, cloud resource ids,
//! hashes, UUIDs, ...).
//!
//! Templates are split in two. The rules were written against the *seen* ones; the *held-out*
//! ones (other languages, other file formats, other tools) were written apart from the rules,
//! and their figure is the one that says whether the rules generalise. Each time held-out
//! templates are added (the `r2-` ones are the second round) their first result is recorded in
//! BENCHMARKS.md before any rule changes, since a failure that is then fixed as a class no
//! longer measures generalisation. Both halves must reach recall >= 99 % with false positives
//! <= 1 %.
//!
//! A positive is caught when no 8-character window of any of its secrets survives and a
//! `[REDACTED:…]` marker appears; a negative passes only when the output equals the input.

mod secrets;

use std::collections::BTreeMap;

use claude_code_sync::redact::Redactor;
use secrets::{Secret, Shape};

/// xorshift64*: deterministic, so a failure names a case that can be reproduced.
pub struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// One generated case: the text, and the substrings that must not survive (as they appear in
/// the text: escaped, encoded or indented).
struct Case {
    class: String,
    template: &'static str,
    held_out: bool,
    text: String,
    secrets: Vec<String>,
}

fn json_escape(s: &str) -> String {
    serde_json::to_string(s).unwrap().trim_matches('"').to_string()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A Claude Code hook payload with `text` as the user's prompt.
fn prompt_payload(r: &mut Rng, text: &str) -> String {
    let sid = uuid(r);
    serde_json::json!({
        "session_id": sid,
        "transcript_path": format!("/home/dev/.claude/projects/-home-dev-src-app/{sid}.jsonl"),
        "cwd": "/home/dev/src/app",
        "permission_mode": "default",
        "hook_event_name": "UserPromptSubmit",
        "prompt": text,
    })
    .to_string()
}

/// A PostToolUse payload whose Bash output is `text`.
fn tool_payload(r: &mut Rng, command: &str, text: &str) -> String {
    let sid = uuid(r);
    serde_json::json!({
        "session_id": sid,
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "Show the config"},
        "tool_response": {"stdout": text, "stderr": "", "interrupted": false},
        "tool_use_id": format!("toolu_01{}", r.b62(22)),
    })
    .to_string()
}

/// A transcript line (JSONL) whose tool result is `text`.
fn transcript_line(r: &mut Rng, text: &str) -> String {
    serde_json::json!({
        "parentUuid": uuid(r), "isSidechain": false, "type": "user",
        "message": {"role": "user", "content": [{"tool_use_id": format!("toolu_01{}", r.b62(22)), "type": "tool_result", "content": text, "is_error": false}]},
        "uuid": uuid(r), "timestamp": "2025-06-01T10:00:00.000Z", "sessionId": uuid(r), "version": "2.1.0",
    })
    .to_string()
}

fn uuid(r: &mut Rng) -> String {
    format!("{}-{}-4{}-a{}-{}", r.hex(8), r.hex(4), r.hex(3), r.hex(3), r.hex(12))
}

/// `cat -n`-style numbering, as Claude Code's Read tool returns files.
fn numbered(text: &str) -> String {
    text.lines().enumerate().map(|(i, l)| format!("{:>6}\t{l}\n", i + 1)).collect()
}

fn snake(var: &str) -> String {
    var.to_ascii_lowercase()
}

fn camel(var: &str) -> String {
    let mut out = String::new();
    for (i, p) in var.split('_').enumerate() {
        let p = p.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&p);
        } else {
            out.push_str(&(p[..1].to_uppercase() + &p[1..]));
        }
    }
    out
}

type Template = (&'static str, bool, fn(&mut Rng, &Secret) -> (String, Vec<String>));

/// Contexts for a single-line token or password: (name, held out, writer).
fn line_templates() -> Vec<Template> {
    vec![
        // --- seen ---
        ("dotenv", false, |_, s| (format!("{}={}\n", s.var, s.value), vec![s.core()])),
        ("export", false, |_, s| (format!("export {}=\"{}\"", s.var, s.value), vec![s.core()])),
        ("yaml", false, |_, s| {
            (format!("service:\n  {}: {}\n  region: eu-west-1\n", snake(s.var), s.value), vec![s.core()])
        }),
        ("json-config", false, |_, s| {
            (format!("{{\"{}\": \"{}\", \"timeout\": 30}}", camel(s.var), s.value), vec![s.core()])
        }),
        ("python", false, |_, s| (format!("{} = \"{}\"\nclient = Client()\n", s.var, s.value), vec![s.core()])),
        ("prose-en", false, |r, s| {
            let t = r.pick(&[
                "my {noun} is {v}, can you check it?",
                "here is the {noun}: {v}",
                "the {noun} is {v} - why does every call return 401?",
            ]);
            (t.replace("{noun}", s.noun).replace("{v}", &s.value), vec![s.core()])
        }),
        ("hook-prompt", false, |r, s| {
            let p =
                format!("This is my config, why is the deploy failing?\n\n```\nexport {}={}\n```\n", s.var, s.value);
            (prompt_payload(r, &p), vec![json_escape(&s.core())])
        }),
        // --- held out ---
        ("toml", true, |_, s| (format!("[deploy]\n{} = '{}'\nretries = 3\n", snake(s.var), s.value), vec![s.core()])),
        ("go-setenv", true, |_, s| (format!("\tos.Setenv(\"{}\", \"{}\")\n", s.var, s.value), vec![s.core()])),
        ("xml-appsettings", true, |_, s| (format!("<add key=\"{}\" value=\"{}\" />", s.var, s.value), vec![s.core()])),
        ("k8s-env-read", true, |_, s| {
            let f = format!(
                "env:\n  - name: {}\n    value: \"{}\"\n  - name: LOG_LEVEL\n    value: info\n",
                s.var, s.value
            );
            (numbered(&f), vec![s.core()])
        }),
        ("compose", true, |_, s| {
            (
                format!("services:\n  api:\n    environment:\n      - {}={}\n      - PORT=8080\n", s.var, s.value),
                vec![s.core()],
            )
        }),
        ("hcl", true, |_, s| {
            (
                format!("variable \"{}\" {{\n  default = \"{}\"\n  sensitive = true\n}}", snake(s.var), s.value),
                vec![s.core()],
            )
        }),
        ("js-object", true, |_, s| {
            (format!("const client = new Client({{ {}: '{}', retries: 2 }});", camel(s.var), s.value), vec![s.core()])
        }),
        ("properties", true, |_, s| {
            (format!("app.{}={}\napp.name=billing\n", snake(s.var).replace('_', "."), s.value), vec![s.core()])
        }),
        ("transcript-export", true, |r, s| {
            let out = format!("$ printenv | grep {}\n{}={}\n", &s.var[..3], s.var, s.value);
            (transcript_line(r, &out), vec![json_escape(&s.core())])
        }),
        ("tool-output-json", true, |r, s| {
            let out = format!("{{\n  \"{}\": \"{}\"\n}}", camel(s.var), s.value);
            (tool_payload(r, "cat config.json", &out), vec![json_escape(&json_escape(&s.core()))])
        }),
        ("url-query", true, |_, s| {
            let e = percent_encode(&s.value);
            (
                format!("GET https://api.example.net/v2/items?{}={e}&limit=10", snake(s.var)),
                vec![percent_encode(&s.core())],
            )
        }),
        ("prose-fr", true, |r, s| {
            let t = r.pick(&["voici la clé {noun} : {v}", "le {noun} est {v}, tu peux vérifier ?"]);
            (t.replace("{noun}", s.noun).replace("{v}", &s.value), vec![s.core()])
        }),
        ("prose-de", true, |r, s| {
            let t = r.pick(&["Der {noun} lautet {v} – bitte prüfen.", "hier ist mein {noun}: {v}"]);
            (t.replace("{noun}", s.noun).replace("{v}", &s.value), vec![s.core()])
        }),
        ("prose-es", true, |_, s| (format!("mi {} es {} y no funciona", s.noun, s.value), vec![s.core()])),
        // Second held-out round: written after the fixes the first round prompted, and run once
        // before any further change (their figure is printed apart).
        ("r2-dockerfile", true, |_, s| {
            (format!("FROM node:20\nENV {}={}\nRUN npm ci\n", s.var, s.value), vec![s.core()])
        }),
        ("r2-powershell", true, |_, s| (format!("$env:{} = \"{}\"", s.var, s.value), vec![s.core()])),
        ("r2-systemd", true, |_, s| (format!("[Service]\nEnvironment=\"{}={}\"\n", s.var, s.value), vec![s.core()])),
        ("r2-csharp", true, |_, s| (format!("var {} = \"{}\";", camel(s.var), s.value), vec![s.core()])),
        ("r2-gh-actions", true, |_, s| {
            (
                format!("- uses: acme/deploy@v2\n  with:\n    {}: {}\n", snake(s.var).replace('_', "-"), s.value),
                vec![s.core()],
            )
        }),
        ("r2-curl-json", true, |_, s| {
            (
                format!("curl -X POST https://api.example.net/v1 -d '{{\"{}\": \"{}\"}}'", snake(s.var), s.value),
                vec![s.core()],
            )
        }),
        ("r2-prose-it", true, |_, s| (format!("ecco il mio {}: {} grazie", s.noun, s.value), vec![s.core()])),
        ("r2-prose-nl", true, |_, s| (format!("mijn {} is {}, kun je kijken?", s.noun, s.value), vec![s.core()])),
        ("r2-ruby", true, |_, s| (format!("config.{} = '{}'", snake(s.var), s.value), vec![s.core()])),
    ]
}

/// Contexts only for passwords: prose in many languages, command lines, SQL, .netrc.
fn password_templates() -> Vec<Template> {
    vec![
        // --- seen ---
        ("pw-prose-en", false, |_, s| (format!("my password is {} if the console asks", s.value), vec![s.core()])),
        ("pw-prose-quoted", false, |_, s| {
            (format!("I can't log in with password '{}' anymore", s.value), vec![s.core()])
        }),
        ("pw-mysql", false, |_, s| (format!("mysql -h db.internal -u root -p{} app", s.value), vec![s.core()])),
        ("pw-sshpass", false, |_, s| (format!("sshpass -p '{}' ssh deploy@10.0.0.5", s.value), vec![s.core()])),
        ("pw-curl-u", false, |_, s| {
            (format!("curl -u admin:{} https://ci.example.net/api/json", s.value), vec![s.core()])
        }),
        ("pw-flag", false, |_, s| (format!("./manage.py createsuperuser --password '{}'", s.value), vec![s.core()])),
        ("pw-hook-fence", false, |r, s| {
            let p =
                format!("why does this fail?\n\n```\nhtpasswd -b -c /etc/nginx/.htpasswd admin '{}'\n```\n", s.value);
            (prompt_payload(r, &p), vec![json_escape(&s.core())])
        }),
        // --- held out ---
        ("pw-prose-set", true, |_, s| {
            (format!("set the staging db password to {} and restart the api", s.value), vec![s.core()])
        }),
        ("pw-prose-sudo", true, |r, s| {
            let p = format!("sudo password is {} if you need it", s.value);
            (prompt_payload(r, &p), vec![json_escape(&s.core())])
        }),
        ("pw-prose-fr", true, |_, s| {
            (format!("mon mot de passe est {} si la console le demande", s.value), vec![s.core()])
        }),
        ("pw-prose-de", true, |_, s| {
            (format!("Das Passwort ist {}, bitte nicht weitergeben.", s.value), vec![s.core()])
        }),
        ("pw-prose-es", true, |_, s| (format!("la contraseña es {} para el servidor", s.value), vec![s.core()])),
        ("pw-prose-pt", true, |_, s| (format!("a senha do banco é {} hoje", s.value), vec![s.core()])),
        ("pw-prose-zh", true, |_, s| (format!("数据库密码是{}，请更新", s.value), vec![s.core()])),
        ("pw-prose-ja", true, |_, s| (format!("パスワードは {} です", s.value), vec![s.core()])),
        ("pw-pwd-colon", true, |_, s| (format!("login: admin\npwd: {}\n", s.value), vec![s.core()])),
        ("pw-passphrase", true, |_, s| (format!("the passphrase for the key is {}", s.value), vec![s.core()])),
        ("pw-pgpassword", true, |_, s| (format!("PGPASSWORD='{}' psql -h db -U app", s.value), vec![s.core()])),
        ("pw-password-eq", true, |_, s| {
            (format!("mongosh --username app --password={} --host db", s.value), vec![s.core()])
        }),
        ("pw-docker-login", true, |_, s| {
            (format!("docker login -u ci -p '{}' registry.example.net", s.value), vec![s.core()])
        }),
        ("pw-htpasswd", true, |_, s| {
            (format!("htpasswd -b -c /etc/nginx/.htpasswd admin '{}'", s.value), vec![s.core()])
        }),
        ("pw-ldap", true, |_, s| {
            (
                format!("ldapsearch -x -H ldap://ldap -D 'cn=admin,dc=ex,dc=com' -w '{}' -b 'dc=ex,dc=com'", s.value),
                vec![s.core()],
            )
        }),
        ("pw-redis-cli", true, |_, s| (format!("redis-cli -h cache -a '{}' ping", s.value), vec![s.core()])),
        ("pw-httpie", true, |_, s| {
            (format!("http -a 'jenkins:{}' GET https://ci.example.net/me", s.value), vec![s.core()])
        }),
        ("pw-netrc", true, |_, s| {
            (format!("machine api.example.net\n  login bot\n  password {}\n", s.value), vec![s.core()])
        }),
        ("pw-sql", true, |_, s| {
            (format!("ALTER USER 'root'@'localhost' IDENTIFIED BY '{}';", s.value), vec![s.core()])
        }),
        ("pw-pg-sql", true, |_, s| (format!("CREATE ROLE app LOGIN PASSWORD '{}';", s.value), vec![s.core()])),
        ("pw-db-url", true, |_, s| {
            let e = percent_encode(&s.value);
            (format!("DATABASE_URL=postgres://app:{e}@db.internal:5432/app"), vec![e])
        }),
        ("pw-mongo-url", false, |_, s| {
            let e = percent_encode(&s.value);
            (format!("client = MongoClient(\"mongodb+srv://app:{e}@cluster0.x1y2z.mongodb.net/prod\")"), vec![e])
        }),
        ("pw-git-remote", true, |_, s| {
            let e = percent_encode(&s.value);
            (format!("git clone https://bob:{e}@git.example.net/team/repo.git"), vec![e])
        }),
        ("r2-pw-prose-it", true, |_, s| (format!("la password del database è {} per oggi", s.value), vec![s.core()])),
        ("r2-pw-prose-nl", true, |_, s| (format!("het wachtwoord is {} voor de server", s.value), vec![s.core()])),
        ("r2-pw-prose-ru", true, |_, s| (format!("пароль: {}", s.value), vec![s.core()])),
        ("r2-pw-prose-ko", true, |_, s| (format!("비밀번호는 {} 입니다", s.value), vec![s.core()])),
        ("r2-pw-mycnf", true, |_, s| (format!("[client]\nuser = app\npassword = {}\n", s.value), vec![s.core()])),
        ("r2-pw-prose-login", true, |_, s| {
            (format!("login with admin / {} on the staging box (password)", s.value), vec![s.core()])
        }),
        ("r2-pw-prose-use", true, |_, s| (format!("you can use the password {} for now", s.value), vec![s.core()])),
        ("pw-openssl", true, |_, s| {
            (
                format!("openssl pkcs12 -export -in c.pem -out c.p12 -passout pass:{}", s.value.replace(' ', "")),
                vec![s.value.replace(' ', "")],
            )
        }),
    ]
}

/// Contexts for multi-line key material.
fn block_templates() -> Vec<Template> {
    vec![
        ("block-raw", false, |_, s| (format!("{}\n", s.value), secrets::block_body(&s.value))),
        ("block-hook-json", false, |r, s| {
            let text = tool_payload(r, "cat ~/.ssh/id_deploy", &s.value);
            (text, secrets::block_body(&s.value))
        }),
        ("block-env-escaped", true, |_, s| {
            (format!("{}=\"{}\"", s.var, s.value.replace('\n', "\\n")), secrets::block_body(&s.value))
        }),
        ("block-yaml", true, |_, s| {
            let indented: String = s.value.lines().map(|l| format!("    {l}\n")).collect();
            (format!("tls:\n  {}: |\n{indented}", snake(s.var)), secrets::block_body(&s.value))
        }),
        ("block-read-numbered", true, |_, s| (numbered(&s.value), secrets::block_body(&s.value))),
        ("block-transcript", true, |r, s| (transcript_line(r, &s.value), secrets::block_body(&s.value))),
    ]
}

/// Cases of classes with a structure of their own (headers, cookies, URIs, encoded keys).
fn structured_cases(r: &mut Rng, out: &mut Vec<Case>) {
    let mut push = |class: &str, template: &'static str, held_out: bool, text: String, secrets: Vec<String>| {
        out.push(Case { class: class.to_string(), template, held_out, text, secrets });
    };
    for _ in 0..4 {
        let tok = r.b64url(40);
        push(
            "authorization",
            "curl-bearer",
            false,
            format!("curl -H \"Authorization: Bearer {tok}\" https://api.example.net/v1/me"),
            vec![tok],
        );
        let basic = secrets::base64_of(&format!("ci:{}", secrets::password(r)));
        push("authorization", "basic", false, format!("Authorization: Basic {basic}\r\nAccept: */*"), vec![basic]);
        let ssws = format!("00{}", r.b64url(40));
        push(
            "authorization",
            "ssws",
            true,
            format!("curl -sS -H 'Authorization: SSWS {ssws}' https://acme.okta.com/api/v1/users"),
            vec![ssws],
        );
        let sig = r.hex(64);
        let cred = format!("AKIA{}", r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        push(
            "authorization",
            "aws4",
            true,
            format!(
                "authorization: AWS4-HMAC-SHA256 Credential={cred}/20250101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
            ),
            vec![sig, cred],
        );
        let resp = r.hex(32);
        push(
            "authorization",
            "digest",
            true,
            format!(
                "Authorization: Digest username=\"bob\", realm=\"api\", nonce=\"{}\", uri=\"/x\", response=\"{resp}\"",
                r.hex(16)
            ),
            vec![resp],
        );
        let tok = r.b62(32);
        push("authorization", "token-scheme", true, format!("headers = {{'Authorization': 'Token {tok}'}}"), vec![tok]);
        let tok = r.b62(36);
        push("authorization", "custom-scheme", true, format!("-H \"Authorization: DeepL-Auth-Key {tok}\""), vec![tok]);
        // Cookies.
        let sess = r.b62(32);
        push("cookie", "cookie-header", false, format!("Cookie: sessionid={sess}; theme=dark"), vec![sess]);
        let sess = r.b64url(40);
        push(
            "cookie",
            "set-cookie",
            false,
            format!("Set-Cookie: __Host-session={sess}; Path=/; HttpOnly; Secure"),
            vec![sess],
        );
        let sess = r.b62(26).to_lowercase();
        push(
            "cookie",
            "document-cookie",
            true,
            format!("document.cookie = 'auth_session={sess}; path=/';"),
            vec![sess],
        );
        let sess = r.b62(30);
        push(
            "cookie",
            "requests-cookies",
            true,
            format!("requests.get(url, cookies={{\"sessionid\": \"{sess}\"}})"),
            vec![sess],
        );
        // TOTP.
        let b32 = r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 32);
        push("totp", "otpauth", false, format!("otpauth://totp/Acme:bob@acme.io?secret={b32}&issuer=Acme"), vec![b32]);
        let b32 = r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
        push("totp", "oathtool", true, format!("oathtool --totp -b {b32}"), vec![b32]);
        let g: Vec<String> = (0..8).map(|_| r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 4)).collect();
        push(
            "totp",
            "grouped",
            true,
            format!("Your 2FA secret key: {}", g.join(" ")),
            g.iter().map(|x| x.to_string()).collect::<Vec<_>>().chunks(2).map(|c| c.join(" ")).collect(),
        );
        // Key material in base64 and JSON.
        let b = secrets::base64_pem(r);
        push("base64-pem", "echo-b64", false, format!("echo '{b}' | base64 -d > ~/.ssh/id_deploy"), vec![b]);
        let b = secrets::base64_pem(r);
        push("base64-pem", "env-b64", true, format!("SSH_PRIVATE_KEY_B64={b}\n"), vec![b]);
        let (json, id) = secrets::gcp_json(r, false);
        let body = json.split("\\n").nth(1).unwrap().to_string();
        push("gcp-sa", "json-file", false, json.clone(), vec![id, body]);
        let (json, _) = secrets::gcp_json(r, true);
        let b = secrets::base64_of(&json);
        push("gcp-sa", "b64-env", true, format!("GOOGLE_APPLICATION_CREDENTIALS_JSON={b}"), vec![b]);
        // Wallet keys in code.
        let k = r.hex(64);
        push(
            "wallet",
            "cast",
            true,
            format!("cast send 0x{} 'transfer(address,uint256)' 0x{} 1 --private-key 0x{k}", r.hex(40), r.hex(40)),
            vec![k],
        );
        let k = r.hex(64);
        push("wallet", "from-key", true, format!("account = Account.from_key('0x{k}')"), vec![k]);
        // npmrc and docker config.
        let t = r.b64url(64);
        push("npmrc", "npm-config-set", true, format!("npm config set //npm.example.net/:_authToken {t}"), vec![t]);
        let t = r.b64url(40);
        push(
            "npmrc",
            "npmrc-file",
            false,
            format!("registry=https://npm.example.net/\n//npm.example.net/:_authToken={t}\n"),
            vec![t],
        );
        // Azure SAS, docker config, Kubernetes Secret.
        let sig = percent_encode(&r.b64(43));
        push(
            "azure-sas",
            "blob-url",
            false,
            format!("https://acct.blob.core.windows.net/c/f.csv?sv=2022-11-02&ss=b&sp=r&se=2026-01-01&sig={sig}"),
            vec![sig],
        );
        let auth = secrets::base64_of(&format!("ci:{}", secrets::password(r)));
        push(
            "docker-config",
            "config-json",
            false,
            format!("{{\"auths\": {{\"ghcr.io\": {{\"auth\": \"{auth}\"}}}}}}"),
            vec![auth],
        );
        let (a, b) = (secrets::base64_of(&secrets::password(r)), secrets::base64_of(&r.b62(24)));
        push(
            "kubernetes-secret",
            "manifest",
            false,
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {a}\n  api-token: {b}\n"
            ),
            vec![a, b],
        );
        let sig = percent_encode(&r.b64(43));
        push(
            "azure-sas",
            "connection-string",
            true,
            format!(
                "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&srt=co&sp=rl&sig={sig}"
            ),
            vec![sig],
        );
        let tok = r.b64url(120);
        push(
            "docker-config",
            "identitytoken",
            true,
            format!("{{\"auths\": {{\"acr.azurecr.io\": {{\"identitytoken\": \"{tok}\"}}}}}}"),
            vec![tok],
        );
        let a = secrets::base64_of(&secrets::password(r));
        push(
            "kubernetes-secret",
            "kubectl-json",
            true,
            format!(
                "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"data\": {{\n    \"db-pass\": \"{a}\"\n  }}\n}}"
            ),
            vec![a],
        );
        // Convex self-hosted admin key.
        let k = r.hex(96);
        push(
            "convex",
            "self-hosted",
            true,
            format!("npx convex env list --admin-key 'convex-self-hosted|{k}' --url http://127.0.0.1:3210"),
            vec![k],
        );
        // Twilio auth token given positionally.
        let t = r.hex(32);
        push(
            "twilio-auth",
            "positional",
            true,
            format!("const client = require(\"twilio\")(\"AC{}\", process.env.X || \"{t}\");", r.hex(32)),
            vec![t],
        );
        // AWS pair in a credentials file.
        let id = format!("AKIA{}", r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let sk = r.b64(40);
        push(
            "aws-pair",
            "credentials-file",
            false,
            format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {sk}\n"),
            vec![id, sk],
        );
        let id = format!("AKIA{}", r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let sk = r.b64(40);
        push(
            "aws-pair",
            "boto3",
            true,
            format!("s3 = boto3.client('s3', aws_access_key_id='{id}', aws_secret_access_key='{sk}')"),
            vec![id, sk],
        );
        let id = format!("AKIA{}", r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
        let sk = r.b64(40);
        push(
            "aws-pair",
            "json-creds",
            true,
            format!("{{\"AccessKeyId\": \"{id}\", \"SecretAccessKey\": \"{sk}\"}}"),
            vec![id, sk],
        );
    }
}

/// Look-alikes: (category, held out, writer). Each writer makes a text that must not change.
/// A look-alike writer: (category, held out, writer).
type Negative = (&'static str, bool, fn(&mut Rng) -> String);

fn negatives() -> Vec<Negative> {
    vec![
        ("placeholder", false, |r| {
            r.pick(&[
                "API_KEY=<your-api-key>",
                "token: xxxxxxxxxxxx",
                "password: changeme",
                "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
                "OPENAI_API_KEY=sk-...",
                "api_key = \"YOUR_API_KEY_HERE\"",
            ])
            .to_string()
        }),
        ("masked", false, |r| {
            let tail = r.hex(4);
            r.pick(&[
                "sk-…{t}",
                "Token: ••••••••{t}",
                "password: ********",
                "ghp_************************{t}",
                "Authorization: Bearer ***",
            ])
            .replace("{t}", &tail)
        }),
        ("env-reference", false, |r| {
            r.pick(&[
                "export API_KEY=$API_KEY",
                "token: ${TOKEN}",
                "const key = process.env.STRIPE_SECRET_KEY;",
                "password: ${DB_PASSWORD:?must be set}",
                "api_key = os.environ[\"OPENAI_API_KEY\"]",
                "set PASSWORD=%DB_PASSWORD%",
            ])
            .to_string()
        }),
        ("bearer-placeholder", false, |r| {
            r.pick(&[
                "Authorization: Bearer <token>",
                "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.net",
                "headers[\"Authorization\"] = f\"Bearer {token}\"",
                "Authorization: Bearer YOUR_TOKEN",
            ])
            .to_string()
        }),
        ("uuid", false, |r| format!("{{\"session_id\":\"{}\",\"hook_event_name\":\"Stop\"}}", uuid(r))),
        ("thinking-signature", false, |r| {
            let sig = format!("Ev8K{}", r.b64(600));
            format!("{{\"type\":\"thinking\",\"thinking\":\"The user wants the test fixed.\",\"signature\":\"{sig}\"}}")
        }),
        ("git-hash", false, |r| {
            format!("commit {}\nAuthor: Bob <bob@example.com>\n\n    fix the token counter", r.hex(40))
        }),
        ("token-counts", false, |r| {
            format!(
                "\"usage\":{{\"input_tokens\":{},\"output_tokens\":{},\"cache_read_input_tokens\":{}}}",
                r.below(9000),
                r.below(900),
                r.below(90000)
            )
        }),
        ("prose-about-secrets", false, |r| {
            r.pick(&[
                "The password reset flow sends an email; we should not log the link.",
                "Rotate the API keys every 90 days, as the security policy says.",
                "password must be at least 12 characters long",
                "the password is stored in the vault, not in the repo",
                "the api key is required for every request",
            ])
            .to_string()
        }),
        ("secretish-config", false, |r| {
            r.pick(&[
                "password_min_length: 12",
                "token_ttl: 3600",
                "secret_name: db-credentials",
                "max_tokens: 4096",
                "auth_type: oauth2",
            ])
            .to_string()
        }),
        // --- held out ---
        ("cloud-id", true, |r| {
            let a = r.below(9e11 as usize) + 1e11 as usize;
            match r.below(5) {
                0 => format!("arn:aws:secretsmanager:us-east-1:{a}:secret:prod/db-password-{}", r.b62(6)),
                1 => format!("projects/acme-prod/secrets/api-token/versions/{}", r.below(20)),
                2 => format!(
                    "/subscriptions/{}/resourceGroups/rg-prod/providers/Microsoft.KeyVault/vaults/kv-acme",
                    uuid(r)
                ),
                3 => format!(
                    "aws ec2 describe-instances --instance-ids i-0{} --query 'Reservations[].Instances[].KeyName'",
                    r.hex(16)
                ),
                _ => format!("ocid1.instance.oc1.eu-frankfurt-1.{}", r.b62(60).to_lowercase()),
            }
        }),
        ("hash", true, |r| match r.below(4) {
            0 => format!("\"integrity\": \"sha512-{}==\"", r.b64(86)),
            1 => format!("github.com/stretchr/testify v1.9.0 h1:{}=", r.b64(43)),
            2 => format!("requests==2.32.3 --hash=sha256:{}", r.hex(64)),
            _ => format!("checksum = \"{}\"", r.hex(64)),
        }),
        ("public-key", true, |r| match r.below(3) {
            0 => format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} bob@laptop", r.b64(43)),
            1 => format!("-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----", r.b64(64), r.b64(24)),
            _ => format!("wallet address: 0x{}", r.hex(40)),
        }),
        ("placeholder-2", true, |r| {
            r.pick(&[
                "export STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
                "DB_PASSWORD=<db-password>",
                "\"apiKey\": \"REPLACE_ME\"",
                "Set `ANTHROPIC_API_KEY` to your key (it starts with `sk-ant-`).",
                "client_secret: '{{ vault_client_secret }}'",
            ])
            .to_string()
        }),
        ("code", true, |r| {
            r.pick(&[
                "password = getpass.getpass(\"Password: \")",
                "token = request.headers.get(\"Authorization\", \"\").removeprefix(\"Bearer \")",
                "const { apiKey } = useConfig();",
                "if let Some(token) = self.token.take() {",
                "secret_key = settings.SECRET_KEY",
                "def login(username: str, password: str) -> Session:",
            ])
            .to_string()
        }),
        ("prose-other-languages", true, |r| {
            r.pick(&[
                "Le mot de passe doit contenir au moins 12 caractères.",
                "Das Passwort wird im Tresor gespeichert.",
                "La contraseña se guarda en el gestor de secretos.",
                "密码至少需要十二个字符。",
                "I changed my password yesterday, the login works again.",
            ])
            .to_string()
        }),
        ("ids", true, |r| match r.below(4) {
            0 => format!("\"tool_use_id\":\"toolu_01{}\"", r.b62(22)),
            1 => format!("request id: req_{}", r.b62(24)),
            2 => format!("trace_id={} span_id={}", r.hex(32), r.hex(16)),
            _ => format!("image: ghcr.io/acme/api@sha256:{}", r.hex(64)),
        }),
        ("urls", true, |r| {
            format!("https://github.com/acme/api/pull/{}/files?token_type=diff#r{}", r.below(9999), r.below(999999))
        }),
        ("data-uri", true, |r| format!("<img src=\"data:image/png;base64,iVBORw0KGgo{}\">", r.b64(120))),
        ("r2-env-forwarding", true, |r| {
            r.pick(&[
                "ENV API_KEY=${API_KEY}",
                "Environment=\"DB_PASSWORD=%d/db-password\"",
                "$env:GITHUB_TOKEN = (Get-Secret -Name gh)",
                "with:\n  api-key: ${{ secrets.DEPLOY_API_KEY }}",
                "config.api_key = ENV.fetch('API_KEY')",
            ])
            .to_string()
        }),
        ("r2-prose-numbers", true, |r| {
            r.pick(&[
                "het wachtwoord moet minstens 12 tekens hebben",
                "la password scade tra 90 giorni",
                "пароль должен содержать 12 символов",
                "the api key expires in 30 days, rotate it before 2026-03-01",
                "secret rotation runs every 24h via cron 0 3 * * *",
            ])
            .to_string()
        }),
        ("r2-config-lookalikes", true, |r| {
            let c = r.hex(6);
            match r.below(3) {
                0 => format!("token_color: \"#{c}\""),
                1 => format!("cache_key_prefix: \"v{}-\"", r.below(9)),
                _ => format!("keyboard_layout = \"us\"\nprimary_key = \"id\"\n# build {}", r.hex(12)),
            }
        }),
        ("versions", true, |r| {
            format!(
                "{}@{}.{}.{} requires node >= 18",
                r.pick(&["vite", "next", "react"]),
                r.below(20),
                r.below(20),
                r.below(20)
            )
        }),
    ]
}

fn build_corpus() -> Vec<Case> {
    let mut r = Rng::new(14);
    let mut cases = Vec::new();
    let lines = line_templates();
    let pw = password_templates();
    let blocks = block_templates();
    for (class, make) in secrets::classes() {
        for round in 0..2 {
            let templates: Vec<&Template> = match make(&mut r).shape {
                Shape::Token => lines.iter().collect(),
                Shape::Password => lines.iter().chain(pw.iter()).collect(),
                Shape::Block => blocks.iter().collect(),
            };
            for (name, held_out, write) in templates {
                // Prose needs a noun that names the secret; a bare password class in every
                // template and both rounds, tokens once per round.
                let s = make(&mut r);
                if round == 1 && s.shape == Shape::Token && r.below(2) == 0 {
                    continue;
                }
                let (text, secrets) = write(&mut r, &s);
                cases.push(Case { class: class.to_string(), template: name, held_out: *held_out, text, secrets });
            }
        }
    }
    structured_cases(&mut r, &mut cases);
    cases
}

fn survivor(secret: &str, out: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    let w = chars.len().min(8);
    (0..=chars.len() - w).map(|i| chars[i..i + w].iter().collect::<String>()).find(|win| out.contains(win.as_str()))
}

#[derive(Default)]
struct Tally {
    positives: usize,
    caught: usize,
    negatives: usize,
    changed: usize,
}

impl Tally {
    fn recall(&self) -> f64 {
        self.caught as f64 / self.positives.max(1) as f64
    }
    fn fp(&self) -> f64 {
        self.changed as f64 / self.negatives.max(1) as f64
    }
}

#[test]
fn generated_corpus_recall_and_false_positives() {
    let (redactor, _) = Redactor::new(&[], &[]);
    let cases = build_corpus();
    let mut tallies: BTreeMap<bool, Tally> = BTreeMap::new();
    let mut misses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut kinds_found: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cases {
        for f in redactor.findings(&c.text) {
            *kinds_found.entry(f.kind).or_default() += 1;
        }
        let out = redactor.redact(&c.text);
        let t = tallies.entry(c.held_out).or_default();
        t.positives += 1;
        let leaked: Vec<String> = c.secrets.iter().filter_map(|s| survivor(s, &out)).collect();
        if leaked.is_empty() && out.contains("[REDACTED:") {
            t.caught += 1;
        } else {
            misses
                .entry(format!("{} / {}", c.class, c.template))
                .or_default()
                .push(format!("leaked {leaked:?}\n    in:  {:?}\n    out: {out:?}", c.text));
        }
    }
    let mut r = Rng::new(16);
    let mut changed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let (mut r2_negatives, mut r2_changed) = (0, 0);
    for (category, held_out, write) in negatives() {
        for _ in 0..25 {
            let text = write(&mut r);
            // The same look-alike bare, and inside a hook payload.
            for t in [text.clone(), prompt_payload(&mut r, &text)] {
                let tally = tallies.entry(held_out).or_default();
                tally.negatives += 1;
                r2_negatives += usize::from(category.starts_with("r2-"));
                let out = redactor.redact(&t);
                if out != t {
                    tally.changed += 1;
                    r2_changed += usize::from(category.starts_with("r2-"));
                    changed.entry(category).or_default().push(format!("in:  {t:?}\n    out: {out:?}"));
                }
            }
        }
    }
    let r2: Vec<&Case> = cases.iter().filter(|c| c.template.starts_with("r2-")).collect();
    let r2_missed =
        r2.iter().filter(|c| misses.values().flatten().any(|m| m.contains(&format!("{:?}", c.text)))).count();
    println!(
        "held-out round 2: recall {:.2} % ({}/{}), false positives {:.2} % ({r2_changed}/{r2_negatives})",
        100.0 * (r2.len() - r2_missed) as f64 / r2.len() as f64,
        r2.len() - r2_missed,
        r2.len(),
        100.0 * r2_changed as f64 / r2_negatives.max(1) as f64
    );
    for (held_out, t) in &tallies {
        println!(
            "{}: recall {:.2} % ({}/{}), false positives {:.2} % ({}/{})",
            if *held_out { "held-out templates" } else { "seen templates" },
            t.recall() * 100.0,
            t.caught,
            t.positives,
            t.fp() * 100.0,
            t.changed,
            t.negatives
        );
    }
    for (k, v) in &misses {
        println!("MISS {k} ×{}\n    {}", v.len(), v[0]);
    }
    for (k, v) in &changed {
        println!("CHANGED {k} ×{}\n    {}", v.len(), v[0]);
    }
    let all = Tally {
        positives: tallies.values().map(|t| t.positives).sum(),
        caught: tallies.values().map(|t| t.caught).sum(),
        negatives: tallies.values().map(|t| t.negatives).sum(),
        changed: tallies.values().map(|t| t.changed).sum(),
    };
    println!("all: recall {:.2} %, false positives {:.2} %", all.recall() * 100.0, all.fp() * 100.0);
    assert!(all.positives > 1500 && all.negatives > 800, "corpus too small");
    // Every kind the engine reports is exercised by the corpus.
    for (kind, _) in claude_code_sync::redact::kinds() {
        assert!(kinds_found.get(kind).is_some_and(|n| *n >= 2), "kind {kind} found fewer than twice in the corpus");
    }
    for (held_out, t) in &tallies {
        assert!(t.recall() >= 0.99, "recall {:.4} < 99 % (held out: {held_out})", t.recall());
        assert!(t.fp() <= 0.01, "false positives {:.4} > 1 % (held out: {held_out})", t.fp());
    }
}

/// The corpus is what its doc says: every class in seen and held-out templates, and it is the
/// same on every run.
#[test]
fn corpus_is_deterministic_and_covers_both_halves() {
    let a = build_corpus();
    let b = build_corpus();
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| x.text == y.text));
    let classes: std::collections::BTreeSet<&str> = a.iter().map(|c| c.class.as_str()).collect();
    for class in &classes {
        for half in [false, true] {
            assert!(a.iter().any(|c| c.class == *class && c.held_out == half), "{class} (held out: {half})");
        }
    }
    assert!(
        a.iter().filter(|c| c.held_out).count() * 3 > a.len(),
        "held-out templates are at least a third of the cases"
    );
}
