//! Source maps applied to a JavaScript event before it is grouped, so that issues group on the original
//! frames and a rebuild that renames minified symbols lands in the same issue. Each frame's map is found by
//! the debug id its file carries (`debug_meta.images` of type `sourcemap`), else by release, dist and URL
//! (`core::artifacts`). The minified frames are kept as `raw_stacktrace`; a frame that stays minified says
//! why in `data.sourcemap_error`. Parsed maps live in a cache bounded by their weight in memory, and
//! lookups (found or not) are remembered for a minute, so a burst of events costs one read per map.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use serde_json::{json, Map, Value};

use crate::core::artifacts::{find_source_map, MapLookup};
use crate::domain::event::Event;
use crate::domain::source_maps::{MinifiedFrame, OriginalFrame, ParsedMap};
use crate::domain::ProjectId;
use crate::store::events::StoredEvent;
use crate::store::{Db, StoreError};

/// How long a lookup's answer is trusted. An upload forgets the misses at once in every process
/// (`core::changes`); this bounds how long a lost announcement is missed.
const LOOKUP_TTL: Duration = Duration::from_secs(60);
/// Lookups remembered at most.
const LOOKUPS: usize = 10_000;

#[derive(Clone)]
struct MapWeight;

impl Weighter<String, Arc<ParsedMap>> for MapWeight {
    fn weight(&self, _key: &String, map: &Arc<ParsedMap>) -> u64 {
        map.weight().max(1) as u64
    }
}

/// What a lookup found, and when.
#[derive(Clone)]
struct Found {
    at: Instant,
    map: Result<Arc<ParsedMap>, String>,
}

/// The parsed maps and recent lookups, shared by ingest and the event page.
#[derive(Clone)]
pub struct SourceMaps {
    db: Db,
    parsed: Arc<Cache<String, Arc<ParsedMap>, MapWeight>>,
    lookups: Arc<Cache<(ProjectId, String), Found>>,
}

impl SourceMaps {
    /// Parsed maps up to `memory_bytes` (their source bytes, weighed three times over for what parsing adds).
    pub fn new(db: Db, memory_bytes: u64) -> SourceMaps {
        SourceMaps {
            db,
            parsed: Arc::new(Cache::with_weighter(256, memory_bytes.max(1), MapWeight)),
            lookups: Arc::new(Cache::new(LOOKUPS)),
        }
    }

    /// Maps the event's JavaScript frames in place; returns how many were mapped and how many stayed minified.
    pub async fn apply(&self, project_id: ProjectId, event: &mut Value) -> (usize, usize) {
        if !has_script_frames(event) {
            return (0, 0);
        }
        let debug_ids = debug_ids(event);
        let release = event.get("release").and_then(Value::as_str).map(str::to_owned);
        let dist = event.get("dist").and_then(Value::as_str).map(str::to_owned);
        let mut maps: HashMap<String, Result<Arc<ParsedMap>, String>> = HashMap::new();
        for file in script_files(event) {
            let lookup = match (debug_ids.get(&file), &release) {
                (Some(id), _) => MapLookup::DebugId(id),
                (None, Some(release)) => MapLookup::Url {
                    release,
                    dist: dist.as_deref(),
                    abs_path: &file,
                },
                (None, None) => {
                    maps.insert(file, Err("the event names no release and its file no debug id".into()));
                    continue;
                }
            };
            let found = self.map_for(project_id, lookup).await;
            maps.insert(file, found);
        }
        rewrite_frames(event, &maps)
    }

    /// One lookup per key at a time: a burst of events naming a map not yet in memory waits for the one
    /// read and parse rather than each parsing its own copy (which multiplied memory by the burst's width).
    async fn map_for(&self, project_id: ProjectId, lookup: MapLookup<'_>) -> Result<Arc<ParsedMap>, String> {
        let key = (project_id, lookup_key(&lookup));
        loop {
            match self.lookups.get_value_or_guard_async(&key).await {
                Ok(found) if found.at.elapsed() < LOOKUP_TTL => return found.map,
                Ok(_stale) => {
                    self.lookups.remove(&key);
                }
                Err(guard) => {
                    let map = self.fetch(project_id, &lookup).await;
                    let found = Found {
                        at: Instant::now(),
                        map: map.clone(),
                    };
                    // A guard outlived by a concurrent insert only loses this copy of the answer.
                    let _ = guard.insert(found);
                    return map;
                }
            }
        }
    }

    async fn fetch(&self, project_id: ProjectId, lookup: &MapLookup<'_>) -> Result<Arc<ParsedMap>, String> {
        let found = match find_source_map(&self.db, project_id, *lookup).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(not_found(lookup)),
            Err(error) => {
                tracing::warn!(%error, "a source map could not be read");
                return Err("the source map could not be read from the database".into());
            }
        };
        if let Some(parsed) = self.parsed.get(&found.key) {
            return Ok(parsed);
        }
        let minified = found.minified.clone();
        let bytes = found.bytes.clone();
        // Parsing a large map takes milliseconds to seconds: off the request threads.
        let parsed = tokio::task::spawn_blocking(move || ParsedMap::parse(&bytes, minified.as_deref()))
            .await
            .map_err(|_| "parsing the source map failed".to_owned())?
            .map_err(|bad| bad.to_string())?;
        let parsed = Arc::new(parsed);
        self.parsed.insert(found.key, parsed.clone());
        Ok(parsed)
    }

    /// Forgets the lookups that found nothing, after an upload (found maps stay: their bytes do not change).
    pub fn forget_misses(&self) {
        self.lookups.retain(|_, found| found.map.is_ok());
    }

    /// A stored event as pages show it. Frames that stayed minified are mapped again when their map was
    /// uploaded since (resolve on read: what is stored, and the issue it was grouped into, stay as they were).
    pub async fn read(&self, stored: &StoredEvent) -> Result<Event, StoreError> {
        let mut value = stored.payload_json()?;
        if has_unmapped_frames(&mut value) {
            self.apply_again(stored.project_id, &mut value).await;
        }
        serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("events.payload: {e}")))
    }

    /// Maps the frames that stayed minified when the event came in, with the maps there are now.
    async fn apply_again(&self, project_id: ProjectId, value: &mut Value) {
        for frame in frames_mut(value) {
            if let Some(data) = frame.get_mut("data").and_then(Value::as_object_mut) {
                data.remove("sourcemap_error");
            }
        }
        self.apply(project_id, value).await;
    }

    /// Bytes the parsed maps now weigh (for the benchmark and metrics).
    pub fn weight(&self) -> u64 {
        self.parsed.weight()
    }
}

fn lookup_key(lookup: &MapLookup<'_>) -> String {
    match lookup {
        MapLookup::DebugId(id) => format!("debug-id:{}", id.to_ascii_lowercase()),
        MapLookup::Url {
            release,
            dist,
            abs_path,
        } => {
            format!("url:{release}\u{1f}{}\u{1f}{abs_path}", dist.unwrap_or(""))
        }
    }
}

fn not_found(lookup: &MapLookup<'_>) -> String {
    match lookup {
        MapLookup::DebugId(id) => format!("no uploaded bundle has a source map with debug id {id}"),
        MapLookup::Url { release, abs_path, .. } => {
            format!("no source map was uploaded for {abs_path} in release {release}")
        }
    }
}

/// The exception frames of the event (`exception.values[].stacktrace.frames[]`).
fn frames_mut(event: &mut Value) -> impl Iterator<Item = &mut Value> {
    exceptions_mut(event)
        .filter_map(|e| e.pointer_mut("/stacktrace/frames").and_then(Value::as_array_mut))
        .flat_map(|frames| frames.iter_mut())
}

fn exceptions_mut(event: &mut Value) -> impl Iterator<Item = &mut Value> {
    let values = match event.get_mut("exception") {
        Some(Value::Object(exception)) => exception.get_mut("values").and_then(Value::as_array_mut),
        Some(Value::Array(values)) => Some(values),
        _ => None,
    };
    values.into_iter().flat_map(|v| v.iter_mut())
}

/// A frame's file as maps are looked up by: its `abs_path` without query string or fragment.
fn script_file(frame: &Value) -> Option<String> {
    let path = frame.get("abs_path").or_else(|| frame.get("filename"))?.as_str()?;
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let script = path.ends_with(".js") || path.ends_with(".mjs") || path.ends_with(".cjs");
    (script && frame.get("lineno").is_some()).then(|| path.to_owned())
}

fn has_unmapped_frames(event: &mut Value) -> bool {
    frames_mut(event).any(|frame| frame.pointer("/data/sourcemap_error").is_some())
}

fn has_script_frames(event: &mut Value) -> bool {
    frames_mut(event).any(|frame| script_file(frame).is_some())
}

fn script_files(event: &mut Value) -> Vec<String> {
    let mut files: Vec<String> = frames_mut(event).filter_map(|f| script_file(f)).collect();
    files.sort();
    files.dedup();
    files
}

/// `debug_meta.images[]` of type `sourcemap`: file → debug id.
fn debug_ids(event: &Value) -> HashMap<String, String> {
    let images = event.pointer("/debug_meta/images").and_then(Value::as_array);
    images
        .into_iter()
        .flatten()
        .filter(|image| image.get("type").and_then(Value::as_str) == Some("sourcemap"))
        .filter_map(|image| {
            let file = image.get("code_file")?.as_str()?;
            let file = file.split(['?', '#']).next().unwrap_or(file);
            Some((file.to_owned(), image.get("debug_id")?.as_str()?.to_owned()))
        })
        .collect()
}

/// Replaces each exception's frames by their originals, keeping the minified ones as `raw_stacktrace`.
fn rewrite_frames(event: &mut Value, maps: &HashMap<String, Result<Arc<ParsedMap>, String>>) -> (usize, usize) {
    let (mut resolved, mut unresolved) = (0, 0);
    for exception in exceptions_mut(event) {
        let Some(stacktrace) = exception.get("stacktrace").cloned() else {
            continue;
        };
        let Some(frames) = exception
            .pointer_mut("/stacktrace/frames")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        let mut changed = false;
        for frame in frames.iter_mut() {
            let Some(found) = script_file(frame).and_then(|file| maps.get(&file)) else {
                continue;
            };
            changed = true;
            match found.as_ref().map_err(Clone::clone).and_then(|map| resolve(map, frame)) {
                Ok(original) => {
                    write_original(frame, original);
                    resolved += 1;
                }
                Err(why) => {
                    data_of(frame).insert("sourcemap_error".into(), json!(why));
                    unresolved += 1;
                }
            }
        }
        if changed {
            exception["raw_stacktrace"] = stacktrace;
        }
    }
    (resolved, unresolved)
}

fn resolve(map: &ParsedMap, frame: &Value) -> Result<OriginalFrame, String> {
    let number = |key: &str| {
        frame
            .get(key)
            .and_then(Value::as_u64)
            .map(|n| n.min(u64::from(u32::MAX)) as u32)
    };
    let minified = MinifiedFrame {
        lineno: number("lineno").unwrap_or(0),
        colno: number("colno").unwrap_or(0),
        function: frame.get("function").and_then(Value::as_str),
    };
    map.resolve(minified).map_err(|why| why.to_string())
}

fn write_original(frame: &mut Value, original: OriginalFrame) {
    let minified_path = frame.get("abs_path").or_else(|| frame.get("filename")).cloned();
    let object = frame.as_object_mut().expect("frames are objects");
    object.insert("abs_path".into(), json!(original.abs_path));
    object.insert("filename".into(), json!(original.filename));
    object.insert("lineno".into(), json!(original.lineno));
    object.insert("colno".into(), json!(original.colno));
    // The minified name is left out: it changes with every build and would split the issue.
    match original.function {
        Some(name) => object.insert("function".into(), json!(name)),
        None => object.remove("function"),
    };
    object.insert("pre_context".into(), json!(original.pre_context));
    object.insert("context_line".into(), json!(original.context_line));
    object.insert("post_context".into(), json!(original.post_context));
    data_of(frame).insert("sourcemap".into(), minified_path.unwrap_or(Value::Null));
}

fn data_of(frame: &mut Value) -> &mut Map<String, Value> {
    let object = frame.as_object_mut().expect("frames are objects");
    let data = object.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    data.as_object_mut().expect("made an object above")
}
