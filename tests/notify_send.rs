//! `Notifier::send` against real peers: an SMTP listener and an HTTP receiver on 127.0.0.1.

mod common;
