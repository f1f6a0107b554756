//! The gateway link: JSON text frames on the WebSocket a gateway opens to
//! `/api/v1/gateway/link` (`Authorization: Bearer <gateway credential>`). The server uses these
//! same types, so both ends agree by construction.
//!
//! - The server greets with [`ServerMessage::Welcome`], then sends every unacknowledged
//!   command in `seq` order, and new ones as they are queued.
//! - The gateway acknowledges each command once it has it safely ([`GatewayMessage::Ack`]);
//!   unacknowledged commands are sent again after a reconnect (at least once), so the gateway
//!   drops a command id it has seen before.
//! - The gateway reports job progress ([`GatewayMessage::JobUpdate`]), each report with its own
//!   `report_id`. The server confirms a report once it is applied ([`ServerMessage::ReportAck`]);
//!   the gateway keeps unconfirmed reports on disk and sends them again after a reconnect (and
//!   on each heartbeat), so a report lost with a dropped link still arrives. Applying a report
//!   twice changes nothing.
//! - The gateway sends a heartbeat every `heartbeat_secs`; the server treats a gateway silent
//!   for three heartbeats as gone.

use serde::{Deserialize, Serialize};

/// Server → gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame after the upgrade.
    Welcome { gateway_id: String, heartbeat_secs: u64 },
    /// Something to do.
    Command(Command),
    /// Job report `report_id` is applied; the gateway may forget it.
    ReportAck { report_id: String },
}

/// A command, numbered per gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// Unique id: the gateway's duplicate filter keys on it.
    pub id: String,
    /// Order of queuing for this gateway.
    pub seq: i64,
    #[serde(flatten)]
    pub body: CommandBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandBody {
    /// Print a released job.
    Print(PrintCommand),
}

/// A released job to print.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintCommand {
    pub job_id: String,
    pub print_point_id: String,
    /// Where the gateway reaches the printer (IPP URI).
    pub device_uri: String,
    /// Short-lived signed URL of the print-ready PDF.
    pub document_url: String,
    pub copies: u32,
    /// `one-sided`, `two-sided-long-edge` or `two-sided-short-edge`.
    pub sides: String,
    /// False prints monochrome.
    pub colour: bool,
    /// `A4`, `A3`, `A5`, `B5` or `Letter`.
    pub media: String,
    pub job_name: String,
    pub user_name: String,
}

/// Gateway → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GatewayMessage {
    /// First frame: who is here.
    Hello { version: String },
    /// Still here.
    Heartbeat,
    /// Command `id` is safely received.
    Ack { id: String },
    /// Progress of a job.
    JobUpdate(JobUpdate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobProgress {
    /// The printer accepted the job.
    Accepted,
    /// The printer is printing it.
    Printing,
    /// Done.
    Completed,
    /// It did not print (in full).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobUpdate {
    /// The gateway's id for this report, echoed in [`ServerMessage::ReportAck`]. Empty asks
    /// for no confirmation.
    #[serde(default)]
    pub report_id: String,
    pub job_id: String,
    pub progress: JobProgress,
    /// The printer's job id.
    pub ipp_job_id: Option<i32>,
    /// The printer's job state (`completed`, `aborted`, …).
    pub ipp_state: Option<String>,
    /// Sides printed, when the printer says.
    pub pages_printed: Option<i64>,
    /// Why it failed.
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_json() {
        let m = GatewayMessage::Ack { id: "c1".into() };
        assert_eq!(serde_json::to_string(&m).ok(), Some(r#"{"type":"ack","id":"c1"}"#.to_string()));
        let c = ServerMessage::Command(Command {
            id: "c1".into(),
            seq: 3,
            body: CommandBody::Print(PrintCommand {
                job_id: "j".into(),
                print_point_id: "p".into(),
                device_uri: "ipp://h/ipp/print".into(),
                document_url: "http://s/d".into(),
                copies: 2,
                sides: "one-sided".into(),
                colour: false,
                media: "A4".into(),
                job_name: "a.pdf".into(),
                user_name: "alice".into(),
            }),
        });
        let text = serde_json::to_string(&c).unwrap_or_default();
        assert!(text.starts_with(r#"{"type":"command","id":"c1","seq":3,"kind":"print","job_id":"j""#), "{text}");
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).ok(), Some(c));
    }
}
