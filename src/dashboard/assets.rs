//! The page, embedded in the binary: it works offline and nothing is fetched from elsewhere.
//! Plain ES modules and CSS, no build step (docs/dashboard.md).

use super::http::Reply;

/// (path, content type, bytes)
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/", "text/html; charset=utf-8", include_bytes!("assets/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_bytes!("assets/app.js")),
    ("/charts.js", "text/javascript; charset=utf-8", include_bytes!("assets/charts.js")),
    ("/style.css", "text/css; charset=utf-8", include_bytes!("assets/style.css")),
    ("/favicon.svg", "image/svg+xml", include_bytes!("assets/favicon.svg")),
];

pub fn serve(path: &str) -> Option<Reply> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|(p, _, _)| *p == path).map(|(_, content_type, body)| Reply {
        status: 200,
        content_type,
        body: body.to_vec(),
        attachment: None,
        cacheable: path != "/",
    })
}
