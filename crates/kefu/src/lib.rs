//! The `kefu` command line: `serve`, `demo`, `migrate`, `check-config`, `user` and `sim`.
//! Each command is a short function over `kefu-server`, `kefu-store` or `kefu-sim`.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use kefu_core::Role;
use kefu_server::Settings;
use kefu_server::auth::{password, sip};
use kefu_server::clock::Clock;
use kefu_server::settings::{FIELDS, Sources};
use kefu_store::{NewUser, Store, StoreError, UserPatch};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

pub mod sim;

/// kefu (客服): the contact-center platform.
#[derive(Parser, Debug)]
#[command(name = "kefu", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Settings every command accepts; they override `kefu.toml` and `KEFU_*`.
#[derive(Args, Debug, Default)]
struct GlobalArgs {
    /// Configuration file (default: ./kefu.toml if present; also KEFU_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory for the embedded database (default ./data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<String>,
    /// PostgreSQL URL (postgres://…); SQLite in the data directory when absent.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// HTTP listen address (default 127.0.0.1:8080).
    #[arg(long, global = true, value_name = "ADDR")]
    http: Option<String>,
    /// SIP listen address, UDP and TCP (default off; the demo uses 127.0.0.1:5060).
    #[arg(long, global = true, value_name = "ADDR")]
    sip: Option<String>,
    /// Log filter (default info).
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve,
    /// Run the server with a demo tenant (agents 1001–1010, lead1, lead2, super, admin).
    Demo {
        /// Password for every demo account (otherwise a random one is printed).
        #[arg(long, value_name = "PW")]
        demo_password: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Only show which migrations are applied.
        #[arg(long)]
        status: bool,
    },
    /// Check the configuration and print every problem at once.
    CheckConfig {
        /// Also print what every setting means.
        #[arg(long)]
        explain: bool,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Simulate a day of calls against the real ACD router and print the KPIs.
    Sim(sim::SimArgs),
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user; prints a generated password unless --password-stdin is given.
    Add {
        /// Login name.
        username: String,
        /// Role: agent, team_lead, qa, supervisor or admin.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Display name (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// SIP extension (2–16 digits); the phone registers as it with the user's password.
        #[arg(long)]
        extension: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (ends their sessions; with an extension, also their phone's SIP
    /// password); prints a generated one unless --password-stdin.
    Passwd {
        /// Login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user (they cannot log in; their sessions end).
    Disable {
        /// Login name.
        username: String,
    },
}

impl GlobalArgs {
    fn overrides(&self) -> Vec<(String, String)> {
        let mut o = Vec::new();
        for (key, value) in [
            ("data_dir", &self.data_dir),
            ("database_url", &self.database_url),
            ("http", &self.http),
            ("sip", &self.sip),
            ("log", &self.log),
        ] {
            if let Some(v) = value {
                o.push((key.to_owned(), v.clone()));
            }
        }
        o
    }

    fn load(&self, defaults: &[(&str, &str)]) -> Result<Settings, ExitCode> {
        let mut sources = Sources::from_process(self.config.clone(), self.overrides());
        sources.defaults = defaults.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load(&sources).map_err(|problems| {
            eprintln!("kefu: the configuration has {} problem(s):", problems.len());
            for p in &problems {
                eprintln!("  - {p}");
            }
            ExitCode::from(2)
        })
    }
}

/// What the demo runs with unless told otherwise: telephony on, for phones on this machine.
const DEMO_DEFAULTS: &[(&str, &str)] = &[("sip", "127.0.0.1:5060")];

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match cli.command {
        Command::CheckConfig { explain } => return check_config(&cli.global, explain),
        Command::Sim(args) => return sim::run(args),
        Command::Demo { .. } => match cli.global.load(DEMO_DEFAULTS) {
            Ok(s) => s,
            Err(code) => return code,
        },
        _ => match cli.global.load(&[]) {
            Ok(s) => s,
            Err(code) => return code,
        },
    };
    init_logging(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kefu: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve(settings, None).await,
            Command::Demo { demo_password } => serve(settings, Some(demo_password)).await,
            Command::Migrate { status } => migrate(settings, status).await,
            Command::User(cmd) => user(settings, cmd).await,
            Command::CheckConfig { .. } | Command::Sim(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) {
    // rsipstack logs every SIP message it receives, with its text, at `info`: too costly and
    // too noisy (phone numbers, digest headers) for a default. Ask for it by name to see it.
    let filter = if filter.contains("rsipstack") { filter.to_owned() } else { format!("{filter},rsipstack=warn") };
    let filter = filter.as_str();
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

fn check_config(global: &GlobalArgs, explain: bool) -> ExitCode {
    let settings = match global.load(&[]) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let problems = settings.preflight();
    if !problems.is_empty() {
        eprintln!("kefu: the configuration has {} problem(s):", problems.len());
        for p in &problems {
            eprintln!("  - {p}");
        }
        return ExitCode::from(2);
    }
    println!("configuration OK");
    for ((key, value), field) in settings.describe().into_iter().zip(FIELDS) {
        println!("  {key:<28} = {value}");
        if explain {
            println!("  {:<28}   {} (env {})", "", field.doc, field.env_var());
        }
    }
    ExitCode::SUCCESS
}

async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::open(&settings.store_options()?).await?;
    store.migrate().await?;
    Ok(store)
}

async fn serve(settings: Settings, demo: Option<Option<String>>) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let clock = Clock::default();
    if let Some(pw) = demo {
        let pw = pw.unwrap_or_else(password::random_password);
        kefu_server::demo::seed(&store, &clock, &pw, &settings.sip_realm).await.context("seeding the demo tenant")?;
        let app = kefu_server::build_with_store(settings, store, clock).await?;
        print_demo_banner(app.http_addr(), &pw);
        return app.run_until_stopped().await;
    }
    let app = kefu_server::build_with_store(settings, store, clock).await?;
    println!("kefu listening on http://{}", app.http_addr());
    app.run_until_stopped().await
}

fn print_demo_banner(addr: std::net::SocketAddr, password: &str) {
    println!("kefu demo listening on http://{addr}");
    println!();
    println!("  demo accounts (password for all: {password})");
    for (username, display, role) in kefu_server::demo::accounts() {
        println!("    {username:<8} {role:<11} {display}");
    }
    println!();
    println!("  try: curl -s http://{addr}/healthz");
    println!(
        "       curl -s -X POST http://{addr}/api/v1/auth/login -H 'content-type: application/json' \\\n         -d '{{\"username\":\"admin\",\"password\":\"{password}\"}}'"
    );
    println!("  stop with Ctrl-C");
}

async fn migrate(settings: Settings, status_only: bool) -> anyhow::Result<()> {
    let store = Store::open(&settings.store_options()?).await?;
    if !status_only {
        store.migrate().await?;
    }
    for (version, desc, applied) in store.migration_status().await? {
        println!("{version:>4} {desc:<24} {}", if applied { "applied" } else { "pending" });
    }
    store.close().await;
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((password::random_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    password::check_policy(&pw)?;
    Ok((pw, false))
}

async fn user(settings: Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let now = Clock::default().now();
    let result = match cmd {
        UserCommand::Add { username, role, display_name, extension, password_stdin } => {
            let role: Role = role.parse()?;
            if let Some(e) = &extension
                && !((2..=16).contains(&e.len()) && e.chars().all(|c| c.is_ascii_digit()))
            {
                anyhow::bail!("extension must be 2–16 digits");
            }
            let (pw, generated) = read_password(password_stdin)?;
            let new = NewUser {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                role,
                password_hash: password::hash_async(pw.clone()).await?,
                team_id: None,
                sip: sip::for_user(&settings.sip_realm, extension.as_deref(), &pw),
                extension,
                skills: Vec::new(),
            };
            let user = store.create_user(&new, now).await?;
            audit(&store, now, "user.create", &user.username).await?;
            println!("created {} ({}) id {}", user.username, user.role, user.id);
            if generated {
                println!("password: {pw}");
            }
            Ok(())
        }
        UserCommand::Passwd { username, password_stdin } => {
            let user = find(&store, &username).await?;
            let (pw, generated) = read_password(password_stdin)?;
            let patch = UserPatch {
                password_hash: Some(password::hash_async(pw.clone()).await?),
                sip: sip::for_user(&settings.sip_realm, user.extension.as_deref(), &pw),
                ..Default::default()
            };
            store.update_user(user.id, &patch, now).await?;
            audit(&store, now, "user.password_reset", &username).await?;
            println!("password changed for {username}; their sessions have ended");
            if generated {
                println!("password: {pw}");
            }
            Ok(())
        }
        UserCommand::Disable { username } => {
            let user = find(&store, &username).await?;
            store.update_user(user.id, &UserPatch { enabled: Some(false), ..Default::default() }, now).await?;
            println!("disabled {username}; their sessions have ended");
            Ok(())
        }
    };
    store.close().await;
    result
}

/// Records a change made from the command line; the actor is the local operator.
async fn audit(store: &Store, now: kefu_core::Timestamp, action: &str, target: &str) -> anyhow::Result<()> {
    let operator = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    store
        .audit(&kefu_store::NewAuditEntry {
            at: now,
            actor_id: None,
            actor_name: format!("cli:{operator}"),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: kefu_store::AuditOutcome::Success,
            client_ip: None,
            detail: serde_json::json!({ "via": "kefu user" }),
        })
        .await?;
    Ok(())
}

async fn find(store: &Store, username: &str) -> anyhow::Result<kefu_store::User> {
    match store.user_by_username(username).await {
        Ok(u) => Ok(u),
        Err(StoreError::NotFound { .. }) => anyhow::bail!("no user named `{username}`"),
        Err(e) => Err(e.into()),
    }
}
