//! The database failing under a running server: a full disk (SQLite only: it needs the database file on a small
//! tmpfs) and Postgres going away (Postgres only: behind a proxy the test cuts, refusing or blackholing
//! connections). While writes cannot succeed, ingest answers 503 with `Retry-After` and `/readyz` answers 503;
//! nothing acknowledged is lost; once the database can write again both recover without a restart.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::proxy::{Cut, Proxy};
use common::{envelope, new_event_id, Backend, TestApp};
use faultline::store::events;
use serde_json::json;

/// A tmpfs mounted on a temporary folder for the test's lifetime.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one, or says why it cannot (mounting needs root).
    fn mount(size_mb: u32) -> Result<Tmpfs, String> {
        if unsafe { libc::geteuid() } != 0 {
            return Err("not running as root, so no tmpfs can be mounted".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .map_err(|e| format!("mount did not run: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t tmpfs failed: {status}"));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system with `path`, then frees `leave` bytes of it.
fn fill_disk(path: &Path, leave: u64) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5a_u8; 256 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.flush();
    let written = file.metadata().unwrap().len();
    file.set_len(written.saturating_sub(leave)).unwrap();
}

/// An event of several hundred kilobytes that compresses poorly (hex of random ids).
fn large_event() -> serde_json::Value {
    let blob = |_| (0..480).map(|_| new_event_id()).collect::<String>();
    let extra: serde_json::Map<_, _> = (0..16).map(|i| (format!("blob{i}"), json!(blob(i)))).collect();
    json!({"message": "a large event", "extra": extra, "contexts": {"blob": {"data": blob(0)}}})
}

/// Ingest answers while the disk fills: the ids acknowledged, and the 503 responses' `Retry-After` values
/// (`None` also for a connection closed before the answer).
#[derive(Default)]
struct Fill {
    acked: Vec<String>,
    refused: Vec<Option<String>>,
}

/// Posts large events from four clients until twenty were refused (or 800 were sent).
async fn ingest_until_refused(app: &Arc<TestApp>) -> Fill {
    let fill = Arc::new(Mutex::new(Fill::default()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (app, fill) = (app.clone(), fill.clone());
            tokio::spawn(async move {
                for _ in 0..200 {
                    if fill.lock().unwrap().refused.len() >= 20 {
                        return;
                    }
                    let id = new_event_id();
                    // Refusing at once, the server may close the connection while a large body is still
                    // being sent: the client learns nothing was stored, as from a 503, and tries again later.
                    let Ok(response) = app.try_post_envelope(envelope(&id, &large_event())).await else {
                        fill.lock().unwrap().refused.push(None);
                        continue;
                    };
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_owned());
                    match response.status().as_u16() {
                        200 => fill.lock().unwrap().acked.push(id),
                        503 => fill.lock().unwrap().refused.push(retry_after),
                        other => panic!("unexpected status {other}: {}", response.text().await.unwrap()),
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    Arc::try_unwrap(fill).ok().unwrap().into_inner().unwrap()
}

/// Posts a small event every 100 ms until one is stored; its id, or `None` after `within`.
async fn ingest_until_stored(app: &TestApp, within: Duration) -> Option<String> {
    let started = Instant::now();
    while started.elapsed() < within {
        let id = new_event_id();
        if app
            .post_envelope(envelope(&id, &json!({"message": "back"})))
            .await
            .status()
            == 200
        {
            return Some(id);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Posts large events until `/readyz` right after a refused one says writes fail. A full file system can
/// still take a few: SQLite reuses free pages inside its files (the WAL, the freelist) that the filler could
/// not take, so an event may still be committed, and then it is acknowledged and must be stored.
async fn readyz_reports_failing_writes(app: &TestApp, acked: &mut Vec<String>) -> bool {
    for _ in 0..40 {
        let id = new_event_id();
        let response = app.post_envelope(envelope(&id, &large_event())).await;
        if response.status() == 200 {
            acked.push(id);
            continue;
        }
        assert_eq!(response.status(), 503);
        let (status, body) = readyz(app).await;
        if status == 503 {
            assert!(body["detail"].as_str().unwrap().contains("disk full"), "{body}");
            return true;
        }
    }
    false
}

async fn assert_all_stored(app: &TestApp, acked: &[String]) {
    let stored = events::stored_event_ids(&app.db, app.project_id, acked).await.unwrap();
    assert_eq!(stored.len(), acked.len(), "every acknowledged event is stored");
}

/// SQLite only: the database file sits on a 20 MB tmpfs that the test fills and then frees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_full_disk_answers_503_and_recovers_when_space_returns() {
    let tmpfs = match Tmpfs::mount(20) {
        Ok(tmpfs) => tmpfs,
        Err(reason) => return eprintln!("full-disk test skipped: {reason}"),
    };
    let url = format!("sqlite://{}", tmpfs.path().join("data/faultline.db").display());
    // The free-space floor off: this test proves what happens when the database itself fails.
    let app = Arc::new(
        TestApp::spawn_with(Backend::Sqlite, |config| {
            config.database_url = url;
            config.min_free_disk = 0;
        })
        .await,
    );
    let mut acked = vec![ingest_until_stored(&app, Duration::from_secs(5))
        .await
        .expect("ingest works")];
    let filler: PathBuf = tmpfs.path().join("filler");
    fill_disk(&filler, 1024 * 1024);

    let fill = ingest_until_refused(&app).await;
    println!(
        "full disk: {} acknowledged, {} refused",
        fill.acked.len(),
        fill.refused.len()
    );
    assert!(fill.refused.len() >= 20, "the full disk refuses events");
    assert!(
        fill.refused.iter().all(|r| r.as_deref() == Some("5")),
        "{:?}",
        fill.refused
    );
    acked.extend(fill.acked);
    // The fill left a little room; take it too, so that the writer's small probe write fails as well.
    let last_bytes = tmpfs.path().join("last-bytes");
    fill_disk(&last_bytes, 0);
    assert!(
        readyz_reports_failing_writes(&app, &mut acked).await,
        "readiness reports the failing writes"
    );

    std::fs::remove_file(&filler).unwrap();
    std::fs::remove_file(&last_bytes).unwrap();
    let started = Instant::now();
    let id = ingest_until_stored(&app, Duration::from_secs(5)).await;
    acked.push(id.expect("ingest recovers once space is back, without a restart"));
    println!("ingest recovered {:?} after the space returned", started.elapsed());
    assert_eq!(readyz(&app).await.0, 200);
    for _ in 0..5 {
        let id = new_event_id();
        assert_eq!(app.post_envelope(envelope(&id, &large_event())).await.status(), 200);
        acked.push(id);
    }
    assert_all_stored(&app, &acked).await;
    Arc::try_unwrap(app).ok().unwrap().stop().await;
    drop(tmpfs);
}

/// SQLite only: with the database on a 40 MB tmpfs and a 12 MB floor, filling the disk under load stops
/// ingest with 503 (low disk) before the database fails; everything acknowledged is stored, `/readyz` says
/// why, and ingest resumes by itself once space returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_below_the_free_space_floor_answers_503_before_the_database_fails() {
    let tmpfs = match Tmpfs::mount(40) {
        Ok(tmpfs) => tmpfs,
        Err(reason) => return eprintln!("free-space floor test skipped: {reason}"),
    };
    let url = format!("sqlite://{}", tmpfs.path().join("data/faultline.db").display());
    let app = Arc::new(
        TestApp::spawn_with(Backend::Sqlite, |config| {
            config.database_url = url;
            config.min_free_disk = 12_000_000;
        })
        .await,
    );
    let mut acked = vec![ingest_until_stored(&app, Duration::from_secs(5))
        .await
        .expect("ingest works above the floor")];
    let filler: PathBuf = tmpfs.path().join("filler");
    // Leaves 8 MB: below the floor, with room for the database to keep writing.
    let load = tokio::spawn({
        let app = app.clone();
        async move { ingest_until_refused(&app).await }
    });
    fill_disk(&filler, 8 * 1024 * 1024);
    let fill = load.await.unwrap();
    acked.extend(fill.acked);
    assert!(fill.refused.len() >= 20, "below the floor ingest refuses");
    let low = app
        .post_envelope(envelope(&new_event_id(), &json!({"message": "low"})))
        .await;
    assert_eq!(low.status(), 503);
    assert_eq!(low.headers()["retry-after"], "5");
    assert!(low.text().await.unwrap().contains("free disk space is low"));
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503);
    assert!(
        body["detail"].as_str().unwrap().contains("FAULTLINE_MIN_FREE_DISK"),
        "{body}"
    );
    std::fs::remove_file(&filler).unwrap();
    let id = ingest_until_stored(&app, Duration::from_secs(5)).await;
    acked.push(id.expect("ingest resumes once space returns, without a restart"));
    assert_eq!(readyz(&app).await.0, 200);
    assert_all_stored(&app, &acked).await;
    Arc::try_unwrap(app).ok().unwrap().stop().await;
    drop(tmpfs);
}

/// The Postgres server behind `DATABASE_URL`, or `None` (with the reason printed) when it is not Postgres.
async fn postgres_server() -> Option<(Backend, std::net::SocketAddr)> {
    let Some(Backend::Postgres(server)) = Backend::postgres() else {
        eprintln!("DATABASE_URL is not a Postgres URL: Postgres outage test skipped");
        return None;
    };
    let url = url::Url::parse(&server).unwrap();
    let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let target = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
    Some((Backend::Postgres(server), target))
}

/// Postgres only: the server is reached through a proxy that the test cuts and restores.
async fn postgres_down_answers_503_at_once_and_recovers(cut: Cut) {
    let Some((backend, target)) = postgres_server().await else {
        return;
    };
    let proxy = Proxy::start(target).await;
    let app = TestApp::spawn_with(backend, |config| {
        let mut url = url::Url::parse(&config.database_url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.addr.port())).unwrap();
        config.database_url = url.to_string();
    })
    .await;
    let mut acked = Vec::new();
    for _ in 0..3 {
        acked.push(
            ingest_until_stored(&app, Duration::from_secs(5))
                .await
                .expect("ingest works"),
        );
    }

    proxy.cut(cut);
    let started = Instant::now();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "readyz took {:?}",
        started.elapsed()
    );
    for _ in 0..3 {
        let started = Instant::now();
        let response = app
            .post_envelope(envelope(&new_event_id(), &json!({"message": "down"})))
            .await;
        let elapsed = started.elapsed();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        assert!(elapsed < Duration::from_secs(2), "ingest took {elapsed:?}");
        println!("{cut:?}: ingest answered 503 in {elapsed:?}");
    }

    proxy.restore().await;
    let started = Instant::now();
    let id = ingest_until_stored(&app, Duration::from_secs(5)).await;
    acked.push(id.expect("ingest resumes once Postgres is back"));
    println!("{cut:?}: ingest resumed {:?} after the restore", started.elapsed());
    assert_eq!(readyz(&app).await.0, 200);
    assert_all_stored(&app, &acked).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refusing_connections_answers_503_at_once_and_recovers() {
    postgres_down_answers_503_at_once_and_recovers(Cut::Refuse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_blackholed_answers_503_at_once_and_recovers() {
    postgres_down_answers_503_at_once_and_recovers(Cut::Blackhole).await;
}
