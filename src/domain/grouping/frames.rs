//! Which frames of a stack contribute to grouping and what each contributes (§8.1, §8.4 steps 2–3):
//! the in-app decision, frame exclusions, the `(location, function, context line)` tuple, the crash frame.

use super::names::{clean_function, clean_module, file_basename, is_url, PlatformFamily};
use super::recursion::{collapse_cycles, is_direct_recursion};
use crate::domain::event::{Event, Exception, Frame, Stacktrace};

/// At most this many contributing frames per stack (§8.4 step 3), the most recent ones.
const MAX_FRAMES_PER_STACK: usize = 50;
/// Longer source lines are usually minified code and would split issues needlessly (§8.1).
const MAX_CONTEXT_LINE_CHARS: usize = 120;

/// Path fragments of code the application did not write (§8.1 enhancement rules `-app`).
const LIBRARY_PATH_FRAGMENTS: &[&str] = &[
    "/site-packages/",
    "/dist-packages/",
    "/node_modules/",
    "/vendor/",
    "/go/pkg/mod/",
];
const LIBRARY_PATH_PREFIXES: &[&str] = &["/usr/lib/", "/system/library/"];
/// Public CDNs serving third-party scripts.
const CDN_HOSTS: &[&str] = &[
    "cdnjs.cloudflare.com",
    "cdn.jsdelivr.net",
    "unpkg.com",
    "ajax.googleapis.com",
    "code.jquery.com",
    "polyfill.io",
    "cdn.polyfill.io",
    "stackpath.bootstrapcdn.com",
    "maxcdn.bootstrapcdn.com",
    "ajax.aspnetcdn.com",
    "www.googletagmanager.com",
    "www.google-analytics.com",
    "connect.facebook.net",
    "js.stripe.com",
];

/// What one frame contributes to the hash; absent parts are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameKey {
    /// Cleaned module, else the lowercased file basename.
    pub location: Option<String>,
    pub function: Option<String>,
    pub context_line: Option<String>,
}

/// Which frames a stack groups by, decided once per event (§8.4 step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Only in-app frames: used when any frame of the event is in-app.
    App,
    /// All frames: no in-app frame anywhere.
    System,
}

impl Variant {
    pub fn for_stacks<'a>(stacks: impl IntoIterator<Item = &'a [Frame]>) -> Variant {
        let any_in_app = stacks.into_iter().flatten().any(is_in_app);
        if any_in_app {
            Variant::App
        } else {
            Variant::System
        }
    }
}

/// A frame is in-app only when the SDK says so and its path is not a known library location;
/// a missing `in_app` counts as not in-app (§8.4 step 2).
pub fn is_in_app(frame: &Frame) -> bool {
    frame.in_app == Some(true) && !is_library_path(frame)
}

fn is_library_path(frame: &Frame) -> bool {
    [frame.abs_path.as_deref(), frame.filename.as_deref()]
        .into_iter()
        .flatten()
        .any(is_library_location)
}

fn is_library_location(path: &str) -> bool {
    let slashed = path.replace('\\', "/").to_lowercase();
    // The leading `/` lets relative paths such as `node_modules/x.js` match a fragment.
    let rooted = format!("/{slashed}");
    LIBRARY_PATH_FRAGMENTS.iter().any(|f| rooted.contains(f))
        || LIBRARY_PATH_PREFIXES.iter().any(|p| slashed.starts_with(p))
        || url_host(path).is_some_and(|host| CDN_HOSTS.contains(&host.as_str()))
}

fn url_host(path: &str) -> Option<String> {
    let (_, rest) = path.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = host_port.split(':').next()?;
    Some(host.to_ascii_lowercase())
}

/// The frames of one stack that contribute, oldest first, recursion collapsed, capped to the most
/// recent 50.
pub fn frame_keys(frames: &[Frame], event_platform: &str, variant: Variant) -> Vec<FrameKey> {
    if is_single_unusable_js_frame(frames, event_platform) {
        return Vec::new();
    }
    let contributing: Vec<FrameKey> = frames
        .iter()
        .enumerate()
        .filter(|(index, frame)| *index == 0 || !is_direct_recursion(&frames[index - 1], frame))
        .map(|(_, frame)| frame)
        .filter(|frame| variant == Variant::System || is_in_app(frame))
        .filter_map(|frame| frame_key(frame, event_platform))
        .collect();
    // Collapsing first keeps a deep cycle from pushing the frames below it out of the cap.
    let mut keys = collapse_cycles(contributing);
    let excess = keys.len().saturating_sub(MAX_FRAMES_PER_STACK);
    keys.drain(..excess);
    keys
}

/// The frame's contribution, or `None` when it contributes nothing.
fn frame_key(frame: &Frame, event_platform: &str) -> Option<FrameKey> {
    let family = PlatformFamily::of_frame(frame, event_platform);
    if family == PlatformFamily::JavaScript && is_low_quality_js_frame(frame) {
        return None;
    }
    let function = clean_function(frame, family);
    let location = clean_module(frame, family).or_else(|| file_basename(frame));
    let context_line = family
        .groups_by_context_line()
        .then(|| context_line(frame))
        .flatten()
        // A URL-served script without a function name is minified noise (§8.1).
        .filter(|_| !(family == PlatformFamily::JavaScript && function.is_none() && is_from_url(frame)));
    if location.is_none() && function.is_none() && context_line.is_none() {
        return None;
    }
    Some(FrameKey {
        location,
        function,
        context_line,
    })
}

/// Whitespace-collapsed source line; indentation changes must not split an issue.
fn context_line(frame: &Frame) -> Option<String> {
    let line = frame.context_line.as_deref()?;
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let usable = !collapsed.is_empty() && collapsed.chars().count() <= MAX_CONTEXT_LINE_CHARS;
    usable.then_some(collapsed)
}

fn is_from_url(frame: &Frame) -> bool {
    [frame.abs_path.as_deref(), frame.filename.as_deref()]
        .into_iter()
        .flatten()
        .any(is_url)
}

/// `eval` and engine-internal frames say nothing about the application (§8.1).
fn is_low_quality_js_frame(frame: &Frame) -> bool {
    let path = frame.abs_path.as_deref().or(frame.filename.as_deref());
    frame.function.as_deref() == Some("eval")
        || matches!(
            path,
            Some("[native code]" | "native code" | "eval code" | "<anonymous>")
        )
}

fn is_single_unusable_js_frame(frames: &[Frame], event_platform: &str) -> bool {
    let [frame] = frames else {
        return false;
    };
    PlatformFamily::of_frame(frame, event_platform) == PlatformFamily::JavaScript
        && !frame.function.as_deref().is_some_and(|f| !f.is_empty())
        && is_from_url(frame)
}

/// The frames of an exception; without its own stacktrace, those of the thread that raised it
/// (matched by `thread_id`, else the current thread, §7.2).
pub fn exception_frames<'a>(event: &'a Event, exception: &'a Exception) -> &'a [Frame] {
    if let Some(frames) = non_empty_frames(exception.stacktrace.as_ref()) {
        return frames;
    }
    let thread = match &exception.thread_id {
        Some(id) => event.threads.iter().find(|t| t.id.as_ref() == Some(id)),
        None => event.threads.iter().find(|t| t.current == Some(true)),
    };
    thread
        .and_then(|t| non_empty_frames(t.stacktrace.as_ref()))
        .unwrap_or(&[])
}

/// The stack of an event without exceptions: its only thread's, else the legacy one (§8.4 step 5).
pub fn standalone_frames(event: &Event) -> &[Frame] {
    let single_thread = match event.threads.as_slice() {
        [thread] => non_empty_frames(thread.stacktrace.as_ref()),
        _ => None,
    };
    single_thread
        .or_else(|| non_empty_frames(event.stacktrace.as_ref()))
        .unwrap_or(&[])
}

fn non_empty_frames(stacktrace: Option<&Stacktrace>) -> Option<&[Frame]> {
    stacktrace
        .map(|s| s.frames.as_slice())
        .filter(|frames| !frames.is_empty())
}

/// The frame the event is "about": in the raised exception's stack (else the event's standalone
/// stack), the most recent in-app frame with a usable function, else the most recent frame.
pub fn crash_frame(event: &Event) -> Option<&Frame> {
    let frames = match event.main_exception() {
        Some(exception) => exception_frames(event, exception),
        None => standalone_frames(event),
    };
    frames
        .iter()
        .rev()
        .find(|frame| {
            let family = PlatformFamily::of_frame(frame, &event.platform);
            is_in_app(frame) && clean_function(frame, family).is_some()
        })
        .or_else(|| frames.last())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_frame(path: &str) -> Frame {
        Frame {
            abs_path: Some(path.to_string()),
            filename: Some(path.to_string()),
            function: Some("run".into()),
            in_app: Some(true),
            ..Frame::default()
        }
    }

    fn keys(frames: &[Frame], platform: &str) -> Vec<FrameKey> {
        frame_keys(frames, platform, Variant::System)
    }

    #[test]
    fn library_paths_are_never_in_app() {
        for path in [
            "/venv/lib/python3.11/site-packages/requests/api.py",
            "/usr/lib/python3/dist-packages/apt/cache.py",
            "C:\\app\\node_modules\\express\\lib\\router.js",
            "node_modules/react-dom/cjs/react-dom.js",
            "/srv/app/vendor/laravel/framework/src/Foo.php",
            "/root/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go",
            "/usr/lib/jvm/rt.jar",
            "/System/Library/Frameworks/UIKit.framework/UIKit",
            "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js",
        ] {
            assert!(!is_in_app(&app_frame(path)), "{path}");
        }
        assert!(is_in_app(&app_frame("/srv/shop/app/views.py")));
        assert!(is_in_app(&app_frame("https://shop.example.com/static/app.js")));
    }

    #[test]
    fn frames_without_an_in_app_flag_are_not_in_app() {
        let mut frame = app_frame("/srv/shop/app/views.py");
        frame.in_app = None;
        assert!(!is_in_app(&frame));
    }

    #[test]
    fn javascript_eval_and_engine_frames_do_not_contribute() {
        let mut eval = app_frame("/static/app.js");
        eval.function = Some("eval".into());
        let native = app_frame("[native code]");
        assert_eq!(keys(&[eval, native], "javascript"), vec![]);
    }

    #[test]
    fn a_lone_nameless_javascript_frame_from_a_url_does_not_contribute() {
        let mut frame = app_frame("https://shop.example.com/static/app.js");
        frame.function = None;
        frame.context_line = Some("x()".into());
        assert_eq!(keys(std::slice::from_ref(&frame), "javascript"), vec![]);
        assert_eq!(keys(&[frame.clone(), frame], "javascript"), vec![]);
    }

    #[test]
    fn context_lines_only_group_scripting_platforms() {
        let mut frame = app_frame("/srv/App.java");
        frame.context_line = Some("int x = 1 / 0;".into());
        assert_eq!(keys(std::slice::from_ref(&frame), "java")[0].context_line, None);
        assert_eq!(
            keys(&[frame], "ruby")[0].context_line.as_deref(),
            Some("int x = 1 / 0;")
        );
    }

    #[test]
    fn context_lines_longer_than_120_characters_do_not_contribute() {
        let mut frame = app_frame("/srv/app.py");
        frame.context_line = Some(format!("x = '{}'", "a".repeat(120)));
        assert_eq!(keys(&[frame], "python")[0].context_line, None);
    }

    #[test]
    fn the_crash_frame_is_the_most_recent_in_app_frame_with_a_function() {
        let mut anonymous = app_frame("/srv/b.py");
        anonymous.function = None;
        let mut library = app_frame("/srv/c.py");
        library.in_app = Some(false);
        let event = Event {
            platform: "python".into(),
            stacktrace: Some(Stacktrace {
                frames: vec![app_frame("/srv/a.py"), anonymous, library],
                ..Stacktrace::default()
            }),
            ..Event::default()
        };
        assert_eq!(
            crash_frame(&event).and_then(|f| f.abs_path.as_deref()),
            Some("/srv/a.py")
        );
    }

    #[test]
    fn without_in_app_frames_the_crash_frame_is_the_most_recent() {
        let mut library = app_frame("/venv/site-packages/x.py");
        library.function = None;
        let event = Event {
            stacktrace: Some(Stacktrace {
                frames: vec![app_frame("/venv/site-packages/y.py"), library],
                ..Stacktrace::default()
            }),
            ..Event::default()
        };
        assert_eq!(
            crash_frame(&event).and_then(|f| f.abs_path.as_deref()),
            Some("/venv/site-packages/x.py")
        );
    }
}
