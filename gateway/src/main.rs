//! The `yunyin-gateway` command: set up once, add printers, then `run`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use yunyin_gateway::{
    agent::Agent,
    commands::{self, PrinterEntry},
    config, printer,
    scans::{self, ScanConfig},
    status,
};

#[derive(Parser)]
#[command(name = "yunyin-gateway", version, about = "yunyin on-site gateway")]
struct Cli {
    /// Where the gateway keeps its credential and its memory of commands [default:
    /// /var/lib/yunyin-gateway where the Debian package made it, else ./gateway-state].
    #[arg(
        long,
        global = true,
        env = "YUNYIN_GATEWAY_STATE_DIR",
        default_value_os_t = config::default_state_dir(),
        hide_default_value = true
    )]
    state_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 企业标识检测: check an enterprise code against the server.
    Check {
        #[arg(long)]
        server: String,
        #[arg(long)]
        enterprise: String,
    },
    /// Enrol this gateway with a one-time token from the console.
    Setup {
        #[arg(long)]
        server: String,
        #[arg(long)]
        enterprise: String,
        #[arg(long)]
        token: String,
        /// A name for this gateway (default: the host name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Add a printer to the cloud; `--refresh` re-binds it after a reinstall.
    AddPrinter {
        /// Its IP address, host name or IPP URI.
        uri: String,
        #[arg(long)]
        mac: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        refresh: bool,
    },
    /// Add the printers listed in a TOML file (`[[printer]]` tables with `uri` or `ip`, and
    /// optionally `mac` and `name`); `--refresh` re-binds them after a reinstall.
    AddPrinters {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        refresh: bool,
    },
    /// Show what a printer reports over IPP.
    PrinterInfo { uri: String },
    /// Keep the link to the server and print released jobs.
    Run {
        /// A configuration file (server, enterprise, enrolment_token, name): a gateway not
        /// enrolled yet enrols with it first. The Debian package's is
        /// /etc/yunyin-gateway/gateway.toml.
        #[arg(long, env = "YUNYIN_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
        /// Where the scan-to-FTP server listens for the site's MFPs (`off` to run none); wins
        /// over the configuration file's `[scan] ftp_listen` [default: 0.0.0.0:2121].
        #[arg(long, env = "YUNYIN_GATEWAY_SCAN_FTP")]
        scan_ftp: Option<String>,
        /// Ports for the FTP server's passive data connections (open them in the firewall);
        /// wins over `[scan] passive_ports` [default: 50000-50100].
        #[arg(long, env = "YUNYIN_GATEWAY_SCAN_PASSIVE_PORTS")]
        scan_passive_ports: Option<String>,
    },
    /// Whether the agent runs and is linked, and what it reads (exit 0, 1 or 3).
    ///
    /// Shows the link, the last error, the readings waiting to upload, and each printer the
    /// agent reads with when it last read it. Exit status: 0 running and linked, 1 running but
    /// not linked to the server, 3 not running (never started here, stopped, or gone),
    /// 4 status unknown (the status file cannot be read).
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "gateway".into())
}

async fn add(state_dir: &std::path::Path, printers: &[PrinterEntry], refresh: bool) -> anyhow::Result<()> {
    for r in commands::add_printers(state_dir, printers, refresh).await? {
        // The exclamation mark: on the platform under another gateway.
        let mark = if r.outcome == "bound_elsewhere" { "! " } else { "" };
        println!("{mark}{}: {} {}", r.key, r.outcome, r.qr_url.unwrap_or_default());
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn stop_requested() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("YUNYIN_GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Check { server, enterprise } => {
            let e = commands::check(&server, &enterprise).await?;
            println!("OK: {} ({})", e.enterprise_name, e.enterprise_id);
        }
        Command::Setup { server, enterprise, token, name } => {
            let s =
                commands::setup(&cli.state_dir, &server, &enterprise, &token, &name.unwrap_or_else(host_name)).await?;
            println!("enrolled as gateway {}", s.gateway_id);
        }
        Command::AddPrinter { uri, mac, name, refresh } => {
            add(&cli.state_dir, &[PrinterEntry { uri, mac, name }], refresh).await?;
        }
        Command::AddPrinters { file, refresh } => {
            add(&cli.state_dir, &commands::read_printers_file(&file)?, refresh).await?;
        }
        Command::PrinterInfo { uri } => {
            let uri = commands::printer_uri(&uri);
            println!("{}", serde_json::to_string_pretty(&printer::get_printer_attributes(&uri).await?)?);
        }
        Command::Status { json } => std::process::exit(status::command(&cli.state_dir, json)),
        Command::Run { config, scan_ftp, scan_passive_ports } => {
            // A mistake in the scan settings stops the start before the enrolment token is used.
            let file_scan = match &config {
                Some(path) => config::GatewayConfig::load(path)?.scan,
                None => config::ScanSection::default(),
            };
            let scan = ScanConfig::resolve(scan_ftp.as_deref(), scan_passive_ports.as_deref(), &file_scan)?;
            if let Some(path) = config {
                config::enrol_if_needed(&cli.state_dir, &path, &host_name()).await?;
            }
            let agent = Agent::new(&cli.state_dir)?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            if let Some(scan) = scan {
                scans::start(agent.clone(), scan, stopped.clone()).await?;
            }
            let running = tokio::spawn(agent.run(stopped));
            stop_requested().await?;
            let _ = stop.send(true);
            running.await?;
        }
    }
    Ok(())
}
