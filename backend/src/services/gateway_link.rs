//! The gateway link's session (the WebSocket itself is `api::gateway_link`): presence, the
//! gateway's outbox of commands sent in order until acknowledged, wake-ups from whichever
//! instance queued a command, a poll behind them, heartbeats, and the gateway's reports.

use std::pin::Pin;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use yunyin_gateway::protocol::{Command, CommandBody, GatewayMessage, ServerMessage};

use crate::{
    domain::Gateway,
    infra::{events::EventBus, new_id},
    services::{
        device_readings::DeviceReadingService,
        discovery::DiscoveryService,
        gateways::{gateway_topic, GatewayService, HEARTBEAT},
        release::ReleaseService,
    },
    storage::gateways::CommandRow,
};

/// What the link needs, attached to its route.
#[derive(Clone)]
pub struct LinkContext {
    pub gateways: GatewayService,
    pub release: ReleaseService,
    pub readings: DeviceReadingService,
    pub discoveries: DiscoveryService,
    pub events: std::sync::Arc<dyn EventBus>,
}

/// One thing heard on the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkFrame {
    /// A JSON frame of `yunyin_gateway::protocol`.
    Text(String),
    /// A ping, pong or binary frame: the gateway is alive.
    Alive,
    /// The gateway closed the link, or it broke.
    Closed,
}

/// Frames from the gateway.
pub type Frames = Pin<Box<dyn Stream<Item = LinkFrame> + Send>>;
/// Frames to the gateway.
pub type Replies = Pin<Box<dyn Sink<String, Error = std::io::Error> + Send>>;

/// A queued command as it goes out.
enum Framed {
    Text(String),
    /// Its payload cannot be read: it is retired, never skipped silently.
    Unreadable,
    /// It cannot be completed now (a secret could not be read): sent at the next flush.
    Later,
}

async fn frame(ctx: &LinkContext, c: &CommandRow) -> Framed {
    let Ok(mut body) = serde_json::from_str::<CommandBody>(&c.payload) else { return Framed::Unreadable };
    match &mut body {
        // Signed afresh at each sending: a gateway back after a long absence can still download.
        CommandBody::Print(print) => print.document_url = ctx.release.document_path(&print.job_id),
        // Sealed at rest: the community is opened only to go out.
        CommandBody::Discover(discover) => match ctx.discoveries.community(&discover.discovery_id).await {
            Ok(community) => discover.snmp.community = community,
            Err(e) => {
                tracing::warn!(error = %e, command = %c.id, "cannot complete a discovery command; sending it later");
                return Framed::Later;
            }
        },
    }
    match serde_json::to_string(&ServerMessage::Command(Command { id: c.id.clone(), seq: c.seq, body })) {
        Ok(text) => Framed::Text(text),
        Err(_) => Framed::Unreadable,
    }
}

impl LinkContext {
    /// Serves one gateway's link until it closes, breaks or falls silent.
    pub async fn run(self, gateway: Gateway, stream: Frames, sink: Replies) {
        run(self, gateway, stream, sink).await;
    }
}

async fn run(ctx: LinkContext, gateway: Gateway, mut stream: Frames, mut sink: Replies) {
    let connection = new_id();
    // Subscribe before reading the outbox, so a command queued in between still wakes us.
    let mut wakes = ctx.events.subscribe_signals(&gateway_topic(&gateway.id));
    ctx.gateways.mark_online(&gateway, &connection, None).await;
    tracing::info!("gateway connected");
    let welcome = ServerMessage::Welcome { gateway_id: gateway.id.clone(), heartbeat_secs: HEARTBEAT.as_secs() };
    let mut sent_up_to = 0i64;
    let mut ok = match serde_json::to_string(&welcome) {
        Ok(text) => sink.send(text).await.is_ok(),
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
                        let text = match frame(&ctx, &c).await {
                            Framed::Text(text) => text,
                            Framed::Unreadable => {
                                ctx.release.retire_unreadable_command(&gateway.id, &c).await;
                                continue;
                            }
                            // In order: what follows waits for it.
                            Framed::Later => break,
                        };
                        if sink.send(text).await.is_err() {
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
                Some(LinkFrame::Text(text)) => {
                    last_heard = tokio::time::Instant::now();
                    if let Some(reply) = handle(&ctx, &gateway, &connection, &text).await {
                        let Ok(text) = serde_json::to_string(&reply) else { continue };
                        ok = sink.send(text).await.is_ok();
                    }
                }
                Some(LinkFrame::Alive) => last_heard = tokio::time::Instant::now(),
                Some(LinkFrame::Closed) | None => ok = false,
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
async fn handle(ctx: &LinkContext, gateway: &Gateway, connection: &str, text: &str) -> Option<ServerMessage> {
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
        Ok(GatewayMessage::Readings(batch)) => match ctx.readings.apply(gateway, &batch).await {
            // Like a job report: confirmed once stored, sent again until then.
            Ok(()) => return Some(ServerMessage::ReportAck { report_id: batch.report_id }),
            Err(e) => tracing::error!(error = %e, "cannot store readings; the gateway sends them again"),
        },
        Ok(GatewayMessage::Discovered(report)) => match ctx.discoveries.apply(gateway, &report).await {
            Ok(()) => return Some(ServerMessage::ReportAck { report_id: report.discovery_id }),
            Err(e) => tracing::error!(error = %e, "cannot store a discovery report; the gateway sends it again"),
        },
        Err(e) => tracing::warn!(error = %e, "unreadable frame from gateway"),
    }
    None
}
