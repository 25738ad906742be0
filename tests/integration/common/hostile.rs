//! An event whose every field the UI shows holds HTML or a `javascript:` payload.

use serde_json::{json, Value};

/// Markup that would run or render if it reached a page unescaped.
const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    "\"><iframe src=javascript:alert(4)>",
    "javascript:alert(5)",
    "<a href=\"javascript:alert(6)\">click</a>",
];

fn hostile(n: usize) -> String {
    PAYLOADS[n % PAYLOADS.len()].to_owned()
}

/// Every field the UI shows, each holding one of the payloads.
pub fn hostile_event() -> Value {
    json!({
        "platform": "python",
        "level": hostile(0),
        "message": hostile(1),
        "culprit": hostile(2),
        "transaction": hostile(3),
        "release": hostile(4),
        "environment": hostile(5),
        "server_name": hostile(0),
        "exception": {"values": [
            {"type": hostile(1), "value": hostile(2), "module": hostile(3),
             "mechanism": {"type": hostile(4), "handled": false, "description": hostile(5)},
             "stacktrace": {"frames": [
                {"function": hostile(0), "module": hostile(1), "filename": hostile(2), "abs_path": hostile(3),
                 "lineno": 3, "in_app": true, "pre_context": [hostile(4)], "context_line": hostile(5),
                 "post_context": [hostile(0)], "vars": {hostile(1): hostile(2), "nested": {"k": hostile(3)}}},
                {"function": hostile(4), "module": "lib", "filename": "lib.py", "lineno": 9, "in_app": false,
                 "vars": {"x": hostile(5)}}
             ]}},
            {"type": hostile(3), "value": hostile(4)}
        ]},
        "breadcrumbs": {"values": [
            {"timestamp": 1_700_000_000.0, "category": hostile(0), "level": hostile(1), "message": hostile(2),
             "type": hostile(3), "data": {hostile(4): hostile(5)}}
        ]},
        "request": {"method": hostile(0), "url": "javascript:alert(7)", "query_string": hostile(2),
                    "headers": {"User-Agent": hostile(3), hostile(4): hostile(5)}, "data": {"field": hostile(0)},
                    "cookies": hostile(1), "env": {"REMOTE_ADDR": hostile(2)}},
        "user": {"id": hostile(0), "email": hostile(1), "username": hostile(2), "ip_address": "203.0.113.5",
                 "name": hostile(3)},
        "contexts": {"os": {"name": hostile(4), "version": hostile(5)}, "runtime": {"name": hostile(0)},
                     "browser": {"name": hostile(1)}, "device": {"model": hostile(2)}, hostile(3): {"k": hostile(4)}},
        "tags": {hostile(5): hostile(0), "page": hostile(1)},
        "sdk": {"name": hostile(2), "version": hostile(3)},
        "extra": {hostile(4): hostile(5)},
        "fingerprint": [hostile(0)]
    })
}
