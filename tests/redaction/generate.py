#!/usr/bin/env python3
"""Generates the redaction corpus: positives.jsonl and negatives.jsonl beside this script.

Every fake secret is built in its real format (prefix, alphabet, length, and the CRC32 checksum
of GitHub and npm tokens) and placed in realistic contexts: shell lines, .env files, JSON tool
output, HTTP request dumps, log lines, source code, git remote URLs, prose prompts, URL-encoded
and JSON-escaped text, the very start and end of a text. Negatives are what a careless engine
would hit: git SHAs, UUIDs, digests, integrity strings, data URIs, public keys, placeholders,
code and prose about passwords.

Deterministic (fixed seed): re-running it rewrites the same files. Run:
    python3 tests/redaction/generate.py
Each positive: {"id", "kind", "context", "text", "secrets": [...]}; a case is recalled when no
8-character window of any secret survives redaction. Each negative: {"id", "what", "text"}; it is
a false positive when the output differs from the input.
"""

import base64
import json
import os
import random
import string
import urllib.parse
import uuid
import zlib

R = random.Random(20261129)
HERE = os.path.dirname(os.path.abspath(__file__))

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
DIGITS = string.digits
B62 = DIGITS + UPPER + LOWER
B64 = UPPER + LOWER + DIGITS + "+/"
B64URL = UPPER + LOWER + DIGITS + "-_"
HEX = "0123456789abcdef"


def rs(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def b62_encode(v, width=6):
    out = []
    for _ in range(width):
        out.append(B62[v % 62])
        v //= 62
    return "".join(reversed(out))


def checksummed(prefix):
    """GitHub / npm token: 30 random base62 chars + base62(CRC32 of them), 6 chars."""
    body = rs(B62, 30)
    return prefix + body + b62_encode(zlib.crc32(body.encode()))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt():
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": str(R.randint(10**6, 10**7)), "name": "dev", "iat": 1764400000 + R.randint(0, 10**6)}).encode())
    return f"{header}.{payload}.{rs(B64URL, 43)}"


def password():
    """A human-ish password without characters that end a bare shell/.env value."""
    words = ["Tr0ub4dor", "c0rrect", "H0rse", "Batt3ry", "St4ple", "Qu1ck", "Br0wn", "F0x", "Zebr4", "M4ngo"]
    return R.choice(words) + R.choice("!@#%^*_+-.") + rs(B62, R.randint(5, 10))


def pem_lines(n=6, width=64):
    return [rs(B64, width) for _ in range(n)] + [rs(B64, 20) + "=="]


def key_block(header, footer):
    lines = pem_lines()
    return f"-----BEGIN {header}-----\n" + "\n".join(lines) + f"\n-----END {footer}-----", lines


# --- Secret makers: kind -> () -> (secret string, secrets that must disappear) ------------------

def simple(f):
    def make():
        s = f()
        return s, [s]
    return make


TOKEN_KINDS = {
    "aws-access-key-id": simple(lambda: R.choice(["AKIA", "ASIA"]) + rs(UPPER + "234567", 16)),
    "google-api-key": simple(lambda: "AIza" + rs(B62 + "-_", 35)),
    "google-oauth-client-secret": simple(lambda: "GOCSPX-" + rs(B62 + "-_", 28)),
    "google-oauth-token": simple(lambda: "ya29." + rs(B62 + "-_", 120)),
    "azure-client-secret": simple(lambda: rs(B62, 3) + R.choice(DIGITS) + "Q~" + rs(B62 + "_~.-", 34)),
    "digitalocean-token": simple(lambda: R.choice(["dop", "doo", "dor"]) + "_v1_" + rs(HEX, 64)),
    "heroku-api-key": simple(lambda: "HRKU-" + rs(B62 + "_-", 60)),
    "github-pat": simple(lambda: checksummed("ghp_")),
    "github-oauth-token": simple(lambda: checksummed("gho_")),
    "github-user-token": simple(lambda: checksummed("ghu_")),
    "github-app-token": simple(lambda: checksummed("ghs_")),
    "github-refresh-token": simple(lambda: checksummed("ghr_")),
    "github-fine-grained-pat": simple(lambda: "github_pat_" + rs(B62, 22) + "_" + rs(B62, 59)),
    "gitlab-token": simple(lambda: R.choice(["glpat-", "gldt-", "glrt-", "glptt-"]) + rs(B62 + "_-", 20)),
    "npm-token": simple(lambda: checksummed("npm_")),
    "pypi-token": simple(lambda: "pypi-AgEIcHlwaS5vcmc" + rs(B64URL, 140)),
    "dockerhub-token": simple(lambda: "dckr_pat_" + rs(B62 + "_-", 27)),
    "huggingface-token": simple(lambda: "hf_" + rs(B62, 34)),
    "slack-token": simple(lambda: R.choice(["xoxb-", "xoxp-"]) + rs(DIGITS, 12) + "-" + rs(DIGITS, 13) + "-" + rs(B62, 24)),
    "telegram-bot-token": simple(lambda: rs("123456789", 1) + rs(DIGITS, 9) + ":AA" + rs(B62 + "-_", 33)),
    "twilio-api-key": simple(lambda: "SK" + rs(HEX, 32)),
    "sendgrid-api-key": simple(lambda: "SG." + rs(B62 + "-_", 22) + "." + rs(B62 + "-_", 43)),
    "mailgun-api-key": simple(lambda: "key-" + rs(HEX, 32)),
    "stripe-key": simple(lambda: R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rs(B62, 99)),
    "stripe-webhook-secret": simple(lambda: "whsec_" + rs(B62, 32)),
    "shopify-token": simple(lambda: R.choice(["shpat_", "shpss_", "shpca_"]) + rs(HEX, 32)),
    "square-token": simple(lambda: R.choice(["EAAA" + rs(B62 + "-_", 60), "sq0csp-" + rs(B62 + "-_", 43)])),
    "sentry-token": simple(lambda: "sntrys_" + rs(B62, 90)),
    "doppler-token": simple(lambda: "dp.pt." + rs(B62, 43)),
    "vault-token": simple(lambda: "hvs." + rs(B62 + "_-", 90)),
    "openai-api-key": simple(lambda: "sk-proj-" + rs(B62 + "-_", 74) + "T3BlbkFJ" + rs(B62 + "-_", 74)),
    "openrouter-api-key": simple(lambda: "sk-or-v1-" + rs(HEX, 64)),
    "anthropic-api-key": simple(lambda: "sk-ant-api03-" + rs(B62 + "-_", 93) + "AA"),
    "anthropic-admin-key": simple(lambda: "sk-ant-admin01-" + rs(B62 + "-_", 93) + "AA"),
    "postman-api-key": simple(lambda: "PMAK-" + rs(HEX, 24) + "-" + rs(HEX, 34)),
    "grafana-token": simple(lambda: "glsa_" + rs(B62, 32) + "_" + rs(HEX, 8)),
    "linear-api-key": simple(lambda: "lin_api_" + rs(B62, 40)),
    "databricks-token": simple(lambda: "dapi" + rs(HEX, 32)),
    "newrelic-key": simple(lambda: "NRAK-" + rs(UPPER + DIGITS, 27)),
    "atlassian-token": simple(lambda: "ATATT3xFfGF0" + rs(B62 + "-_", 180)),
    "age-secret-key": simple(lambda: "AGE-SECRET-KEY-1" + rs("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
    "jwt": simple(jwt),
}

# Contexts for self-identifying tokens. {s} is the secret; {q} its URL-encoded form.
TOKEN_CONTEXTS = [
    ("shell", "export SERVICE_CREDENTIAL={s}\nnpm run deploy"),
    ("env-file", "NODE_ENV=production\nPORT=8080\nINTEGRATION_VALUE={s}\nLOG_LEVEL=info\n"),
    ("json-tool-output", '{{"stdout": "config loaded: {{\\"client\\": \\"{s}\\"}}", "stderr": "", "interrupted": false}}'),
    ("http-dump", "POST /v1/sync HTTP/1.1\r\nHost: api.internal.net\r\nX-Client: cli/1.2\r\nX-Credential: {s}\r\nContent-Length: 2\r\n\r\n{{}}"),
    ("log-line", "2026-11-29T10:14:03.221Z INFO  worker[3] initialised client with {s} (scope=read)"),
    ("source-code", 'const client = new ApiClient({{ region: "eu-west-1", credential: "{s}" }});'),
    ("python-code", 'client = Client(\n    "{s}",\n    timeout=30,\n)'),
    ("prose-prompt", "Here is the key I generated this morning: {s} — can you wire it into the deploy script?"),
    ("url-encoded", "GET /callback?state=af31&cred={q}&next=%2Fhome HTTP/1.1"),
    ("json-escaped", '"{{\\"settings\\": {{\\"remote\\": true, \\"credential\\": \\"{s}\\"}}}}"'),
    ("start-of-text", "{s} is what the CI job printed before failing."),
    ("end-of-text", "The CI job printed the value {s}"),
    ("yaml", "services:\n  api:\n    environment:\n      - CREDENTIAL={s}\n"),
    ("markdown", "Use `{s}` when the dashboard asks for it."),
]

CONTEXT_EXTRA = {
    # git remote URLs carry tokens as user or password.
    "github-pat": [("git-remote", "git remote set-url origin https://{s}@github.com/acme/api.git")],
    "github-app-token": [("git-remote", "git clone https://x-access-token:{s}@github.com/acme/infra.git")],
    "gitlab-token": [("git-remote", "git clone https://oauth2:{s}@gitlab.com/acme/app.git")],
    "jwt": [("http-dump", "GET /me HTTP/1.1\r\nHost: api.acme.dev\r\nAuthorization: Bearer {s}\r\n\r\n")],
}


def named_kinds():
    """Kinds recognised by their name or structure, each with its own contexts."""
    out = []

    def add(kind, context, text, secrets):
        out.append((kind, context, text, secrets))

    for i in range(6):
        s = rs(B64.replace("+", ""), 40)
        ctx = [
            ("aws-credentials", f"[default]\naws_access_key_id = AKIA{rs(UPPER + '234567', 16)}\naws_secret_access_key = {s}\nregion = eu-west-1\n"),
            ("shell", f"export AWS_SECRET_ACCESS_KEY={s}"),
            ("json-tool-output", f'{{"Credentials": {{"AccessKeyId": "ASIA{rs(UPPER + "234567", 16)}", "SecretAccessKey": "{s}"}}}}'),
            ("env-file", f"AWS_REGION=us-east-1\nAWS_SECRET_ACCESS_KEY=\"{s}\"\n"),
            ("terraform", f'provider "aws" {{\n  aws_secret_key = "{s}"\n}}'),
            ("json-escaped", json.dumps(json.dumps({"aws_secret_access_key": s}))),
        ][i]
        add("aws-secret-access-key", ctx[0], ctx[1], [s])
        # aws-credentials also leaks the access key id; count only the secret key here.
    for i in range(4):
        s = rs(B64, 356)
        ctx = [
            ("aws-credentials", f"[tmp]\naws_session_token = {s}\n"),
            ("json-tool-output", f'{{"Credentials": {{"SessionToken": "{s}", "Expiration": "2026-11-29T12:00:00Z"}}}}'),
            ("http-dump", f"GET /bucket/key HTTP/1.1\r\nHost: s3.amazonaws.com\r\nX-Amz-Security-Token: {s}\r\n\r\n"),
            ("shell", f"export AWS_SESSION_TOKEN='{s}'"),
        ][i]
        add("aws-session-token", ctx[0], ctx[1], [s])
    for i in range(3):
        s = rs(HEX, 40)
        t = json.dumps({"type": "service_account", "project_id": "acme-prod", "private_key_id": s, "client_email": "ci@acme-prod.iam.gserviceaccount.com"}, indent=2)
        add("gcp-service-account-key-id", ["json-file", "json-compact", "json-escaped"][i], [t, json.dumps(json.loads(t)), json.dumps(t)][i], [s])
    # Google service-account private key inside JSON (with \n escapes).
    for i in range(4):
        block, lines = key_block("PRIVATE KEY", "PRIVATE KEY")
        doc = {"type": "service_account", "private_key_id": rs(HEX, 40), "private_key": block + "\n", "client_email": "svc@acme.iam.gserviceaccount.com"}
        text = [json.dumps(doc, indent=2), json.dumps(doc), json.dumps(json.dumps(doc)), "cat key.json\n" + json.dumps(doc)][i]
        add("pkcs8-private-key", "service-account-json", text, lines + [doc["private_key_id"]])
    for i in range(5):
        s = rs(B64, 86) + "=="
        acct = rs(LOWER, 10)
        ctx = [
            ("connection-string", f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={s};EndpointSuffix=core.windows.net"),
            ("env-file", f"AZURE_STORAGE_CONNECTION_STRING=\"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={s}\"\n"),
            ("json-tool-output", json.dumps({"connectionString": f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={s};EndpointSuffix=core.windows.net"})),
            ("service-bus", f"Endpoint=sb://{acct}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={s[:44]}"),
            ("log-line", f"2026-11-29 10:00:01 DEBUG using AccountName={acct};AccountKey={s}"),
        ][i]
        add("azure-storage-key", ctx[0], ctx[1], [s if i != 3 else s[:44]])
    for i in range(4):
        raw = rs(B64, 43) + "="
        q = urllib.parse.quote(raw, safe="")
        acct = rs(LOWER, 10)
        url = f"https://{acct}.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-01T00:00:00Z&sig={q}"
        ctx = [("url", url), ("shell", f"azcopy copy '{url}' ./db.bak"), ("json-tool-output", json.dumps({"sasUrl": url})), ("log-line", f"downloading {url} (attempt 2)")][i]
        add("azure-sas-token", ctx[0], ctx[1], [q])
    for i in range(3):
        u = str(uuid.UUID(int=R.getrandbits(128)))
        ctx = [("env-file", f"HEROKU_API_KEY={u}\n"), ("netrc-like", f"heroku login token {u}"), ("shell", f"export HEROKU_API_KEY='{u}'")][i]
        add("heroku-api-key", ctx[0], ctx[1], [u])
    for i in range(5):
        tok = [rs(B62, 36), rs(B62, 40), base64.b64encode(f"ci-bot:{password()}".encode()).decode(), base64.b64encode(password().encode()).decode(), rs(B62, 36)][i]
        ctx = [
            ("npmrc", f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={tok}\n"),
            ("npmrc", f"//npm.pkg.github.com/:_authToken={tok}\nalways-auth=true\n"),
            ("npmrc", f"_auth={tok}\nemail=ci@acme.dev\n"),
            ("npmrc", f"//nexus.acme.dev/repository/npm/:_password={tok}\n"),
            ("shell", f"echo '//registry.npmjs.org/:_authToken={tok}' > ~/.npmrc"),
        ][i]
        add("npmrc-auth", ctx[0], ctx[1], [tok])
    for i in range(4):
        s = base64.b64encode(f"deploy:{password()}".encode()).decode()
        doc = {"auths": {"https://index.docker.io/v1/": {"auth": s}, "ghcr.io": {"auth": base64.b64encode(b"x:" + rs(B62, 20).encode()).decode()}}}
        secrets = [s, doc["auths"]["ghcr.io"]["auth"]]
        text = [json.dumps(doc, indent=2), json.dumps(doc), "cat ~/.docker/config.json\n" + json.dumps(doc, indent=4), json.dumps(json.dumps(doc))][i]
        add("docker-config-auth", "docker-config", text, secrets)
    for i in range(4):
        s = "M" + rs(B62, 23) + "." + rs(B62 + "-_", 6) + "." + rs(B62 + "-_", 27)
        ctx = [("python-code", f'bot.run("{s}")  # discord bot'), ("env-file", f"DISCORD_BOT_TOKEN={s}\n"), ("http-dump", f"GET /api/v10/users/@me HTTP/1.1\r\nAuthorization: Bot {s}\r\n\r\n"), ("prose-prompt", f"my discord bot token is {s}, why does login fail?")][i]
        add("discord-bot-token", ctx[0], ctx[1], [s])
    for i in range(4):
        s = rs(B62 + "-_", 68)
        url = f"https://discord.com/api/webhooks/{rs(DIGITS, 18)}/{s}"
        ctx = [("url", url), ("shell", f"curl -X POST -H 'Content-Type: application/json' -d '{{\"content\":\"hi\"}}' {url}"), ("env-file", f"DISCORD_WEBHOOK={url}\n"), ("json-tool-output", json.dumps({"webhook": url}))][i]
        add("discord-webhook", ctx[0], ctx[1], [s])
    for i in range(5):
        s = "T" + rs(UPPER + DIGITS, 8) + "/B" + rs(UPPER + DIGITS, 8) + "/" + rs(B62, 24)
        url = f"https://hooks.slack.com/services/{s}"
        ctx = [("url", url), ("shell", f"curl -X POST --data-urlencode 'payload={{\"text\": \"deployed\"}}' {url}"), ("env-file", f"SLACK_WEBHOOK_URL={url}\n"), ("json-tool-output", json.dumps({"notify": {"slack": url}})), ("yaml", f"notifications:\n  slack: {url}\n")][i]
        add("slack-webhook", ctx[0], ctx[1], [s.split("/")[-1]])
    for i in range(4):
        s = rs(HEX, 32)
        ctx = [("env-file", f"TWILIO_ACCOUNT_SID=AC{rs(HEX, 32)}\nTWILIO_AUTH_TOKEN={s}\n"), ("python-code", f'twilio_auth_token = "{s}"'), ("json-tool-output", json.dumps({"twilio_auth_token": s})), ("shell", f"export TWILIO_AUTH_TOKEN={s}")][i]
        add("twilio-auth-token", ctx[0], ctx[1], [s])
    for i in range(4):
        s = rs(HEX, 32)
        ctx = [("env-file", f"DD_API_KEY={s}\nDD_SITE=datadoghq.eu\n"), ("http-dump", f"POST /api/v2/series HTTP/1.1\r\nHost: api.datadoghq.com\r\nDD-API-KEY: {s}\r\n\r\n"), ("yaml", f"datadog:\n  datadog_api_key: {s}\n"), ("shell", f"docker run -e DD_API_KEY={s} datadog/agent")][i]
        add("datadog-api-key", ctx[0], ctx[1], [s])
    for i in range(4):
        s = rs(HEX, 32)
        dsn = f"https://{s}@o{rs(DIGITS, 6)}.ingest.sentry.io/{rs(DIGITS, 7)}"
        ctx = [("env-file", f"SENTRY_DSN={dsn}\n"), ("source-code", f'Sentry.init({{ dsn: "{dsn}", tracesSampleRate: 0.1 }});'), ("json-tool-output", json.dumps({"sentry": {"dsn": dsn}})), ("log-line", f"[sentry] Sending event to {dsn}")][i]
        add("sentry-dsn", ctx[0], ctx[1], [s])
    for i in range(4):
        s = base64.b64encode(rs(B62, 12).encode()).decode()
        t = base64.b64encode(f"postgres://app:{rs(B62, 12)}@db:5432/app".encode()).decode()
        ctx = [
            ("kubectl-yaml", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n  namespace: prod\ntype: Opaque\ndata:\n  password: {s}\n  url: {t}\n"),
            ("manifest", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\nstringData:\n  API_TOKEN: \"{s}\"\n  DATABASE_URL: '{t}'\n"),
            ("kubectl-json", json.dumps({"apiVersion": "v1", "data": {"password": s, "url": t}, "kind": "Secret", "metadata": {"name": "db"}}, indent=4)),
            ("json-escaped", json.dumps(f"apiVersion: v1\nkind: Secret\ndata:\n  password: {s}\n  url: {t}\n")),
        ][i]
        add("kubernetes-secret", ctx[0], ctx[1], [s, t])
    # Private key blocks.
    for kind, header in [("private-key", "RSA PRIVATE KEY"), ("private-key", "EC PRIVATE KEY"), ("openssh-private-key", "OPENSSH PRIVATE KEY"), ("pkcs8-private-key", "PRIVATE KEY"), ("pkcs8-private-key", "ENCRYPTED PRIVATE KEY"), ("pgp-private-key", "PGP PRIVATE KEY BLOCK")]:
        for i in range(4):
            block, lines = key_block(header, header)
            if kind == "pgp-private-key":
                block = block.replace("-----\n", "-----\nVersion: GnuPG v2\n\n", 1)
            ctx = [("file", block + "\n"), ("json-tool-output", json.dumps({"type": "text", "file": {"filePath": "/home/dev/.ssh/id", "content": block + "\n"}})), ("shell", f"cat ~/.ssh/id_key\n{block}\n$ "), ("json-escaped", json.dumps(json.dumps({"content": block})))][i]
            add(kind, ctx[0], ctx[1], lines)
    # Database and broker URLs, and passwords in any URL.
    for scheme, host in [("postgres", "db.internal:5432/app"), ("postgresql", "10.0.0.5/orders"), ("mysql", "mysql.prod:3306/shop"), ("mongodb+srv", "cluster0.ab1cd.mongodb.net/test?retryWrites=true"), ("redis", "cache.internal:6379/0"), ("rediss", "redis.acme.cloud:6380"), ("amqp", "rabbit.internal:5672/vhost"), ("amqps", "mq.acme.cloud/prod")]:
        for i in range(2):
            p = password()
            user = "" if scheme.startswith("redis") and i == 0 else "app_user"
            url = f"{scheme}://{user}:{p}@{host}"
            ctx = [("env-file", f"DATABASE_URL={url}\n"), ("json-tool-output", json.dumps({"stdout": f"Connecting to {url}\nconnected", "stderr": ""}))][i]
            add("database-url-password", ctx[0], ctx[1], [p])
    for i in range(6):
        p = password()
        ctx = [
            ("git-remote", f"origin\thttps://deploy:{p}@git.acme.dev/team/repo.git (fetch)"),
            ("proxy", f"export https_proxy=http://jdoe:{p}@proxy.corp.acme:3128"),
            ("pip-index", f"pip install --index-url https://ci:{p}@pypi.acme.dev/simple/ acme-tools"),
            ("log-line", f"fetching https://admin:{p}@nexus.acme.dev/repository/raw/build.tar.gz"),
            ("url-encoded", f"GET /redirect?to={urllib.parse.quote(f'https://bob:{p}@files.acme.dev/x', safe='')} HTTP/1.1"),
            ("ftp", f"lftp ftp://backup:{p}@ftp.acme.dev/nightly"),
        ][i]
        add("url-password", ctx[0], ctx[1], [p if ctx[0] != "url-encoded" else urllib.parse.quote(p, safe="")])
    for i in range(6):
        bearer = rs(B62 + "-._~", 40)
        basic = base64.b64encode(f"svc:{password()}".encode()).decode()
        ctx = [
            ("http-dump", f"GET /v1/items HTTP/1.1\r\nHost: api.acme.dev\r\nAuthorization: Bearer {bearer}\r\nAccept: */*\r\n\r\n", bearer),
            ("curl", f"curl -s -H 'Authorization: Basic {basic}' https://api.acme.dev/health", basic),
            ("json-tool-output", json.dumps({"headers": {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}}), bearer),
            ("python-code", f'headers = {{"Authorization": "token {bearer}"}}', bearer),
            ("log-line", f"DEBUG request headers: {{'authorization': 'Bearer {bearer}', 'user-agent': 'x'}}", bearer),
            ("json-escaped", json.dumps(json.dumps({"Authorization": f"Basic {basic}"})), basic),
        ][i]
        add("authorization-header", ctx[0], ctx[1], [ctx[2]])
    for i in range(5):
        sid = rs(B62, 32)
        ctx = [
            ("http-dump", f"GET /dashboard HTTP/1.1\r\nHost: app.acme.dev\r\nCookie: session={sid}; theme=dark\r\n\r\n"),
            ("http-response", f"HTTP/1.1 302 Found\r\nSet-Cookie: sid={sid}; Path=/; HttpOnly; Secure\r\nLocation: /\r\n"),
            ("curl", f"curl -b 'session={sid}' https://app.acme.dev/api/me"),
            ("json-tool-output", json.dumps({"request": {"headers": {"cookie": f"_session_id={sid}"}}})),
            ("curl", f"curl --cookie \"remember_token={sid}\" https://app.acme.dev/"),
        ][i]
        add("cookie", ctx[0], ctx[1], [sid])
    for i in range(4):
        p = password()
        ctx = [
            ("netrc", f"machine api.acme.dev\n  login ci-bot\n  password {p}\n"),
            ("netrc", f"machine github.com login octocat password {rs(B62, 20)}\n"),
            ("netrc", f"default login anonymous password {p}\n"),
            ("shell", f"cat ~/.netrc\nmachine files.acme.dev\n\tlogin backup\n\tpassword {p}\n"),
        ][i]
        sec = ctx[1].split("password ")[1].split()[0]
        add("netrc-password", ctx[0], ctx[1], [sec])
    # Generic assignments: every syntax, password-like and secret-like names.
    pw_names = ["password", "DB_PASSWORD", "passwd", "pwd", "MYSQL_ROOT_PASSWORD", "PGPASSWORD", "adminPassword", "smtp_pass", "db.password", "keystore_passphrase"]
    sec_names = ["secret", "api_key", "apiKey", "client_secret", "API_TOKEN", "access_token", "SECRET_KEY", "app_secret", "auth_token", "webhook_secret", "x-api-key", "encryption_key"]
    syntaxes = [
        ("shell", "export {n}={v}"),
        ("env-file", "APP_ENV=prod\n{n}={v}\nDEBUG=false\n"),
        ("json", '{{"user": "admin", "{n}": "{v}"}}'),
        ("yaml", "database:\n  host: db.internal\n  {n}: {v}\n"),
        ("yaml-quoted", "auth:\n  {n}: \"{v}\"\n"),
        ("toml", "[service]\nurl = \"https://api.acme.dev\"\n{n} = \"{v}\"\n"),
        ("ini", "[client]\nuser=root\n{n}={v}\n"),
        ("python-code", "settings = dict(host='db', {n}='{v}')"),
        ("js-code", "const cfg = {{ host: 'db', {n}: '{v}' }};"),
        ("go-code", '{n} := "{v}"'),
        ("php-code", "$config = ['{n}' => '{v}'];"),
        ("cli-flag", "deploy-tool --{n}={v} --region eu"),
        ("json-escaped", '"{{\\"{n}\\": \\"{v}\\"}}"'),
        ("url-query", "GET /api/login?user=bob&{n}={v}&remember=1 HTTP/1.1"),
        ("xml", "<config><{n}>{v}</{n}></config>"),
        ("log-line", "2026-11-29 10:11:12 WARN config {n}={v} loaded from env"),
    ]
    for i, (ctxname, tmpl) in enumerate(syntaxes * 3):
        if ctxname == "xml":
            names = [n for n in pw_names + sec_names if n.replace("_", "").isalnum() and "." not in n]
        else:
            names = pw_names + sec_names
        n = names[(i * 7) % len(names)]
        if ctxname in ("cli-flag",):
            n = n.lower().replace("_", "-").replace(".", "-")
        is_pw = n in pw_names or n.replace("-", "_") in [p.lower() for p in pw_names]
        v = password() if is_pw else rs(B62, 32)
        if ctxname in ("shell", "env-file", "ini", "yaml", "cli-flag", "url-query", "log-line"):
            v = v.replace("#", "9")
        kind = "password" if is_pw else "secret"
        add(kind, ctxname, tmpl.format(n=n, v=v), [v])
    # Command-line password flags.
    for i in range(8):
        p = password()
        ctx = [
            ("mysql", f"mysql -h db.internal -u root -p{p} shop < dump.sql"),
            ("mysqldump", f"mysqldump -uroot -p'{p}' --all-databases > all.sql"),
            ("sshpass", f"sshpass -p '{p}' ssh deploy@10.0.0.12 'systemctl restart api'"),
            ("sshpass", f"sshpass -p {p} scp build.tgz deploy@web1:/srv/"),
            ("curl", f"curl -u admin:{p} https://jenkins.acme.dev/api/json"),
            ("curl", f"curl --user 'ci:{p}' -X POST https://nexus.acme.dev/service/rest/v1/components"),
            ("cli-flag", f"docker login --username ci --password {p} registry.acme.dev"),
            ("cli-flag", f"vault login -method=userpass username=ops password={p}"),
        ][i]
        add("password", ctx[0], ctx[1], [p])
    return out


def positives():
    cases = []
    for kind, make in TOKEN_KINDS.items():
        contexts = TOKEN_CONTEXTS[:]
        R.shuffle(contexts)
        picked = contexts[:5] + CONTEXT_EXTRA.get(kind, [])
        for ctxname, tmpl in picked:
            s, secrets = make()
            cases.append((kind, ctxname, tmpl.format(s=s, q=urllib.parse.quote(s, safe="")), secrets))
    cases.extend(named_kinds())
    out = []
    for i, (kind, ctx, text, secrets) in enumerate(cases):
        out.append({"id": f"p{i:04d}", "kind": kind, "context": ctx, "text": text, "secrets": secrets})
    return out


# --- Negatives ---------------------------------------------------------------------------------

def negatives():
    n = []

    def add(what, text):
        n.append((what, text))

    sha = lambda: rs(HEX, 40)
    for _ in range(8):
        add("git-sha", f"commit {sha()}\nAuthor: Dev <dev@acme.dev>\nDate:   Sat Nov 28 10:00:00 2026 +0000\n\n    Fix token counter off-by-one\n")
        add("git-sha", f"git checkout {sha()[:12]} && git cherry-pick {sha()}")
        add("git-sha-url", f"See https://github.com/acme/api/commit/{sha()} for the fix.")
    for _ in range(8):
        u = str(uuid.uuid4())
        add("uuid", f'{{"session_id": "{u}", "transcript_path": "/home/dev/.claude/projects/-home-dev-ws/{u}.jsonl", "hook_event_name": "Stop"}}')
        add("uuid", f"request-id: {uuid.uuid4()}\nx-trace-id: {uuid.uuid4()}")
    for _ in range(8):
        add("sha256", f"{rs(HEX, 64)}  claude-code-sync-x86_64-linux.tar.gz")
        add("sha512", f"SHA512 (release.tar.gz) = {rs(HEX, 128)}")
        add("docker-digest", f"docker pull ghcr.io/acme/api@sha256:{rs(HEX, 64)}")
    for _ in range(8):
        add("npm-integrity", f'"node_modules/left-pad": {{\n  "version": "1.3.0",\n  "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",\n  "integrity": "sha512-{rs(B64, 86)}=="\n}}')
        add("cargo-lock", f'[[package]]\nname = "regex"\nversion = "1.11.1"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{rs(HEX, 64)}"\n')
    for _ in range(6):
        add("data-uri", f'<img src="data:image/png;base64,{rs(B64, 300)}=" alt="logo">')
        add("base64-blob", json.dumps({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": rs(B64, 400)}}))
    for _ in range(5):
        add("ssh-public-key", f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rs(B64, 43)} dev@laptop")
        add("ssh-public-key", f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{rs(B64, 300)} ci@runner")
        add("pem-public-key", "-----BEGIN PUBLIC KEY-----\n" + "\n".join(rs(B64, 64) for _ in range(4)) + "\n-----END PUBLIC KEY-----\n")
        add("certificate", "-----BEGIN CERTIFICATE-----\n" + "\n".join(rs(B64, 64) for _ in range(8)) + "\n-----END CERTIFICATE-----\n")
    ids = [
        "AbstractSingletonProxyFactoryBeanTokenizerConfiguration",
        "handle_password_reset_token_expiry_notification_email",
        "test_redaction_keeps_git_shas_and_uuids_unchanged_in_transcripts",
        "PasswordStrengthValidatorWithConfigurableMinimumLength",
        "useSecretManagerClientForRotatingApiCredentialsHook",
    ]
    for s in ids:
        add("long-identifier", f"fn {s}() {{}}")
        add("long-identifier", f"import {{ {s} }} from './{s}';")
    placeholders = [
        "password: ********",
        "export API_KEY=${API_KEY}",
        'api_key = "<your-api-key>"',
        "GITHUB_TOKEN=$GITHUB_TOKEN",
        'curl -H "Authorization: Bearer $TOKEN" https://api.github.com/user',
        "curl -H 'Authorization: Bearer <token>' https://api.acme.dev",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "DATABASE_URL=postgres://user:${DB_PASSWORD}@localhost:5432/app",
        "OPENAI_API_KEY=sk-...",
        'password = "{{ vault_db_password }}"',
        "SECRET_KEY=%(SECRET_KEY)s",
        "set DB_PASS=%DB_PASS%",
        "client_secret: YOUR_CLIENT_SECRET",
        "token: your_token_here",
        "password: \"\"",
        "api_key: null",
        "STRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "Authorization: Bearer ${ACCESS_TOKEN}",
        "mysql -u root -p",
        "docker login -u ci --password-stdin < token.txt",
        "password: <redacted>",
        "export NPM_TOKEN=\"$(cat ~/.npm-token)\"",
    ]
    for p in placeholders:
        add("placeholder", p)
    code = [
        "def authenticate(password: str, token: Optional[str] = None) -> bool:",
        'token = request.headers.get("Authorization")',
        "if password == confirm_password:\n    return True",
        "max_tokens: 4096",
        '"usage": {"input_tokens": 1234, "output_tokens": 567, "cache_read_input_tokens": 20480}',
        "const apiKey = process.env.API_KEY;",
        "login(username=username, password=password)",
        "self.secret_key = settings.SECRET_KEY",
        "let token = get_token()?;",
        "password_min_length: 12",
        'token_type: "bearer"',
        "auth: true",
        "secret_name: db-credentials",
        "primary_key: id",
        "keyboard_layout: us",
        "author = \"Jane Doe <jane@acme.dev>\"",
        "passwordField.setError(null);",
        "const [password, setPassword] = useState('');",
        "api_key_header: X-API-Key",
        "PWD=/home/dev/ws",
        "OLDPWD=/home/dev",
        "token_count = len(tokens)",
        "for key, value in config.items():",
        'sort_key = lambda k: k["created_at"]',
        "secrets:\n  - db-password\n  - api-token\n",
        "password_file: /run/secrets/db_password",
        "TOKEN_FILE=/var/run/secrets/kubernetes.io/serviceaccount/token",
        "public_key: ssh-ed25519",
        "git@github.com:acme/api.git",
        "http://localhost:8080/api/v1/items?page=2&limit=50",
        "https://user@bitbucket.org/acme/repo.git",
        "jdbc:postgresql://db.internal:5432/app?sslmode=require",
        "redis://cache.internal:6379/0",
        "pk_live_" + rs(B62, 24),
        "arn:aws:iam::123456789012:role/deploy",
        "version: 1.2.3-beta.4+build.5678",
        "toolu_01" + rs(B62, 22),
        "msg_01" + rs(B62, 22),
        '"tool_use_id": "toolu_multi_0_47_1"',
        "fn redact_json(&self, v: &mut serde_json::Value)",
        "kind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  FEATURE_FLAGS: a,b,c\n",
        "cookie_name: _session",
        "Set-Cookie attribute reference: Path, Domain, Secure",
        "passport.authenticate('local', { failureRedirect: '/login' })",
        "bypass_cache: true",
        "SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.1234",
        "GPG_KEY_ID=0xDEADBEEF",
        "The api_key: parameter is optional in v2.",
        "Send the Authorization: Bearer header with each call.",
        "The key: value pairs are sorted.",
    ]
    for c in code:
        add("code", c)
    prose = [
        "Please reset your password: click the link we sent you.",
        "The token expired yesterday, so the CI job failed with 401.",
        "Rotate the API key every 90 days and never commit it.",
        "Can you explain how OAuth refresh tokens work?",
        "Passwords must be at least 12 characters long.",
        "I forgot my password again, how do I recover the account?",
        "Store secrets in the vault, not in the repository.",
        "The secret to good tests is small, fast feedback.",
        "Use a bearer token in the Authorization header for every request.",
        "What is the difference between an access key and a secret key in AWS?",
        "Token usage: 12,345 input, 6,789 output.",
        "Keys: press Ctrl+C to copy, Ctrl+V to paste.",
        "Le mot de passe doit contenir un chiffre. パスワードを入力してください。",
        "Summary: 3 files changed, 42 insertions(+), 7 deletions(-)",
        "error[E0382]: borrow of moved value: `token`",
        "warning: unused variable: `password`",
    ]
    for p in prose:
        add("prose", p)
    for _ in range(10):
        add("transcript-line", json.dumps({"type": "assistant", "uuid": str(uuid.uuid4()), "parentUuid": str(uuid.uuid4()), "message": {"id": "msg_01" + rs(B62, 22), "model": "claude-sonnet-4-5", "usage": {"input_tokens": R.randint(1, 9999), "output_tokens": R.randint(1, 999)}, "content": [{"type": "text", "text": "I updated the token counter and ran the tests."}]}}))
    for _ in range(6):
        add("hex-in-json", json.dumps({"etag": rs(HEX, 32), "md5": rs(HEX, 32), "commit": rs(HEX, 40)}))
    return [{"id": f"n{i:04d}", "what": w, "text": t} for i, (w, t) in enumerate(n)]


def main():
    pos = positives()
    neg = negatives()
    with open(os.path.join(HERE, "positives.jsonl"), "w") as f:
        for c in pos:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "negatives.jsonl"), "w") as f:
        for c in neg:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    kinds = sorted({c["kind"] for c in pos})
    print(f"{len(pos)} positives over {len(kinds)} kinds, {len(neg)} negatives")


if __name__ == "__main__":
    main()
