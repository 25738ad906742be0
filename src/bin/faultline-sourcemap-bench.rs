//! Source map resolution speed: a generated map of about `--megabytes` MB (sources with their content, a
//! token every few columns of a long minified line per source), resolved cold (parse, then one frame) and
//! warm (frames of a parsed map, as the cache holds them). Prints one JSON line.
//!
//! Usage: cargo run --release --bin faultline-sourcemap-bench -- --megabytes 5

use std::time::Instant;

use clap::Parser;
use faultline::domain::source_maps::{MinifiedFrame, ParsedMap};
use sourcemap::SourceMapBuilder;

#[derive(Parser)]
struct Args {
    /// Approximate size of the generated map, in MB.
    #[arg(long, default_value_t = 5)]
    megabytes: usize,
    /// Cold resolutions (each parses the map again); the median is reported.
    #[arg(long, default_value_t = 5)]
    cold_runs: usize,
    /// Warm frame resolutions.
    #[arg(long, default_value_t = 200_000)]
    warm_frames: usize,
}

/// Lines of each generated source file, and columns between two tokens of the minified line.
const SOURCE_LINES: u32 = 400;
const TOKEN_EVERY: u32 = 7;

fn main() {
    let args = Args::parse();
    let (map, lines) = generate(args.megabytes * 1024 * 1024);
    let frame = |i: usize| MinifiedFrame {
        lineno: (i as u32 % lines) + 1,
        colno: ((i as u32 * 131) % (SOURCE_LINES * TOKEN_EVERY)) + 1,
        function: Some("a"),
    };
    let mut cold_ms: Vec<f64> = (0..args.cold_runs.max(1))
        .map(|i| {
            let started = Instant::now();
            let parsed = ParsedMap::parse(&map, None).expect("the generated map parses");
            parsed.resolve(frame(i)).expect("the frame maps");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    cold_ms.sort_by(f64::total_cmp);
    let parsed = ParsedMap::parse(&map, None).expect("the generated map parses");
    let started = Instant::now();
    let mut mapped = 0usize;
    for i in 0..args.warm_frames {
        mapped += usize::from(parsed.resolve(frame(i)).is_ok());
    }
    let warm = started.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "map_bytes": map.len(),
            "cold_median_ms": cold_ms[cold_ms.len() / 2],
            "warm_frames": args.warm_frames,
            "warm_mapped": mapped,
            "warm_us_per_frame": warm.as_secs_f64() * 1e6 / args.warm_frames as f64,
            "cache_weight_bytes": parsed.weight(),
        })
    );
}

/// A map of about `target` bytes: one minified line per source file, tokens every few columns, each source
/// with its content (what `sourcesContent` adds to real maps). Returns the JSON and the minified line count.
fn generate(target: usize) -> (Vec<u8>, u32) {
    let content: String = (0..SOURCE_LINES)
        .map(|line| format!("  const value{line} = compute(input, {line}); // line {line} of the module\n"))
        .collect();
    let mut builder = SourceMapBuilder::new(Some("app.min.js"));
    let mut lines = 0;
    let mut written = 0;
    while written < target {
        let name = format!("src/module{lines}.js");
        let source = builder.add_source(&name);
        builder.set_source_contents(source, Some(&content));
        for token in 0..SOURCE_LINES {
            let identifier = format!("value{token}");
            builder.add(
                lines,
                token * TOKEN_EVERY,
                token,
                2,
                Some(&name),
                Some(&identifier),
                false,
            );
        }
        // Content, names and a few bytes of mappings per token.
        written += content.len() + SOURCE_LINES as usize * 14;
        lines += 1;
    }
    let mut out = Vec::new();
    builder
        .into_sourcemap()
        .to_writer(&mut out)
        .expect("the map serializes");
    (out, lines)
}
