//! The `yunyin-gateway` command: set up once, add printers, then `run`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use yunyin_gateway::{
    agent::Agent,
    commands::{self, PrinterEntry},
    printer,
};

#[derive(Parser)]
#[command(name = "yunyin-gateway", version, about = "yunyin on-site gateway")]
struct Cli {
    /// Where the gateway keeps its credential and its memory of commands.
    #[arg(long, env = "YUNYIN_GATEWAY_STATE_DIR", default_value = "gateway-state")]
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
    /// Add a printer (IPP URI) to the cloud; `--refresh` re-binds it after a reinstall.
    AddPrinter {
        uri: String,
        #[arg(long)]
        mac: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        refresh: bool,
    },
    /// Show what a printer reports over IPP.
    PrinterInfo { uri: String },
    /// Keep the link to the server and print released jobs.
    Run,
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "gateway".into())
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
            for r in commands::add_printers(&cli.state_dir, &[PrinterEntry { uri, mac, name }], refresh).await? {
                // The exclamation mark: on the platform under another gateway.
                let mark = if r.outcome == "bound_elsewhere" { "! " } else { "" };
                println!("{mark}{}: {} {}", r.key, r.outcome, r.qr_url.unwrap_or_default());
            }
        }
        Command::PrinterInfo { uri } => {
            println!("{}", serde_json::to_string_pretty(&printer::get_printer_attributes(&uri).await?)?);
        }
        Command::Run => {
            let agent = Agent::new(&cli.state_dir)?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let running = tokio::spawn(agent.run(stopped));
            tokio::signal::ctrl_c().await?;
            let _ = stop.send(true);
            running.await?;
        }
    }
    Ok(())
}
