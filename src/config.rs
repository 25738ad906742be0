//! Every setting of Faultline: a command-line flag and an environment variable with a default, one doc line
//! each. Nothing else reads the environment.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::alerts::channel::TlsMode;
use crate::domain::performance::sampling;

/// A self-hosted, Sentry-compatible error tracker.
#[derive(Debug, Parser)]
#[command(name = "faultline", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage projects and their DSNs.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens (for sentry-cli, Grafana and scripts).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage organizations and their members.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Fill a project with events made from the real-SDK corpus, for benchmarks and demos.
    Seed(SeedArgs),
    /// Replace a project's alert rules with N varied rules sending to one webhook (for the ingest benchmark).
    BenchRules(BenchRulesArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchRulesArgs {
    #[arg(long, default_value = "default")]
    pub project: String,
    /// How many rules (0 removes every rule of the project).
    #[arg(long, default_value_t = 10)]
    pub rules: usize,
    /// Where the rules send (the benchmark's `--sink`).
    #[arg(long, default_value = "http://127.0.0.1:9100/hook")]
    pub webhook_url: String,
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Distinct issues the events form.
    #[arg(long, default_value_t = 10_000)]
    pub issues: i64,
    /// Events in the project when done (a partly seeded project is topped up).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: i64,
    #[arg(long, default_value = "default")]
    pub project: String,
    /// The events are spread over this many days up to now (or up to `--end-days-ago`).
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// The newest event is this many days old (0: now); e.g. older than the retention, to measure its sweep.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..=36_500))]
    pub end_days_ago: i64,
    /// Events per transaction.
    #[arg(long, default_value_t = 2_000)]
    pub batch: usize,
    /// Directory of `*.envelope` files (default: the Python SDK corpus compiled into the binary).
    #[arg(long)]
    pub corpus: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from a prompt, or from the first line of stdin when it is not a
    /// terminal; never from a flag, so it stays out of shell history and process lists.
    Create {
        #[arg(long)]
        email: String,
        /// Display name (defaults to the email).
        #[arg(long)]
        name: Option<String>,
        /// Instance administrator; owner of the default organization.
        #[arg(long)]
        admin: bool,
        /// Organization to join (default: the default organization).
        #[arg(long)]
        org: Option<String>,
        /// Role in that organization: owner, admin or member (default: owner for --admin, else member).
        #[arg(long)]
        role: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (only this once; only its hash is stored).
    Create {
        /// The user's email.
        #[arg(long)]
        user: String,
        /// Scopes, comma- or space-separated (default: all). The user's role in each organization still applies.
        #[arg(long)]
        scopes: Option<String>,
        /// A note to tell tokens apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a user's live tokens (their last four characters, never the tokens).
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke a token by the id `token list` shows.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization (with a team of the same slug).
    Create {
        slug: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Add a user to an organization, or change their role.
    AddMember {
        slug: String,
        #[arg(long)]
        email: String,
        /// owner, admin or member.
        #[arg(long, default_value = "member")]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project in the default organization and print its DSN.
    Create {
        /// URL-safe slug, also the short-id prefix (`web` gives `WEB-1A`).
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
        /// Platform, e.g. python, javascript, rust.
        #[arg(long)]
        platform: Option<String>,
        /// Organization (default: the default organization).
        #[arg(long)]
        org: Option<String>,
    },
    /// List projects with their DSNs.
    List,
    /// Add keys whose values are scrubbed in this project's events, on top of the built-in list.
    ScrubKeys {
        slug: String,
        /// The keys (replaces the project's current extra list).
        keys: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Server and storage settings.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: `sqlite://path` (created if missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://./data/faultline.db",
        global = true
    )]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "FAULTLINE_BIND", default_value = DEFAULT_BIND, global = true)]
    pub bind: SocketAddr,

    /// Public base URL of this server, used in DSNs and links [default: http:// and the bind address, with
    /// 127.0.0.1 in place of an unspecified one].
    #[arg(long = "public-url", env = "FAULTLINE_URL", global = true)]
    pub public_url_setting: Option<url::Url>,

    /// `FAULTLINE_URL`, or the URL the bind address gives (see [`Config::resolved`]).
    #[arg(skip = url_of_bind_address(&DEFAULT_BIND.parse().expect("the default bind address parses")))]
    pub public_url: url::Url,

    /// Log output: human-readable `pretty` or `json`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "pretty", global = true)]
    pub log_format: LogFormat,

    /// Largest request body accepted as sent (compressed), in bytes.
    #[arg(long, env = "FAULTLINE_MAX_BODY_BYTES", default_value_t = 20 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Largest envelope after decompression, in bytes.
    #[arg(long, env = "FAULTLINE_MAX_ENVELOPE_BYTES", default_value_t = 100 * 1024 * 1024, global = true)]
    pub max_envelope_bytes: usize,

    /// Largest single event item, in bytes.
    #[arg(long, env = "FAULTLINE_MAX_EVENT_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_event_bytes: usize,

    /// Largest single attachment, in bytes; an envelope holding a larger one is refused (413).
    #[arg(long, env = "FAULTLINE_MAX_ATTACHMENT_BYTES", default_value_t = 20 * 1024 * 1024, global = true)]
    pub max_attachment_bytes: usize,

    /// Attachment bytes a project may store unless it sets its own quota (e.g. 1GB, 500MB); beyond it
    /// attachments are dropped (their events kept) and SDKs told to hold them back.
    #[arg(long, env = "FAULTLINE_ATTACHMENT_QUOTA", default_value = "1GB", value_parser = byte_size, global = true)]
    pub attachment_quota: u64,

    /// Events waiting for the writer before ingest answers 429.
    #[arg(long, env = "FAULTLINE_QUEUE_CAPACITY", default_value_t = 4096, global = true)]
    pub queue_capacity: usize,

    /// Most events the writer commits in one transaction.
    #[arg(long, env = "FAULTLINE_BATCH_SIZE", default_value_t = 1000, global = true)]
    pub batch_size: usize,

    /// Free space the SQLite database's disk keeps: below it ingest answers 503 before the database fails
    /// (e.g. 256MB, 1GB). Not checked on Postgres, whose disk is the database server's.
    #[arg(long, env = "FAULTLINE_MIN_FREE_DISK", default_value = "256MB", value_parser = byte_size, global = true)]
    pub min_free_disk: u64,

    /// Days a project keeps its events unless it sets its own retention.
    #[arg(long, env = "FAULTLINE_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=3650), global = true)]
    pub retention_days: i64,

    /// Space stored events may take across all projects (e.g. 10GB, 500MB; 0 for no budget). Above it the
    /// least valuable events are evicted; see README, "Data lifecycle".
    #[arg(long, env = "FAULTLINE_MAX_STORAGE", default_value = "10GB", value_parser = byte_size, global = true)]
    pub max_storage: u64,

    /// Share of traces whose transactions are kept whole (with their spans) whatever they hold, 0 to 1;
    /// traces with an error and the slowest transactions are kept besides. Every transaction counts in the
    /// Performance figures either way.
    #[arg(long, env = "FAULTLINE_TRANSACTION_SAMPLE_RATE", default_value_t = sampling::DEFAULT_SAMPLE_RATE, value_parser = sample_rate, global = true)]
    pub transaction_sample_rate: f64,

    /// The slowest transactions kept whole per project, transaction name and hour (0: none).
    #[arg(long, env = "FAULTLINE_TRANSACTION_SLOWEST_PER_HOUR", default_value_t = sampling::DEFAULT_SLOWEST_PER_HOUR, global = true)]
    pub transaction_slowest_per_hour: usize,

    /// Days a kept transaction body stays (never longer than its project's events).
    #[arg(long, env = "FAULTLINE_TRANSACTION_RETENTION_DAYS", default_value_t = sampling::DEFAULT_BODY_RETENTION_DAYS, value_parser = clap::value_parser!(i64).range(1..=3650), global = true)]
    pub transaction_retention_days: i64,

    /// Seconds between retention sweeps.
    #[arg(long, env = "FAULTLINE_RETENTION_EVERY_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub retention_every_secs: u64,

    /// Seconds an SDK is asked to wait after a 429.
    #[arg(long, env = "FAULTLINE_RETRY_AFTER_SECS", default_value_t = 5, global = true)]
    pub retry_after_secs: u64,

    /// Trust `X-Forwarded-For` for the client IP (only behind your own reverse proxy).
    #[arg(long, env = "FAULTLINE_TRUST_PROXY", default_value_t = false, global = true)]
    pub trust_proxy: bool,

    /// Scrub sensitive values (passwords, tokens, cookies, card numbers) before storing.
    #[arg(long, env = "FAULTLINE_SCRUB", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub scrub: bool,

    /// Database connection pool size.
    #[arg(long, env = "FAULTLINE_DB_MAX_CONNECTIONS", default_value_t = 8, global = true)]
    pub db_max_connections: u32,

    /// SMTP server for email channels that name none (the built-in "project members" channel). Unset: such
    /// channels show as not configured and their deliveries are recorded as skipped, never tried.
    #[arg(long, env = "FAULTLINE_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,

    /// SMTP port of `FAULTLINE_SMTP_HOST`.
    #[arg(long, env = "FAULTLINE_SMTP_PORT", default_value_t = 587, global = true)]
    pub smtp_port: u16,

    /// SMTP connection security: none, starttls or tls.
    #[arg(long, env = "FAULTLINE_SMTP_TLS", default_value = "starttls", value_parser = parse_tls_mode, global = true)]
    pub smtp_tls: TlsMode,

    /// SMTP user name, when the server wants one.
    #[arg(long, env = "FAULTLINE_SMTP_USERNAME", global = true)]
    pub smtp_username: Option<String>,

    /// SMTP password (never logged).
    #[arg(long, env = "FAULTLINE_SMTP_PASSWORD", global = true, hide_env_values = true)]
    pub smtp_password: Option<Secret>,

    /// Sender of alert emails when the channel names none.
    #[arg(
        long,
        env = "FAULTLINE_EMAIL_FROM",
        default_value = "Faultline <faultline@localhost>",
        global = true
    )]
    pub email_from: String,

    /// Let webhooks reach loopback, private, link-local and metadata addresses (tests, closed networks).
    #[arg(
        long,
        env = "FAULTLINE_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false,
        global = true
    )]
    pub webhook_allow_private: bool,

    /// How often the notifier looks for due deliveries when nothing wakes it, in milliseconds.
    #[arg(long, env = "FAULTLINE_NOTIFY_POLL_MS", default_value_t = 1000, global = true)]
    pub notify_poll_ms: u64,

    /// Attempts per delivery before it is marked failed.
    #[arg(long, env = "FAULTLINE_NOTIFY_MAX_ATTEMPTS", default_value_t = 8, global = true)]
    pub notify_max_attempts: i64,

    /// Wait before the first retry, in milliseconds; doubled for every further one (capped at an hour).
    #[arg(
        long,
        env = "FAULTLINE_NOTIFY_RETRY_BASE_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub notify_retry_base_ms: i64,

    /// After a rule sent a message, further issues firing it within this many seconds wait and go out
    /// together as one digest.
    #[arg(long, env = "FAULTLINE_ALERT_DIGEST_SECS", default_value_t = 60, global = true)]
    pub alert_digest_secs: i64,

    /// How often metric alert rules (p95 or failure rate of a transaction) are evaluated, in milliseconds;
    /// one process at a time evaluates.
    #[arg(long, env = "FAULTLINE_METRIC_ALERT_EVERY_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000), global = true)]
    pub metric_alert_every_ms: u64,

    /// Memory parsed source maps may take (e.g. 256MB); the least recently used go beyond it.
    #[arg(long, env = "FAULTLINE_SOURCE_MAP_CACHE", default_value = "256MB", value_parser = byte_size, global = true)]
    pub source_map_cache: u64,

    /// How often the cron monitors' clock marks missed check-ins and timed-out runs, in milliseconds; one
    /// process at a time ticks.
    #[arg(long, env = "FAULTLINE_MONITOR_CLOCK_EVERY_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(100..=600_000), global = true)]
    pub monitor_clock_every_ms: u64,

    /// N+1 queries: how many times sibling spans of a transaction must run one normalized query (at least 2).
    #[arg(long, env = "FAULTLINE_N_PLUS_ONE_MIN_QUERIES", default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..=100_000), global = true)]
    pub n_plus_one_min_queries: u64,

    /// N+1 queries: how long those repeated queries must take together, in milliseconds.
    #[arg(long, env = "FAULTLINE_N_PLUS_ONE_MIN_TOTAL_MS", default_value_t = 50, global = true)]
    pub n_plus_one_min_total_ms: u64,

    /// Slow DB query: how long one query span must take, in milliseconds.
    #[arg(long, env = "FAULTLINE_SLOW_DB_QUERY_MS", default_value_t = 1000, global = true)]
    pub slow_db_query_ms: u64,

    /// Performance issues: seconds of each issue's window. Its first occurrence is stored as an event at
    /// once; the window's later ones are folded into one more event stored when it ends (the issue's count
    /// still counts each). 0 stores an event per occurrence.
    #[arg(long, env = "FAULTLINE_PERFORMANCE_ISSUE_WINDOW_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400), global = true)]
    pub performance_issue_window_secs: u64,

    /// Seconds to wait for in-flight requests and the writer queue at shutdown.
    #[arg(long, env = "FAULTLINE_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30, global = true)]
    pub shutdown_timeout_secs: u64,

    /// Open client connections served in full; a few more are answered for `/healthz` and `/readyz` only,
    /// and past those new connections are closed at once. Lowered to fit the open-files limit.
    #[arg(long, env = "FAULTLINE_MAX_CONNECTIONS", default_value_t = 4096, global = true)]
    pub max_connections: usize,

    /// Seconds a client has to send a request's headers, from its first byte (or from connecting).
    #[arg(
        long,
        env = "FAULTLINE_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub header_read_timeout_secs: u64,

    /// Seconds a keep-alive connection may sit idle between requests before it is closed.
    #[arg(long, env = "FAULTLINE_IDLE_TIMEOUT_SECS", default_value_t = 60, global = true)]
    pub idle_timeout_secs: u64,

    /// Seconds a client has to send a request body, once its headers arrived.
    #[arg(long, env = "FAULTLINE_BODY_READ_TIMEOUT_SECS", default_value_t = 20, global = true)]
    pub body_read_timeout_secs: u64,

    /// Bytes of ingest bodies (as sent and decoded) held in memory at once across all requests; past it a
    /// new body waits up to a second for room, then gets 503 with Retry-After.
    #[arg(long, env = "FAULTLINE_BODY_MEMORY_BYTES", default_value_t = 256 * 1024 * 1024, global = true)]
    pub body_memory_bytes: usize,

    /// Spike protection: each minute a project may take K times its average per-minute rate of the last
    /// 24 hours, and at least FLOOR events. `K,FLOOR`, `K` (FLOOR 120000), or `off`/`0`.
    #[arg(long, env = "FAULTLINE_SPIKE_PROTECTION", default_value = "10,120000", value_parser = spike_rule, global = true)]
    pub spike_protection: SpikeSetting,
}

/// A share from 0 to 1, refused at start with a sentence otherwise.
fn sample_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("`{text}` is not a share from 0 to 1 (e.g. 0.05)")),
    }
}

/// The spike protection setting; `None` when it is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpikeSetting(pub Option<crate::domain::quotas::SpikeRule>);

fn spike_rule(text: &str) -> Result<SpikeSetting, String> {
    crate::domain::quotas::SpikeRule::parse(text).map(SpikeSetting)
}

impl Cli {
    /// The command line and environment, with the settings derived from others filled in.
    pub fn parse_resolved() -> Cli {
        let mut cli = Cli::parse();
        cli.config = cli.config.resolved();
        cli
    }
}

impl Config {
    /// Defaults for a given database, as the tests and embedders need them.
    pub fn for_database(database_url: &str) -> Config {
        let cli = Cli::parse_from(["faultline", "--database-url", database_url]);
        cli.config.resolved()
    }

    /// Fills in the public URL: `FAULTLINE_URL` when set, else the bind address's own, so that setting only
    /// `FAULTLINE_BIND` still prints a DSN that reaches this server.
    pub fn resolved(mut self) -> Config {
        self.public_url = match &self.public_url_setting {
            Some(url) => url.clone(),
            None => url_of_bind_address(&self.bind),
        };
        self
    }

    /// The database URL with any password replaced, safe to log.
    pub fn redacted_database_url(&self) -> String {
        match url::Url::parse(&self.database_url) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.database_url.clone(),
        }
    }
}

const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// A size setting (`256MB`, `10GB`), refused at start with a sentence when unreadable.
fn byte_size(text: &str) -> Result<u64, String> {
    crate::domain::size::parse_byte_size(text).map_err(|e| e.to_string())
}

/// `http://` and the bind address; an unspecified address (`0.0.0.0`, `::`) is reached on loopback.
fn url_of_bind_address(bind: &SocketAddr) -> url::Url {
    let host = match bind.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    url::Url::parse(&format!("http://{host}:{}", bind.port())).expect("an address makes a valid URL")
}

/// A setting that must never reach a log line: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

fn parse_tls_mode(text: &str) -> Result<TlsMode, String> {
    TlsMode::parse(text).ok_or_else(|| format!("`{text}` is not one of none, starttls, tls"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved_with(bind: &str, public_url: Option<&str>) -> String {
        let mut config = Config::for_database("sqlite://x.db");
        config.bind = bind.parse().unwrap();
        config.public_url_setting = public_url.map(|url| url.parse().unwrap());
        config.resolved().public_url.to_string()
    }

    #[test]
    fn sizes_and_retention_are_checked_at_start_with_a_sentence() {
        let parsed = Cli::try_parse_from(["faultline", "--min-free-disk", "1GB"]).unwrap();
        assert_eq!(parsed.config.min_free_disk, 1_000_000_000);
        let error = Cli::try_parse_from(["faultline", "--min-free-disk", "ten gigs"]).unwrap_err();
        assert!(error.to_string().contains("invalid size \"ten gigs\""), "{error}");
        let parsed = Cli::try_parse_from(["faultline", "--max-storage", "200MB"]).unwrap();
        assert_eq!(parsed.config.max_storage, 200_000_000);
        assert_eq!(
            Cli::try_parse_from(["faultline"]).unwrap().config.max_storage,
            10_000_000_000
        );
        let error = Cli::try_parse_from(["faultline", "--max-storage", "ten gigs"]).unwrap_err();
        assert!(error.to_string().contains("invalid size \"ten gigs\""), "{error}");
        assert!(Cli::try_parse_from(["faultline", "--retention-days", "0"]).is_err());
        let defaults = Cli::try_parse_from(["faultline"]).unwrap().config;
        assert_eq!(
            (
                defaults.transaction_sample_rate,
                defaults.transaction_slowest_per_hour,
                defaults.transaction_retention_days
            ),
            (0.05, 3, 14)
        );
        let parsed = Cli::try_parse_from(["faultline", "--transaction-sample-rate", "1"]).unwrap();
        assert_eq!(parsed.config.transaction_sample_rate, 1.0);
        let error = Cli::try_parse_from(["faultline", "--transaction-sample-rate", "5%"]).unwrap_err();
        assert!(error.to_string().contains("not a share from 0 to 1"), "{error}");
        assert!(Cli::try_parse_from(["faultline", "--transaction-sample-rate", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["faultline", "--retention-days", "-1"]).is_err());
    }

    #[test]
    fn the_public_url_follows_the_bind_address_unless_set() {
        assert_eq!(resolved_with("127.0.0.1:8000", None), "http://127.0.0.1:8000/");
        assert_eq!(resolved_with("0.0.0.0:9100", None), "http://127.0.0.1:9100/");
        assert_eq!(resolved_with("[::1]:9200", None), "http://[::1]:9200/");
        assert_eq!(
            resolved_with("0.0.0.0:9100", Some("https://errors.example.com")),
            "https://errors.example.com/"
        );
    }
}
