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
use yunyin_gateway::protocol::{Command, CommandBody, GatewayMessage, ServerMessage};

use super::error::{ApiError, ErrorCode};
use crate::{
    infra::{events::EventBus, new_id},
    services::{
        gateways::{gateway_topic, GatewayService, HEARTBEAT},
        release::ReleaseService,
    },
    storage::gateways::{CommandRow, GatewayRow},
};

/// What the link needs, attached to its route.
#[derive(Clone)]
pub struct LinkContext {
    pub gateways: GatewayService,
    pub release: ReleaseService,
    pub events: std::sync::Arc<dyn EventBus>,
}

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
            tracing::Instrument::instrument(run(ctx, gateway, socket), span).await;
        })
        .into_response())
}

fn frame(ctx: &LinkContext, c: &CommandRow) -> Option<String> {
    let mut body: CommandBody = serde_json::from_str(&c.payload).ok()?;
    // Signed afresh at each sending: a gateway back after a long absence can still download.
    let CommandBody::Print(print) = &mut body;
    print.document_url = ctx.release.document_path(&print.job_id);
    serde_json::to_string(&ServerMessage::Command(Command { id: c.id.clone(), seq: c.seq, body })).ok()
}

async fn run(ctx: LinkContext, gateway: GatewayRow, socket: poem::web::websocket::WebSocketStream) {
    let connection = new_id();
    let (mut sink, mut stream) = socket.split();
    // Subscribe before reading the outbox, so a command queued in between still wakes us.
    let mut wakes = ctx.events.subscribe_signals(&gateway_topic(&gateway.id));
    ctx.gateways.mark_online(&gateway, &connection, None).await;
    tracing::info!("gateway connected");
    let welcome = ServerMessage::Welcome { gateway_id: gateway.id.clone(), heartbeat_secs: HEARTBEAT.as_secs() };
    let mut sent_up_to = 0i64;
    let mut ok = match serde_json::to_string(&welcome) {
        Ok(text) => sink.send(Message::Text(text)).await.is_ok(),
        Err(_) => false,
    };
    let mut last_heard = tokio::time::Instant::now();
    let mut poll = tokio::time::interval(HEARTBEAT);
    let mut flush = true;
    while ok {
        if flush {
            flush = false;
            match ctx.gateways.pending(&gateway.id, sent_up_to).await {
                Ok(commands) => {
                    for c in commands {
                        let Some(text) = frame(&ctx, &c) else {
                            ctx.release.retire_unreadable_command(&gateway.id, &c).await;
                            continue;
                        };
                        if sink.send(Message::Text(text)).await.is_err() {
                            ok = false;
                            break;
                        }
                        sent_up_to = sent_up_to.max(c.seq);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the gateway's outbox"),
            }
            continue;
        }
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    last_heard = tokio::time::Instant::now();
                    if let Some(reply) = handle(&ctx, &gateway, &connection, &text).await {
                        let Ok(text) = serde_json::to_string(&reply) else { continue };
                        ok = sink.send(Message::Text(text)).await.is_ok();
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_))) => last_heard = tokio::time::Instant::now(),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => ok = false,
            },
            wake = wakes.next() => {
                if wake.is_none() {
                    wakes = ctx.events.subscribe_signals(&gateway_topic(&gateway.id));
                }
                flush = true;
            }
            _ = poll.tick() => {
                if last_heard.elapsed() > HEARTBEAT * 3 {
                    tracing::info!("gateway silent for three heartbeats; closing");
                    ok = false;
                } else {
                    flush = true;
                }
            }
        }
    }
    let _ = sink.close().await;
    ctx.gateways.mark_offline(&gateway.id, &connection).await;
    tracing::info!("gateway disconnected");
}

/// Acts on one frame from the gateway; the reply, if any, goes back on the link.
async fn handle(ctx: &LinkContext, gateway: &GatewayRow, connection: &str, text: &str) -> Option<ServerMessage> {
    match serde_json::from_str::<GatewayMessage>(text) {
        Ok(GatewayMessage::Hello { version }) => ctx.gateways.mark_online(gateway, connection, Some(&version)).await,
        Ok(GatewayMessage::Heartbeat) => ctx.gateways.mark_online(gateway, connection, None).await,
        Ok(GatewayMessage::Ack { id }) => {
            if let Err(e) = ctx.gateways.ack(&gateway.id, &id).await {
                tracing::warn!(error = %e, "cannot record ack");
            }
        }
        Ok(GatewayMessage::JobUpdate(update)) => match ctx.release.on_job_update(&gateway.id, &update).await {
            // Confirmed only once applied: an unconfirmed report comes again.
            Ok(()) if !update.report_id.is_empty() => {
                return Some(ServerMessage::ReportAck { report_id: update.report_id });
            }
            Ok(()) => {}
            Err(e) => {
                tracing::error!(error = %e, job = %update.job_id, "cannot apply job update; the gateway sends it again")
            }
        },
        Err(e) => tracing::warn!(error = %e, "unreadable frame from gateway"),
    }
    None
}
