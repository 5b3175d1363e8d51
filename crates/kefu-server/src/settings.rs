//! The one settings struct: defaults < `kefu.toml` < `KEFU_*` environment < command-line
//! flags. Every field is listed once in [`FIELDS`] with its documentation; unknown keys are
//! rejected by name, and every problem is collected so `kefu check-config` can show them all.

use kefu_store::{FieldKey, SqliteSync, StoreOptions};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kefu_sip::digest::Algorithm;

/// Everything the server can be configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Directory for the SQLite database and later recordings and the search index.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; unset means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Address the HTTP API and web UI listen on (port 0 picks a free port).
    pub http: SocketAddr,
    /// Log filter in `tracing` syntax (`info`, `kefu_server=debug,info`, …).
    pub log: String,
    /// How long a login token stays valid, in seconds.
    pub token_ttl_secs: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Failed logins allowed per username within `login_window_secs` before it is refused.
    pub login_max_failures_per_user: u32,
    /// Login attempts allowed per client address within `login_window_secs`.
    pub login_max_attempts_per_ip: u32,
    /// The sliding window for the two login limits, in seconds.
    pub login_window_secs: u64,
    /// Most database connections kefu opens.
    pub db_max_connections: u32,
    /// SQLite commit durability: `full` (survives power loss) or `normal` (survives a crash).
    pub sqlite_synchronous: SqliteSync,
    /// Where SIP listens, on UDP and TCP; `None` turns telephony off.
    pub sip: Option<SocketAddr>,
    /// The SIP digest realm phones authenticate in; SIP passwords are stored hashed with it.
    pub sip_realm: String,
    /// The digest algorithms SIP challenges offer, in order (MD5 and/or SHA-256).
    pub sip_digest_algorithms: Vec<Algorithm>,
    /// The address written in SDP and Contact headers; see [`Settings::sip_public_ip`].
    pub sip_public_ip: Option<IpAddr>,
    /// Lowest UDP port for RTP media (even).
    pub rtp_port_min: u16,
    /// Highest UDP port for RTP media.
    pub rtp_port_max: u16,
    /// Whether calls are recorded.
    pub recording: bool,
    /// Where recordings are written; see [`Settings::recordings_dir`].
    pub recordings_dir: Option<PathBuf>,
    /// How long an agent's phone rings before the call goes back to the queue, in seconds.
    pub ring_timeout_secs: u64,
    /// After-call work after each queued call, in seconds (0: the agent is ready at once).
    pub acw_secs: u64,
    /// How often a waiting caller hears their position and wait, in seconds (0: never).
    pub announce_every_secs: u64,
    /// Offers an agent lets ring out in a row before being logged out (0: never).
    pub max_no_answer: u32,
    /// The master key personal values (phone, ID card, account numbers) are encrypted with at
    /// rest, 64 hex characters (env `KEFU_FIELD_KEY`). Unset: the key in `<data_dir>/field.key`,
    /// created with a random key (mode 0600) on first start; see [`Settings::field_key`].
    pub field_key: Option<FieldKey>,
    /// How often the SLA worker looks for due timers at the latest, in milliseconds (it also
    /// wakes when an order changes and at the next due time).
    pub sla_poll_ms: u64,
    /// Minutes after resolution a follow-up callback is due.
    pub followup_after_mins: u32,
    /// Messages the live CTI stream keeps for clients that reconnect with `?since=`.
    pub cti_buffer: usize,
    /// Messages queued for one CTI socket before it counts as lagging (and gets a snapshot).
    pub cti_socket_queue: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log: "info".to_owned(),
            token_ttl_secs: 12 * 3600,
            max_body_bytes: 1024 * 1024,
            login_max_failures_per_user: 5,
            login_max_attempts_per_ip: 30,
            login_window_secs: 300,
            db_max_connections: 8,
            sqlite_synchronous: SqliteSync::Full,
            sip: None,
            sip_realm: "kefu".to_owned(),
            sip_digest_algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
            sip_public_ip: None,
            rtp_port_min: 20000,
            rtp_port_max: 29999,
            recording: true,
            recordings_dir: None,
            ring_timeout_secs: 30,
            acw_secs: 20,
            announce_every_secs: 30,
            max_no_answer: 3,
            field_key: None,
            sla_poll_ms: 1000,
            followup_after_mins: 1440,
            cti_buffer: 10_000,
            cti_socket_queue: 256,
        }
    }
}

/// One setting: its key (also `KEFU_<KEY>` in the environment), its documentation, and how
/// to set it from text.
pub struct Field {
    /// The key in `kefu.toml`.
    pub key: &'static str,
    /// What it means (shown by `kefu check-config --explain`).
    pub doc: &'static str,
    set: fn(&mut Settings, &str) -> Result<(), String>,
    show: fn(&Settings) -> String,
}

impl Field {
    /// The environment variable for this key.
    pub fn env_var(&self) -> String {
        format!("KEFU_{}", self.key.to_ascii_uppercase())
    }
}

fn parse_num<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.trim().parse().map_err(|_| format!("expected {what}, got `{text}`"))
}

fn positive<T: std::str::FromStr + PartialOrd + Default>(text: &str) -> Result<T, String> {
    let v: T = parse_num(text, "a positive whole number")?;
    if v <= T::default() {
        return Err(format!("must be greater than 0, got `{text}`"));
    }
    Ok(v)
}

fn rtp_port(text: &str) -> Result<u16, String> {
    let v: u16 = parse_num(text, "a UDP port number")?;
    if v < 1024 {
        return Err(format!("must be at least 1024, got `{text}`"));
    }
    Ok(v)
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got `{text}`")),
    }
}

/// Every setting, in the order `check-config` shows them.
pub const FIELDS: &[Field] = &[
    Field {
        key: "data_dir",
        doc: "Directory for the embedded database, recordings and the search index (default ./data).",
        set: |s, v| {
            if v.trim().is_empty() {
                return Err("must not be empty".into());
            }
            s.data_dir = PathBuf::from(v);
            Ok(())
        },
        show: |s| s.data_dir.display().to_string(),
    },
    Field {
        key: "database_url",
        doc: "postgres://user:password@host:port/db to use PostgreSQL; empty for SQLite in data_dir.",
        set: |s, v| {
            let v = v.trim();
            if v.is_empty() {
                s.database_url = None;
                return Ok(());
            }
            if !(v.starts_with("postgres://") || v.starts_with("postgresql://") || v.starts_with("sqlite:")) {
                return Err(format!(
                    "unsupported scheme `{}` (use postgres://… or leave empty for SQLite)",
                    v.split(':').next().unwrap_or_default()
                ));
            }
            s.database_url = Some(v.to_owned());
            Ok(())
        },
        show: |s| s.database_url.as_deref().map(redact_url).unwrap_or_else(|| "(SQLite in data_dir)".into()),
    },
    Field {
        key: "http",
        doc: "Address for the HTTP API and web UI, e.g. 127.0.0.1:8080 (port 0 picks a free port).",
        set: |s, v| {
            s.http = v.trim().parse().map_err(|_| format!("expected an address like 127.0.0.1:8080, got `{v}`"))?;
            Ok(())
        },
        show: |s| s.http.to_string(),
    },
    Field {
        key: "log",
        doc: "Log filter, e.g. info or kefu_server=debug,info.",
        set: |s, v| {
            if v.trim().is_empty() {
                return Err("must not be empty".into());
            }
            s.log = v.trim().to_owned();
            Ok(())
        },
        show: |s| s.log.clone(),
    },
    Field {
        key: "token_ttl_secs",
        doc: "Seconds a login token stays valid (default 43200 = 12 h).",
        set: |s, v| {
            s.token_ttl_secs = positive(v)?;
            Ok(())
        },
        show: |s| s.token_ttl_secs.to_string(),
    },
    Field {
        key: "max_body_bytes",
        doc: "Largest request body accepted, in bytes (default 1048576); larger ones get 413.",
        set: |s, v| {
            s.max_body_bytes = positive(v)?;
            Ok(())
        },
        show: |s| s.max_body_bytes.to_string(),
    },
    Field {
        key: "login_max_failures_per_user",
        doc: "Failed logins per username within login_window_secs before further tries get 429 (default 5).",
        set: |s, v| {
            s.login_max_failures_per_user = positive(v)?;
            Ok(())
        },
        show: |s| s.login_max_failures_per_user.to_string(),
    },
    Field {
        key: "login_max_attempts_per_ip",
        doc: "Login attempts per client address within login_window_secs before further tries get 429 (default 30).",
        set: |s, v| {
            s.login_max_attempts_per_ip = positive(v)?;
            Ok(())
        },
        show: |s| s.login_max_attempts_per_ip.to_string(),
    },
    Field {
        key: "login_window_secs",
        doc: "Sliding window for the login limits, in seconds (default 300).",
        set: |s, v| {
            s.login_window_secs = positive(v)?;
            Ok(())
        },
        show: |s| s.login_window_secs.to_string(),
    },
    Field {
        key: "db_max_connections",
        doc: "Most database connections kefu opens (default 8).",
        set: |s, v| {
            s.db_max_connections = positive(v)?;
            Ok(())
        },
        show: |s| s.db_max_connections.to_string(),
    },
    Field {
        key: "sqlite_synchronous",
        doc: "SQLite durability: full (every acknowledged write survives power loss; default) or normal (survives a crash of kefu; faster).",
        set: |s, v| {
            s.sqlite_synchronous = match v.trim().to_ascii_lowercase().as_str() {
                "full" => SqliteSync::Full,
                "normal" => SqliteSync::Normal,
                _ => return Err(format!("expected `full` or `normal`, got `{v}`")),
            };
            Ok(())
        },
        show: |s| match s.sqlite_synchronous {
            SqliteSync::Full => "full".into(),
            SqliteSync::Normal => "normal".into(),
        },
    },
    Field {
        key: "sip",
        doc: "Address SIP listens on, UDP and TCP, e.g. 0.0.0.0:5060; off (the default for serve) turns telephony off. The demo uses 127.0.0.1:5060.",
        set: |s, v| {
            let v = v.trim();
            if v.is_empty() || v.eq_ignore_ascii_case("off") {
                s.sip = None;
                return Ok(());
            }
            s.sip = Some(v.parse().map_err(|_| format!("expected an address like 0.0.0.0:5060 or `off`, got `{v}`"))?);
            Ok(())
        },
        show: |s| s.sip.map_or_else(|| "off".to_owned(), |a| a.to_string()),
    },
    Field {
        key: "sip_realm",
        doc: "SIP digest realm phones log in to (default kefu). SIP passwords are stored hashed with it: after changing it, set every phone user's password again.",
        set: |s, v| {
            let v = v.trim();
            let n = v.chars().count();
            if n == 0 || n > 64 {
                return Err(format!("must be 1–64 characters, got {n}"));
            }
            if v.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
                return Err("must not contain quotes, backslashes or control characters".into());
            }
            s.sip_realm = v.to_owned();
            Ok(())
        },
        show: |s| s.sip_realm.clone(),
    },
    Field {
        key: "sip_digest_algorithms",
        doc: "Digest algorithms phones are challenged with, in order: md5, sha-256 or both, comma-separated (default md5,sha-256). Phones on old SIP stacks that give up on a SHA-256 challenge (baresip 1.0, some older desk phones) need md5 alone.",
        set: |s, v| {
            let mut algorithms = Vec::new();
            for token in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let algorithm = match token.to_ascii_lowercase().as_str() {
                    "md5" => Algorithm::Md5,
                    "sha-256" | "sha256" => Algorithm::Sha256,
                    _ => return Err(format!("expected md5 and/or sha-256, got `{token}`")),
                };
                if algorithms.contains(&algorithm) {
                    return Err(format!("`{token}` is listed twice"));
                }
                algorithms.push(algorithm);
            }
            if algorithms.is_empty() {
                return Err("name at least one algorithm: md5, sha-256".into());
            }
            s.sip_digest_algorithms = algorithms;
            Ok(())
        },
        show: |s| s.sip_digest_algorithms.iter().map(|a| a.as_str().to_ascii_lowercase()).collect::<Vec<_>>().join(","),
    },
    Field {
        key: "sip_public_ip",
        doc: "Address phones and carriers send media and requests to, written in SDP and Contact headers (default: the sip address, or 127.0.0.1 when sip listens on all addresses).",
        set: |s, v| {
            let v = v.trim();
            if v.is_empty() || v.eq_ignore_ascii_case("auto") {
                s.sip_public_ip = None;
                return Ok(());
            }
            let ip: IpAddr = v.parse().map_err(|_| format!("expected an IP address like 192.0.2.10, got `{v}`"))?;
            if ip.is_unspecified() {
                return Err(format!("must be an address others can reach, not `{v}`"));
            }
            s.sip_public_ip = Some(ip);
            Ok(())
        },
        show: |s| match s.sip_public_ip {
            Some(ip) => ip.to_string(),
            None => format!("(auto: {})", s.sip_public_ip()),
        },
    },
    Field {
        key: "rtp_port_min",
        doc: "Lowest UDP port for call media (RTP), even, at least 1024 (default 20000).",
        set: |s, v| {
            let p = rtp_port(v)?;
            if p % 2 != 0 {
                return Err(format!("must be even (RTP uses even ports), got `{v}`"));
            }
            s.rtp_port_min = p;
            Ok(())
        },
        show: |s| s.rtp_port_min.to_string(),
    },
    Field {
        key: "rtp_port_max",
        doc: "Highest UDP port for call media (RTP), above rtp_port_min (default 29999). Each call uses two ports per leg.",
        set: |s, v| {
            s.rtp_port_max = rtp_port(v)?;
            Ok(())
        },
        show: |s| s.rtp_port_max.to_string(),
    },
    Field {
        key: "recording",
        doc: "Record every call as a stereo WAV file, caller left and agent right (true or false; default true).",
        set: |s, v| {
            s.recording = parse_bool(v)?;
            Ok(())
        },
        show: |s| s.recording.to_string(),
    },
    Field {
        key: "recordings_dir",
        doc: "Directory for call recordings (default: recordings in data_dir).",
        set: |s, v| {
            let v = v.trim();
            s.recordings_dir = if v.is_empty() { None } else { Some(PathBuf::from(v)) };
            Ok(())
        },
        show: |s| match &s.recordings_dir {
            Some(d) => d.display().to_string(),
            None => format!("({})", s.recordings_dir().display()),
        },
    },
    Field {
        key: "ring_timeout_secs",
        doc: "Seconds an agent's phone rings before the call is offered to someone else (default 30).",
        set: |s, v| {
            s.ring_timeout_secs = positive(v)?;
            Ok(())
        },
        show: |s| s.ring_timeout_secs.to_string(),
    },
    Field {
        key: "acw_secs",
        doc: "Seconds of after-call work after a queued call before the agent is ready again (default 20; 0: none).",
        set: |s, v| {
            s.acw_secs = parse_num(v, "a whole number of seconds")?;
            Ok(())
        },
        show: |s| s.acw_secs.to_string(),
    },
    Field {
        key: "announce_every_secs",
        doc: "How often a caller waiting in a queue hears their position and estimated wait (default 30; 0: never).",
        set: |s, v| {
            s.announce_every_secs = parse_num(v, "a whole number of seconds")?;
            Ok(())
        },
        show: |s| s.announce_every_secs.to_string(),
    },
    Field {
        key: "max_no_answer",
        doc: "Offers an agent may let ring out in a row before being logged out of the queues (default 3; 0: never).",
        set: |s, v| {
            s.max_no_answer = parse_num(v, "a whole number")?;
            Ok(())
        },
        show: |s| s.max_no_answer.to_string(),
    },
    Field {
        key: "field_key",
        doc: "Key that phone, ID-card and account numbers are encrypted with at rest: 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`. Unset: read from field.key in data_dir, which is created with a random key (mode 0600) on first start. Back it up: without it the encrypted values cannot be read. Every node sharing a PostgreSQL database needs the same key.",
        set: |s, v| {
            let v = v.trim();
            if v.is_empty() {
                s.field_key = None;
                return Ok(());
            }
            s.field_key = Some(FieldKey::from_hex(v).map_err(|e| e.to_string())?);
            Ok(())
        },
        show: |s| match s.field_key {
            Some(_) => "(set)".to_owned(),
            None => format!("(from {})", s.field_key_file().display()),
        },
    },
    Field {
        key: "sla_poll_ms",
        doc: "Longest wait, in milliseconds, before the SLA worker looks for due timers again (default 1000); it also wakes when a work order changes and when the next timer is due.",
        set: |s, v| {
            s.sla_poll_ms = positive(v)?;
            Ok(())
        },
        show: |s| s.sla_poll_ms.to_string(),
    },
    Field {
        key: "followup_after_mins",
        doc: "Minutes after a work order is resolved that its follow-up callback is due (default 1440 = one day; 0: at once).",
        set: |s, v| {
            s.followup_after_mins = parse_num(v, "a whole number of minutes")?;
            Ok(())
        },
        show: |s| s.followup_after_mins.to_string(),
    },
    Field {
        key: "cti_buffer",
        doc: "Messages the live CTI stream (/api/v1/events) keeps so a desktop that reconnects with ?since= gets what it missed (default 10000); older gaps get a fresh snapshot.",
        set: |s, v| {
            s.cti_buffer = positive(v)?;
            Ok(())
        },
        show: |s| s.cti_buffer.to_string(),
    },
    Field {
        key: "cti_socket_queue",
        doc: "Messages queued for one CTI socket before it counts as lagging: its queue is dropped and it gets a snapshot once it reads again (default 256).",
        set: |s, v| {
            s.cti_socket_queue = positive(v)?;
            Ok(())
        },
        show: |s| s.cti_socket_queue.to_string(),
    },
];

/// One thing wrong with the configuration, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where: `kefu.toml`, `environment`, `command line`.
    pub source: String,
    /// Which key (or variable, or flag).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.source, self.key, self.message)
    }
}

/// Where to look for settings besides the defaults.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// An explicit configuration file (`--config`); it must exist.
    pub config_file: Option<PathBuf>,
    /// The environment, as (name, value) pairs; only `KEFU_*` names are read.
    pub env: Vec<(String, String)>,
    /// Command-line overrides as (key, value).
    pub overrides: Vec<(String, String)>,
    /// Defaults of a particular command as (key, value), in place of the built-in ones and
    /// below every other source (the demo's SIP address).
    pub defaults: Vec<(String, String)>,
}

impl Sources {
    /// The process environment, `--config` if given, and the given overrides.
    pub fn from_process(config_file: Option<PathBuf>, overrides: Vec<(String, String)>) -> Self {
        Sources { config_file, env: std::env::vars().collect(), overrides, defaults: Vec::new() }
    }
}

/// The file read when no `--config` is given and `KEFU_CONFIG` is unset, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "kefu.toml";

impl Settings {
    /// Loads settings from every source, or returns every problem found.
    pub fn load(sources: &Sources) -> Result<Settings, Vec<Problem>> {
        let mut s = Settings::default();
        let mut problems = Vec::new();
        for (key, value) in &sources.defaults {
            apply(&mut s, "defaults", key, key, value, &mut problems);
        }

        let env_config = sources.env.iter().find(|(k, _)| k == "KEFU_CONFIG").map(|(_, v)| PathBuf::from(v));
        let (file, required) = match (&sources.config_file, env_config) {
            (Some(f), _) => (Some(f.clone()), true),
            (None, Some(f)) => (Some(f), true),
            (None, None) => (Some(PathBuf::from(DEFAULT_CONFIG_FILE)), false),
        };
        if let Some(path) = file {
            load_file(&mut s, &path, required, &mut problems);
        }

        for (name, value) in &sources.env {
            let Some(rest) = name.strip_prefix("KEFU_") else {
                continue;
            };
            if rest == "CONFIG" {
                continue;
            }
            let key = rest.to_ascii_lowercase();
            apply(&mut s, "environment", name, &key, value, &mut problems);
        }

        for (key, value) in &sources.overrides {
            apply(&mut s, "command line", &format!("--{}", key.replace('_', "-")), key, value, &mut problems);
        }
        problems.extend(s.combination_problems());

        if problems.is_empty() { Ok(s) } else { Err(problems) }
    }

    /// Rules between settings, checked once every source is applied.
    fn combination_problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.rtp_port_min >= self.rtp_port_max {
            problems.push(Problem {
                source: "settings".into(),
                key: "rtp_port_min".into(),
                message: format!("must be below rtp_port_max, got {} and {}", self.rtp_port_min, self.rtp_port_max),
            });
        }
        problems
    }

    /// Checks beyond parsing: that the data directory (and, when calls are recorded, the
    /// recordings directory) can be created and written.
    pub fn preflight(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.database_url.is_none()
            && let Err(e) = check_writable(&self.data_dir)
        {
            problems.push(Problem {
                source: "preflight".into(),
                key: "data_dir".into(),
                message: format!("{} is not writable: {e}", self.data_dir.display()),
            });
        }
        let recordings = self.recordings_dir();
        if self.sip.is_some()
            && self.recording
            && let Err(e) = check_writable(&recordings)
        {
            problems.push(Problem {
                source: "preflight".into(),
                key: "recordings_dir".into(),
                message: format!("{} is not writable: {e}", recordings.display()),
            });
        }
        if self.field_key.is_none() {
            let path = self.field_key_file();
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    if let Err(e) = FieldKey::from_hex(&text) {
                        problems.push(Problem {
                            source: "preflight".into(),
                            key: "field_key".into(),
                            message: format!("{} is unusable: {e}", path.display()),
                        });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => problems.push(Problem {
                    source: "preflight".into(),
                    key: "field_key".into(),
                    message: format!("cannot read {}: {e}", path.display()),
                }),
            }
        }
        problems
    }

    /// Where the field key is kept when the `field_key` setting is unset: `<data_dir>/field.key`.
    pub fn field_key_file(&self) -> PathBuf {
        self.data_dir.join("field.key")
    }

    /// The field key: the `field_key` setting if given, else the key in
    /// [`Settings::field_key_file`], which is created with a new random key (readable by its
    /// owner only) when it does not exist. The key itself is never logged.
    pub fn field_key(&self) -> anyhow::Result<FieldKey> {
        if let Some(key) = &self.field_key {
            return Ok(key.clone());
        }
        let path = self.field_key_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                return FieldKey::from_hex(&text)
                    .map_err(|e| anyhow::anyhow!("field_key: the key file {} is unusable: {e}", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("field_key: cannot read the key file {}: {e}", path.display()),
        }
        std::fs::create_dir_all(&self.data_dir)
            .map_err(|e| anyhow::anyhow!("data_dir: cannot create {}: {e}", self.data_dir.display()))?;
        let key = FieldKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                use std::io::Write as _;
                file.write_all(format!("{}\n", key.to_hex()).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| anyhow::anyhow!("field_key: cannot write the key file {}: {e}", path.display()))?;
                tracing::info!(
                    path = %path.display(),
                    "created a new field encryption key; back it up, encrypted customer data cannot be read without it"
                );
                Ok(key)
            }
            // another process created it first: use theirs
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("field_key: cannot read the key file {}: {e}", path.display()))?;
                FieldKey::from_hex(&text)
                    .map_err(|e| anyhow::anyhow!("field_key: the key file {} is unusable: {e}", path.display()))
            }
            Err(e) => anyhow::bail!("field_key: cannot create the key file {}: {e}", path.display()),
        }
    }

    /// The address written in SDP and Contact headers: `sip_public_ip` if set, else the SIP
    /// listen address, else 127.0.0.1 (when SIP is off or listens on every address).
    pub fn sip_public_ip(&self) -> IpAddr {
        self.sip_public_ip.unwrap_or(match self.sip {
            Some(addr) if !addr.ip().is_unspecified() => addr.ip(),
            _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
        })
    }

    /// Where recordings are written: `recordings_dir` if set, else `<data_dir>/recordings`.
    pub fn recordings_dir(&self) -> PathBuf {
        self.recordings_dir.clone().unwrap_or_else(|| self.data_dir.join("recordings"))
    }

    /// How long an agent's phone rings.
    pub fn ring_timeout(&self) -> Duration {
        Duration::from_secs(self.ring_timeout_secs)
    }

    /// Where voicemails are written: `<data_dir>/voicemails`.
    pub fn voicemails_dir(&self) -> PathBuf {
        self.data_dir.join("voicemails")
    }

    /// The ACD's timings. The router's own ring timer runs 5 s past the phone's, so the SIP
    /// side (which sees the phone) decides a ring-out and the router's timer is only a guard.
    pub fn acd(&self) -> kefu_core::acd::AcdSettings {
        let secs = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        kefu_core::acd::AcdSettings {
            ring_timeout_ms: secs(self.ring_timeout_secs).saturating_add(5_000),
            acw_ms: secs(self.acw_secs),
            max_no_answer: self.max_no_answer,
            announce_every_ms: secs(self.announce_every_secs),
            ..kefu_core::acd::AcdSettings::default()
        }
    }

    /// Each key with its effective value (passwords in URLs redacted).
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        FIELDS.iter().map(|f| (f.key, (f.show)(self))).collect()
    }

    /// Storage options derived from these settings, with the field key resolved (and its
    /// file created if needed, see [`Settings::field_key`]).
    pub fn store_options(&self) -> anyhow::Result<StoreOptions> {
        Ok(StoreOptions {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            max_connections: self.db_max_connections,
            sqlite_sync: self.sqlite_synchronous,
            field_key: Some(self.field_key()?),
        })
    }

    /// The login token lifetime.
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }
}

fn apply(s: &mut Settings, source: &str, shown_key: &str, key: &str, value: &str, problems: &mut Vec<Problem>) {
    match FIELDS.iter().find(|f| f.key == key) {
        None => problems.push(Problem {
            source: source.into(),
            key: shown_key.into(),
            message: format!("unknown setting{}", suggestion(key)),
        }),
        Some(field) => {
            if let Err(message) = (field.set)(s, value) {
                problems.push(Problem { source: source.into(), key: shown_key.into(), message });
            }
        }
    }
}

fn load_file(s: &mut Settings, path: &Path, required: bool, problems: &mut Vec<Problem>) {
    let source = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            problems.push(Problem { source, key: "(file)".into(), message: format!("cannot read: {e}") });
            return;
        }
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem {
                source,
                key: "(file)".into(),
                message: format!("not valid TOML: {}", e.message()),
            });
            return;
        }
    };
    for (key, value) in &table {
        let text = match value {
            toml::Value::String(v) => v.clone(),
            toml::Value::Integer(v) => v.to_string(),
            toml::Value::Float(v) => v.to_string(),
            toml::Value::Boolean(v) => v.to_string(),
            other => {
                problems.push(Problem {
                    source: source.clone(),
                    key: key.clone(),
                    message: format!("expected a plain value, got a {}", other.type_str()),
                });
                continue;
            }
        };
        apply(s, &source, key, key, &text, problems);
    }
}

fn suggestion(key: &str) -> String {
    let best = FIELDS.iter().map(|f| (edit_distance(key, f.key), f.key)).min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 3 => format!(" (did you mean `{k}`?)"),
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn check_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(".kefu-write-test");
    std::fs::write(&probe, b"ok")?;
    std::fs::remove_file(probe)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.find('@') else {
        return url.to_owned();
    };
    let creds = &rest[..at];
    match creds.find(':') {
        Some(colon) => format!("{}{}:***{}", &url[..scheme_end], &creds[..colon], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(file: Option<&str>, env: &[(&str, &str)], cli: &[(&str, &str)]) -> (Sources, Option<tempfile::TempDir>) {
        let dir = file.map(|text| {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("kefu.toml"), text).unwrap();
            d
        });
        let sources = Sources {
            config_file: dir.as_ref().map(|d| d.path().join("kefu.toml")),
            env: env.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            overrides: cli.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            defaults: Vec::new(),
        };
        (sources, dir)
    }

    #[test]
    fn layers_apply_in_order_file_env_cli() {
        let (s, _d) = src(
            Some("http = \"127.0.0.1:9000\"\ntoken_ttl_secs = 60\nlog = \"debug\"\n"),
            &[("KEFU_TOKEN_TTL_SECS", "120"), ("KEFU_LOG", "warn"), ("PATH", "/bin")],
            &[("log", "error")],
        );
        let s = Settings::load(&s).unwrap();
        assert_eq!(s.http.to_string(), "127.0.0.1:9000", "file beats default");
        assert_eq!(s.token_ttl_secs, 120, "env beats file");
        assert_eq!(s.log, "error", "cli beats env");
        assert_eq!(s.max_body_bytes, Settings::default().max_body_bytes);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let (s, _d) = src(
            Some("htp = \"x\"\ntoken_ttl_secs = -5\n[section]\na = 1\n"),
            &[("KEFU_HTTP", "nonsense"), ("KEFU_BOGUS", "1")],
            &[("database_url", "mysql://x")],
        );
        let problems = Settings::load(&s).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 6, "{text:#?}");
        assert!(text.iter().any(|p| p.contains("htp: unknown setting (did you mean `http`?)")), "{text:#?}");
        assert!(text.iter().any(|p| p.contains("token_ttl_secs: expected a positive whole number")), "{text:#?}");
        assert!(text.iter().any(|p| p.contains("section: expected a plain value, got a table")), "{text:#?}");
        assert!(text.iter().any(|p| p.contains("environment: KEFU_HTTP: expected an address")), "{text:#?}");
        assert!(text.iter().any(|p| p.contains("environment: KEFU_BOGUS: unknown setting")), "{text:#?}");
        assert!(
            text.iter().any(|p| p.contains("command line: --database-url: unsupported scheme `mysql`")),
            "{text:#?}"
        );
    }

    #[test]
    fn explicit_config_file_must_exist_but_default_may_not() {
        let s = Sources { config_file: Some("/nonexistent/kefu.toml".into()), ..Default::default() };
        let p = Settings::load(&s).unwrap_err();
        assert!(p[0].message.starts_with("cannot read"), "{p:?}");
        assert!(Settings::load(&Sources::default()).is_ok() || std::path::Path::new(DEFAULT_CONFIG_FILE).exists());
    }

    #[test]
    fn broken_toml_is_reported() {
        let (s, _d) = src(Some("http = \n"), &[], &[]);
        let p = Settings::load(&s).unwrap_err();
        assert!(p[0].message.starts_with("not valid TOML"), "{p:?}");
    }

    #[test]
    fn every_field_is_documented_and_round_trips_its_default() {
        let defaults = Settings::default();
        for f in FIELDS {
            assert!(f.doc.len() > 10, "{} needs a doc", f.key);
            let mut s = Settings::default();
            let shown = (f.show)(&defaults);
            // an unset optional value shows what is used instead, in parentheses
            if !shown.starts_with('(') {
                (f.set)(&mut s, &shown).unwrap();
                assert_eq!(s, defaults, "{} does not round-trip", f.key);
            }
        }
    }

    #[test]
    fn telephony_settings_parse_and_default() {
        let d = Settings::default();
        assert_eq!((d.sip, d.sip_realm.as_str(), d.recording, d.ring_timeout_secs), (None, "kefu", true, 30));
        assert_eq!((d.rtp_port_min, d.rtp_port_max), (20000, 29999));
        assert_eq!(d.recordings_dir(), PathBuf::from("./data/recordings"));
        assert_eq!(d.sip_public_ip().to_string(), "127.0.0.1");
        assert_eq!(d.ring_timeout(), Duration::from_secs(30));
        assert_eq!(d.sip_digest_algorithms, vec![Algorithm::Md5, Algorithm::Sha256]);

        let (s, _d) = src(
            Some("sip = \"0.0.0.0:5070\"\nrecording = false\nrtp_port_min = 30000\n"),
            &[("KEFU_SIP_REALM", "call center 客服"), ("KEFU_RTP_PORT_MAX", "30999"), ("KEFU_DATA_DIR", "/srv/kefu")],
            &[("ring_timeout_secs", "20"), ("sip_digest_algorithms", " SHA-256 ,md5")],
        );
        let s = Settings::load(&s).unwrap();
        assert_eq!(s.sip_digest_algorithms, vec![Algorithm::Sha256, Algorithm::Md5]);
        assert_eq!(s.sip, Some("0.0.0.0:5070".parse().unwrap()));
        assert_eq!(s.sip_public_ip().to_string(), "127.0.0.1", "unspecified listen address");
        assert_eq!(s.sip_realm, "call center 客服");
        assert_eq!((s.rtp_port_min, s.rtp_port_max, s.recording, s.ring_timeout_secs), (30000, 30999, false, 20));
        assert_eq!(s.recordings_dir(), PathBuf::from("/srv/kefu/recordings"), "follows data_dir");

        let (s, _d) = src(
            None,
            &[("KEFU_SIP", "192.0.2.1:5060"), ("KEFU_RECORDINGS_DIR", "/var/rec")],
            &[("sip_public_ip", "198.51.100.9")],
        );
        let s = Settings::load(&s).unwrap();
        assert_eq!(s.sip_public_ip().to_string(), "198.51.100.9");
        assert_eq!(s.recordings_dir(), PathBuf::from("/var/rec"));
        let (s, _d) = src(None, &[("KEFU_SIP", "192.0.2.1:5060")], &[]);
        assert_eq!(Settings::load(&s).unwrap().sip_public_ip().to_string(), "192.0.2.1", "the listen address");

        // command defaults sit below every other source; `off` turns SIP off again
        let (mut s, _d) = src(Some("sip = \"off\"\n"), &[], &[]);
        s.defaults = vec![("sip".into(), "127.0.0.1:5060".into())];
        assert_eq!(Settings::load(&s).unwrap().sip, None);
        let (mut s, _d) = src(None, &[], &[]);
        s.defaults = vec![("sip".into(), "127.0.0.1:5060".into())];
        assert_eq!(Settings::load(&s).unwrap().sip, Some("127.0.0.1:5060".parse().unwrap()));
    }

    #[test]
    fn bad_telephony_settings_are_all_reported() {
        let (s, _d) = src(
            Some("sip = \"5060\"\nsip_realm = \"a\\\"b\"\nrtp_port_min = 20001\nrecording = \"maybe\"\n"),
            &[("KEFU_RTP_PORT_MAX", "80"), ("KEFU_SIP_PUBLIC_IP", "0.0.0.0"), ("KEFU_RING_TIMEOUT_SECS", "0")],
            &[("sip_realm", " "), ("sip_digest_algorithms", "md5,sha-512")],
        );
        let problems = Settings::load(&s).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        for want in [
            "sip: expected an address like 0.0.0.0:5060 or `off`, got `5060`",
            "sip_realm: must not contain quotes",
            "rtp_port_min: must be even",
            "recording: expected true or false, got `maybe`",
            "KEFU_RTP_PORT_MAX: must be at least 1024, got `80`",
            "KEFU_SIP_PUBLIC_IP: must be an address others can reach",
            "KEFU_RING_TIMEOUT_SECS: must be greater than 0",
            "--sip-realm: must be 1–64 characters, got 0",
            "--sip-digest-algorithms: expected md5 and/or sha-256, got `sha-512`",
        ] {
            assert!(text.iter().any(|p| p.contains(want)), "{want} missing from {text:#?}");
        }
        assert_eq!(problems.len(), 9, "{text:#?}");
        for (bad, want) in [("", "name at least one"), ("md5,MD5", "listed twice")] {
            let (s, _d) = src(None, &[("KEFU_SIP_DIGEST_ALGORITHMS", bad)], &[]);
            assert!(Settings::load(&s).unwrap_err()[0].message.contains(want), "{bad}");
        }

        let (s, _d) = src(None, &[("KEFU_RTP_PORT_MIN", "30000"), ("KEFU_RTP_PORT_MAX", "30000")], &[]);
        let problems = Settings::load(&s).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].to_string(), "settings: rtp_port_min: must be below rtp_port_max, got 30000 and 30000");
        let (s, _d) = src(None, &[("KEFU_RTP_PORT_MIN", "70000")], &[]);
        assert!(Settings::load(&s).unwrap_err()[0].message.contains("expected a UDP port number"));
    }

    #[test]
    fn unset_optional_values_show_what_is_used() {
        let s = Settings::default();
        let shown: std::collections::HashMap<_, _> = s.describe().into_iter().collect();
        assert_eq!(shown["sip"], "off");
        assert_eq!(shown["sip_public_ip"], "(auto: 127.0.0.1)");
        assert_eq!(shown["recordings_dir"], "(./data/recordings)");
    }

    #[test]
    fn the_field_key_comes_from_the_setting_or_a_key_file_created_once() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let (src_set, _d) = src(None, &[("KEFU_FIELD_KEY", hex)], &[]);
        let set = Settings::load(&src_set).unwrap();
        assert_eq!(set.field_key, Some(FieldKey::from_hex(hex).unwrap()));
        assert_eq!(set.describe().into_iter().find(|(k, _)| *k == "field_key").unwrap().1, "(set)", "never shown");
        assert!(!format!("{set:?}").contains(hex), "Debug hides the key");

        let (bad, _d) = src(None, &[("KEFU_FIELD_KEY", "abc")], &[]);
        let p = Settings::load(&bad).unwrap_err();
        assert_eq!(p[0].key, "KEFU_FIELD_KEY");
        assert!(p[0].message.contains("64 hexadecimal"), "{p:?}");

        // unset: created in data_dir on first use (owner-only), the same key afterwards
        let dir = tempfile::tempdir().unwrap();
        let s = Settings { data_dir: dir.path().join("data"), ..Settings::default() };
        assert!(s.preflight().is_empty());
        let first = s.field_key().unwrap();
        assert_eq!(s.field_key().unwrap(), first);
        assert_eq!(s.store_options().unwrap().field_key, Some(first.clone()));
        let file = s.field_key_file();
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), first.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // a damaged key file stops start-up, naming the setting and the file
        std::fs::write(&file, "not a key").unwrap();
        let err = s.field_key().unwrap_err().to_string();
        assert!(err.starts_with("field_key: the key file") && err.contains("field.key"), "{err}");
        assert_eq!(s.preflight()[0].key, "field_key");
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(redact_url("postgres://kefu:s3cret@db:5432/kefu"), "postgres://kefu:***@db:5432/kefu");
        assert_eq!(redact_url("postgres://db/kefu"), "postgres://db/kefu");
    }
}
