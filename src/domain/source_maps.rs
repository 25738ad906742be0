//! Mapping a minified JavaScript frame back to its source with a source map (parsed by the `sourcemap`
//! crate): the original file, line, column and function, and the source lines around it from the map's
//! `sourcesContent`. A frame that cannot be mapped says why, in a sentence shown on the event page.

use sourcemap::{DecodedMap, SourceMap, SourceView};

/// Source lines shown before and after the frame's line, as SDKs send them.
const CONTEXT_LINES: u32 = 5;
/// Longest context line kept (a minified or generated line can be megabytes).
const MAX_CONTEXT_CHARS: usize = 300;

/// A frame as the browser reported it: 1-based line and column in the minified file.
#[derive(Debug, Clone, Copy)]
pub struct MinifiedFrame<'a> {
    pub lineno: u32,
    pub colno: u32,
    pub function: Option<&'a str>,
}

/// The frame in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalFrame {
    /// The source as the map names it (`webpack://shop/./src/cart.js`, `../src/cart.js`).
    pub abs_path: String,
    /// The same without bundler prefixes and leading `./`, `../` (`src/cart.js`): stable across builds.
    pub filename: String,
    pub lineno: u32,
    pub colno: u32,
    /// The enclosing function's original name, when the minified source shows where it was declared.
    pub function: Option<String>,
    pub pre_context: Vec<String>,
    pub context_line: Option<String>,
    pub post_context: Vec<String>,
}

/// Why a frame stayed minified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolved {
    #[error("the frame has no line and column to look up")]
    NoPosition,
    #[error("line {0} is outside the source map (it maps lines 1 to {1})")]
    LineOutsideMap(u32, u32),
    #[error("the source map has no mapping at line {0}, column {1}")]
    NoMapping(u32, u32),
    #[error("the source map's mapping points past the end of its sources")]
    SourceOutOfRange,
}

/// Why a source map could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the source map cannot be read: {0}")]
pub struct BadMap(String);

/// A parsed source map, with the minified source when it was uploaded too (it names functions).
pub struct ParsedMap {
    map: SourceMap,
    /// The last minified line (0-based) the map has a mapping on.
    last_line: u32,
    minified: Option<SourceView>,
    /// Bytes it was parsed from: what the cache weighs it by.
    weight: usize,
}

impl std::fmt::Debug for ParsedMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedMap")
            .field("weight", &self.weight)
            .finish_non_exhaustive()
    }
}

impl ParsedMap {
    /// Parses a map (an index map is flattened); `minified` is the generated file it maps.
    pub fn parse(bytes: &[u8], minified: Option<&[u8]>) -> Result<ParsedMap, BadMap> {
        let decoded = sourcemap::decode_slice(bytes).map_err(|e| BadMap(e.to_string()))?;
        let map = match decoded {
            DecodedMap::Regular(map) => map,
            DecodedMap::Index(index) => index.flatten().map_err(|e| BadMap(e.to_string()))?,
            DecodedMap::Hermes(_) => return Err(BadMap("Hermes (React Native) maps are not supported".into())),
        };
        let minified = minified
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .map(|text| SourceView::from_string(text.to_owned()));
        let weight = bytes.len() * 3 + minified.as_ref().map_or(0, |m| m.source().len());
        let last_line = map.tokens().map(|t| t.get_dst_line()).max().unwrap_or(0);
        Ok(ParsedMap {
            map,
            last_line,
            minified,
            weight,
        })
    }

    /// Roughly the memory it holds, in bytes.
    pub fn weight(&self) -> usize {
        self.weight
    }

    /// The frame in its source.
    pub fn resolve(&self, frame: MinifiedFrame<'_>) -> Result<OriginalFrame, Unresolved> {
        if frame.lineno == 0 {
            return Err(Unresolved::NoPosition);
        }
        let (line, col) = (frame.lineno - 1, frame.colno.saturating_sub(1));
        if line > self.last_line {
            return Err(Unresolved::LineOutsideMap(frame.lineno, self.last_line + 1));
        }
        let token = self.map.lookup_token(line, col);
        let token = token
            .filter(|t| t.get_dst_line() == line)
            .ok_or(Unresolved::NoMapping(frame.lineno, frame.colno))?;
        let source = token.get_source().ok_or(Unresolved::SourceOutOfRange)?;
        let function = match (frame.function, &self.minified) {
            (Some(minified_name), Some(view)) => self
                .map
                .get_original_function_name(line, col, short_name(minified_name), view)
                .map(str::to_owned),
            _ => None,
        };
        let src_line = token.get_src_line();
        let (pre_context, context_line, post_context) = match self.map.get_source_view(token.get_src_id()) {
            Some(view) => context(view, src_line),
            None => (Vec::new(), None, Vec::new()),
        };
        Ok(OriginalFrame {
            abs_path: source.to_owned(),
            filename: stable_filename(source),
            lineno: src_line + 1,
            colno: token.get_src_col() + 1,
            function,
            pre_context,
            context_line,
            post_context,
        })
    }
}

/// `Object.Ay` → `Ay`: browsers prefix the receiver.
fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn context(view: &SourceView, line: u32) -> (Vec<String>, Option<String>, Vec<String>) {
    let get = |idx: u32| {
        view.get_line(idx)
            .map(|l| l.chars().take(MAX_CONTEXT_CHARS).collect::<String>())
    };
    let pre = (line.saturating_sub(CONTEXT_LINES)..line).filter_map(get).collect();
    let post = (line + 1..=line + CONTEXT_LINES).filter_map(get).collect();
    (pre, get(line), post)
}

/// A source path without what changes between bundlers and builds: `webpack://name/`, `file://`, leading
/// `./` and `../` segments.
pub fn stable_filename(source: &str) -> String {
    let mut path = source;
    for scheme in ["webpack://", "webpack-internal://", "file://", "app://"] {
        if let Some(rest) = path.strip_prefix(scheme) {
            // `webpack://shop/./src/a.js`: the first segment names the bundle.
            path = if scheme.starts_with("webpack") {
                rest.split_once('/').map_or(rest, |(_, tail)| tail)
            } else {
                rest
            };
        }
    }
    while let Some(rest) = path.strip_prefix("./").or_else(|| path.strip_prefix("../")) {
        path = rest;
    }
    path.trim_start_matches('/').to_owned()
}

#[cfg(test)]
mod tests;
