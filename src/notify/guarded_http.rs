//! The one HTTP client webhooks go through. A webhook URL is user input, so unless the operator allows it the
//! client refuses loopback, private, link-local (cloud metadata) and other non-public addresses: IP literals are
//! checked before sending, names by a resolver that hands the connector only checked addresses, so what is
//! connected to is what was checked. No redirects, short timeouts, at most 4 KiB of an answer read.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderName, HeaderValue};

use super::SendError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Enough of an error answer to tell why; a hostile target can't make us buffer more.
const MAX_ANSWER_BYTES: usize = 4096;
/// How much of an error answer goes into the stored error text.
const MAX_ANSWER_CHARS: usize = 300;

const REFUSED: &str = "the target address is not allowed (private/loopback/link-local); \
                       an operator may allow it with FAULTLINE_WEBHOOK_ALLOW_PRIVATE";

/// A reqwest client that only reaches public addresses (unless allowed); cheap to clone.
#[derive(Clone)]
pub struct GuardedHttp {
    client: reqwest::Client,
    allow_private_targets: bool,
}

impl GuardedHttp {
    pub fn new(allow_private_targets: bool) -> GuardedHttp {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(concat!("Faultline/", env!("CARGO_PKG_VERSION")))
            // A proxy would resolve the name itself, out of the guard's sight.
            .no_proxy();
        if !allow_private_targets {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let client = builder.build().expect("the TLS backend initializes");
        GuardedHttp {
            client,
            allow_private_targets,
        }
    }

    /// POSTs `body` as JSON with extra `headers`; 2xx is success, the rest is classified for retrying.
    pub async fn post_json(&self, url: &str, body: Vec<u8>, headers: &[(&str, String)]) -> Result<(), SendError> {
        let target = self.checked_target(url)?;
        let mut request = self
            .client
            .post(target)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| permanent_header())?;
            let value = HeaderValue::from_str(value).map_err(|_| permanent_header())?;
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => classify_answer(response, url).await,
            Err(error) => Err(classify_failure(error, url)),
        }
    }

    fn checked_target(&self, text: &str) -> Result<reqwest::Url, SendError> {
        let url = reqwest::Url::parse(text)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| SendError::Permanent("the webhook URL is not an absolute http(s) URL".into()))?;
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(SendError::Permanent("the webhook URL has no host".into())),
        };
        // IP literals never reach the resolver, so they are checked here.
        if !self.allow_private_targets && literal.is_some_and(is_forbidden) {
            return Err(SendError::Permanent(REFUSED.into()));
        }
        Ok(url)
    }
}

fn permanent_header() -> SendError {
    SendError::Permanent("a request header is not valid".into())
}

async fn classify_answer(mut response: reqwest::Response, url: &str) -> Result<(), SendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut answer = Vec::new();
    while answer.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - answer.len())]),
            _ => break,
        }
    }
    drop(response);
    let excerpt = answer_excerpt(&answer, url);
    let text = if excerpt.is_empty() {
        format!("the target answered {status}")
    } else {
        format!("the target answered {status}: {excerpt}")
    };
    // 408 and 429 say "later"; 5xx is the receiver's trouble. Every other 4xx repeats on a retry.
    if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
        Err(SendError::Retry(text))
    } else {
        Err(SendError::Permanent(text))
    }
}

fn answer_excerpt(answer: &[u8], url: &str) -> String {
    let text = String::from_utf8_lossy(answer);
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ANSWER_CHARS)
        .collect();
    redact_url(flat.trim(), url)
}

fn classify_failure(error: reqwest::Error, url: &str) -> SendError {
    if refused_by_resolver(&error) {
        return SendError::Permanent(REFUSED.into());
    }
    let error = error.without_url();
    let cause = redact_url(&error_chain(&error), url);
    if error.is_timeout() {
        SendError::Retry(format!("the request timed out: {cause}"))
    } else if error.is_builder() {
        SendError::Permanent(format!("the request could not be built: {cause}"))
    } else {
        SendError::Retry(format!("the request failed: {cause}"))
    }
}

/// `error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)`.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(current) = source {
        let text = current.to_string();
        if !parts.iter().any(|seen| seen.contains(&text)) {
            parts.push(text);
        }
        source = current.source();
    }
    parts.join(": ")
}

fn refused_by_resolver(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(current) = source {
        if current.downcast_ref::<RefusedTarget>().is_some() {
            return true;
        }
        source = current.source();
    }
    false
}

/// Removes the URL and its path (where a hook's token lives) from text that may echo them.
fn redact_url(text: &str, url: &str) -> String {
    let mut clean = text.replace(url, "[webhook URL]");
    if let Ok(parsed) = url::Url::parse(url) {
        let path = parsed.path();
        if path.len() > 1 {
            clean = clean.replace(path, "/[redacted]");
        }
    }
    clean
}

#[derive(Debug, thiserror::Error)]
#[error("{REFUSED}")]
struct RefusedTarget;

/// Resolves with the system resolver, then keeps only public addresses; none left is an error.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved.into_iter().filter(|addr| !is_forbidden(addr.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(RefusedTarget) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is anything but a public unicast one.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18/15
        || a >= 240 // reserved 240/4
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // old site-local fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation 2001:db8::/32
}

/// The IPv4 address a packet to this IPv6 address really goes to: mapped (::ffff:a.b.c.d), compatible
/// (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |high: u16, low: u16| Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, high, low] => Some(from(high, low)),
        [0, 0, 0, 0, 0, 0, high, low] if (high, low) > (0, 1) => Some(from(high, low)),
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(from(high, low)),
        [0x2002, high, low, ..] => Some(from(high, low)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(text: &str) -> bool {
        is_forbidden(text.parse().unwrap())
    }

    #[test]
    fn refuses_every_non_public_range() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.9",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
        ] {
            assert!(forbidden(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn lets_public_addresses_through() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn redaction_removes_the_url_and_its_token_path() {
        let url = "https://hooks.example.com/services/T000/B000/secret-token";
        let text = format!("bad hook {url} and /services/T000/B000/secret-token");
        let clean = redact_url(&text, url);
        assert!(!clean.contains("secret-token"), "{clean}");
    }

    #[test]
    fn an_error_answer_is_cut_and_flattened() {
        let answer = format!("line one\nline two{}", "x".repeat(5000));
        let excerpt = answer_excerpt(answer.as_bytes(), "http://h/p");
        assert!(excerpt.starts_with("line one line two"));
        assert_eq!(excerpt.chars().count(), MAX_ANSWER_CHARS);
    }
}
