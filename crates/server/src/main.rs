//! `wayfarer`: the customer journey orchestration server.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use server::{Config, Server};

/// mimalloc: the ingest path allocates many small objects; with it, batch ingest was 12% and
/// single calls 20% faster than with glibc's malloc (docs/BENCHMARKS.md, earlier results).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "wayfarer", version, about = "Customer journey orchestration: events in, one profile per person, a journey for each.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// A TOML file overriding the defaults (see `wayfarer config default`).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Where the embedded database lives (overrides `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (overrides `listen`).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Show configuration.
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
    /// Make a new admin token (the old one stops working) and print it.
    AdminToken {
        #[command(flatten)]
        common: Common,
    },
    /// Manage the users who sign in (the admin API has the rest: /api/users).
    Users {
        #[command(subcommand)]
        what: UsersCommand,
    },
    /// Journeys as code: validate, diff and apply JSON or YAML files against a running server.
    Journeys {
        #[command(subcommand)]
        what: JourneysCommand,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Measure Wayfarer's speed on this machine beside bare baselines (see docs/BENCHMARKS.md).
    Bench {
        /// A few seconds' smoke run instead of the full measurement.
        #[arg(long)]
        quick: bool,
        /// Runs per figure (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Use PostgreSQL at this URL instead of the embedded database.
        #[arg(long)]
        database_url: Option<String>,
        /// Background load (events/s) during the latency measurement.
        #[arg(long, default_value_t = 5000)]
        background_rate: u64,
        /// People for the scale figure (each with a profile, a waiting run and a timer).
        #[arg(long)]
        scale: Option<usize>,
        /// Simulated people the ingest load's events are about.
        #[arg(long, default_value_t = 10_000)]
        people: u64,
        /// People the email figure's send goes to (default 10 000; 300 with --quick).
        #[arg(long)]
        emails: Option<usize>,
        /// People whose segment time edge is timed (default 2000; with --quick 0: it waits up
        /// to three minutes of real time, so the quick run leaves it out unless asked).
        #[arg(long)]
        segment_edges: Option<usize>,
        /// The Python with aiosmtpd, for the email figure (default .venv/bin/python, then
        /// python3; without one the email figure is left out).
        #[arg(long)]
        python: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replay stored events through a journey file and report what it would have done.
    Backtest {
        file: PathBuf,
        /// Start of the period (RFC 3339), when the journey is considered published.
        #[arg(long)]
        from: String,
        /// End of the period (RFC 3339).
        #[arg(long)]
        to: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(clap::Args)]
struct RemoteArgs {
    /// The server's address.
    #[arg(long, env = "WAYFARER_SERVER", default_value = "http://127.0.0.1:8420", global = true)]
    server: String,
    /// The admin token, or a personal API token (`wft_...`, made with POST /api/me/tokens)
    /// whose owner is an editor (or admin) to apply.
    #[arg(long, env = "WAYFARER_ADMIN_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
}

impl RemoteArgs {
    fn remote(&self) -> anyhow::Result<server::cli::Remote> {
        let token = self.token.as_deref().context("give a token: --token, or WAYFARER_ADMIN_TOKEN")?;
        Ok(server::cli::Remote::new(&self.server, token))
    }
}

#[derive(Subcommand)]
enum JourneysCommand {
    /// Report every problem of a journey file (exit status 1 when there are any).
    Validate { file: PathBuf },
    /// Show how a file differs from the published version (exit status 1 when it does).
    Diff { file: PathBuf },
    /// Validate the file and, if it has no errors, save it as the draft and publish it, in one
    /// step on the server (exit status 1, and nothing changes, not even the draft, if it has).
    Apply { file: PathBuf },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user and print their password once (generated, or taken from
    /// WAYFARER_USER_PASSWORD).
    Add {
        #[command(flatten)]
        common: Common,
        /// Their e-mail, with which they sign in.
        #[arg(long)]
        email: String,
        /// admin, editor or viewer.
        #[arg(long, value_parser = ["admin", "editor", "viewer"])]
        role: String,
        /// Their name (the part of the e-mail before `@` by default).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (defaults, file, environment), secrets masked.
    Check {
        #[command(flatten)]
        common: Common,
    },
    /// Print the commented defaults (a starting point for a config file).
    Default,
}

fn load(common: &Common, listen: Option<String>) -> anyhow::Result<Config> {
    let mut config = Config::load(common.config.as_deref(), &|k| std::env::var(k).ok())?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(listen) = listen {
        config.listen = listen;
    }
    Ok(config)
}

fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests and commits");
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The chain of causes, without a backtrace: this is for the person at the terminal.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { common, listen } => {
            let config = load(&common, listen)?;
            init_logs(&config);
            // Bind first: a wrong address fails before anything is created on disk.
            let listener =
                tokio::net::TcpListener::bind(&config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
            let server = Server::build(&config).await?;
            if let Some(token) = &server.new_admin_token {
                println!("Admin token (shown once; `wayfarer admin-token` makes a new one):\n\n    {token}\n");
            }
            if let Some((email, password)) = &server.new_admin_user {
                let addr = listener.local_addr()?;
                println!(
                    "Admin user (shown once; change the password under Users, or make more with `wayfarer users add`):\n\n    \
                     e-mail:   {email}\n    password: {password}\n    sign in:  http://{addr}/\n"
                );
            }
            let store = if config.database_url.is_empty() { format!("sqlite in {}", config.data_dir.display()) } else { "postgres".into() };
            let smtp = if config.smtp.host.is_empty() {
                "none: emails are captured, not sent".to_owned()
            } else {
                format!("{}:{}", config.smtp.host, config.smtp.port)
            };
            let addr = listener.local_addr()?;
            if server::ui::present() {
                println!("Web interface: http://{addr}/");
            }
            tracing::info!(%addr, %store, %smtp, "wayfarer listening");
            server.serve(listener, shutdown_signal()).await
        }
        Command::Config { what: ConfigCommand::Check { common } } => {
            let config = load(&common, None)?;
            print!("{}", config.show());
            Ok(())
        }
        Command::Config { what: ConfigCommand::Default } => {
            print!("{}", server::config::DEFAULTS);
            Ok(())
        }
        Command::Journeys { what, remote } => {
            let remote = remote.remote()?;
            let ok = match what {
                JourneysCommand::Validate { file } => server::cli::validate(&remote, &file).await?,
                JourneysCommand::Diff { file } => server::cli::diff_file(&remote, &file).await?,
                JourneysCommand::Apply { file } => server::cli::apply(&remote, &file).await?,
            };
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bench { quick, runs, database_url, background_rate, scale, people, emails, segment_edges, python, json } => {
            let options =
                server::bench::Options { quick, runs, database_url, background_rate, scale, people, emails, segment_edges, python };
            let report = server::bench::run(&options).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", server::bench::table(&report));
            }
            Ok(())
        }
        Command::Backtest { file, from, to, remote } => {
            let remote = remote.remote()?;
            server::cli::backtest(&remote, &file, &from, &to).await
        }
        Command::Users { what: UsersCommand::Add { common, email, role, name } } => {
            let config = load(&common, None)?;
            let store = server::open_store(&config).await?;
            let role = store::Role::parse(&role).context("the role is admin, editor or viewer")?;
            let (password, generated) = match std::env::var("WAYFARER_USER_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (server::auth::new_password(), true),
            };
            let p = password.clone();
            let now = engine::Clock::now(&engine::SystemClock);
            let shown = email.clone();
            tokio::task::spawn_blocking(move || {
                server::add_user(&*store, &email, name.as_deref(), role, &p, now, "cli (wayfarer users add)")
            })
            .await??;
            if generated {
                println!("Created {shown} ({}). Password (shown once):\n\n    {password}\n", role.as_str());
            } else {
                println!("Created {shown} ({}) with the password from WAYFARER_USER_PASSWORD.", role.as_str());
            }
            Ok(())
        }
        Command::AdminToken { common } => {
            let config = load(&common, None)?;
            let store = server::open_store(&config).await?;
            let token = tokio::task::spawn_blocking(move || server::rotate_admin_token(&*store)).await??;
            println!("{token}");
            Ok(())
        }
    }
}
