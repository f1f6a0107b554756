//! The mobile web app (`mobile/`, built by Vite into `mobile/dist` by default) served at
//! `/m/`, and the print points' QR links `/p/{code}`, which open it at the release page.
//! The app routes in the browser (history mode), so every path under `/m/` that is not a file
//! answers with its `index.html`.

use std::path::Path;

use poem::{
    endpoint::{make_sync, BoxEndpoint, StaticFilesEndpoint},
    handler,
    http::{header, StatusCode},
    web::Path as PathParam,
    EndpointExt, IntoResponse, Response,
};

/// The app's files, or a plain 404 that says how to build them.
pub fn app(dir: &Path) -> BoxEndpoint<'static> {
    if dir.join("index.html").is_file() {
        StaticFilesEndpoint::new(dir).index_file("index.html").fallback_to_index().map_to_response().boxed()
    } else {
        let message = format!("the mobile app is not built in {}: run `npm run build` in mobile/", dir.display());
        make_sync(move |_| {
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .content_type("text/plain; charset=utf-8")
                .body(message.clone())
        })
        .boxed()
    }
}

/// A print point's QR link: to the app's release page for that code.
#[handler]
pub fn print_point_link(PathParam(code): PathParam<String>) -> Response {
    if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    Response::builder().status(StatusCode::FOUND).header(header::LOCATION, format!("/m/release/{code}")).finish()
}
