//! What the browser filters read: the user agent an event carries, whether its error comes from a browser
//! extension, and whether the agent is a crawler or a legacy browser.

use crate::domain::event::Event;

/// The `User-Agent` the browser SDK puts in `request.headers`.
pub fn user_agent(event: &Event) -> Option<&str> {
    event
        .request
        .as_ref()?
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
        .map(|(_, value)| value.as_str())
}

/// Frames and messages that only extensions and injected scripts produce (Sentry's list, in spirit).
const EXTENSION_URLS: [&str; 6] = [
    "chrome-extension://",
    "moz-extension://",
    "safari-extension://",
    "safari-web-extension://",
    "chrome://",
    "resource://",
];
const EXTENSION_MESSAGES: [&str; 6] = [
    "top.GLOBALS",
    "originalCreateNotification",
    "canvas.contentDocument",
    "MyApp_RemoveAllHighlights",
    "atomicFindClose",
    "conduitPage",
];

pub fn from_extension(event: &Event) -> bool {
    let frames = event
        .exception
        .iter()
        .filter_map(|e| e.stacktrace.as_ref())
        .flat_map(|s| s.frames.iter());
    let in_extension = |path: &str| EXTENSION_URLS.iter().any(|prefix| path.starts_with(prefix));
    let frame_from_extension = frames
        .filter_map(|f| f.abs_path.as_deref().or(f.filename.as_deref()))
        .any(in_extension);
    let message_from_extension = event
        .exception
        .iter()
        .filter_map(|e| e.value.as_deref())
        .any(|value| EXTENSION_MESSAGES.iter().any(|known| value.contains(known)));
    frame_from_extension || message_from_extension
}

const CRAWLERS: [&str; 14] = [
    "googlebot",
    "bingbot",
    "slurp",
    "duckduckbot",
    "baiduspider",
    "yandexbot",
    "facebookexternalhit",
    "twitterbot",
    "applebot",
    "ahrefsbot",
    "semrushbot",
    "petalbot",
    "crawler",
    "spider",
];

pub fn is_crawler(user_agent: &str) -> bool {
    let agent = user_agent.to_ascii_lowercase();
    CRAWLERS.iter().any(|bot| agent.contains(bot)) || agent.contains("bot/") || agent.contains("+http")
}

/// Internet Explorer (every version: Microsoft ended it), and Safari, Chrome or Firefox releases older
/// than ten years.
pub fn is_legacy(user_agent: &str) -> bool {
    if user_agent.contains("MSIE ") || user_agent.contains("Trident/") {
        return true;
    }
    let major = |marker: &str| -> Option<u32> {
        let start = user_agent.find(marker)? + marker.len();
        user_agent[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    if let Some(chrome) = major("Chrome/") {
        return chrome < 49;
    }
    if let Some(firefox) = major("Firefox/") {
        return firefox < 45;
    }
    if user_agent.contains("Safari/") {
        if let Some(safari) = major("Version/") {
            return safari < 10;
        }
    }
    false
}
