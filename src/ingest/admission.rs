//! What happens before a body is decoded, cheapest check first: the database taking writes (503 while it
//! does not), the project id in the URL,
//! back-pressure (a full writer queue answers 429 before a byte of the body is read), the credentials
//! (checked before the body when the request carries them; otherwise only the envelope's first line is
//! read to find its `dsn`), and then the body itself, read under the shared memory budget and a deadline.

use crate::domain::ProjectId;
use std::net::IpAddr;

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::domain::auth::{key_from_request, AuthError, Dsn, PublicKey, RequestCredentials};
use crate::domain::envelope::{parse_header_line, MAX_HEADER_LINE};
use crate::request_body::{drain, BodyReservation};

use crate::domain::size::format_byte_size;

use super::decode::{decode_body_charged, first_line, DecodeError};
use super::error::IngestError;
use super::Ingest;
use crate::core::ProjectAuth;

/// How much of a body is read, at most, to find an envelope header when the request carries no key.
const HEADER_PEEK_BYTES: usize = 64 * 1024;

/// An ingest request as the handler extracted it.
pub struct RawRequest {
    pub project_id: String,
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub peer: IpAddr,
    pub body: Body,
    /// The body is an envelope (the envelope endpoint, or the store endpoint told so by its content type).
    pub envelope: bool,
}

/// A request whose key is known good for its project and whose body has been read.
pub struct Admitted {
    pub project_id: ProjectId,
    pub auth: ProjectAuth,
    /// The key the request itself carried; `None` when only the envelope header named one.
    pub request_key: Option<PublicKey>,
    pub headers: HeaderMap,
    pub peer: IpAddr,
    pub body: Bytes,
    /// The body's room in the memory budget; decoding adds to it.
    pub reservation: BodyReservation,
}

/// Compressed bodies up to this size (every SDK event we have seen) are decoded in the request task;
/// larger ones on the blocking pool, so that inflating megabytes never stalls other requests.
const INLINE_DECODE_BYTES: usize = 32 * 1024;

impl Admitted {
    /// Decodes the body's Content-Encoding, counting the decoded bytes against the memory budget.
    pub async fn decode(&mut self, max_decoded: usize) -> Result<Bytes, DecodeError> {
        let encoding = header(&self.headers, "content-encoding").map(str::to_owned);
        let body = std::mem::take(&mut self.body);
        if encoding.is_none() || body.len() <= INLINE_DECODE_BYTES {
            return decode_within(encoding.as_deref(), body, max_decoded, &mut self.reservation);
        }
        let empty = self.reservation.budget().reservation();
        let mut reservation = std::mem::replace(&mut self.reservation, empty);
        let decoding = tokio::task::spawn_blocking(move || {
            let decoded = decode_within(encoding.as_deref(), body, max_decoded, &mut reservation);
            (decoded, reservation)
        });
        let (decoded, reservation) = decoding
            .await
            .map_err(|_| DecodeError::Corrupt("decoder failed".into()))?;
        self.reservation = reservation;
        decoded
    }
}

fn decode_within(
    encoding: Option<&str>,
    body: Bytes,
    max_decoded: usize,
    reservation: &mut BodyReservation,
) -> Result<Bytes, DecodeError> {
    let mut charge = |bytes: usize| reservation.try_grow(bytes).is_ok();
    decode_body_charged(encoding, body, max_decoded, &mut charge)
}

pub async fn admit(ingest: &Ingest, request: RawRequest) -> Result<Admitted, IngestError> {
    // While the disk is low or database writes fail, every request is answered 503 before any other work.
    // Below the free-space floor first: it explains a failing write too, and says what to do.
    // A refusal reads a small body first (as a full queue's does): a connection closed with the request
    // unread is reset, and the client may then lose the 503 and its Retry-After to the reset.
    if let Some(low) = ingest.health.low_disk() {
        discard_small_body(request.body, &request.headers).await;
        return Err(IngestError::LowDisk {
            free: format_byte_size(low.free_bytes),
            floor: format_byte_size(low.floor_bytes),
            retry_after_secs: ingest.settings.retry_after_secs,
        });
    }
    if let Some(failing) = ingest.health.failing() {
        discard_small_body(request.body, &request.headers).await;
        return Err(super::pipeline::unavailable(ingest, failing.outage));
    }
    let project_id = parse_project_id(&request.project_id)?;
    if !ingest.writer.has_room() {
        discard_small_body(request.body, &request.headers).await;
        return Err(IngestError::QueueFull {
            retry_after_secs: ingest.settings.retry_after_secs,
        });
    }
    let credentials = RequestCredentials {
        x_sentry_auth: header(&request.headers, "x-sentry-auth"),
        authorization: header(&request.headers, "authorization"),
        query: request.query.as_deref(),
    };
    let request_key = key_from_request(&credentials)?;
    let mut reader = BodyReader::new(ingest, request.body, &request.headers);
    let auth = match &request_key {
        Some(key) => authorize(ingest, key, project_id).await?,
        None if request.envelope => {
            authorize_by_envelope_header(ingest, &mut reader, &request.headers, project_id).await?
        }
        None => return Err(AuthError::Missing.into()),
    };
    let (body, reservation) = reader.read_to_end().await?;
    Ok(Admitted {
        project_id,
        auth,
        request_key,
        headers: request.headers,
        peer: request.peer,
        body,
        reservation,
    })
}

/// Reads just enough of the body to decode the envelope's header line, and authorizes its `dsn`.
async fn authorize_by_envelope_header(
    ingest: &Ingest,
    reader: &mut BodyReader,
    headers: &HeaderMap,
    project_id: ProjectId,
) -> Result<ProjectAuth, IngestError> {
    let encoding = header(headers, "content-encoding");
    let line = loop {
        let more = reader.read_frame().await?;
        if let Some(line) = first_line(encoding, &reader.collected, MAX_HEADER_LINE)? {
            break line;
        }
        if !more {
            // A short body whose codings could not be peeked at: it is all here, so decode it whole.
            break whole_body_first_line(ingest, reader, encoding)?;
        }
        if reader.collected.len() >= HEADER_PEEK_BYTES {
            return Err(AuthError::Missing.into());
        }
    };
    let header = parse_header_line(&line)?;
    let dsn = Dsn::parse(header.dsn.as_deref().ok_or(AuthError::Missing)?)?;
    if dsn.project_id as i64 != project_id.get() {
        return Err(IngestError::WrongProject);
    }
    authorize(ingest, &dsn.public_key, project_id).await
}

fn whole_body_first_line(
    ingest: &Ingest,
    reader: &mut BodyReader,
    encoding: Option<&str>,
) -> Result<Vec<u8>, IngestError> {
    let body = Bytes::copy_from_slice(&reader.collected);
    let decoded = decode_within(
        encoding,
        body,
        ingest.settings.max_envelope_bytes,
        &mut reader.reservation,
    )?;
    let end = decoded.iter().position(|&byte| byte == b'\n').unwrap_or(decoded.len());
    Ok(decoded[..end].to_vec())
}

pub async fn authorize(ingest: &Ingest, key: &PublicKey, path_project: ProjectId) -> Result<ProjectAuth, IngestError> {
    let auth = ingest
        .keys
        .lookup(key)
        .await
        .map_err(|error| super::pipeline::store_failed(ingest, &error, "key lookup"))?
        .ok_or(IngestError::UnknownKey)?;
    if !auth.enabled {
        return Err(IngestError::Disabled);
    }
    if auth.project_id != path_project {
        return Err(IngestError::WrongProject);
    }
    Ok(auth)
}

/// A request body read frame by frame, under the size cap, the memory budget and a deadline.
struct BodyReader {
    body: Body,
    collected: BytesMut,
    reservation: BodyReservation,
    limit: usize,
    deadline: Instant,
    ended: bool,
}

impl BodyReader {
    fn new(ingest: &Ingest, body: Body, headers: &HeaderMap) -> BodyReader {
        let limit = ingest.settings.max_body_bytes;
        let declared = header(headers, "content-length").and_then(|length| length.parse::<usize>().ok());
        BodyReader {
            body,
            // A declared length is only a claim (and read before the key may be checked): preallocate little.
            collected: BytesMut::with_capacity(declared.unwrap_or(0).min(limit).min(PREALLOCATED_BYTES)),
            reservation: ingest.body_budget.reservation(),
            limit,
            deadline: Instant::now() + ingest.settings.body_read_timeout,
            ended: false,
        }
    }

    /// Reads the next frame into `collected`; `false` once the body has ended.
    async fn read_frame(&mut self) -> Result<bool, IngestError> {
        if self.ended {
            return Ok(false);
        }
        let frame = tokio::time::timeout_at(self.deadline, self.body.frame())
            .await
            .map_err(|_| IngestError::BodyTimeout)?;
        let Some(frame) = frame else {
            self.ended = true;
            return Ok(false);
        };
        let frame = frame.map_err(|_| IngestError::BodyUnreadable)?;
        let Ok(data) = frame.into_data() else { return Ok(true) };
        let length = self.collected.len() + data.len();
        if length > self.limit {
            drain(std::mem::take(&mut self.body), length - self.limit).await;
            return Err(IngestError::BodyTooLarge { limit: self.limit });
        }
        self.reservation
            .grow(data.len())
            .await
            .map_err(|_| IngestError::Busy { retry_after_secs: 1 })?;
        self.collected.extend_from_slice(&data);
        Ok(true)
    }

    async fn read_to_end(mut self) -> Result<(Bytes, BodyReservation), IngestError> {
        while self.read_frame().await? {}
        Ok((self.collected.freeze(), self.reservation))
    }
}

/// Reads and drops a refused request's body when it is small and announced, so that the client's
/// connection stays usable: under overload a reconnect per refusal costs both sides far more than
/// reading a couple of kilobytes. Nothing is decoded or parsed; a large or unannounced body is left
/// unread (the connection then closes).
async fn discard_small_body(body: Body, headers: &HeaderMap) {
    let declared = header(headers, "content-length").and_then(|length| length.parse::<usize>().ok());
    if declared.is_some_and(|length| length <= DISCARDED_BODY_BYTES) {
        let _ = tokio::time::timeout(DISCARD_WAIT, body.collect()).await;
    }
}

/// The most a body's buffer reserves before its bytes arrive.
const PREALLOCATED_BYTES: usize = 64 * 1024;

/// The largest refused body still read to keep its connection, and how long that may take.
const DISCARDED_BODY_BYTES: usize = 64 * 1024;
const DISCARD_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

fn parse_project_id(text: &str) -> Result<ProjectId, IngestError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ProjectId)
        .ok_or(IngestError::InvalidProjectId)
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
