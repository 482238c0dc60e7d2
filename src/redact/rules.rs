//! The built-in rules, as data: id, kind, keywords, matcher, check.
//!
//! A rule's keywords are literals (ASCII case-insensitive) of which every match of its regex
//! contains at least one; that is what lets the keyword prefilter ([`super::keywords`]) skip the rule. The secret
//! part of a match is the named groups `s`, `s2`, `s3`, … (whichever took part), else the whole
//! match; `name` is the matched key name for [`Check::Assignment`]. Regexes are compiled in
//! byte mode without Unicode classes (`\b`, `\s` are ASCII), on first use, once per process.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use regex_automata::meta::Regex as MetaRegex;
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, Match, PatternID};

use super::KindRef;
use super::checks::{self, Check};
use super::{prose, structured};

/// A structure-aware matcher: the text, the rule's keyword starts when known, the spans found.
pub(super) type Scanner = fn(&[u8], Option<&[usize]>, &mut Vec<(usize, usize)>);

pub(super) enum Matcher {
    Regex(&'static str),
    /// Structure-aware matchers that a regex cannot express (a Kubernetes Secret's data block).
    /// Given where the rule's keywords start when the rule is keyword-anchored and they are
    /// known (`None`: search the whole text).
    Func(Scanner),
}

pub(super) struct Rule {
    /// Stable name of the rule (several rules may report one kind); named in test failures.
    #[allow(dead_code)]
    pub id: &'static str,
    pub kind: &'static str,
    /// Read when the keyword automaton is generated ([`super::keywords`]' tests), not at run time.
    #[allow(dead_code)]
    pub keywords: &'static [&'static str],
    pub matcher: Matcher,
    pub check: Check,
    /// One line for the docs' table of kinds.
    pub about: &'static str,
}

use Check::*;
use Matcher::*;

/// Value of `name = value` forms: double quoted (also `\"…\"` inside JSON strings), single
/// quoted, backquoted, or bare up to whitespace or punctuation.
macro_rules! value {
    () => {
        r#"(?:\\?"(?P<s>(?:[^"\\\r\n]|\\[^"\r\n])+)\\?"|'(?P<s2>[^'\r\n]+)'|`(?P<s3>[^`\r\n]+)`|(?P<s4>(?:[^\s"'`,;&<>()\[\]{}\\=]|\\[^nrt"\\])(?:[^\s"'`,;&<>()\[\]{}\\]|\\[^nrt"\\])*))"#
    };
}
/// A secret-sounding name, from one of [`NAME_WORDS`] on (the rules' regexes start at the
/// keyword; `take_match` extends the name backwards).
macro_rules! name {
    () => {
        r#"(?P<name>(?i:pass|pwd|pw|secret|token|key|auth|credential|salt|pepper|hmac|cipher|jwt|cookie|license|licence|dsn|otp|priv|cred|bearer)[A-Za-z0-9_.\-]*)"#
    };
}

/// The words [`name!`] starts with: the keywords of the rules built on it.
const NAME_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "credential",
    "pw",
    "salt",
    "pepper",
    "hmac",
    "cipher",
    "jwt",
    "cookie",
    "license",
    "licence",
    "dsn",
    "otp",
    "priv",
    "cred",
    "bearer",
];

/// Between a key and its value: optional closing quote of the key, then `=`, `:`, `:=` or `=>`.
macro_rules! sep {
    () => {
        r#"(?:\\?["'])?[ \t]*(?::=|=>|=|:)[ \t]*"#
    };
}
/// A command-line flag's value, double quoted, single quoted or bare, in the three named groups.
macro_rules! flag_value {
    ($a:literal, $b:literal, $c:literal) => {
        concat!(r#"(?:"(?P<"#, $a, r#">[^"\r\n]+)"|'(?P<"#, $b, r#">[^'\r\n]+)'|(?P<"#, $c, r#">[^\s"']+))"#)
    };
}
/// A private-key body: base64 lines, PEM/PGP headers, literal `\n` escapes; stops at `-----END`.
macro_rules! key_body {
    () => {
        r#"(?P<s>(?:[^\-"\\]|\\[^"]|-[^\-])*)"#
    };
}

pub(super) static RULES: &[Rule] = &[
    // --- Cloud providers -------------------------------------------------------------------
    Rule {
        id: "aws-access-key-id",
        kind: "aws-access-key-id",
        keywords: &["akia", "asia", "abia", "acca"],
        matcher: Regex(r"\b(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"),
        check: Plain,
        about: "AWS access key id (AKIA…, ASIA…)",
    },
    Rule {
        id: "aws-secret-access-key",
        kind: "aws-secret-access-key",
        keywords: &["aws", "secretaccesskey", "secret_access_key", "secret", "secretkey"],
        matcher: Regex(concat!(
            r"(?i)(?:aws[a-z0-9_.\-]{0,20}(?:secret|sk)[a-z0-9_.\-]{0,20}|secret[_\-.]?(?:access[_\-.]?)?key)",
            sep!(),
            r#"\\?["']?(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#
        )),
        check: Entropy(3.0),
        about: "AWS secret access key (40 characters after an aws…secret name)",
    },
    Rule {
        id: "aws-session-token",
        kind: "aws-session-token",
        keywords: &["session_token", "sessiontoken", "security-token", "security_token", "securitytoken"],
        matcher: Regex(concat!(
            r"(?i)(?:aws_?session_?token|sessiontoken|x-amz-security-token|security_?token)",
            sep!(),
            r#"\\?["']?(?P<s>[A-Za-z0-9/+=%]{100,})"#
        )),
        check: Entropy(3.0),
        about: "AWS session token (STS)",
    },
    Rule {
        id: "google-api-key",
        kind: "google-api-key",
        keywords: &["aiza"],
        matcher: Regex(r"\b(?P<s>AIza[0-9A-Za-z_\-]{35})"),
        check: Plain,
        about: "Google API key (AIza…)",
    },
    Rule {
        id: "google-oauth-client-secret",
        kind: "google-oauth-client-secret",
        keywords: &["gocspx-"],
        matcher: Regex(r"\b(?P<s>GOCSPX-[A-Za-z0-9_\-]{28})"),
        check: Plain,
        about: "Google OAuth client secret (GOCSPX-…)",
    },
    Rule {
        id: "google-oauth-token",
        kind: "google-oauth-token",
        keywords: &["ya29."],
        matcher: Regex(r"\b(?P<s>ya29\.[0-9A-Za-z_\-]{20,})"),
        check: Entropy(3.0),
        about: "Google OAuth access token (ya29.…)",
    },
    Rule {
        id: "gcp-service-account-key-id",
        kind: "gcp-service-account-key-id",
        keywords: &["private_key_id"],
        matcher: Regex(r#"(?i)\\?"private_key_id\\?"\s*:\s*\\?"(?P<s>[a-f0-9]{40})\\?""#),
        check: Plain,
        about: "Google service-account key id (its private_key is a private-key block)",
    },
    Rule {
        id: "azure-storage-key",
        kind: "azure-storage-key",
        keywords: &["accountkey=", "sharedaccesskey="],
        matcher: Regex(r"(?i)(?:AccountKey|SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{30,}={0,2})"),
        check: Entropy(3.0),
        about: "Azure storage / Service Bus connection-string key (AccountKey=, SharedAccessKey=)",
    },
    Rule {
        id: "azure-sas-token",
        kind: "azure-sas-token",
        keywords: &["sig="],
        matcher: Regex(r"(?i)[?&]sig=(?P<s>[A-Za-z0-9%+/=]{30,})"),
        check: Entropy(3.0),
        about: "Azure SAS signature (…&sig=)",
    },
    Rule {
        id: "azure-client-secret",
        kind: "azure-client-secret",
        keywords: &["q~"],
        matcher: Regex(
            r"(?:^|[^A-Za-z0-9_~.\-])(?P<s>[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)",
        ),
        check: Entropy(3.0),
        about: "Azure AD client secret (…8Q~…)",
    },
    Rule {
        id: "digitalocean-token",
        kind: "digitalocean-token",
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        matcher: Regex(r"\b(?P<s>do[por]_v1_[a-f0-9]{64})"),
        check: Plain,
        about: "DigitalOcean token (dop_v1_…)",
    },
    Rule {
        id: "heroku-api-key",
        kind: "heroku-api-key",
        keywords: &["hrku-", "heroku"],
        matcher: Regex(
            r"\b(?P<s>HRKU-[A-Za-z0-9_\-]{60,})|(?i:heroku)[^\n]{0,40}?\b(?P<s2>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b",
        ),
        check: Plain,
        about: "Heroku API key (HRKU-…, or a UUID next to \"heroku\")",
    },
    // --- Source hosting and package registries -----------------------------------------------
    Rule {
        id: "github-pat",
        kind: "github-pat",
        keywords: &["ghp_"],
        matcher: Regex(r"\b(?P<s>ghp_[A-Za-z0-9]{36,})"),
        check: Crc32 { prefix_len: 4 },
        about: "GitHub personal access token (ghp_)",
    },
    Rule {
        id: "github-oauth-token",
        kind: "github-oauth-token",
        keywords: &["gho_"],
        matcher: Regex(r"\b(?P<s>gho_[A-Za-z0-9]{36,})"),
        check: Crc32 { prefix_len: 4 },
        about: "GitHub OAuth token (gho_)",
    },
    Rule {
        id: "github-user-token",
        kind: "github-user-token",
        keywords: &["ghu_"],
        matcher: Regex(r"\b(?P<s>ghu_[A-Za-z0-9]{36,})"),
        check: Crc32 { prefix_len: 4 },
        about: "GitHub user-to-server token (ghu_)",
    },
    Rule {
        id: "github-app-token",
        kind: "github-app-token",
        keywords: &["ghs_"],
        matcher: Regex(r"\b(?P<s>ghs_[A-Za-z0-9]{36,})"),
        check: Crc32 { prefix_len: 4 },
        about: "GitHub app installation token (ghs_)",
    },
    Rule {
        id: "github-refresh-token",
        kind: "github-refresh-token",
        keywords: &["ghr_"],
        matcher: Regex(r"\b(?P<s>ghr_[A-Za-z0-9]{36,})"),
        check: Crc32 { prefix_len: 4 },
        about: "GitHub refresh token (ghr_)",
    },
    Rule {
        id: "github-fine-grained-pat",
        kind: "github-fine-grained-pat",
        keywords: &["github_pat_"],
        matcher: Regex(r"\b(?P<s>github_pat_[A-Za-z0-9_]{50,})"),
        check: Entropy(3.0),
        about: "GitHub fine-grained token (github_pat_)",
    },
    Rule {
        id: "gitlab-token",
        kind: "gitlab-token",
        keywords: &["glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glsoat-", "glimt-", "glagent-", "gloas-"],
        matcher: Regex(
            r"\b(?P<s>(?:glpat|gldt|glrt|glptt|glcbt|glft|glsoat|glimt|glagent|gloas)-[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-.]{2,})?)",
        ),
        check: Entropy(3.0),
        about: "GitLab tokens (glpat-, gldt-, glrt-, glptt-, …)",
    },
    Rule {
        id: "npm-token",
        kind: "npm-token",
        keywords: &["npm_"],
        matcher: Regex(r"\b(?P<s>npm_[A-Za-z0-9]{36})"),
        check: Crc32 { prefix_len: 4 },
        about: "npm access token (npm_)",
    },
    Rule {
        id: "npmrc-auth",
        kind: "npmrc-auth",
        keywords: &["_auth", ":_password"],
        matcher: Regex(
            r#"(?i)(?:(?:^|[\s:"'])_auth(?:Token)?|:_password)(?:[ \t]*=[ \t]*|[ \t]+)"?(?P<s>[^\s"'#;\\]+)"#,
        ),
        check: Plain,
        about: ".npmrc _authToken / _auth / _password",
    },
    Rule {
        id: "pypi-token",
        kind: "pypi-token",
        keywords: &["pypi-ageichlwas5vcmc", "pypi-agendgvzdc5wexbplm9yzw"],
        matcher: Regex(r"\b(?P<s>pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,})"),
        check: Plain,
        about: "PyPI upload token (pypi-AgEI…)",
    },
    Rule {
        id: "dockerhub-token",
        kind: "dockerhub-token",
        keywords: &["dckr_"],
        matcher: Regex(r"\b(?P<s>dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,})"),
        check: Plain,
        about: "Docker Hub token (dckr_pat_)",
    },
    Rule {
        id: "docker-config-auth",
        kind: "docker-config-auth",
        keywords: &["\"auth\"", "\"identitytoken\"", "\"registrytoken\""],
        matcher: Regex(
            r#"(?i)\\?"(?:auth|identitytoken|registrytoken)\\?"\s*:\s*\\?"(?P<s>[A-Za-z0-9+/=_\-.]{8,})\\?""#,
        ),
        check: Plain,
        about: "docker config.json auths (\"auth\", \"identitytoken\")",
    },
    Rule {
        id: "huggingface-token",
        kind: "huggingface-token",
        keywords: &["hf_", "api_org_"],
        matcher: Regex(r"\b(?P<s>(?:hf_|api_org_)[A-Za-z0-9]{34,})"),
        check: Entropy(3.0),
        about: "Hugging Face token (hf_)",
    },
    // --- Chat, mail, payments, SaaS --------------------------------------------------------
    Rule {
        id: "slack-token",
        kind: "slack-token",
        keywords: &["xox", "xapp-"],
        matcher: Regex(r"\b(?P<s>(?:xox[abposre](?:\.[a-z0-9\-]+)?-|xapp-)[A-Za-z0-9\-]{10,})"),
        check: Entropy(3.0),
        about: "Slack tokens (xoxb-, xoxp-, xapp-, …)",
    },
    Rule {
        id: "slack-webhook",
        kind: "slack-webhook",
        keywords: &["hooks.slack.com"],
        matcher: Regex(r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9+/_\-]{20,})"),
        check: Plain,
        about: "Slack incoming webhook URL (the path after the host)",
    },
    Rule {
        id: "discord-webhook",
        kind: "discord-webhook",
        keywords: &["discord"],
        matcher: Regex(r"(?i)discord(?:app)?\.com/api/webhooks/[0-9]+/(?P<s>[A-Za-z0-9_\-]{60,80})"),
        check: Plain,
        about: "Discord webhook URL token",
    },
    Rule {
        id: "discord-bot-token",
        kind: "discord-bot-token",
        keywords: &["discord", "bot"],
        matcher: Regex(
            r"(?i:discord|bot)[^\n]{0,60}?\b(?P<s>[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})",
        ),
        check: Entropy(3.0),
        about: "Discord bot token (near \"discord\"/\"bot\"; elsewhere when its first part is a user id in base64)",
    },
    Rule {
        id: "discord-bot-token-id",
        kind: "discord-bot-token",
        keywords: &["authorization"],
        matcher: Regex(
            r"(?i:authorization)[^\n]{0,60}?\b(?P<s>[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})",
        ),
        check: DiscordId,
        about: "Discord bot token (its first part is a user id in base64)",
    },
    Rule {
        id: "telegram-bot-token",
        kind: "telegram-bot-token",
        keywords: &[":aa"],
        matcher: Regex(r"\b(?P<s>[0-9]{8,10}:AA[A-Za-z0-9_\-]{33,})"),
        check: Plain,
        about: "Telegram bot token (123456789:AA…)",
    },
    Rule {
        id: "twilio-api-key",
        kind: "twilio-api-key",
        // "sk" and a hex digit: plain "sk" is in every "task" and "ask".
        keywords: &[
            "sk0", "sk1", "sk2", "sk3", "sk4", "sk5", "sk6", "sk7", "sk8", "sk9", "ska", "skb", "skc", "skd", "ske",
            "skf",
        ],
        matcher: Regex(r"\b(?P<s>SK[0-9a-fA-F]{32})\b"),
        check: Entropy(3.0),
        about: "Twilio API key SID (SK + 32 hex)",
    },
    Rule {
        id: "twilio-auth-token",
        kind: "twilio-auth-token",
        keywords: &["twilio"],
        matcher: Regex(r"(?i)twilio[^\n]{0,120}?(?-i:\b(?P<s>[a-f0-9]{32})\b)"),
        check: Entropy(3.0),
        about: "Twilio auth token (32 hex after a twilio… name)",
    },
    Rule {
        id: "sendgrid-api-key",
        kind: "sendgrid-api-key",
        keywords: &["sg."],
        matcher: Regex(r"\b(?P<s>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})"),
        check: Plain,
        about: "SendGrid API key (SG.…)",
    },
    Rule {
        id: "mailgun-api-key",
        kind: "mailgun-api-key",
        keywords: &["key-", "mailgun"],
        matcher: Regex(
            r"\b(?P<s>key-[0-9a-zA-Z]{32})\b|(?i:mailgun)[^\n]{0,40}?\b(?P<s2>[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\b",
        ),
        check: Entropy(3.0),
        about: "Mailgun API key (key-…, or …-xxxxxxxx-xxxxxxxx near \"mailgun\")",
    },
    Rule {
        id: "stripe-key",
        kind: "stripe-key",
        keywords: &["sk_live_", "sk_test_", "rk_live_", "rk_test_", "sk_prod_", "rk_prod_"],
        matcher: Regex(r"\b(?P<s>(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{20,})"),
        check: Plain,
        about: "Stripe secret and restricted keys (sk_live_, rk_live_; pk_ keys are public)",
    },
    Rule {
        id: "stripe-webhook-secret",
        kind: "stripe-webhook-secret",
        keywords: &["whsec_"],
        matcher: Regex(r"\b(?P<s>whsec_[A-Za-z0-9+/=]{24,})"),
        check: Plain,
        about: "Stripe webhook signing secret (whsec_)",
    },
    Rule {
        id: "shopify-token",
        kind: "shopify-token",
        keywords: &["shpat_", "shpca_", "shppa_", "shpss_"],
        matcher: Regex(r"\b(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})"),
        check: Plain,
        about: "Shopify tokens (shpat_, shpss_, …)",
    },
    Rule {
        id: "square-token",
        kind: "square-token",
        keywords: &["eaaa", "sq0atp-", "sq0csp-"],
        matcher: Regex(r"\b(?P<s>EAAA[A-Za-z0-9_\-]{60}|sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,43})"),
        check: Entropy(3.0),
        about: "Square access token / OAuth secret",
    },
    Rule {
        id: "datadog-api-key",
        kind: "datadog-api-key",
        keywords: &["datadog", "dd_api", "dd-api", "dd_app", "dd-app", "ddapi", "ddapp"],
        matcher: Regex(concat!(
            r"(?i)(?:datadog|dd)[_\-]?(?:api|app|application)[_\-]?key",
            sep!(),
            r#"\\?["']?(?P<s>[a-f0-9]{32,40})\b"#
        )),
        check: Entropy(3.0),
        about: "Datadog API / application key",
    },
    Rule {
        id: "sentry-dsn",
        kind: "sentry-dsn",
        keywords: &["://"],
        matcher: Regex(r"(?i)\bhttps?://(?P<s>[0-9a-f]{32})(?::(?P<s2>[0-9a-f]{32}))?@[a-z0-9.\-]+(?::[0-9]+)?/[0-9]+"),
        check: Plain,
        about: "Sentry DSN key (https://<key>@…/<project>)",
    },
    Rule {
        id: "sentry-token",
        kind: "sentry-token",
        keywords: &["sntry"],
        matcher: Regex(r"\b(?P<s>sntry[su]_[A-Za-z0-9+/=_]{40,})"),
        check: Plain,
        about: "Sentry auth token (sntrys_, sntryu_)",
    },
    Rule {
        id: "doppler-token",
        kind: "doppler-token",
        keywords: &["dp."],
        matcher: Regex(r"\b(?P<s>dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})"),
        check: Plain,
        about: "Doppler token (dp.pt., dp.st., …)",
    },
    Rule {
        id: "vault-token",
        kind: "vault-token",
        keywords: &["hvs.", "hvb.", "hvr."],
        matcher: Regex(r"\b(?P<s>hv[sbr]\.[A-Za-z0-9_\-]{24,})"),
        check: Entropy(3.0),
        about: "HashiCorp Vault token (hvs., hvb.)",
    },
    Rule {
        id: "openai-api-key",
        kind: "openai-api-key",
        keywords: &["sk-"],
        matcher: Regex(
            r"\b(?P<s>sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})|\b(?P<s2>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,})|\b(?P<s3>sk-[A-Za-z0-9]{48})\b|\b(?P<s4>sk-[a-f0-9]{32})\b",
        ),
        check: Entropy(3.0),
        about: "OpenAI API key (sk-proj-…, sk-…T3BlbkFJ…)",
    },
    Rule {
        id: "openrouter-api-key",
        kind: "openrouter-api-key",
        keywords: &["sk-or-"],
        matcher: Regex(r"\b(?P<s>sk-or-v1-[a-f0-9]{64})"),
        check: Plain,
        about: "OpenRouter API key (sk-or-v1-)",
    },
    Rule {
        id: "anthropic-api-key",
        kind: "anthropic-api-key",
        keywords: &["sk-ant-"],
        matcher: Regex(r"\b(?P<s>sk-ant-(?:api|sid|oat|ort)[0-9]{2}-[A-Za-z0-9_\-]{32,})"),
        check: Entropy(3.0),
        about: "Anthropic API key (sk-ant-api03-)",
    },
    Rule {
        id: "anthropic-admin-key",
        kind: "anthropic-admin-key",
        keywords: &["sk-ant-admin"],
        matcher: Regex(r"\b(?P<s>sk-ant-admin[0-9]{2}-[A-Za-z0-9_\-]{32,})"),
        check: Entropy(3.0),
        about: "Anthropic admin key (sk-ant-admin01-)",
    },
    Rule {
        id: "postman-api-key",
        kind: "postman-api-key",
        keywords: &["pmak-"],
        matcher: Regex(r"\b(?P<s>PMAK-[a-f0-9]{24}-[a-f0-9]{34})"),
        check: Plain,
        about: "Postman API key (PMAK-)",
    },
    Rule {
        id: "grafana-token",
        kind: "grafana-token",
        keywords: &["glsa_", "glc_"],
        matcher: Regex(r"\b(?P<s>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})"),
        check: Entropy(3.0),
        about: "Grafana service-account / cloud token",
    },
    Rule {
        id: "linear-api-key",
        kind: "linear-api-key",
        keywords: &["lin_api_"],
        matcher: Regex(r"\b(?P<s>lin_api_[A-Za-z0-9]{40})"),
        check: Plain,
        about: "Linear API key (lin_api_)",
    },
    Rule {
        id: "databricks-token",
        kind: "databricks-token",
        keywords: &["dapi"],
        matcher: Regex(r"\b(?P<s>dapi[a-f0-9]{32}(?:-[0-9])?)\b"),
        check: Entropy(3.0),
        about: "Databricks token (dapi…)",
    },
    Rule {
        id: "newrelic-key",
        kind: "newrelic-key",
        keywords: &["nrak-", "nraa-", "nrii-", "nrjs-", "nrra-", "nrsp-", "nriq-", "nral"],
        matcher: Regex(r"\b(?P<s>NR(?:AK|AA|II|JS|RA|SP|IQ)-[A-Z0-9]{27})|\b(?P<s2>[a-f0-9]{36}NRAL)\b"),
        check: Plain,
        about: "New Relic keys (NRAK-, NRAA-, NRII-, NRJS-, license keys …NRAL)",
    },
    Rule {
        id: "atlassian-token",
        kind: "atlassian-token",
        keywords: &["atatt3"],
        matcher: Regex(r"\b(?P<s>ATATT3[A-Za-z0-9_\-=]{100,})"),
        check: Plain,
        about: "Atlassian API token (ATATT3…)",
    },
    Rule {
        id: "age-secret-key",
        kind: "age-secret-key",
        keywords: &["age-secret-key-1"],
        matcher: Regex(r"\b(?P<s>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})"),
        check: Plain,
        about: "age encryption secret key",
    },
    // --- Structures: tokens, keys, URLs, headers ---------------------------------------------
    Rule {
        id: "jwt",
        kind: "jwt",
        keywords: &["eyj"],
        matcher: Regex(r"\b(?P<s>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*)"),
        check: Plain,
        about: "JSON Web Token (eyJ….eyJ….sig)",
    },
    Rule {
        id: "openssh-private-key",
        kind: "openssh-private-key",
        keywords: &["begin openssh private key"],
        matcher: Regex(concat!(r"-----BEGIN OPENSSH PRIVATE KEY-----", key_body!())),
        check: KeyBody,
        about: "OpenSSH private key block (body between BEGIN and END)",
    },
    Rule {
        id: "pgp-private-key",
        kind: "pgp-private-key",
        keywords: &["pgp private key block"],
        matcher: Regex(concat!(r"-----BEGIN PGP PRIVATE KEY BLOCK-----", key_body!())),
        check: KeyBody,
        about: "PGP private key block",
    },
    Rule {
        id: "pkcs8-private-key",
        kind: "pkcs8-private-key",
        keywords: &["begin private key", "begin encrypted private key"],
        matcher: Regex(concat!(r"-----BEGIN (?:ENCRYPTED )?PRIVATE KEY-----", key_body!())),
        check: KeyBody,
        about: "PKCS#8 private key (BEGIN PRIVATE KEY / ENCRYPTED PRIVATE KEY)",
    },
    Rule {
        id: "private-key",
        kind: "private-key",
        keywords: &["private key-----"],
        matcher: Regex(concat!(
            r"-----BEGIN (?:RSA|EC|DSA|ECDSA|ED25519|X25519|SSH2 ENCRYPTED) PRIVATE KEY-----",
            key_body!()
        )),
        check: KeyBody,
        about: "PEM private key (RSA, EC, DSA), also inside JSON strings with \\n escapes",
    },
    Rule {
        id: "database-url-password",
        kind: "database-url-password",
        keywords: &[
            "postgres",
            "pgsql",
            "mysql",
            "mariadb",
            "mongodb",
            "redis",
            "amqp",
            "mssql",
            "sqlserver",
            "cockroachdb",
            "clickhouse",
            "nats://",
            "kafka://",
            "couchdb",
            "neo4j",
            "bolt://",
            "memcache",
            "ldap",
            "mqtt",
        ],
        matcher: Regex(
            r#"(?i)\b(?:postgres(?:ql)?|pgsql|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|cockroachdb|clickhouse|nats|kafka|couchdb|neo4j(?:\+s)?|bolt|memcached?|ldaps?|mqtts?)://[^:@/\s"'<>]*:(?P<s>[^/\s"'<>]+)@"#,
        ),
        check: Plain,
        about: "Password in database and broker URLs (postgres, mysql, mongodb+srv, redis, amqp, …)",
    },
    Rule {
        id: "url-password",
        kind: "url-password",
        keywords: &["://"],
        matcher: Regex(r#"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^:@/\s"'<>]*:(?P<s>[^/\s"'<>]+)@[^\s"'<>]"#),
        check: Plain,
        about: "user:password@ in any URL (git remotes, proxies)",
    },
    Rule {
        id: "authorization-header",
        kind: "authorization-header",
        keywords: &["authorization"],
        matcher: Regex(
            r#"(?i)\b(?:proxy-)?authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:[a-z][a-z0-9_.\-]*[ \t]+)?(?P<s>(?:[a-z][a-z0-9_\-]*=(?:"[^"\r\n]*"|[^\s,"'\\]*)|[^\s"'\\,;()]+)(?:[ \t]*,[ \t]*[a-z][a-z0-9_\-]*=(?:"[^"\r\n]*"|[^\s,"'\\]*))*)"#,
        ),
        check: Header,
        about: "Authorization / Proxy-Authorization header value, any scheme (Bearer, Basic, SSWS, Digest, AWS4-HMAC-SHA256, …)",
    },
    Rule {
        id: "cookie-header",
        kind: "cookie",
        keywords: &["cookie", "curl"],
        matcher: Regex(
            r#"(?i)\b(?:set-)?cookie\\?["']?[ \t]*:[ \t]*\\?["']?(?P<s>[^\r\n"'\\=]+=[^\r\n"'\\]*)|(?:^|\s)(?:-b|--cookie)[ \t]+["']?[^\s"'=]+=(?P<s2>[^\s"']+)|(?i:document\.cookie)[ \t]*\+?=[ \t]*["'`][^"'`\r\n=;]+=(?P<s3>[^"'`\r\n;]+)|(?i:cookies?)\\?["']?[ \t]*[=:][ \t]*\{[ \t]*\\?["'][^"'\r\n]+\\?["'][ \t]*:[ \t]*\\?["'](?P<s4>[^"'\\\r\n]+)\\?["']"#,
        ),
        check: Plain,
        about: "Cookie / Set-Cookie header values, curl -b / --cookie, document.cookie, cookies={…}",
    },
    Rule {
        id: "netrc-password",
        kind: "netrc-password",
        keywords: &["machine", "default login"],
        matcher: Regex(
            r"(?i)(?:\bmachine[ \t\r\n]+\S+|\bdefault)(?:[ \t\r\n]+(?:login|account|port)[ \t\r\n]+\S+)*[ \t\r\n]+password[ \t\r\n]+(?P<s>\S+)",
        ),
        check: Plain,
        about: ".netrc password",
    },
    Rule {
        id: "kubernetes-secret",
        kind: "kubernetes-secret",
        keywords: &["secret"],
        matcher: Func(structured::kubernetes_secret),
        check: Plain,
        about: "Values under data:/stringData: of a Kubernetes Secret (YAML or JSON)",
    },
    // --- Command lines ---------------------------------------------------------------------
    Rule {
        id: "mysql-password-flag",
        kind: "password",
        keywords: &["mysql", "mariadb"],
        matcher: Regex(
            r#"(?i)\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlsh|mariadb|mariadb-dump)\b[^\n|;&]*?[ \t](?-i:-p)(?:"(?P<s>[^"\r\n]+)"|'(?P<s2>[^'\r\n]+)'|(?P<s3>[^\s"']+))"#,
        ),
        check: FlagValue,
        about: "mysql -pSECRET",
    },
    Rule {
        id: "sshpass-flag",
        kind: "password",
        keywords: &["sshpass"],
        matcher: Regex(
            r#"(?i)\bsshpass\b[^\n|;&]*?[ \t](?-i:-p)[ \t]*(?:"(?P<s>[^"\r\n]+)"|'(?P<s2>[^'\r\n]+)'|(?P<s3>[^\s"']+))"#,
        ),
        check: FlagValue,
        about: "sshpass -p SECRET",
    },
    Rule {
        id: "curl-user-flag",
        kind: "password",
        keywords: &["curl", "wget"],
        matcher: Regex(
            r#"(?i)\b(?:curl|wget)\b[^\n|;&]*?[ \t](?:-u|--user|--proxy-user|-U)[ \t=]*["']?[^\s:"']*:(?P<s>[^\s"']+)"#,
        ),
        check: FlagValue,
        about: "curl -u user:SECRET",
    },
    Rule {
        id: "password-flag",
        kind: "password",
        keywords: &[
            "-pass",
            "-pwd",
            "-token",
            "-secret",
            "-api-key",
            "-apikey",
            "-api_key",
            "-auth-token",
            "-access-token",
            "-client-secret",
            "-passphrase",
            "-key",
        ],
        matcher: Regex(
            r#"(?i)(?:^|\s)--?(?P<name>[a-z\-_]*(?:password|passwd|pass|pwd|token|secret|key|passphrase))(?:[ \t]+|=)(?:"(?P<s>[^"\r\n]+)"|'(?P<s2>[^'\r\n]+)'|(?P<s3>[^\s"'\-][^\s"']*))"#,
        ),
        check: Assignment,
        about: "--password X, --token X, --api-key X and similar flags",
    },
    Rule {
        id: "cli-password-flag",
        kind: "password",
        keywords: &[
            "ldap",
            "htpasswd",
            "docker login",
            "podman login",
            "nerdctl login",
            "buildah login",
            "skopeo login",
            "oras login",
            "registry login",
            "bcp",
            "keydb-cli",
            "mongo",
            "sqlcmd",
            "smbclient",
            "redis-cli",
            "pass:",
            "--auth",
            " -a ",
        ],
        matcher: Regex(concat!(
            // ldapsearch -w SECRET
            r#"(?:\bldap[a-z]*\b[^\n|;&]*?[ \t]-w[ \t]*"#,
            flag_value!("s", "s2", "s3"),
            // htpasswd -b[c] [FILE] USER SECRET
            r#")|(?:\bhtpasswd\b[^\n|;&]*?[ \t]-[a-zA-Z]*b[a-zA-Z]*(?:[ \t]+-[a-zA-Z]+)*(?:[ \t]+(?:"[^"\r\n]*"|'[^'\r\n]*'|[^\s"'\-][^\s"']*)){1,2}[ \t]+"#,
            flag_value!("s4", "s5", "s6"),
            // docker/podman/helm login -p SECRET, mongo* -p SECRET, sqlcmd -P SECRET, redis-cli -a SECRET
            r#")|(?:\b(?:(?:docker|podman|nerdctl|buildah|skopeo|oras|helm registry) login|mongo(?:sh|dump|restore|export|import|stat|top)?|sqlcmd|bcp|redis-cli|keydb-cli)\b[^\n|;&]*?[ \t](?:-p|-P|-a|--pass)[ \t]+"#,
            flag_value!("s7", "s8", "s9"),
            // smbclient -U user%SECRET
            r#")|(?:\bsmbclient\b[^\n|;&]*?[ \t](?:-U|--user)[ \t=]+["']?[^\s%"']+%(?P<s10>[^\s"']+)"#,
            // openssl -passin pass:SECRET
            r#")|(?:[ \t]-pass(?:in|out)?[ \t]+["']?pass:(?P<s11>[^\s"']+)"#,
            // httpie / xh -a user:SECRET
            r#")|(?:\b(?:https?|xh|xhs|httpie)\b[^\n|;&]*?[ \t](?:-a|--auth)[ \t=]+["']?[^\s:"']*:(?P<s12>[^\s"']+))"#,
        )),
        check: FlagValue,
        about: "Passwords of command-line tools: ldapsearch -w, htpasswd -b, docker login -p, mongo -p, sqlcmd -P, redis-cli -a, smbclient -U u%p, openssl pass:, http -a u:p",
    },
    Rule {
        id: "sql-password",
        kind: "password",
        keywords: &["identified", "password '", "password \""],
        matcher: Regex(
            r#"(?i)\bidentified(?:[ \t]+(?:with|using)[ \t]+[a-z0-9_]+)?[ \t]+by(?:[ \t]+password)?[ \t]+(?:'(?P<s>[^'\r\n]+)'|"(?P<s2>[^"\r\n]+)")|\bpassword (?:'(?P<s3>[^'\r\n]+)'|"(?P<s4>[^"\r\n]+)")"#,
        ),
        check: FlagValue,
        about: "SQL passwords (IDENTIFIED BY '…', WITH PASSWORD '…') and password '…' in prose",
    },
    Rule {
        id: "prose-password",
        kind: "password",
        keywords: prose::PASSWORD_NOUNS,
        matcher: Func(prose::passwords),
        check: Plain,
        about: "Passwords in sentences, in several languages (\"my password is …\", \"Passwort ist …\", \"密码是…\"): only the password goes",
    },
    Rule {
        id: "prose-credential",
        kind: "secret",
        keywords: prose::CREDENTIAL_NOUNS,
        matcher: Func(prose::credentials),
        check: Plain,
        about: "API keys, tokens and secrets in sentences (\"the pinecone api key is …\")",
    },
    // --- Key material and second factors ------------------------------------------------------
    Rule {
        id: "encoded-private-key",
        kind: "private-key",
        keywords: &["ls0tls1crudjt", "eyj", "ewog", "ewoi", "ewoj", "ew0k"],
        matcher: Func(structured::encoded_private_key),
        check: Plain,
        about: "Base64-encoded PEM private keys (LS0tLS1CRUdJTi…) and service-account JSON",
    },
    Rule {
        id: "crypto-private-key",
        kind: "crypto-private-key",
        keywords: &["priv", "secret", "signer", "wallet", "from_key", "fromkey", "mnemonic", "-key"],
        matcher: Regex(
            r"(?i:priv|secret|signer|wallet|from_?key|mnemonic|-key)[^\n]{0,80}?(?-i:(?:\b0x|\b)(?P<s>[0-9a-fA-F]{64})\b)",
        ),
        check: Entropy(3.0),
        about: "Hex private keys of wallets and signers (64 hex digits near a private-key name)",
    },
    Rule {
        id: "totp-uri",
        kind: "totp-secret",
        keywords: &["otpauth"],
        matcher: Regex(r#"(?i)otpauth://[a-z]+/[^\s?"'<>]*\?(?:[^\s"'<>#]*?&)?secret=(?P<s>[A-Za-z2-7]{8,}=*)"#),
        check: Plain,
        about: "TOTP/HOTP secrets in otpauth:// URIs",
    },
    Rule {
        id: "totp-secret",
        kind: "totp-secret",
        keywords: &["totp", "2fa", "mfa", "otp", "oathtool", "authenticator", "two-factor", "2-factor", "2-step"],
        matcher: Regex(
            r"(?i:totp|2fa|mfa|otp|oathtool|authenticator|two-factor|2-factor|2-step)[^\n]{0,60}?(?-i:\b(?P<s>[A-Z2-7]{4}(?:[ \-][A-Z2-7]{4}){3,}(?:[ \-][A-Z2-7]{1,4})?|[A-Z2-7]{16,}=*|[a-z2-7]{4}(?: [a-z2-7]{4}){3,}(?: [a-z2-7]{1,4})?)\b)",
        ),
        check: Base32,
        about: "TOTP secrets in base32 next to a TOTP / 2FA / MFA name (grouped or not)",
    },
    // --- This ecosystem's own keys -----------------------------------------------------------
    Rule {
        id: "convex-deploy-key",
        kind: "convex-deploy-key",
        keywords: &["|ey", "-self-hosted|"],
        matcher: Regex(
            r"\b(?P<s>(?:prod|dev|preview|project)(?::[A-Za-z0-9_\-]+)+\|ey[A-Za-z0-9+/=_\-]{16,}|convex-self-hosted\|[A-Za-z0-9]{40,})",
        ),
        check: Plain,
        about: "Convex deploy and admin keys (prod:name|ey…, convex-self-hosted|…)",
    },
    Rule {
        id: "opensync-api-key",
        kind: "opensync-api-key",
        keywords: &["osk_"],
        matcher: Regex(r"\b(?P<s>osk_[A-Za-z0-9_\-]{20,})"),
        check: Entropy(3.0),
        about: "OpenSync API key (osk_…)",
    },
    // --- More providers -----------------------------------------------------------------------
    Rule {
        id: "ai-api-key",
        kind: "ai-api-key",
        keywords: &["pplx-", "gsk_", "xai-", "r8_", "fw_", "nvapi-", "tgp_v1_", "csk-", "jina_", "lsv2_", "sk_"],
        matcher: Regex(
            r"\b(?P<s>pplx-[A-Za-z0-9]{40,56}|gsk_[A-Za-z0-9]{48,56}|xai-[A-Za-z0-9]{60,90}|r8_[A-Za-z0-9]{30,40}|fw_[A-Za-z0-9]{20,30}|nvapi-[A-Za-z0-9_\-]{60,70}|tgp_v1_[A-Za-z0-9_\-]{40,50}|csk-[a-z0-9]{40,50}|jina_[A-Za-z0-9]{40,70}|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|sk_[a-f0-9]{48})\b",
        ),
        check: Entropy(3.0),
        about: "Other AI providers' API keys (Perplexity, Groq, xAI, Replicate, Fireworks, NVIDIA, Together, Cerebras, Jina, LangSmith, ElevenLabs)",
    },
    Rule {
        id: "mapbox-secret-token",
        kind: "mapbox-secret-token",
        keywords: &["sk.eyj"],
        matcher: Regex(r"\b(?P<s>sk\.eyJ[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{16,})"),
        check: Plain,
        about: "Mapbox secret token (sk.eyJ…)",
    },
    Rule {
        id: "okta-api-token",
        kind: "okta-api-token",
        keywords: &["ssws", "okta"],
        matcher: Regex(r"(?i:ssws|okta)[^\n]{0,80}?(?-i:\b(?P<s>00[A-Za-z0-9_\-]{40})\b)"),
        check: Entropy(3.0),
        about: "Okta API token (00… after SSWS or near \"okta\")",
    },
    Rule {
        id: "cloudflare-api-token",
        kind: "cloudflare-api-token",
        keywords: &[
            "loudflare",
            "cf_api",
            "cf-api",
            "cfapi",
            "cf_token",
            "cf-token",
            "cftoken",
            "cf_auth",
            "cf-auth",
            "cf_access",
            "cf-access",
            "cf_key",
            "cf-key",
        ],
        matcher: Regex(
            r"(?i:cloudflare|cf[_\-]?api|cf[_\-]?token|cf[_\-]auth|cf[_\-]access|cf[_\-]key)[^\n]{0,80}?(?:^|[^A-Za-z0-9_\-])(?P<s>[A-Za-z0-9_\-]{40}|[a-f0-9]{37})(?:[^A-Za-z0-9_\-]|$)",
        ),
        check: Random,
        about: "Cloudflare API token / global API key (near a cloudflare name)",
    },
    Rule {
        id: "notion-token",
        kind: "notion-token",
        keywords: &["secret_", "ntn_"],
        matcher: Regex(r"\b(?P<s>secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})\b"),
        check: Random,
        about: "Notion integration token (secret_…, ntn_…)",
    },
    Rule {
        id: "pulumi-token",
        kind: "pulumi-token",
        keywords: &["pul-"],
        matcher: Regex(r"\b(?P<s>pul-[a-f0-9]{40})\b"),
        check: Plain,
        about: "Pulumi access token (pul-…)",
    },
    Rule {
        id: "supabase-token",
        kind: "supabase-token",
        keywords: &["sbp_", "sb_secret_"],
        matcher: Regex(r"\b(?P<s>sbp_(?:v0_)?[a-f0-9]{40}|sb_secret_[A-Za-z0-9_\-]{20,})"),
        check: Plain,
        about: "Supabase access token and secret key (sbp_…, sb_secret_…)",
    },
    Rule {
        id: "terraform-cloud-token",
        kind: "terraform-cloud-token",
        keywords: &[".atlasv1."],
        matcher: Regex(r"\b(?P<s>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-]{60,90})"),
        check: Plain,
        about: "Terraform Cloud / Enterprise token (….atlasv1.…)",
    },
    Rule {
        id: "fcm-server-key",
        kind: "fcm-server-key",
        keywords: &[":apa91b"],
        matcher: Regex(r"\b(?P<s>AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{100,})"),
        check: Plain,
        about: "Firebase Cloud Messaging server key (AAAA…:APA91b…)",
    },
    Rule {
        id: "google-refresh-token",
        kind: "google-oauth-token",
        keywords: &["1//0"],
        matcher: Regex(r"(?:^|[^A-Za-z0-9/])(?P<s>1//0[A-Za-z0-9_\-]{30,})"),
        check: Entropy(3.0),
        about: "Google OAuth refresh token (1//0…)",
    },
    Rule {
        id: "aws-session-token-prefix",
        kind: "aws-session-token",
        keywords: &["iqojb3jpz2lu", "fwogzxivyxdz", "fqogzxivyxdz"],
        matcher: Regex(r"(?P<s>(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]{80,})"),
        check: Plain,
        about: "AWS session token by its prefix (IQoJb3JpZ2lu…, FwoGZXIvYXdz…)",
    },
    Rule {
        id: "aws-secret-near-key-id",
        kind: "aws-secret-access-key",
        keywords: &["akia", "asia"],
        matcher: Regex(
            r"\b(?:AKIA|ASIA)[A-Z2-7]{16}\b[^\x00]{0,300}?(?:^|[^A-Za-z0-9/+])(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        ),
        check: Random,
        about: "AWS secret access key next to its key id",
    },
    Rule {
        id: "azure-storage-key-named",
        kind: "azure-storage-key",
        keywords: &["azure"],
        matcher: Regex(r"(?i:azure)[^\n]{0,80}?(?:^|[^A-Za-z0-9+/=])(?P<s>[A-Za-z0-9+/]{86}==)"),
        check: Entropy(3.0),
        about: "Azure storage account key (88 base64 characters near an azure name)",
    },
    // --- Name and value given apart ------------------------------------------------------------
    Rule {
        id: "secret-pair",
        kind: "secret",
        keywords: NAME_WORDS,
        matcher: Regex(concat!(
            name!(),
            r#"(?:(?:"#,
            // variable "NAME" { default = "…" } (Terraform).
            r#"\\?["']?[ \t]*\{[ \t]*\r?\n(?:[^\n]*\n){0,3}?[ \t]*default[ \t]*=[ \t]*"#,
            // key="NAME" value="…" (XML attributes), {"name": "NAME", "value": "…"}, YAML
            // `- name: NAME` then `value: …` (also in line-numbered file reads).
            r#"|(?:\\?["'][ \t]*,[ \t]*(?:\r?\n[ \t]*)?|(?:\\?["'])?(?:[ \t]*,)?(?:[ \t]*\r?\n[ \t]*(?:[0-9]{1,6}(?:\t|→|:|\|)[ \t]*)?(?:-[ \t]*)?|[ \t]+))\\?["']?(?i:value)\\?["']?[ \t]*[:=][ \t]*"#,
            r#")"#,
            value!(),
            // ("NAME", "value") in calls and tuples: the value must be quoted there, and the
            // closing bracket or comma after it tells a tuple from a JSON key (`"TOKEN","id":`).
            r#"|\\?["'][ \t]*,[ \t]*(?:\\?"(?P<s5>[^"\\\r\n]+)\\?"|'(?P<s6>[^'\r\n]+)')[ \t]*[,)\]])"#
        )),
        check: Assignment,
        about: "A secret-sounding name and its value given apart: (\"API_KEY\", \"…\"), key=\"TOKEN\" value=\"…\", name:/value: pairs",
    },
    // --- Generic assignments (last: the specific rules above win where both match) ----------
    Rule {
        id: "secret-assignment",
        kind: "secret",
        keywords: NAME_WORDS,
        matcher: Regex(concat!(name!(), sep!(), value!())),
        check: Assignment,
        about: "Secret-sounding names assigned a literal (shell, .env, JSON, YAML, TOML, INI, code): password, passwd, pwd, secret, token, api_key, client_secret, … → kind password or secret",
    },
    Rule {
        id: "xml-secret-element",
        kind: "secret",
        // An element name ends with its secret word or with a neutral suffix, which the
        // keywords below skip: `<password_hash>` is missed, `<db_password>` is not.
        keywords: &["password>", "passwd>", "secret>", "token>", "key>"],
        matcher: Regex(
            r#"(?i)<(?P<name>[a-z0-9_.\-]*(?:password|passwd|secret|token|apikey|api-key|api_key))>(?P<s>[^<\r\n]+)</"#,
        ),
        check: Assignment,
        about: "<password>…</password> and similar XML elements",
    },
];

/// Every kind the built-in rules report, with one line about each: the docs' table.
pub fn kinds() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RULES {
        if out.iter().any(|(k, _)| *k == r.kind) {
            continue;
        }
        out.push((r.kind, r.about));
    }
    out
}

/// Rules whose every match starts where one of their keywords starts (the regex begins with an
/// alternation of exactly those keywords). Some keywords are common words (`token`, `key`,
/// `pass`, `bot`, `curl`), present every few hundred bytes of a transcript, so a whole-text
/// regex search would run on nearly every text; instead the regex is tried anchored at each
/// keyword position the prefilter saw ([`Hits::starts`]), which finds exactly the same matches
/// (`anchored_scans_find_what_whole_scans_find` checks it over the corpus) for a fraction of
/// the work.
const STARTS_AT_KEYWORD: &[&str] = &[
    // Generic: common words.
    "secret-assignment",
    "prose-password",
    "prose-credential",
    "secret-pair",
    "discord-bot-token",
    "discord-bot-token-id",
    "curl-user-flag",
    "mysql-password-flag",
    "sshpass-flag",
    "twilio-auth-token",
    // Token formats whose prefix is the keyword (`\b(?P<s>ghp_…`): a search of the whole
    // text would run a literal scan over all of it for a prefix seen once.
    "aws-access-key-id",
    "google-api-key",
    "google-oauth-client-secret",
    "google-oauth-token",
    "digitalocean-token",
    "heroku-api-key",
    "github-pat",
    "github-oauth-token",
    "github-user-token",
    "github-app-token",
    "github-refresh-token",
    "github-fine-grained-pat",
    "gitlab-token",
    "npm-token",
    "pypi-token",
    "dockerhub-token",
    "huggingface-token",
    "slack-token",
    "twilio-api-key",
    "sendgrid-api-key",
    "mailgun-api-key",
    "stripe-key",
    "stripe-webhook-secret",
    "shopify-token",
    "square-token",
    "sentry-token",
    "doppler-token",
    "vault-token",
    "openai-api-key",
    "openrouter-api-key",
    "anthropic-api-key",
    "anthropic-admin-key",
    "postman-api-key",
    "grafana-token",
    "linear-api-key",
    "databricks-token",
    "atlassian-token",
    "age-secret-key",
    "jwt",
    "sql-password",
    "crypto-private-key",
    "totp-uri",
    "totp-secret",
    "opensync-api-key",
    "ai-api-key",
    "mapbox-secret-token",
    "okta-api-token",
    "notion-token",
    "pulumi-token",
    "supabase-token",
    "aws-session-token-prefix",
    "aws-secret-near-key-id",
    "azure-storage-key-named",
];

/// [`STARTS_AT_KEYWORD`] as a rule set.
pub(super) static KEYWORD_ANCHORED: LazyLock<u128> = LazyLock::new(|| rule_set(STARTS_AT_KEYWORD));

/// The rules with these ids, as a set of rule indices (bit `i` for `RULES[i]`).
pub(super) fn rule_set(ids: &[&str]) -> u128 {
    RULES.iter().enumerate().filter(|(_, r)| ids.contains(&r.id)).fold(0, |a, (i, _)| a | 1 << i)
}

struct Compiled {
    re: MetaRegex,
    secret_groups: Vec<usize>,
    name_group: Option<usize>,
}

static COMPILED: LazyLock<Vec<OnceLock<Option<Compiled>>>> =
    LazyLock::new(|| RULES.iter().map(|_| OnceLock::new()).collect());

fn compiled(i: usize) -> Option<&'static Compiled> {
    COMPILED[i]
        .get_or_init(|| {
            let Regex(pat) = RULES[i].matcher else {
                return None;
            };
            // What `regex::bytes::RegexBuilder::new(pat).unicode(false)` builds; the meta regex
            // underneath it is used directly for its anchored searches.
            let re = MetaRegex::builder()
                .syntax(syntax::Config::new().unicode(false).utf8(false))
                .configure(MetaRegex::config().utf8_empty(false))
                .build(pat)
                .ok()?;
            let idx = |n: &str| re.group_info().to_index(PatternID::ZERO, n);
            let secret_groups = re
                .group_info()
                .pattern_names(PatternID::ZERO)
                .flatten()
                .filter(|n| n.strip_prefix('s').is_some_and(|d| d.bytes().all(|c| c.is_ascii_digit())))
                .filter_map(idx)
                .collect();
            let name_group = idx("name");
            Some(Compiled { re, secret_groups, name_group })
        })
        .as_ref()
}

/// Runs rule `i` over `hay`, appending accepted secret spans with the rule's id. `starts` is
/// where the keyword prefilter saw the rule's keywords start in `hay` (`None` when unknown): a
/// keyword-anchored rule tries its regex only there.
pub(super) fn scan(
    i: usize,
    hay: &[u8],
    starts: Option<impl Iterator<Item = usize>>,
    out: &mut Vec<(usize, usize, KindRef, &'static str)>,
) {
    let rule = &RULES[i];
    if let Func(f) = rule.matcher {
        let mut spans = Vec::new();
        let anchored: Option<Vec<usize>> =
            if *KEYWORD_ANCHORED & (1 << i) != 0 { starts.map(Iterator::collect) } else { None };
        f(hay, anchored.as_deref(), &mut spans);
        for (s, e) in spans {
            if e > s && checks::check(rule.check, rule.kind, &hay[s..e], None, true, &hay[..s], &hay[e..]).is_some() {
                out.push((s, e, KindRef::Builtin(rule.kind), rule.id));
            }
        }
        return;
    }
    let anchored_at = if *KEYWORD_ANCHORED & (1 << i) != 0 { starts } else { None };
    scan_regex(i, hay, anchored_at, out);
}

/// Rule `i`'s regex over `hay`: tried at each of `anchored_at` when given, else searched for
/// through the whole text. Both find the same matches when every match starts at one of those
/// offsets. The regex is compiled only when a start passes the cheap gates (most hooks see the
/// keyword `token` only in names such as `input_tokens`, and compiling costs more than a hook's
/// whole scan).
pub(super) fn scan_regex(
    i: usize,
    hay: &[u8],
    anchored_at: Option<impl Iterator<Item = usize>>,
    out: &mut Vec<(usize, usize, KindRef, &'static str)>,
) {
    let rule = &RULES[i];
    let mut pos = 0;
    if let Some(starts) = anchored_at {
        let gated = matches!(rule.check, Assignment) && matches!(rule.matcher, Regex(p) if p.contains("(?P<name>"));
        let follows = if rule.id == "secret-pair" { Some(pair_may_follow as fn(&[u8], usize) -> bool) } else { None };
        // Verdicts by name: a transcript repeats a few names (`input_tokens`) thousands of times.
        let mut names: HashMap<&[u8], bool> = HashMap::new();
        let mut ready: Option<(&Compiled, Captures)> = None;
        for at in starts {
            if at < pos {
                continue;
            }
            if gated {
                let (name, end) = name_run(hay, at);
                if !*names.entry(name).or_insert_with_key(|n| checks::names_a_secret(n)) {
                    continue;
                }
                if follows.is_some_and(|f| !f(hay, end)) {
                    continue;
                }
            }
            let (c, caps) = match &mut ready {
                Some(r) => (r.0, &mut r.1),
                None => {
                    let Some(c) = compiled(i) else { return };
                    let r = ready.insert((c, c.re.create_captures()));
                    (r.0, &mut r.1)
                }
            };
            c.re.search_captures(&Input::new(hay).range(at..).anchored(Anchored::Yes), caps);
            if let Some(m) = caps.get_match() {
                pos = take_match(rule, c, hay, caps, m, pos, out);
            }
        }
        return;
    }
    let Some(c) = compiled(i) else { return };
    let mut caps = c.re.create_captures();
    while pos <= hay.len() {
        c.re.search_captures(&Input::new(hay).range(pos..), &mut caps);
        let Some(m) = caps.get_match() else { break };
        pos = take_match(rule, c, hay, &caps, m, pos, out);
    }
}

/// Whether what follows a name ending at `end` may be one of `secret-pair`'s shapes, from the
/// first character after the name's closing quote and blanks: a comma (`("NAME", "…")`,
/// `"NAME","value":`), a brace (Terraform's `{ default = … }`), a line break (YAML's `value:`
/// on the next line) or `value` itself (`key="NAME" value="…"`). Runs at every secret-sounding
/// name, so it reads a few bytes, and a short window only for the brace and line-break shapes.
fn pair_may_follow(hay: &[u8], end: usize) -> bool {
    let window = &hay[end..hay.len().min(end + 400)];
    let mut j = 0;
    while j < 3 && matches!(window.get(j), Some(b'\\' | b'"' | b'\'')) {
        j += 1;
    }
    while matches!(window.get(j), Some(b' ' | b'\t')) {
        j += 1;
    }
    if matches!(window.get(j), Some(b'\\' | b'"' | b'\'')) {
        j += usize::from(window.get(j) == Some(&b'\\')) + 1;
    }
    let key_at = |i: usize| {
        let rest = &window[i..];
        match window[i] | 0x20 {
            b'v' => rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"value"),
            b'd' => rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"default"),
            _ => false,
        }
    };
    match window.get(j) {
        Some(b',') => true,
        Some(b'v' | b'V') => key_at(j),
        Some(b'{' | b'\n' | b'\r') => (j..window.len()).any(key_at),
        _ => false,
    }
}

/// The run of name characters around `at`. A keyword-anchored rule with a name group
/// (`secret-assignment`) names exactly this run: its name group starts at the keyword, goes on
/// over name characters, and what follows it (a quote, a blank, `:` or `=`) is none, so the
/// group ends where the run does; [`take_match`] extends it backwards over the same characters.
/// Where the run names no secret every match there is rejected, so the regex is not run: in
/// transcripts the keyword is mostly `input_tokens`, `let key`, `tests pass`.
/// `anchored_scans_find_what_whole_scans_find` checks the two find the same.
fn name_run(hay: &[u8], at: usize) -> (&[u8], usize) {
    let is_name = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    let end = hay[at..].iter().position(|c| !is_name(c)).map_or(hay.len(), |p| at + p);
    let (start, _) = extend_name(hay, at, end);
    (&hay[start..end], end)
}

/// Checks the secret groups of one match and keeps those that pass; returns where the search
/// goes on.
fn take_match(
    rule: &Rule,
    c: &Compiled,
    hay: &[u8],
    caps: &Captures,
    m: Match,
    pos: usize,
    out: &mut Vec<(usize, usize, KindRef, &'static str)>,
) -> usize {
    let group = |g: usize| caps.get_group(g).map(|sp| (sp.start, sp.end));
    let name = c.name_group.and_then(group).map(|(s, e)| extend_name(hay, s, e));
    // `${DB_PASSWORD:?must be set}`, `$API_TOKEN`, `%DB_PASS%`: the name is read there, not
    // given a value; `arn:…:secret:prod/db`: a segment of an id.
    if let Some((ns, ne)) = name
        && (hay[..ns].ends_with(b"$")
            || hay[..ns].ends_with(b"${")
            || hay[..ns].ends_with(b"%")
            || (hay[..ns].ends_with(b":") && hay.get(ne) == Some(&b':')))
    {
        return c.name_group.and_then(group).map_or(m.start() + 1, |(_, e)| e).max(m.start() + 1);
    }
    let mut accepted = false;
    let mut any_group = false;
    for &g in &c.secret_groups {
        let Some((mut s, mut e)) = group(g) else {
            continue;
        };
        any_group = true;
        if matches!(rule.check, KeyBody) {
            (s, e) = trim_key_body(hay, s, e);
        }
        if e <= s {
            continue;
        }
        let quoted = s > 0
            && matches!(hay[s - 1], b'"' | b'\'' | b'`')
            && hay.get(e).is_some_and(|c| matches!(c, b'"' | b'\'' | b'`' | b'\\'));
        let name_bytes = name.map(|(a, b)| &hay[a..b]);
        if let Some(kind) = checks::check(
            rule.check,
            rule.kind,
            &hay[s..e],
            name_bytes,
            quoted,
            &hay[s.saturating_sub(64)..s],
            &hay[e..],
        ) {
            out.push((s, e, KindRef::Builtin(kind), rule.id));
            accepted = true;
        }
    }
    if !any_group
        && !m.is_empty()
        && checks::check(
            rule.check,
            rule.kind,
            &hay[m.start()..m.end()],
            None,
            false,
            &hay[..m.start()],
            &hay[m.end()..],
        )
        .is_some()
    {
        out.push((m.start(), m.end(), KindRef::Builtin(rule.kind), rule.id));
        accepted = true;
    }
    // After a rejection, go on after the matched name when there is one: the regex's
    // optional name prefix would otherwise re-match the same name once per character.
    let name_end = c.name_group.and_then(group).map(|(_, e)| e);
    if accepted { m.end().max(pos + 1) } else { name_end.unwrap_or(m.start() + 1).max(m.start() + 1) }
}

/// The generic regex starts at the secret word (so its literal prefilter works): extend the name
/// backwards over name characters so `classify_name` sees all of `DB_PASSWORD`.
fn extend_name(hay: &[u8], mut s: usize, e: usize) -> (usize, usize) {
    while s > 0 && (hay[s - 1].is_ascii_alphanumeric() || matches!(hay[s - 1], b'_' | b'.' | b'-')) {
        s -= 1;
    }
    (s, e)
}

/// Keeps the line breaks (real or `\n`-escaped) around a key body out of the redaction, so the
/// BEGIN and END lines stay on their own lines.
fn trim_key_body(hay: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    loop {
        if s < e && hay[s].is_ascii_whitespace() {
            s += 1;
        } else if s + 1 < e && hay[s] == b'\\' && matches!(hay[s + 1], b'n' | b'r') {
            s += 2;
        } else {
            break;
        }
    }
    loop {
        if e > s && hay[e - 1].is_ascii_whitespace() {
            e -= 1;
        } else if e >= s + 2 && hay[e - 2] == b'\\' && matches!(hay[e - 1], b'n' | b'r') {
            e -= 2;
        } else {
            break;
        }
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles_and_fits_the_hit_set() {
        assert!(RULES.len() <= 128);
        for (i, r) in RULES.iter().enumerate() {
            if let Regex(_) = r.matcher {
                let c = compiled(i).unwrap_or_else(|| panic!("rule {} does not compile", r.id));
                assert!(!c.secret_groups.is_empty(), "rule {} has no secret group", r.id);
            }
            assert!(!r.keywords.is_empty(), "rule {} has no keywords", r.id);
            for k in r.keywords {
                assert_eq!(*k, k.to_ascii_lowercase(), "keywords are written in lower case");
            }
        }
    }

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }
}
