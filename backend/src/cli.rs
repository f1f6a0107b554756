//! The `yunyin` command line: serve (default), print the OpenAPI spec or the configuration,
//! and create admins.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};

use crate::{
    config::Config,
    domain::{AdminRole, AdminScope},
    services::admins::AdminWithPassword,
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
    Serve {
        /// Login name of the platform super admin created on first start (default `admin`,
        /// or `first_admin` / YUNYIN_FIRST_ADMIN); ignored once any admin exists.
        #[arg(long)]
        admin_username: Option<String>,
    },
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
    let command = cli.command.unwrap_or(Command::Serve { admin_username: None });
    if let Command::Openapi = command {
        // The services are built (never used) to describe the API; their pool wants a runtime.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let _guard = runtime.enter();
        println!("{}", startup::openapi_spec()?);
        return Ok(());
    }
    let mut config = Config::load(cli.config)?;
    if let Command::Serve { admin_username: Some(name) } = &command {
        config.first_admin = Some(name.clone());
    }
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
        let on_terminal = std::io::stdout().is_terminal();
        match hand_over_first_password(first, on_terminal, &app.state().config.data_dir) {
            Ok(FirstPassword::Printed(text)) => println!("{text}"),
            Ok(FirstPassword::InFile(path)) => tracing::warn!(
                username = %first.admin.username,
                file = %path.display(),
                "first start: platform super admin created; its one-time password is in this file (readable by this user only). Sign in, change it, then delete the file"
            ),
            Err(e) => {
                tracing::error!(error = %e, "first start: cannot store the first admin's one-time password; create another admin with `yunyin admin create`")
            }
        }
    }
    let backend = app.state().db.backend().name();
    tracing::info!(addr = %app.addr(), backend, redis = app.state().redis, "yunyin listening; API docs at /docs");
    app.run_until(startup::shutdown_signal()).await?;
    Ok(())
}

/// Where the first admin's one-time password went.
#[derive(Debug, PartialEq)]
enum FirstPassword {
    /// Shown on the terminal (this text).
    Printed(String),
    /// Written to this file, mode 0600.
    InFile(PathBuf),
}

/// The only copy of the first admin's password must reach a person and never the log stream:
/// on a terminal it is printed there; when stdout is redirected (a service manager, a log
/// file) it goes to `<data_dir>/first-admin-password` with owner-only rights instead.
fn hand_over_first_password(
    first: &AdminWithPassword,
    stdout_is_terminal: bool,
    data_dir: &Path,
) -> std::io::Result<FirstPassword> {
    let text = format!(
        "\n  First start: platform super admin created.\n    user name: {}\n    one-time password: {}\n  Sign in and change it.\n",
        first.admin.username, first.one_time_password
    );
    if stdout_is_terminal {
        return Ok(FirstPassword::Printed(text));
    }
    let path = data_dir.join("first-admin-password");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    // An older file may have been created with wider rights: narrow them before writing.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    Ok(FirstPassword::InFile(path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn first() -> AdminWithPassword {
        let admin = crate::domain::Admin {
            id: "a1".into(),
            username: "root-admin".into(),
            display_name: "root-admin".into(),
            scope: crate::domain::AdminScope::Platform,
            role: crate::domain::AdminRole::Super,
            must_change_password: true,
            status: crate::domain::OrgStatus::Active,
            created_at: 0,
            permissions: crate::domain::Permissions::all(),
        };
        AdminWithPassword { admin, one_time_password: "Secret-123-xyz".into() }
    }

    #[test]
    fn the_first_password_goes_to_the_terminal_or_a_private_file_never_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let printed = hand_over_first_password(&first(), true, dir.path()).unwrap();
        assert!(matches!(&printed, FirstPassword::Printed(t) if t.contains("Secret-123-xyz")));
        assert!(!dir.path().join("first-admin-password").exists(), "nothing written when a person sees it");

        let FirstPassword::InFile(path) = hand_over_first_password(&first(), false, dir.path()).unwrap() else {
            panic!("stdout redirected: the password must go to a file");
        };
        assert!(std::fs::read_to_string(&path).unwrap().contains("Secret-123-xyz"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
