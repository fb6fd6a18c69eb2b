//! Postbacks: order updates POSTed as raw JSON to the configured URL, with Kite's
//! checksum `sha256_hex(order_id + order_timestamp + api_secret)`.
//!
//! Only `http://` URLs on loopback are accepted, so the sim never sends traffic off the
//! machine; the request is a minimal HTTP/1.1 POST, which is all a webhook needs.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use crate::error::SimError;
use crate::json;
use crate::shared::{Event, Shared};

/// A parsed postback target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port`.
    pub authority: String,
    /// Path and query.
    pub path: String,
}

/// Parses and checks a postback URL (loopback `http://` only).
pub fn parse_url(url: &str) -> Result<Target, SimError> {
    let bad = |message: &str| SimError::Config {
        name: "postback URL",
        message: format!("{url}: {message}"),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// is supported"))?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(bad(
            "the host must be loopback (127.0.0.1, localhost, [::1])",
        ));
    }
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok(Target { authority, path })
}

async fn post(target: &Target, body: &str) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(&target.authority).await?;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        target.path,
        target.authority,
        body.len(),
        body
    );
    stream.write_all(request.as_bytes()).await?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await?;
    Ok(())
}

/// Sends a postback for every final or modified order until the sim stops. The
/// receiver is subscribed by the caller so no event between spawn and start is missed.
pub async fn run(
    shared: Arc<Shared>,
    target: Target,
    mut events: broadcast::Receiver<Event>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = stopped.changed() => return,
        };
        let order = match event {
            Ok(Event::Order(order)) => order,
            Ok(Event::Prices(_)) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        if order.update_status().is_none() {
            continue;
        }
        let config = &shared.config;
        let body = json::order_update(&order, &config.user_id, config.app_id, &config.api_secret)
            .to_string();
        match post(&target, &body).await {
            Ok(()) => {
                shared.postbacks.send_modify(|answered| *answered += 1);
            }
            Err(error) => {
                tracing::warn!(%error, order_id = %order.order_id, "postback failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_is_accepted() {
        let target = parse_url("http://127.0.0.1:9000/kite/postback").expect("ok");
        assert_eq!(
            target,
            Target {
                authority: "127.0.0.1:9000".into(),
                path: "/kite/postback".into()
            }
        );
        assert!(parse_url("https://127.0.0.1/x").is_err());
        assert!(parse_url("http://example.com/x").is_err());
    }
}
