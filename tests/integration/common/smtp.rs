//! A real SMTP listener for tests: plain text on 127.0.0.1, speaking enough SMTP for lettre (greeting,
//! EHLO/HELO, AUTH PLAIN/LOGIN, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT).
//! Every accepted message is recorded; a fault mode refuses the first K sessions.
//!
//! ```ignore
//! let smtp = SmtpServer::start().await;            // or start_refusing(1) / start_with(Fault::.., k)
//! // point a channel or FAULTLINE_SMTP_HOST/PORT at 127.0.0.1:smtp.port(), TLS mode "none"
//! let mails = smtp.wait_for_messages(1, Duration::from_secs(10)).await;
//! let mail = mails[0].parsed();                     // subject, text and HTML parts, decoded
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How a refused session fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `421` at the greeting, then the connection closes (a busy server: transient).
    GreetingBusy,
    /// `451` after the message data (a deferral: transient); the message is not stored.
    DataDeferred,
    /// `554` after the message data (a rejection: permanent); the message is not stored.
    DataRejected,
    /// `535` to AUTH (wrong credentials: permanent).
    AuthRejected,
}

/// One accepted message as it crossed the wire.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The `MAIL FROM` address, without angle brackets.
    pub envelope_from: String,
    /// The `RCPT TO` addresses, without angle brackets.
    pub recipients: Vec<String>,
    /// The message data after dot-unstuffing, without the final `.` line.
    pub data: Vec<u8>,
    /// `(username, password)` when the client authenticated.
    pub auth: Option<(String, String)>,
}

/// A received message decoded: headers the tests look at and the text and HTML parts
/// (quoted-printable or base64 undone).
#[derive(Debug, Clone, Default)]
pub struct ParsedMail {
    pub subject: String,
    pub from: String,
    pub to: Vec<String>,
    /// Without angle brackets.
    pub message_id: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl ReceivedMail {
    /// Decodes the message; panics when it is not a parseable RFC 5322 message.
    pub fn parsed(&self) -> ParsedMail {
        use mail_parser::{MessageParser, PartType};
        let message = MessageParser::default().parse(&self.data).expect("a parseable message");
        let addresses = |list: Option<&mail_parser::Address>| -> Vec<String> {
            list.map(|list| list.iter().filter_map(|a| a.address().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let mut parsed = ParsedMail {
            subject: message.subject().unwrap_or_default().to_owned(),
            from: addresses(message.from()).join(", "),
            to: addresses(message.to()),
            message_id: message.message_id().unwrap_or_default().to_owned(),
            ..ParsedMail::default()
        };
        for part in &message.parts {
            match &part.body {
                PartType::Text(text) if parsed.text.is_none() => parsed.text = Some(text.to_string()),
                PartType::Html(html) if parsed.html.is_none() => parsed.html = Some(html.to_string()),
                _ => {}
            }
        }
        parsed
    }

    /// A header's raw value as sent (still encoded), by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.data);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_owned())
    }
}

struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    sessions: AtomicUsize,
    fault: Option<(Fault, usize)>,
}

/// The listener; stops when dropped.
pub struct SmtpServer {
    port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SmtpServer {
    /// Accepts every message.
    pub async fn start() -> SmtpServer {
        SmtpServer::launch(None).await
    }

    /// Answers the first `sessions` connections with `451` after DATA (storing nothing), then accepts.
    pub async fn start_refusing(sessions: usize) -> SmtpServer {
        SmtpServer::start_with(Fault::DataDeferred, sessions).await
    }

    /// Fails the first `sessions` connections the way `fault` says, then accepts.
    pub async fn start_with(fault: Fault, sessions: usize) -> SmtpServer {
        SmtpServer::launch(Some((fault, sessions))).await
    }

    async fn launch(fault: Option<(Fault, usize)>) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP listener");
        let port = listener.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            sessions: AtomicUsize::new(0),
            fault,
        });
        let accepting = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let index = accepting.sessions.fetch_add(1, Ordering::SeqCst);
                let fault = accepting.fault.filter(|(_, k)| index < *k).map(|(fault, _)| fault);
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let _ = Session::new(stream, fault).run(&shared).await;
                });
            }
        });
        SmtpServer { port, shared, task }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far, refused ones included.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.load(Ordering::SeqCst)
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages were accepted and returns them all; panics after `timeout`.
    pub async fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "SMTP server got {} messages, expected {count} within {timeout:?}",
                    messages.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Session {
    reader: BufReader<TcpStream>,
    fault: Option<Fault>,
    from: Option<String>,
    recipients: Vec<String>,
    auth: Option<(String, String)>,
}

impl Session {
    fn new(stream: TcpStream, fault: Option<Fault>) -> Session {
        Session {
            reader: BufReader::new(stream),
            fault,
            from: None,
            recipients: Vec::new(),
            auth: None,
        }
    }

    async fn reply(&mut self, line: &str) -> std::io::Result<()> {
        self.reader.get_mut().write_all(format!("{line}\r\n").as_bytes()).await
    }

    async fn read_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
    }

    async fn run(mut self, shared: &Shared) -> std::io::Result<()> {
        if self.fault == Some(Fault::GreetingBusy) {
            return self.reply("421 4.3.2 test server busy, try again later").await;
        }
        self.reply("220 test.smtp ESMTP ready").await?;
        while let Some(line) = self.read_line().await? {
            let verb = line.split(' ').next().unwrap_or_default().to_ascii_uppercase();
            let argument = line.get(verb.len()..).unwrap_or_default().trim().to_owned();
            match verb.as_str() {
                "EHLO" => {
                    self.reply("250-test.smtp greets you").await?;
                    self.reply("250-8BITMIME").await?;
                    self.reply("250 AUTH PLAIN LOGIN").await?;
                }
                "HELO" => self.reply("250 test.smtp").await?,
                "AUTH" => self.authenticate(&argument).await?,
                "MAIL" => {
                    self.from = Some(angle_address(&argument));
                    self.recipients.clear();
                    self.reply("250 2.1.0 ok").await?;
                }
                "RCPT" => {
                    self.recipients.push(angle_address(&argument));
                    self.reply("250 2.1.5 ok").await?;
                }
                "DATA" => self.data(shared).await?,
                "RSET" => {
                    self.from = None;
                    self.recipients.clear();
                    self.reply("250 2.0.0 ok").await?;
                }
                "NOOP" => self.reply("250 2.0.0 ok").await?,
                "QUIT" => return self.reply("221 2.0.0 bye").await,
                _ => self.reply("502 5.5.2 command not implemented").await?,
            }
        }
        Ok(())
    }

    async fn authenticate(&mut self, argument: &str) -> std::io::Result<()> {
        let mut words = argument.split_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let credentials = match mechanism.as_str() {
            "PLAIN" => {
                let encoded = match words.next() {
                    Some(initial) => initial.to_owned(),
                    None => self.challenge("").await?,
                };
                let decoded = decode_base64(&encoded);
                let mut fields = decoded.split('\0').skip(1);
                (
                    fields.next().unwrap_or_default().to_owned(),
                    fields.next().unwrap_or_default().to_owned(),
                )
            }
            "LOGIN" => {
                let user = decode_base64(&self.challenge("VXNlcm5hbWU6").await?);
                let password = decode_base64(&self.challenge("UGFzc3dvcmQ6").await?);
                (user, password)
            }
            _ => return self.reply("504 5.5.4 mechanism not supported").await,
        };
        if self.fault == Some(Fault::AuthRejected) {
            return self.reply("535 5.7.8 authentication credentials invalid").await;
        }
        self.auth = Some(credentials);
        self.reply("235 2.7.0 authentication successful").await
    }

    async fn challenge(&mut self, prompt: &str) -> std::io::Result<String> {
        self.reply(&format!("334 {prompt}")).await?;
        Ok(self.read_line().await?.unwrap_or_default())
    }

    async fn data(&mut self, shared: &Shared) -> std::io::Result<()> {
        if self.from.is_none() || self.recipients.is_empty() {
            return self.reply("503 5.5.1 need MAIL and RCPT first").await;
        }
        self.reply("354 end data with <CR><LF>.<CR><LF>").await?;
        let mut data = Vec::new();
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line).await? == 0 {
                return Ok(());
            }
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            let unstuffed = if line.starts_with(b"..") { &line[1..] } else { &line[..] };
            data.extend_from_slice(unstuffed);
        }
        match self.fault {
            Some(Fault::DataDeferred) => return self.reply("451 4.3.0 test server deferred the message").await,
            Some(Fault::DataRejected) => return self.reply("554 5.6.0 test server rejected the message").await,
            _ => {}
        }
        shared.messages.lock().unwrap().push(ReceivedMail {
            envelope_from: self.from.take().unwrap_or_default(),
            recipients: std::mem::take(&mut self.recipients),
            data,
            auth: self.auth.clone(),
        });
        self.reply("250 2.0.0 queued").await
    }
}

/// `FROM:<a@b> SIZE=10` → `a@b`.
fn angle_address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..].find('>').map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}

fn decode_base64(text: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}
