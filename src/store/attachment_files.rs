//! SQLite's attachment files: `<database folder>/attachments/<project id>/<random name>`, one file per stored
//! row (never shared, so deleting a row's file can never take another row's bytes). A file is written to a
//! temporary name, synced, renamed and its folder synced before its row commits, so a committed row always
//! points at durable bytes; a crash in between leaves an orphan file, which costs disk but never a broken row.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::ProjectId;

use super::{Db, StoreError};

const FOLDER: &str = "attachments";

/// Where a SQLite database keeps its attachment files; `None` on Postgres (the bytes are in the row).
pub(super) fn root(db: &Db) -> Option<PathBuf> {
    db.sqlite_folder().map(|folder| folder.join(FOLDER))
}

/// Writes `bytes` durably under `root`; returns the file's path relative to `root` (what the row keeps).
pub(super) async fn write(root: &Path, project_id: ProjectId, bytes: bytes::Bytes) -> Result<String, StoreError> {
    let relative = format!("{project_id}/{}", uuid::Uuid::new_v4().simple());
    let path = root.join(&relative);
    tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
        .await
        .map_err(|e| StoreError::File(std::io::Error::other(e)))?
        .map_err(StoreError::File)?;
    Ok(relative)
}

fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().expect("a file under a project folder");
    std::fs::create_dir_all(folder)?;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(error) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    // The rename is durable once the folder's entry is.
    std::fs::File::open(folder)?.sync_all()
}

/// Reads a stored file whole.
pub(super) async fn read(root: &Path, relative: &str) -> Result<Vec<u8>, StoreError> {
    tokio::fs::read(root.join(checked(relative)?))
        .await
        .map_err(StoreError::File)
}

/// Removes files whose rows are gone (or were never committed). A file already missing is fine; any other
/// failure is logged and left for an operator: the rows are gone, so nothing points at the file any more.
pub(super) async fn remove(root: &Path, relatives: Vec<String>) {
    let root = root.to_path_buf();
    let removed = tokio::task::spawn_blocking(move || {
        for relative in relatives {
            let Ok(relative) = checked(&relative) else { continue };
            match std::fs::remove_file(root.join(relative)) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => tracing::warn!(%error, file = %relative.display(), "an attachment file was not removed"),
            }
        }
    });
    if let Err(error) = removed.await {
        tracing::warn!(%error, "removing attachment files failed");
    }
}

/// A stored path as written by [`write`]: two plain components, never `..` or absolute.
fn checked(relative: &str) -> Result<&Path, StoreError> {
    let path = Path::new(relative);
    let plain =
        path.components().count() == 2 && path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if plain {
        Ok(path)
    } else {
        Err(StoreError::Corrupt(format!("attachment path {relative:?}")))
    }
}
