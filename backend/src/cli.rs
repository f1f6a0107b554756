//! The `yunyin` command line: serve (default), print the OpenAPI spec or the configuration,
//! and create admins.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::{
    config::Config,
    domain::{AdminRole, AdminScope},
    startup::{self, AppState, Application},
    telemetry,
};

#[derive(Parser)]
#[command(name = "yunyin", version, about = "云印 yunyin cloud print platform server")]
struct Cli {
    /// Configuration file (default: ./yunyin.toml when it exists, or $YUNYIN_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Print the OpenAPI specification as JSON.
    Openapi,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin and print its one-time password once.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// `platform`, `provider:<id>` or `enterprise:<id>`.
        #[arg(long, default_value = "platform")]
        scope: String,
        /// `super` or `ordinary`.
        #[arg(long, default_value = "super")]
        role: String,
        /// Display name (defaults to the login name).
        #[arg(long)]
        display_name: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("yunyin: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        // The services are built (never used) to describe the API; their pool wants a runtime.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let _guard = runtime.enter();
        println!("{}", startup::openapi_spec()?);
        return Ok(());
    }
    let config = Config::load(cli.config)?;
    if let Command::Config = command {
        print!("{}", config.redacted_toml());
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Admin { command: AdminCommand::Create { username, scope, role, display_name } } => {
                let scope = parse_scope(&scope)?;
                let role = AdminRole::parse(&role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
                let state = AppState::connect(config).await?;
                let display = display_name.unwrap_or_else(|| username.clone());
                let created = state.services.admins.create_unchecked(scope, role, &username, &display).await?;
                println!(
                    "admin {} created; one-time password (shown once): {}",
                    created.admin.username, created.one_time_password
                );
                Ok(())
            }
            _ => serve(config).await,
        }
    })
}

fn parse_scope(raw: &str) -> anyhow::Result<AdminScope> {
    let scope = match raw.split_once(':') {
        None if raw == "platform" => AdminScope::Platform,
        Some(("provider", id)) => AdminScope::Provider(id.into()),
        Some(("enterprise", id)) => AdminScope::Enterprise(id.into()),
        _ => anyhow::bail!("--scope must be platform, provider:<id> or enterprise:<id>"),
    };
    Ok(scope)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    telemetry::init(config.log_format, &config.log);
    let app = Application::build(config).await?;
    if let Some(first) = app.bootstrap_admin() {
        // Printed to the terminal once, never logged: the only copy of this password.
        println!(
            "\n  First start: platform super admin created.\n    user name: {}\n    one-time password: {}\n  Sign in and change it.\n",
            first.admin.username, first.one_time_password
        );
    }
    let backend = app.state().db.backend().name();
    tracing::info!(addr = %app.addr(), backend, redis = app.state().redis, "yunyin listening; API docs at /docs");
    app.run_until(startup::shutdown_signal()).await?;
    Ok(())
}
