//! Headless Chromium driven over WebDriver (fantoccini + Debian's chromedriver) for the browser tests
//! (tests/integration/browser_ui.rs, e2e_javascript.rs).
//!
//! `FAULTLINE_BROWSER_TESTS=required` (set by CI) turns a missing chromedriver into a failure instead
//! of a skip. `FAULTLINE_CHROMEDRIVER` / `FAULTLINE_CHROMIUM` override the binaries' paths.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// How long any wait for the page may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// Flags that keep Chromium headless and off the (closed) network.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
];

/// chromedriver and the Chromium it starts, in a process group of their own that dies with this guard,
/// also when a test panics half-way.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = self.child.id() as libc::pid_t;
        // SAFETY: killpg only sends a signal, to the group this guard's spawn created.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

pub struct Browser {
    pub client: Client,
    base: String,
    driver_url: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

fn find_binary(env: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Browser {
    /// A fresh headless Chromium whose pages are relative to `base` (e.g. `http://127.0.0.1:1234`).
    /// `None` (after saying why) when chromedriver is not installed and the test is not required.
    pub async fn start(base: &str) -> Option<Browser> {
        let required = std::env::var("FAULTLINE_BROWSER_TESTS").is_ok_and(|v| v == "required");
        let Some(chromedriver) = find_binary("FAULTLINE_CHROMEDRIVER", "chromedriver") else {
            assert!(
                !required,
                "FAULTLINE_BROWSER_TESTS=required but chromedriver is not installed \
                 (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "browser test SKIPPED: chromedriver not found on PATH \
                 (apt-get install chromium chromium-driver, or set FAULTLINE_BROWSER_TESTS=required to fail)"
            );
            return None;
        };
        let chromium = find_binary("FAULTLINE_CHROMIUM", "chromium").unwrap_or_else(|| "/usr/bin/chromium".into());
        let port = free_port();
        let driver = Driver {
            child: Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("{} starts: {e}", chromedriver.display())),
        };
        let driver_url = format!("http://127.0.0.1:{port}");
        wait_until_ready(&driver_url).await;
        let profile = tempfile::tempdir().expect("profile dir");
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(&chromium, profile.path()))
            .connect(&driver_url)
            .await
            .expect("a Chromium session");
        Some(Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            driver_url,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Opens a page of the app.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("page opened");
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.expect("current URL").path().to_owned()
    }

    /// Waits until the page's path is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let found = self.poll(|| async { (self.path().await == path).then_some(()) }).await;
        if found.is_none() {
            panic!("expected to land on {path}, still on {}", self.path().await);
        }
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}\n{}", self.path().await, self.body_text().await),
        }
    }

    /// Waits for a displayed element matching `css` whose text contains `text`.
    pub async fn find_text(&self, css: &str, text: &str) -> Element {
        match self.poll(|| self.visible_with_text(css, text)).await {
            Some(element) => element,
            None => panic!(
                "no visible `{css}` saying {text:?} on {}:\n{}",
                self.path().await,
                self.body_text().await
            ),
        }
    }

    /// Waits until no displayed element matching `css` contains `text`.
    pub async fn wait_gone(&self, css: &str, text: &str) {
        let gone = self
            .poll(|| async { self.visible_with_text(css, text).await.is_none().then_some(()) })
            .await;
        assert!(
            gone.is_some(),
            "`{css}` saying {text:?} is still on {}",
            self.path().await
        );
    }

    async fn visible_with_text(&self, css: &str, text: &str) -> Option<Element> {
        for element in self.client.find_all(Locator::Css(css)).await.ok()? {
            // Elements may go stale while the page changes; treat that as "not yet".
            let shown = element.is_displayed().await.unwrap_or(false);
            if shown && element.text().await.is_ok_and(|t| t.contains(text)) {
                return Some(element);
            }
        }
        None
    }

    /// Polls `check` until it gives a value or [`PATIENCE`] runs out.
    async fn poll<T, F, Fut>(&self, mut check: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(value) = check().await {
                return Some(value);
            }
            if start.elapsed() > PATIENCE {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("document title")
    }

    /// Whether a script opened an alert, confirm or prompt dialog.
    pub async fn dialog_is_open(&self) -> bool {
        self.client.get_alert_text().await.is_ok()
    }

    /// The page's visible text, for failure messages.
    pub async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Errors the page logged to the console since the last call: CSP violations, script errors,
    /// failed loads. Read through chromedriver's log endpoint, which fantoccini does not wrap.
    pub async fn console_errors(&self) -> Vec<String> {
        let session = self.client.session_id().await.expect("session id").expect("a session");
        let url = format!("{}/session/{session}/se/log", self.driver_url);
        let answer: serde_json::Value = reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({"type": "browser"}))
            .send()
            .await
            .expect("log read")
            .json()
            .await
            .expect("log is JSON");
        let entries = answer["value"].as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves a PNG of the viewport at `width`×`height` CSS pixels as `dir/name`.
    pub async fn screenshot(&self, dir: &Path, name: &str, width: u32, height: u32) {
        self.set_viewport(width, height).await;
        let png = self.client.screenshot().await.expect("screenshot taken");
        std::fs::create_dir_all(dir).expect("screenshot dir");
        std::fs::write(dir.join(name), png).expect("screenshot saved");
    }

    /// Sizes the viewport (not the window: headless windows have a minimum width wider than a phone)
    /// through the DevTools protocol, which chromedriver passes on.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width.max(800), height + 100)
            .await
            .expect("window sized");
        let session = self.client.session_id().await.expect("session id").expect("a session");
        let url = format!("{}/session/{session}/goog/cdp/execute", self.driver_url);
        let command = serde_json::json!({
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
        });
        let status = reqwest::Client::new()
            .post(url)
            .json(&command)
            .send()
            .await
            .expect("viewport set")
            .status();
        assert!(status.is_success(), "viewport override refused: {status}");
    }

    /// Ends the session (Chromium quits); the guard then stops chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

fn capabilities(chromium: &Path, profile: &Path) -> serde_json::Map<String, serde_json::Value> {
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push("--window-size=1280,900".into());
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": chromium, "args": args},
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    }
}

async fn wait_until_ready(driver_url: &str) {
    let start = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(answer) = client.get(format!("{driver_url}/status")).send().await {
            if answer.status().is_success() {
                return;
            }
        }
        assert!(
            start.elapsed() < PATIENCE,
            "chromedriver did not answer on {driver_url}"
        );
        tokio::time::sleep(POLL).await;
    }
}
