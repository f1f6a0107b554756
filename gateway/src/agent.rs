//! The running gateway: keeps the link to the server open (reconnecting with backoff and
//! jitter), takes print commands exactly once, prints them over IPP and reports progress.
//! Reports wait on disk until the server confirms them: made while the link is down, or lost
//! with a link that dropped, they go out (again) when it is back. Device readings (the
//! `monitor` schedule) travel the same way through the reading spool, oldest first.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use crate::{
    monitor::MonitorConfig,
    printer::{self, PrintOptions, PrinterInfo},
    protocol::{
        Command, CommandBody, DeviceReading, DiscoverCommand, GatewayMessage, JobProgress, JobUpdate, PrintCommand,
        ServerMessage,
    },
    server_api::ServerApi,
    spool::{into_batches, ReadingSpool},
    state::{GatewayState, Stage, StateFile, TakenCommand},
};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a printed job may take before the gateway stops waiting for it.
const PRINT_LIMIT: Duration = Duration::from_secs(600);
/// Reading batches in flight at once: the rest wait on disk for their turn.
const READING_WINDOW: usize = 16;

pub struct Agent {
    state_file: StateFile,
    state: Mutex<GatewayState>,
    api: ServerApi,
    spool: PathBuf,
    outbox: mpsc::UnboundedSender<GatewayMessage>,
    outbox_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<GatewayMessage>>,
    printers: tokio::sync::Mutex<HashMap<String, PrinterInfo>>,
    /// Whether the link is up now (for tests and status displays).
    connected: watch::Sender<bool>,
    /// Reading batches waiting for the server's confirmation.
    readings: ReadingSpool,
    /// Those of them sent on this link and not yet confirmed.
    in_flight: Mutex<HashSet<String>>,
    /// What `yunyin-gateway status` shows, kept in `status.json`.
    status: crate::status::StatusBoard,
    /// Discoveries running, or run and waiting for the server's confirmation.
    discoveries: crate::discovery::Discoveries,
    /// The print points' scan accounts (for the FTP server), as last listed by the server.
    scan_accounts: crate::scans::accounts::ScanAccounts,
    /// Scans waiting for the server.
    scan_outbox: crate::scans::outbox::ScanOutbox,
}

fn lock(state: &Mutex<GatewayState>) -> std::sync::MutexGuard<'_, GatewayState> {
    // The state stays usable even if a holder panicked.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn in_flight(set: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    set.lock().unwrap_or_else(|p| p.into_inner())
}

impl Agent {
    /// An agent over a set-up state directory.
    pub fn new(state_dir: &std::path::Path) -> Result<Arc<Self>, crate::state::StateError> {
        let state_file = StateFile::new(state_dir);
        let state = state_file.load()?;
        if !state.is_set_up() {
            return Err(crate::state::StateError::NotSetUp);
        }
        let api = ServerApi::new(&state.server_url, Some(state.credential.clone()));
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        let (connected, _) = watch::channel(false);
        let readings = ReadingSpool::open(state_dir)
            .map_err(|source| crate::state::StateError::Io { path: state_dir.join("readings"), source })?;
        let status = crate::status::StatusBoard::new(state_dir, &state.server_url, &state.gateway_id);
        let scan_outbox = crate::scans::outbox::ScanOutbox::open(state_dir)
            .map_err(|source| crate::state::StateError::Io { path: state_dir.join("scans"), source })?;
        Ok(Arc::new(Self {
            state_file,
            state: Mutex::new(state),
            api,
            spool: state_dir.join("spool"),
            outbox,
            outbox_rx: tokio::sync::Mutex::new(outbox_rx),
            printers: tokio::sync::Mutex::new(HashMap::new()),
            connected,
            readings,
            in_flight: Mutex::new(HashSet::new()),
            status,
            discoveries: crate::discovery::Discoveries::default(),
            scan_accounts: crate::scans::accounts::ScanAccounts::load(state_dir),
            scan_outbox,
        }))
    }

    /// How discoveries run (the host's CUPS server, timeouts); set before or while running.
    pub fn discoveries(&self) -> &crate::discovery::Discoveries {
        &self.discoveries
    }

    /// The status board the `status` command reads.
    pub fn status(&self) -> &crate::status::StatusBoard {
        &self.status
    }

    /// The scan accounts the FTP server accepts.
    pub fn scan_accounts(&self) -> &crate::scans::accounts::ScanAccounts {
        &self.scan_accounts
    }

    /// Scans waiting for the server.
    pub fn scan_outbox(&self) -> &crate::scans::outbox::ScanOutbox {
        &self.scan_outbox
    }

    pub fn api(&self) -> &ServerApi {
        &self.api
    }

    /// Follows whether the link is up.
    pub fn connected(&self) -> watch::Receiver<bool> {
        self.connected.subscribe()
    }

    fn save(&self) {
        let snapshot = lock(&self.state).clone();
        if let Err(e) = self.state_file.save(&snapshot) {
            tracing::error!(error = %e, "cannot save gateway state");
        }
    }

    /// Reports job progress: kept on disk until the server confirms it, sent when the link is up.
    fn report(&self, mut u: JobUpdate) {
        u.report_id = format!("{:032x}", rand::thread_rng().gen::<u128>());
        lock(&self.state).add_report(u.clone());
        self.save();
        let _ = self.outbox.send(GatewayMessage::JobUpdate(u));
    }

    /// Queues every unconfirmed report for sending (again), and the oldest reading batches.
    fn resend_unconfirmed(&self) {
        let pending = lock(&self.state).reports.clone();
        for r in pending {
            let _ = self.outbox.send(GatewayMessage::JobUpdate(r));
        }
        in_flight(&self.in_flight).clear();
        self.pump_readings();
        for (command_id, report) in self.discoveries.unconfirmed() {
            let _ = self.outbox.send(GatewayMessage::Discovered(report));
            let _ = self.outbox.send(GatewayMessage::Ack { id: command_id });
        }
    }

    /// Keeps a round's readings on disk and sends them when their turn comes.
    pub fn send_readings(&self, readings: Vec<DeviceReading>) {
        for batch in into_batches(readings, || rand::thread_rng().gen()) {
            if let Err(e) = self.readings.push(&batch) {
                // Not kept: still worth sending once.
                tracing::error!(error = %e, "cannot keep readings on disk");
                let _ = self.outbox.send(GatewayMessage::Readings(batch));
            }
        }
        self.pump_readings();
    }

    /// Sends the oldest waiting batches not yet in flight, up to the window.
    fn pump_readings(&self) {
        let mut sent = in_flight(&self.in_flight);
        for batch in self.readings.oldest(READING_WINDOW) {
            if sent.len() >= READING_WINDOW {
                break;
            }
            if sent.insert(batch.report_id.clone()) {
                let _ = self.outbox.send(GatewayMessage::Readings(batch));
            }
        }
    }

    /// Reading batches waiting for the server.
    pub fn readings_waiting(&self) -> usize {
        self.readings.len()
    }

    /// Runs until `stop` turns true: resumes what a previous run left unfinished, then keeps
    /// the link up.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        self.run_with(MonitorConfig::default(), stop).await;
    }

    /// [`Agent::run`] reading devices on the schedule `monitor` sets (tests, benchmarks).
    pub async fn run_with(self: Arc<Self>, monitor: MonitorConfig, stop: watch::Receiver<bool>) {
        // The status file is kept while the agent runs, and marked stopped once it has.
        let status = tokio::spawn(crate::status::keep(self.clone(), stop.clone()));
        self.run_link(monitor, stop).await;
        let _ = status.await;
    }

    async fn run_link(self: Arc<Self>, monitor: MonitorConfig, mut stop: watch::Receiver<bool>) {
        self.clone().resume_unfinished();
        tokio::spawn(crate::monitor::run(self.clone(), monitor, stop.clone()));
        let mut attempt: u32 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            match self.clone().connect_once(&mut stop).await {
                Ok(()) => attempt = 0,
                Err(e) => {
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(error = %e, attempt, "gateway link down");
                    self.status.error(format!("link: {e}"));
                }
            }
            let _ = self.connected.send(false);
            if *stop.borrow() {
                return;
            }
            // Exponential backoff with jitter, so a fleet of gateways does not reconnect in step.
            let base = Duration::from_millis(250u64.saturating_mul(1u64 << attempt.min(7))).min(MAX_BACKOFF);
            let wait = base.mul_f64(rand::thread_rng().gen_range(0.5..1.5));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn connect_once(self: Arc<Self>, stop: &mut watch::Receiver<bool>) -> Result<(), String> {
        let mut request = self.api.link_url().into_client_request().map_err(|e| e.to_string())?;
        let auth = format!("Bearer {}", self.api.credential().unwrap_or(""));
        request.headers_mut().insert(
            "authorization",
            auth.parse()
                .map_err(|e: tokio_tungstenite::tungstenite::http::header::InvalidHeaderValue| e.to_string())?,
        );
        let (socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| e.to_string())?;
        let (mut sink, mut stream) = socket.split();
        let hello = GatewayMessage::Hello { version: env!("CARGO_PKG_VERSION").into() };
        sink.send(Message::Text(serde_json::to_string(&hello).map_err(|e| e.to_string())?.into()))
            .await
            .map_err(|e| e.to_string())?;
        let _ = self.connected.send(true);
        tracing::info!("gateway link up");
        let mut outbox = self.outbox_rx.lock().await;
        // What waited in memory is also on disk: send the disk's list, in order, once.
        while outbox.try_recv().is_ok() {}
        self.resend_unconfirmed();
        let mut heartbeat = tokio::time::interval(Duration::from_secs(15));
        let mut unsent: Option<GatewayMessage> = None;
        loop {
            if let Some(m) = unsent.take() {
                let text = serde_json::to_string(&m).map_err(|e| e.to_string())?;
                if let Err(e) = sink.send(Message::Text(text.into())).await {
                    // Keep it for the next link.
                    let _ = self.outbox.send(m);
                    return Err(e.to_string());
                }
                continue;
            }
            tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMessage>(&text) {
                        Ok(ServerMessage::Welcome { heartbeat_secs, .. }) => {
                            heartbeat = tokio::time::interval(Duration::from_secs(heartbeat_secs.max(1)));
                        }
                        Ok(ServerMessage::Command(c)) => {
                            if let Some(ack) = self.clone().take_command(c) {
                                unsent = Some(ack);
                            }
                        }
                        Ok(ServerMessage::ReportAck { report_id }) => {
                            if lock(&self.state).confirm_report(&report_id) {
                                self.save();
                            } else if self.readings.confirm(&report_id) {
                                in_flight(&self.in_flight).remove(&report_id);
                                self.pump_readings();
                            } else {
                                self.discoveries.confirm(&report_id);
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "unreadable frame from the server"),
                    },
                    Some(Ok(Message::Close(_))) | None => return Err("server closed the link".into()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.to_string()),
                },
                m = outbox.recv() => {
                    if let Some(m) = m {
                        unsent = Some(m);
                    }
                }
                _ = heartbeat.tick() => {
                    // Normally empty: reports are confirmed within milliseconds. One the server
                    // could not apply (its database was away) is tried again here.
                    self.resend_unconfirmed();
                    unsent = Some(GatewayMessage::Heartbeat);
                }
                _ = stop.changed() => {
                    let _ = sink.close().await;
                    return Ok(());
                }
            }
        }
    }

    /// Takes a command on once: a duplicate is only acknowledged again. The command is
    /// written to disk before the acknowledgement, so neither a lost ack nor a restart can
    /// make it print twice.
    fn take_command(self: Arc<Self>, c: Command) -> Option<GatewayMessage> {
        let p = match &c.body {
            CommandBody::Print(p) => p,
            CommandBody::Discover(d) => return self.take_discovery(&c.id, d.clone()),
        };
        let fresh = lock(&self.state).take(TakenCommand {
            command_id: c.id.clone(),
            job_id: p.job_id.clone(),
            device_uri: p.device_uri.clone(),
            stage: Stage::Received,
            print: Some(p.clone()),
        });
        if fresh {
            self.save();
            let (me, id, p) = (self.clone(), c.id.clone(), p.clone());
            tokio::spawn(async move { me.print(id, p).await });
        } else {
            tracing::info!(command = %c.id, "duplicate delivery; acknowledged again, not printed again");
        }
        Some(GatewayMessage::Ack { id: c.id })
    }

    /// Runs a discovery beside printing and readings. Its command is acknowledged with the
    /// report, once there is one: a restart before then gets the command again.
    fn take_discovery(self: Arc<Self>, command_id: &str, d: DiscoverCommand) -> Option<GatewayMessage> {
        match self.discoveries.take(command_id, &d.discovery_id) {
            crate::discovery::Taken::Run(config) => {
                let id = command_id.to_string();
                tokio::spawn(async move {
                    let report = crate::discovery::discover(&d, &config).await;
                    self.discoveries.finish(&report);
                    let _ = self.outbox.send(GatewayMessage::Discovered(report));
                    let _ = self.outbox.send(GatewayMessage::Ack { id });
                });
                None
            }
            crate::discovery::Taken::Running => None,
            crate::discovery::Taken::Done(report) => {
                let _ = self.outbox.send(GatewayMessage::Discovered(report));
                Some(GatewayMessage::Ack { id: command_id.to_string() })
            }
        }
    }

    async fn printer_info(&self, uri: &str) -> Result<PrinterInfo, String> {
        if let Some(info) = self.printers.lock().await.get(uri) {
            return Ok(info.clone());
        }
        let info = printer::get_printer_attributes(uri).await.map_err(|e| e.to_string())?;
        self.printers.lock().await.insert(uri.to_string(), info.clone());
        Ok(info)
    }

    async fn print(self: Arc<Self>, command_id: String, p: PrintCommand) {
        let fail = |reason: String| {
            tracing::warn!(job = %p.job_id, %reason, "print failed");
            JobUpdate {
                report_id: String::new(),
                job_id: p.job_id.clone(),
                progress: JobProgress::Failed,
                ipp_job_id: None,
                ipp_state: None,
                pages_printed: None,
                reason: Some(reason),
            }
        };
        let _ = tokio::fs::create_dir_all(&self.spool).await;
        let file = self.spool.join(format!("{}.pdf", p.job_id));
        let result: Result<JobUpdate, JobUpdate> = async {
            self.api.download(&p.document_url, &file).await.map_err(|e| fail(format!("download: {e}")))?;
            let info = self.printer_info(&p.device_uri).await.map_err(|e| fail(format!("printer: {e}")))?;
            let options = PrintOptions {
                copies: p.copies,
                sides: p.sides.clone(),
                colour: p.colour,
                media: p.media.clone(),
                job_name: p.job_name.clone(),
                tag: command_id.clone(),
                user_name: p.user_name.clone(),
            };
            // From here until the printer answers, a restart cannot tell whether it has the job.
            lock(&self.state).set_stage(&command_id, Stage::Sending);
            self.save();
            let ipp_job =
                self.send_when_free(&p.device_uri, &info, &file, &options).await.map_err(|e| fail(e.to_string()))?;
            Ok(self.follow(&command_id, &p.device_uri, &p.job_id, ipp_job).await)
        }
        .await;
        let _ = tokio::fs::remove_file(&file).await;
        self.report(result.unwrap_or_else(|failed| failed));
        lock(&self.state).set_stage(&command_id, Stage::Done);
        self.save();
    }

    /// Sends a job by Print-Job; while the printer says it is busy (it prints another job),
    /// tries again with growing pauses, for as long as a print may take.
    async fn send_when_free(
        &self,
        uri: &str,
        info: &PrinterInfo,
        file: &std::path::Path,
        options: &PrintOptions,
    ) -> Result<i32, printer::PrinterError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(500);
        loop {
            match printer::print_job(uri, info, file, options).await {
                Err(e) if e.is_busy() && started.elapsed() + pause < PRINT_LIMIT => {
                    tracing::info!(%uri, wait_ms = pause.as_millis() as u64, "printer busy; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(15));
                }
                other => return other,
            }
        }
    }

    /// The printer has the job as `ipp_job`: written down (a restart follows it rather than
    /// sending it again), reported accepted, and followed to its end.
    async fn follow(&self, command_id: &str, uri: &str, job_id: &str, ipp_job: i32) -> JobUpdate {
        lock(&self.state).set_stage(command_id, Stage::Printing { ipp_job_id: ipp_job });
        self.save();
        self.report(JobUpdate {
            report_id: String::new(),
            job_id: job_id.to_string(),
            progress: JobProgress::Accepted,
            ipp_job_id: Some(ipp_job),
            ipp_state: None,
            pages_printed: None,
            reason: None,
        });
        self.finish(uri, job_id, ipp_job).await
    }

    /// Waits for the printer to finish job `ipp_job` and says how it ended.
    async fn finish(&self, uri: &str, job_id: &str, ipp_job: i32) -> JobUpdate {
        let status = printer::wait_job(uri, ipp_job, Duration::from_millis(250), PRINT_LIMIT).await;
        match status {
            Ok(s) => {
                let pages = s.impressions_completed.or(s.pages_completed).map(i64::from);
                let state = format!("{:?}", s.state).to_lowercase();
                let done = matches!(s.state, printer::IppJobState::Completed);
                JobUpdate {
                    report_id: String::new(),
                    job_id: job_id.to_string(),
                    progress: if done { JobProgress::Completed } else { JobProgress::Failed },
                    ipp_job_id: Some(ipp_job),
                    ipp_state: Some(state.clone()),
                    pages_printed: pages,
                    reason: (!done).then(|| format!("printer job {state}: {}", s.reasons.join(", "))),
                }
            }
            Err(e) => JobUpdate {
                report_id: String::new(),
                job_id: job_id.to_string(),
                progress: JobProgress::Failed,
                ipp_job_id: Some(ipp_job),
                ipp_state: None,
                pages_printed: None,
                reason: Some(e.to_string()),
            },
        }
    }

    /// After a restart: a command taken on but not yet sent to the printer is printed now; one
    /// already at the printer is followed to its end. For one interrupted while being sent, the
    /// printer's job list is asked for the job by its tag: found, it is followed to its end;
    /// not found (or the printer cannot say), it is not sent again, since a printer that
    /// already forgot a finished job would print a second copy, and is reported failed, so
    /// the user is refunded.
    fn resume_unfinished(self: Arc<Self>) {
        let unfinished = lock(&self.state).unfinished();
        for c in unfinished {
            let me = self.clone();
            tokio::spawn(async move {
                let failed = |reason: &str, pages| JobUpdate {
                    report_id: String::new(),
                    job_id: c.job_id.clone(),
                    progress: JobProgress::Failed,
                    ipp_job_id: None,
                    ipp_state: None,
                    pages_printed: pages,
                    reason: Some(reason.into()),
                };
                let update = match (&c.stage, &c.print) {
                    (Stage::Received, Some(print)) => {
                        tracing::info!(job = %c.job_id, "printing a job taken on before the restart");
                        return me.print(c.command_id.clone(), print.clone()).await;
                    }
                    (Stage::Printing { ipp_job_id }, _) => me.finish(&c.device_uri, &c.job_id, *ipp_job_id).await,
                    (Stage::Sending, _) => match printer::find_job(&c.device_uri, &c.command_id).await {
                        Ok(Some(ipp_job_id)) => {
                            tracing::info!(job = %c.job_id, ipp_job_id, "the printer has the job sent before the restart");
                            me.follow(&c.command_id, &c.device_uri, &c.job_id, ipp_job_id).await
                        }
                        Ok(None) => failed(
                            "the gateway restarted while sending the job, and the printer does not have it",
                            Some(0),
                        ),
                        Err(e) => {
                            tracing::warn!(job = %c.job_id, error = %e, "cannot ask the printer for the job sent before the restart");
                            failed("the gateway restarted while sending the job to the printer", None)
                        }
                    },
                    _ => failed("the gateway restarted before printing", Some(0)),
                };
                me.report(update);
                lock(&me.state).set_stage(&c.command_id, Stage::Done);
                me.save();
            });
        }
    }
}
