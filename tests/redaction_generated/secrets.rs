//! Fake secrets, one generator per class: random characters in the real format, with the real
//! checksum where the format has one (GitHub and npm CRC32, age's bech32).

use super::Rng;

/// One generated secret: the value, and names a human or a config would give it.
pub struct Secret {
    pub value: String,
    /// Variable name in code and config (`GITHUB_TOKEN`).
    pub var: &'static str,
    /// What a person calls it in a sentence ("GitHub token").
    pub noun: &'static str,
    /// How the secret may be written: a single-line token, a password, or a multi-line block.
    pub shape: Shape,
}

impl Secret {
    /// The part that must not survive: the whole value, except for URLs that carry a secret
    /// (webhook URLs, DSNs), where it is the secret path segment or user part.
    pub fn core(&self) -> String {
        let v = &self.value;
        if let Some(rest) = v.strip_prefix("https://") {
            if let Some(at) = rest.find('@') {
                return rest[..at].to_string();
            }
            return rest.rsplit('/').next().unwrap_or(rest).to_string();
        }
        v.clone()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    Token,
    Password,
    Block,
}

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const UPPER_NUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

impl Rng {
    pub fn from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| alphabet[self.below(alphabet.len())] as char).collect()
    }
    pub fn b62(&mut self, n: usize) -> String {
        self.from(B62, n)
    }
    pub fn hex(&mut self, n: usize) -> String {
        self.from(HEX, n)
    }
    pub fn b64(&mut self, n: usize) -> String {
        self.from(B64, n)
    }
    pub fn b64url(&mut self, n: usize) -> String {
        self.from(B64URL, n)
    }
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

/// GitHub's and npm's format: 30 random base62 characters and a base62 CRC32 of them.
fn crc_token(r: &mut Rng, prefix: &str) -> String {
    let body = r.b62(30);
    let mut v = crc32(body.as_bytes()) as u64;
    let mut sum = [b'0'; 6];
    for i in (0..6).rev() {
        sum[i] = B62[(v % 62) as usize];
        v /= 62;
    }
    format!("{prefix}{body}{}", std::str::from_utf8(&sum).unwrap())
}

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk = 1u32;
    for &v in values {
        let b = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v as u32;
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// An age secret key: bech32 of 32 random bytes under the HRP `age-secret-key-`, upper case.
fn age_key(r: &mut Rng) -> String {
    let hrp = b"age-secret-key-";
    let data: Vec<u8> = (0..52).map(|_| r.below(32) as u8).collect();
    let mut values: Vec<u8> = hrp.iter().map(|c| c >> 5).collect();
    values.push(0);
    values.extend(hrp.iter().map(|c| c & 31));
    values.extend(&data);
    values.extend([0u8; 6]);
    let m = bech32_polymod(&values) ^ 1;
    let checksum: Vec<u8> = (0..6).map(|i| ((m >> (5 * (5 - i))) & 31) as u8).collect();
    let chars: String = data.iter().chain(&checksum).map(|d| BECH32[*d as usize] as char).collect();
    format!("AGE-SECRET-KEY-1{}", chars.to_uppercase())
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Passwords as people choose them: several shapes, none a dictionary word alone.
pub fn password(r: &mut Rng) -> String {
    const WORDS: &[&str] = &[
        "plover", "quartz", "lantern", "thunder", "raven", "sunset", "cinder", "ember", "otter", "maple", "harbor",
        "falcon", "cobalt", "meadow", "pepper", "violet", "granite", "willow", "saffron", "tundra",
    ];
    let w = |r: &mut Rng| WORDS[r.below(WORDS.len())].to_string();
    let cap = |s: String| s[..1].to_uppercase() + &s[1..];
    match r.below(6) {
        0 => format!(
            "{}{}-{}-{}{}",
            r.from(b"ABCDEFGHJKLMNPQRSTUVWXYZ", 1),
            r.below(10),
            w(r),
            cap(w(r)),
            r.below(90) + 10
        ),
        1 => format!("{}.{}{}{}", cap(w(r)), w(r), r.below(9000) + 1000, ["*", "!", "#", "?"][r.below(4)]),
        2 => {
            let n = 12 + r.below(10);
            r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&*+-.=?@^_", n)
        }
        3 => format!("{}_{}{}{}", cap(w(r)), w(r), r.below(9000) + 1000, ["?", "!", "$", "%"][r.below(4)]),
        4 => {
            let n = 16 + r.below(12);
            r.b62(n)
        }
        _ => format!("{}{}{}{}", cap(w(r)), r.below(100), cap(w(r)), ["!", "@", "#", "&"][r.below(4)]),
    }
}

fn pem(r: &mut Rng, label: &str, lines: usize) -> String {
    let mut body = String::new();
    for i in 0..lines {
        let n = if i + 1 == lines { 20 + r.below(40) } else { 64 };
        body.push_str(&r.b64(n));
        body.push('\n');
    }
    format!("-----BEGIN {label}-----\n{body}-----END {label}-----")
}

/// The body of a PEM or PGP block: what must not survive.
pub fn block_body(block: &str) -> Vec<String> {
    block
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.contains(": ") && l.len() >= 16)
        .map(str::to_string)
        .collect()
}

/// Every class the generator knows, each a closure making one secret.
#[allow(clippy::type_complexity)]
pub fn classes() -> Vec<(&'static str, fn(&mut Rng) -> Secret)> {
    fn t(_class: &'static str, value: String, var: &'static str, noun: &'static str) -> Secret {
        Secret { value, var, noun, shape: Shape::Token }
    }
    vec![
        ("github-pat", |r| t("github-pat", crc_token(r, "ghp_"), "GITHUB_TOKEN", "GitHub token")),
        ("github-oauth", |r| t("github-oauth", crc_token(r, "gho_"), "GH_OAUTH_TOKEN", "GitHub OAuth token")),
        ("github-app", |r| t("github-app", crc_token(r, "ghs_"), "GH_APP_TOKEN", "installation token")),
        ("github-fine-grained", |r| {
            t("github-fine-grained", format!("github_pat_{}_{}", r.b62(22), r.b62(59)), "GH_PAT", "fine-grained token")
        }),
        ("gitlab", |r| t("gitlab", format!("glpat-{}", r.b64url(20)), "GITLAB_TOKEN", "GitLab token")),
        ("npm", |r| t("npm", crc_token(r, "npm_"), "NPM_TOKEN", "npm token")),
        ("slack-bot", |r| {
            let v = format!(
                "xoxb-{}-{}-{}",
                r.below(9e11 as usize) + 10000000000,
                r.below(9e11 as usize) + 1000000000,
                r.b62(24)
            );
            t("slack-bot", v, "SLACK_BOT_TOKEN", "Slack bot token")
        }),
        ("stripe", |r| {
            let n = 24 + r.below(75);
            t("stripe", format!("sk_live_{}", r.b62(n)), "STRIPE_SECRET_KEY", "Stripe secret key")
        }),
        ("stripe-restricted", |r| {
            t("stripe-restricted", format!("rk_live_{}", r.b62(24)), "STRIPE_KEY", "Stripe restricted key")
        }),
        ("stripe-webhook", |r| {
            t("stripe-webhook", format!("whsec_{}", r.b62(32)), "STRIPE_WEBHOOK_SECRET", "webhook signing secret")
        }),
        ("openai", |r| {
            t("openai", format!("sk-proj-{}T3BlbkFJ{}", r.b64url(58), r.b64url(58)), "OPENAI_API_KEY", "OpenAI key")
        }),
        ("anthropic", |r| {
            t(
                "anthropic",
                format!("sk-ant-api03-{}-{}AA", r.b64url(86), r.b64url(6)),
                "ANTHROPIC_API_KEY",
                "Anthropic key",
            )
        }),
        ("openrouter", |r| t("openrouter", format!("sk-or-v1-{}", r.hex(64)), "OPENROUTER_API_KEY", "OpenRouter key")),
        ("huggingface", |r| {
            t(
                "huggingface",
                format!("hf_{}", r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 34)),
                "HF_TOKEN",
                "Hugging Face token",
            )
        }),
        ("aws-key-id", |r| {
            t(
                "aws-key-id",
                format!("AKIA{}", r.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
                "AWS_ACCESS_KEY_ID",
                "AWS access key",
            )
        }),
        ("aws-secret", |r| t("aws-secret", r.b64(40), "AWS_SECRET_ACCESS_KEY", "AWS secret access key")),
        ("aws-session", |r| {
            t("aws-session", format!("IQoJb3JpZ2luX2Vj{}", r.b64(300)), "AWS_SESSION_TOKEN", "AWS session token")
        }),
        ("google-api", |r| t("google-api", format!("AIza{}", r.b64url(35)), "GOOGLE_API_KEY", "Google API key")),
        ("google-oauth-secret", |r| {
            t("google-oauth-secret", format!("GOCSPX-{}", r.b64url(28)), "GOOGLE_CLIENT_SECRET", "OAuth client secret")
        }),
        ("google-oauth-token", |r| {
            t("google-oauth-token", format!("ya29.a0{}", r.b64url(150)), "GOOGLE_ACCESS_TOKEN", "Google access token")
        }),
        ("google-refresh", |r| {
            t("google-refresh", format!("1//0{}", r.b64url(100)), "GOOGLE_REFRESH_TOKEN", "refresh token")
        }),
        ("sendgrid", |r| {
            t("sendgrid", format!("SG.{}.{}", r.b64url(22), r.b64url(43)), "SENDGRID_API_KEY", "SendGrid key")
        }),
        ("twilio-api-key", |r| t("twilio-api-key", format!("SK{}", r.hex(32)), "TWILIO_API_KEY", "Twilio API key")),
        ("twilio-auth", |r| t("twilio-auth", r.hex(32), "TWILIO_AUTH_TOKEN", "Twilio auth token")),
        ("shopify", |r| t("shopify", format!("shpat_{}", r.hex(32)), "SHOPIFY_ACCESS_TOKEN", "Shopify token")),
        ("sentry", |r| t("sentry", format!("sntrys_{}", r.b64(80)), "SENTRY_AUTH_TOKEN", "Sentry auth token")),
        ("doppler", |r| t("doppler", format!("dp.st.{}", r.b62(43)), "DOPPLER_TOKEN", "Doppler token")),
        ("vault", |r| t("vault", format!("hvs.{}", r.b64url(90)), "VAULT_TOKEN", "Vault token")),
        ("linear", |r| t("linear", format!("lin_api_{}", r.b62(40)), "LINEAR_API_KEY", "Linear key")),
        ("databricks", |r| t("databricks", format!("dapi{}", r.hex(32)), "DATABRICKS_TOKEN", "Databricks token")),
        ("newrelic", |r| {
            t("newrelic", format!("NRAK-{}", r.from(UPPER_NUM, 27)), "NEW_RELIC_API_KEY", "New Relic key")
        }),
        ("age", |r| t("age", age_key(r), "AGE_KEY", "age key")),
        ("jwt", |r| {
            let v = format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{}.{}", r.b64url(60), r.b64url(43));
            t("jwt", v, "ID_TOKEN", "JWT")
        }),
        ("digitalocean", |r| {
            t("digitalocean", format!("dop_v1_{}", r.hex(64)), "DIGITALOCEAN_TOKEN", "DigitalOcean token")
        }),
        ("dockerhub", |r| t("dockerhub", format!("dckr_pat_{}", r.b64url(27)), "DOCKERHUB_TOKEN", "Docker Hub token")),
        ("telegram", |r| {
            t(
                "telegram",
                format!("{}:AA{}", r.below(9e9 as usize) + 1e9 as usize, r.b64url(33)),
                "TELEGRAM_BOT_TOKEN",
                "Telegram bot token",
            )
        }),
        ("discord-bot", |r| {
            let id = format!("{}", r.below(9e17 as usize) + 1e17 as usize);
            let first = base64_encode(id.as_bytes()).trim_end_matches('=').to_string();
            t(
                "discord-bot",
                format!("{first}.{}.{}", r.b64url(6), r.b64url(38)),
                "DISCORD_BOT_TOKEN",
                "Discord bot token",
            )
        }),
        ("mapbox", |r| {
            t(
                "mapbox",
                format!("sk.eyJ1Ijoi{}.{}", r.b64url(60), r.b64url(22)),
                "MAPBOX_SECRET_TOKEN",
                "Mapbox secret token",
            )
        }),
        ("okta", |r| t("okta", format!("00{}", r.b64url(40)), "OKTA_API_TOKEN", "Okta API token")),
        ("cloudflare", |r| t("cloudflare", r.b64url(40), "CLOUDFLARE_API_TOKEN", "Cloudflare API token")),
        ("notion", |r| {
            t("notion", format!("ntn_{}{}", r.from(b"0123456789", 11), r.b62(35)), "NOTION_TOKEN", "Notion token")
        }),
        ("pulumi", |r| t("pulumi", format!("pul-{}", r.hex(40)), "PULUMI_ACCESS_TOKEN", "Pulumi token")),
        ("supabase", |r| t("supabase", format!("sbp_{}", r.hex(40)), "SUPABASE_ACCESS_TOKEN", "Supabase access token")),
        ("azure-storage", |r| t("azure-storage", format!("{}==", r.b64(86)), "AZURE_STORAGE_KEY", "Azure storage key")),
        ("azure-client-secret", |r| {
            t(
                "azure-client-secret",
                format!("{}{}Q~{}", r.b62(3), r.below(10), r.b64url(31)),
                "AZURE_CLIENT_SECRET",
                "client secret",
            )
        }),
        ("terraform", |r| {
            t("terraform", format!("{}.atlasv1.{}", r.b62(14), r.b62(67)), "TF_TOKEN", "Terraform Cloud token")
        }),
        ("fcm", |r| {
            t("fcm", format!("AAAA{}:APA91b{}", r.b64url(7), r.b64url(134)), "FCM_SERVER_KEY", "FCM server key")
        }),
        ("datadog", |r| t("datadog", r.hex(32), "DD_API_KEY", "Datadog API key")),
        ("convex", |r| {
            const ANIMALS: &[&str] = &["lynx", "otter", "heron", "marmot", "ibis"];
            let v = format!(
                "prod:{}-{}-{}|eyJ2MiI6I{}",
                ["happy", "fleet", "quiet", "brave"][r.below(4)],
                ANIMALS[r.below(5)],
                r.below(900) + 100,
                r.b64url(48)
            );
            t("convex", v, "CONVEX_DEPLOY_KEY", "Convex deploy key")
        }),
        ("opensync", |r| t("opensync", format!("osk_{}", r.b62(32)), "OPENSYNC_API_KEY", "OpenSync key")),
        ("perplexity", |r| t("perplexity", format!("pplx-{}", r.b62(48)), "PPLX_API_KEY", "Perplexity key")),
        ("groq", |r| t("groq", format!("gsk_{}", r.b62(52)), "GROQ_API_KEY", "Groq key")),
        ("xai", |r| t("xai", format!("xai-{}", r.b62(80)), "XAI_API_KEY", "xAI key")),
        ("totp", |r| t("totp", r.from(B32, 32), "TOTP_SECRET", "TOTP secret")),
        ("wallet", |r| t("wallet", format!("0x{}", r.hex(64)), "PRIVATE_KEY", "wallet private key")),
        ("generic-api-key", |r| t("generic-api-key", r.b62(40), "PINECONE_API_KEY", "Pinecone API key")),
        ("high-entropy", |r| t("high-entropy", r.b64url(48), "SIGNING_SALT", "signing salt")),
        ("github-user", |r| t("github-user", crc_token(r, "ghu_"), "GH_USER_TOKEN", "user-to-server token")),
        ("github-refresh", |r| t("github-refresh", crc_token(r, "ghr_"), "GH_REFRESH_TOKEN", "refresh token")),
        ("anthropic-admin", |r| {
            t(
                "anthropic-admin",
                format!("sk-ant-admin01-{}-{}AA", r.b64url(86), r.b64url(6)),
                "ANTHROPIC_ADMIN_KEY",
                "Anthropic admin key",
            )
        }),
        ("slack-webhook", |r| {
            let v = format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                r.from(UPPER_NUM, 8),
                r.from(UPPER_NUM, 10),
                r.b62(24)
            );
            t("slack-webhook", v, "SLACK_WEBHOOK_URL", "Slack webhook")
        }),
        ("discord-webhook", |r| {
            let v =
                format!("https://discord.com/api/webhooks/{}/{}", r.below(9e17 as usize) + 1e17 as usize, r.b64url(68));
            t("discord-webhook", v, "DISCORD_WEBHOOK_URL", "Discord webhook")
        }),
        ("mailgun", |r| t("mailgun", format!("key-{}", r.hex(32)), "MAILGUN_API_KEY", "Mailgun key")),
        ("square", |r| t("square", format!("EAAA{}", r.b64url(60)), "SQUARE_ACCESS_TOKEN", "Square token")),
        ("postman", |r| t("postman", format!("PMAK-{}-{}", r.hex(24), r.hex(34)), "POSTMAN_API_KEY", "Postman key")),
        ("grafana", |r| t("grafana", format!("glsa_{}_{}", r.b62(32), r.hex(8)), "GRAFANA_TOKEN", "Grafana token")),
        ("atlassian", |r| t("atlassian", format!("ATATT3xFfGF0{}", r.b64url(180)), "JIRA_API_TOKEN", "Jira token")),
        ("pypi", |r| t("pypi", format!("pypi-AgEIcHlwaS5vcmc{}", r.b64url(120)), "PYPI_TOKEN", "PyPI token")),
        ("heroku", |r| t("heroku", format!("HRKU-{}", r.b64url(60)), "HEROKU_API_KEY", "Heroku key")),
        ("sentry-dsn", |r| {
            t(
                "sentry-dsn",
                format!("https://{}@o{}.ingest.sentry.io/{}", r.hex(32), r.below(999999), r.below(9999999)),
                "SENTRY_DSN",
                "Sentry DSN",
            )
        }),
        ("password", |r| Secret {
            value: password(r),
            var: "DB_PASSWORD",
            noun: "database password",
            shape: Shape::Password,
        }),
        ("rsa-key", |r| Secret {
            value: pem(r, "RSA PRIVATE KEY", 12),
            var: "PRIVATE_KEY",
            noun: "private key",
            shape: Shape::Block,
        }),
        ("ec-key", |r| Secret {
            value: pem(r, "EC PRIVATE KEY", 4),
            var: "EC_KEY",
            noun: "EC key",
            shape: Shape::Block,
        }),
        ("pkcs8-key", |r| Secret {
            value: pem(r, "PRIVATE KEY", 16),
            var: "SIGNING_KEY",
            noun: "signing key",
            shape: Shape::Block,
        }),
        ("openssh-key", |r| Secret {
            value: pem(r, "OPENSSH PRIVATE KEY", 7),
            var: "SSH_KEY",
            noun: "deploy key",
            shape: Shape::Block,
        }),
        ("pgp-key", |r| {
            let body = pem(r, "PGP PRIVATE KEY BLOCK", 10);
            let v = body.replacen("-----\n", "-----\nComment: Jörg Müller <jorg@example.org>\n\n", 1);
            Secret { value: v, var: "GPG_PRIVATE_KEY", noun: "PGP key", shape: Shape::Block }
        }),
    ]
}

/// A whole PEM key encoded in base64, as `base64 < id_rsa` prints it.
pub fn base64_pem(r: &mut Rng) -> String {
    base64_encode(pem(r, "EC PRIVATE KEY", 3).as_bytes())
}

/// A Google service-account JSON, compact or pretty, and the same in base64.
pub fn gcp_json(r: &mut Rng, pretty: bool) -> (String, String) {
    let key = pem(r, "PRIVATE KEY", 8).replace('\n', "\\n");
    let id = r.hex(40);
    let json = if pretty {
        format!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-prod-{}\",\n  \"private_key_id\": \"{id}\",\n  \"private_key\": \"{key}\\n\",\n  \"client_email\": \"ci@acme.iam.gserviceaccount.com\"\n}}",
            r.below(999999)
        )
    } else {
        format!(
            "{{\"type\":\"service_account\",\"project_id\":\"acme-{}\",\"private_key_id\":\"{id}\",\"private_key\":\"{key}\\n\",\"client_email\":\"ci@acme.iam.gserviceaccount.com\"}}",
            r.below(999999)
        )
    };
    (json, id)
}

pub fn base64_of(s: &str) -> String {
    base64_encode(s.as_bytes())
}
