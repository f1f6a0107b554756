//! The mobile web app (`mobile/`, built by Vite into `mobile/dist` by default) served at
//! `/m/`, and the print points' QR links `/p/{code}`, which open it at the release page.
//! The app routes in the browser (history mode), so every path under `/m/` that is not a file
//! answers with its `index.html`.
//!
//! The build writes Brotli and gzip copies beside each compressible file (`x.js.br`,
//! `x.js.gz`); a browser that accepts one gets it as it is, so a phone on a slow network loads
//! a third of the bytes and the server does not compress on every request. Vite names the files
//! under `assets/` by their content hash, so those are cached for a year; everything else is
//! revalidated on each load, so a new build reaches users at once.

use std::{
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use poem::{
    endpoint::{make_sync, BoxEndpoint, StaticFilesEndpoint},
    handler,
    http::{header, HeaderValue, Method, StatusCode},
    web::Path as PathParam,
    Endpoint, EndpointExt, IntoResponse, Request, Response,
};

/// `Cache-Control` of the content-hashed files under `assets/`.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else (index.html, the service worker, the manifest).
const REVALIDATE: &str = "no-cache";

/// The app's files, or a plain 404 that says how to build them.
pub fn app(dir: &Path) -> BoxEndpoint<'static> {
    if dir.join("index.html").is_file() {
        let files =
            StaticFilesEndpoint::new(dir).index_file("index.html").fallback_to_index().map_to_response().boxed();
        MobileApp { dir: dir.to_path_buf(), files }.boxed()
    } else {
        tracing::warn!(dir = %dir.display(), "the mobile app is not built; /m/ answers with how to build it");
        let page = not_built_page(dir);
        make_sync(move |_| {
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .content_type("text/html; charset=utf-8")
                .header(header::CACHE_CONTROL, REVALIDATE)
                .body(page.clone())
        })
        .boxed()
    }
}

/// What a person sees at `/m/` when the app has not been built: what to install and run, and
/// where the API documentation is meanwhile.
fn not_built_page(dir: &Path) -> String {
    let dir = dir.display().to_string().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>云印 yunyin</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em\">\
         <h1>云印 yunyin</h1>\
         <p>移动应用尚未构建（{dir} 中没有 index.html）。The mobile app is not built: there is no index.html in {dir}.</p>\
         <p>Install Node.js 18 or later (Debian: <code>apt-get install nodejs npm</code>), then run \
         <code>cargo run</code> again (it builds the app), or build it yourself: \
         <code>cd mobile &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>\
         <p>The API works meanwhile: <a href=\"/docs\">API documentation (/docs)</a>.</p></body></html>"
    )
}

/// The server's home page, `/`: people who open the address in a browser get the app.
/// Everything else passes through.
pub async fn home<E: Endpoint>(next: std::sync::Arc<E>, req: Request) -> poem::Result<Response> {
    if req.uri().path() == "/" && matches!(req.method(), &Method::GET | &Method::HEAD) {
        return Ok(Response::builder().status(StatusCode::FOUND).header(header::LOCATION, "/m/").finish());
    }
    Ok(next.call(req).await?.into_response())
}

/// A print point's QR link: to the app's release page for that code.
#[handler]
pub fn print_point_link(PathParam(code): PathParam<String>) -> Response {
    if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    Response::builder().status(StatusCode::FOUND).header(header::LOCATION, format!("/m/release/{code}")).finish()
}

/// The built app: pre-compressed copies where the browser takes them, else the plain files.
struct MobileApp {
    dir: PathBuf,
    files: BoxEndpoint<'static>,
}

/// A content coding the build writes copies for, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gz",
        }
    }
}

/// The codings an `Accept-Encoding` value takes (q > 0), best first.
fn accepted(accept_encoding: &str) -> Vec<Coding> {
    let takes = |wanted: &str| {
        accept_encoding.split(',').any(|part| {
            let mut pieces = part.split(';');
            let token = pieces.next().unwrap_or("").trim();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (token.eq_ignore_ascii_case(wanted) || token == "*") && q > 0.0
        })
    };
    [Coding::Brotli, Coding::Gzip].into_iter().filter(|c| takes(c.token())).collect()
}

/// The `Content-Type` of the file kinds the build compresses; others are served plainly.
fn content_type(path: &Path) -> Option<&'static str> {
    Some(match path.extension()?.to_str()? {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// The file below the app's folder that a request path names, or `index.html` for an app
/// route. `None` for a path that is not plainly inside the folder: the static-files endpoint
/// answers those (it decodes and refuses what escapes).
fn target(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.trim_start_matches('/');
    let plain = rel.split('/').all(|part| {
        !part.starts_with('.') && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    if !plain {
        return None;
    }
    let file = dir.join(rel);
    Some(if !rel.is_empty() && file.is_file() { file } else { dir.join("index.html") })
}

/// A request for a content-hashed build file (`/assets/…`); such a path is never an app route.
fn is_asset(path: &str) -> bool {
    path.starts_with("/assets/")
}

impl MobileApp {
    /// The pre-compressed copy of the requested file in the best coding the browser takes.
    async fn precompressed(&self, req: &Request, file: &Path) -> Option<Response> {
        if req.method() != poem::http::Method::GET && req.method() != poem::http::Method::HEAD {
            return None;
        }
        let content_type = content_type(file)?;
        let accept = req.headers().get(header::ACCEPT_ENCODING)?.to_str().ok()?;
        for coding in accepted(accept) {
            let mut copy = file.as_os_str().to_os_string();
            copy.push(".");
            copy.push(coding.extension());
            let copy = PathBuf::from(copy);
            let Ok(meta) = tokio::fs::metadata(&copy).await else { continue };
            let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_secs();
            let etag = format!("\"{:x}-{modified:x}-{}\"", meta.len(), coding.extension());
            let not_modified = req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
            let builder = Response::builder()
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CONTENT_ENCODING, coding.token())
                .header(header::ETAG, etag);
            if not_modified {
                return Some(builder.status(StatusCode::NOT_MODIFIED).finish());
            }
            let Ok(bytes) = tokio::fs::read(&copy).await else { continue };
            return Some(builder.body(bytes));
        }
        None
    }
}

impl Endpoint for MobileApp {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let asset = is_asset(req.uri().path());
        let file = target(&self.dir, req.uri().path());
        if asset && file.as_ref().is_none_or(|f| f.ends_with("index.html")) {
            // A chunk of another build: answering with the app's page would be cached as
            // JavaScript for a year and fail as a MIME-type error.
            return Ok(StatusCode::NOT_FOUND.into_response());
        }
        let precompressed = match &file {
            Some(file) => self.precompressed(&req, file).await,
            None => None,
        };
        let mut response = match precompressed {
            Some(r) => r,
            None => self.files.call(req).await?,
        };
        let headers = response.headers_mut();
        let cache = if asset { IMMUTABLE } else { REVALIDATE };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_picks_brotli_then_gzip_and_honours_q_zero() {
        assert_eq!(accepted("gzip, deflate, br, zstd"), vec![Coding::Brotli, Coding::Gzip]);
        assert_eq!(accepted("gzip"), vec![Coding::Gzip]);
        assert_eq!(accepted("br;q=0, gzip;q=0.5"), vec![Coding::Gzip]);
        assert_eq!(accepted("identity"), vec![]);
        assert_eq!(accepted("*"), vec![Coding::Brotli, Coding::Gzip]);
    }

    #[test]
    fn only_plain_paths_inside_the_folder_are_looked_up() {
        let dir = Path::new("/srv/m");
        assert_eq!(target(dir, "/../etc/passwd"), None);
        assert_eq!(target(dir, "/assets/%2e%2e/x.js"), None);
        assert_eq!(target(dir, "/.hidden"), None);
        // Not a file there: an app route, answered by index.html.
        assert_eq!(target(dir, "/release/abc234"), Some(dir.join("index.html")));
        assert_eq!(target(dir, "/"), Some(dir.join("index.html")));
    }

    #[test]
    fn only_known_text_kinds_have_a_content_type() {
        assert_eq!(content_type(Path::new("a/index-1x.js")), Some("text/javascript; charset=utf-8"));
        assert_eq!(content_type(Path::new("icon.png")), None);
    }
}
