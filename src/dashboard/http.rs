//! The HTTP edge: only GET and HEAD, only for a Host naming this server on loopback (a page
//! on another site cannot reach it through DNS rebinding), and every answer with a strict
//! Content-Security-Policy and no caching of data.

use std::io::Cursor;

use tiny_http::{Header, Method, Request, Response, StatusCode};

use super::{State, api, assets};
use crate::store::Store;

/// Scripts, styles and images from this server only; no inline script or style, no frames,
/// no plugins, no form posts elsewhere, and fetches to this server only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// An answer before headers: status, content type, body.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// `Content-Disposition` for downloads.
    pub attachment: Option<String>,
    /// Embedded assets may be cached by the browser for this run; data never.
    pub cacheable: bool,
}

impl Reply {
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: "application/json; charset=utf-8",
            body: value.to_string().into_bytes(),
            attachment: None,
            cacheable: false,
        }
    }

    pub fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, &serde_json::json!({ "error": message }))
    }

    pub fn text(status: u16, message: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: message.as_bytes().to_vec(),
            attachment: None,
            cacheable: false,
        }
    }
}

/// Whether `host` (the Host header) names this server: `127.0.0.1:PORT` or `localhost:PORT`.
pub fn host_allowed(host: Option<&str>, port: u16) -> bool {
    let Some(host) = host else { return false };
    let host = host.trim().to_ascii_lowercase();
    let Some((name, p)) = host.rsplit_once(':') else { return false };
    p.parse::<u16>() == Ok(port) && matches!(name, "127.0.0.1" | "localhost")
}

pub fn handle(state: &State, store: &mut Option<Store>, request: Request) {
    let reply = route(state, store, &request);
    // tiny_http leaves the body out of an answer to HEAD itself.
    let _ = request.respond(response(reply));
}

fn route(state: &State, store: &mut Option<Store>, request: &Request) -> Reply {
    let header = |name: &'static str| {
        request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_owned())
    };
    if !host_allowed(header("Host").as_deref(), state.port) {
        return Reply::text(421, "This server answers only to http://127.0.0.1:PORT/ (Host header refused).");
    }
    if !matches!(request.method(), Method::Get | Method::Head) {
        return Reply::text(405, "Only GET and HEAD.");
    }
    // Browsers say where a request comes from: another site's page gets nothing here.
    if header("Sec-Fetch-Site").is_some_and(|s| s == "cross-site") {
        return Reply::text(403, "Cross-site requests are refused.");
    }
    let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
    if let Some(endpoint) = path.strip_prefix("/api/") {
        return api::handle(state, store, endpoint, query);
    }
    assets::serve(path).unwrap_or_else(|| Reply::text(404, "Not found."))
}

fn response(reply: Reply) -> Response<Cursor<Vec<u8>>> {
    let mut headers = vec![
        h("Content-Type", reply.content_type),
        h("Content-Security-Policy", CSP),
        h("X-Content-Type-Options", "nosniff"),
        h("Referrer-Policy", "no-referrer"),
        h("X-Frame-Options", "DENY"),
        h("Cross-Origin-Opener-Policy", "same-origin"),
        h("Cross-Origin-Resource-Policy", "same-origin"),
        h("Cache-Control", if reply.cacheable { "private, max-age=3600" } else { "no-store" }),
    ];
    if let Some(name) = &reply.attachment {
        headers.push(h("Content-Disposition", &format!("attachment; filename=\"{name}\"")));
    }
    let len = reply.body.len();
    Response::new(StatusCode(reply.status), headers, Cursor::new(reply.body), Some(len), None)
}

fn h(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header names and values are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_with_our_port_are_allowed() {
        assert!(host_allowed(Some("127.0.0.1:8123"), 8123));
        assert!(host_allowed(Some("localhost:8123"), 8123));
        assert!(!host_allowed(Some("127.0.0.1:8124"), 8123));
        assert!(!host_allowed(Some("evil.example:8123"), 8123));
        assert!(!host_allowed(Some("127.0.0.1.evil.example:8123"), 8123));
        assert!(!host_allowed(Some("127.0.0.1"), 8123));
        assert!(!host_allowed(None, 8123));
    }
}
