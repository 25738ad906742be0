//! The real `faultline` binary started as a user starts it: on a free port, over a given database, its
//! log kept in a file for the assertions (and for the panic message when it does not get ready).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use faultline::domain::ProjectId;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: std::path::PathBuf,
    _log_dir: tempfile::TempDir,
}

impl Server {
    /// The DSN of `key` for this server's address, as it should print it.
    pub fn dsn(&self, key: &str, project_id: ProjectId) -> String {
        let authority = self.base.trim_start_matches("http://");
        format!("http://{key}@{authority}/{project_id}")
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the binary on `database_url` with JSON logs at INFO, no public URL and no SMTP server unless
/// `settings` (applied last) name them; waits until it answers `/readyz`.
pub async fn start_binary(database_url: &str, settings: &[(&str, String)]) -> Server {
    let port = free_port();
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("server.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .env("DATABASE_URL", database_url)
        .env("FAULTLINE_BIND", format!("127.0.0.1:{port}"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env_remove("FAULTLINE_URL")
        .env_remove("FAULTLINE_SMTP_HOST")
        .envs(settings.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("the faultline binary starts");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
        _log_dir: log_dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{}/readyz", server.base)).await {
            if r.status() == 200 {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready: {}", server.log_text());
}
