//! The gateway link: one WebSocket per gateway, opened by the gateway (so it works behind
//! NAT) at `GET /api/v1/gateway/link` with its credential as bearer token. Frames are the
//! JSON messages of `yunyin_gateway::protocol`.
//!
//! Commands live in the database until acknowledged, so nothing is lost when a link drops: on
//! (re)connect every unacknowledged command is sent again in order, and while connected an
//! event (from whichever instance queued the command) says "look again". A slower poll backs
//! the events up.

use futures_util::{SinkExt, StreamExt};
use poem::{
    handler,
    web::{
        websocket::{Message, WebSocket, WebSocketConfig},
        Data,
    },
    IntoResponse, Request,
};

use super::error::{ApiError, ErrorCode};
pub use crate::services::gateway_link::LinkContext;
use crate::services::gateway_link::LinkFrame;

/// The link's WebSocket settings. Frames are small JSON (documents go over HTTP), so 4 KiB
/// buffers do, where tungstenite's 128 KiB defaults would cost ~130 KiB per idle gateway;
/// and nothing larger than 1 MiB is accepted from a gateway.
pub fn link_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// Upgrades an authenticated gateway's request to its link.
#[handler]
pub async fn link(req: &Request, ws: WebSocket, ctx: Data<&LinkContext>) -> poem::Result<poem::Response> {
    let token = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::new(ErrorCode::GatewayUnauthenticated))?;
    let gateway = ctx.gateways.authenticate(token.trim()).await.map_err(ApiError::from)?;
    let ctx = ctx.0.clone();
    Ok(ws
        .config(link_config())
        .on_upgrade(move |socket| async move {
            let span = tracing::info_span!("gateway_link", gateway = %gateway.id);
            let (sink, stream) = socket.split();
            // The session speaks frames, not WebSocket messages: text is a frame, anything
            // else only says the gateway is alive, a close or an error ends the link.
            let frames = stream.map(|m| match m {
                Ok(Message::Text(text)) => LinkFrame::Text(text),
                Ok(Message::Close(_)) | Err(_) => LinkFrame::Closed,
                Ok(_) => LinkFrame::Alive,
            });
            let sink = sink.with(|text: String| async move { Ok::<_, std::io::Error>(Message::Text(text)) });
            tracing::Instrument::instrument(ctx.run(gateway, Box::pin(frames), Box::pin(sink)), span).await;
        })
        .into_response())
}
