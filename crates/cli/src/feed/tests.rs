//! Payloads, URLs, rate and stopping, against a scripted webhook on 127.0.0.1:0.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kitebreak_candles::CandleReader;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

fn first_record(csv: &str) -> CandleRecord {
    let mut reader = CandleReader::new(csv.as_bytes()).expect("header");
    reader.next().expect("one row").expect("valid row")
}

#[test]
fn payloads_keep_the_original_keys_and_write_times_in_ist() {
    let record = first_record(
        "date,open,high,low,close,volume\n2004-08-19,100,104.06,95.96,100.34,22351900\n",
    );
    let feed =
        Feed::new("http://127.0.0.1:5000/", "GOOG", Secret::new("pw"), 0).expect("valid url");
    assert_eq!(feed.webhook().as_str(), "http://127.0.0.1:5000/webhook");
    assert_eq!(
        feed.payload(&record),
        json!({"symbol": "GOOG", "time": "2004-08-19T00:00:00+05:30", "open": 100.0,
               "high": 104.06, "low": 95.96, "close": 100.34, "volume": 22351900,
               "passphrase": "pw"})
    );
}

#[test]
fn a_url_ending_in_webhook_is_used_as_given() {
    let feed = Feed::new("http://h:1/webhook", "X", None, 0).expect("valid url");
    assert_eq!(feed.webhook().as_str(), "http://h:1/webhook");
    assert!(Feed::new("not a url", "X", None, 0).is_err());
    for (url, local) in [
        ("http://localhost:5000", true),
        ("http://127.0.0.1:1", true),
        ("http://[::1]:1", true),
        ("https://example.com", false),
        ("http://10.0.0.1", false),
    ] {
        let url = reqwest::Url::parse(url).expect("valid url");
        assert_eq!(is_loopback(&url), local, "{url}");
    }
}

fn records(rows: usize) -> Vec<CandleRecord> {
    let mut csv = String::from("time,high,low,close\n");
    for day in 1..=rows {
        csv.push_str(&format!("2024-01-{day:02},10,9,9.5\n"));
    }
    let reader = CandleReader::new(std::io::Cursor::new(csv.into_bytes())).expect("header");
    reader.collect::<Result<_, _>>().expect("valid rows")
}

/// A webhook that answers request `i` with `script(i)`: (status, JSON body).
async fn scripted(script: fn(usize) -> (u16, &'static str)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, Arc::clone(&count), script));
        }
    });
    format!("http://{address}")
}

/// Serves one keep-alive connection: reads each request whole, answers from `script`.
async fn answer(
    mut stream: TcpStream,
    count: Arc<AtomicUsize>,
    script: fn(usize) -> (u16, &'static str),
) {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(n @ 1..) => buffer.extend_from_slice(&chunk[..n]),
                _ => return,
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buffer.len() < end + 4 + length {
            match stream.read(&mut chunk).await {
                Ok(n @ 1..) => buffer.extend_from_slice(&chunk[..n]),
                _ => return,
            }
        }
        buffer.drain(..end + 4 + length);
        let (status, body) = script(count.fetch_add(1, Ordering::SeqCst));
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn answers_are_counted_and_a_server_error_stops_at_its_line() {
    let url = scripted(|i| match i {
        0 => (200, r#"{"status":"success","trade_entered":true}"#),
        1 => (200, r#"{"status":"success","duplicate":true}"#),
        2 => (400, r#"{"status":"error","message":"bad candle"}"#),
        _ => (500, r#"{"status":"error","message":"database is locked"}"#),
    })
    .await;
    let feed = Feed::new(&url, "X", None, 0).expect("valid url");
    let mut rejected = Vec::new();
    let (tally, result) = feed
        .run(
            &records(6),
            |record, outcome| {
                if let Outcome::Rejected(message) = outcome {
                    rejected.push((record.line, message.clone()));
                }
            },
            || false,
        )
        .await;
    let expected = Tally {
        accepted: 1,
        duplicate: 1,
        errors: 1,
        entries: 1,
        exits: 0,
    };
    assert_eq!(tally, expected);
    assert_eq!(rejected, vec![(4, "bad candle".to_owned())]);
    let stopped = result.expect_err("a 500 stops the feed");
    assert_eq!(stopped.line, 5);
    assert!(stopped.reason.contains("500") && stopped.reason.contains("database is locked"));
}

#[tokio::test(start_paused = true)]
async fn the_rate_spaces_candles_out_and_stop_is_honoured() {
    let url = scripted(|_| (200, r#"{"status":"success"}"#)).await;
    let feed = Feed::new(&url, "X", None, 4).expect("valid url");
    let start = tokio::time::Instant::now();
    let (tally, result) = feed.run(&records(5), |_, _| {}, || false).await;
    assert!(result.is_ok());
    assert_eq!(tally.accepted, 5);
    // Four gaps of 250 ms after the first candle, which goes at once.
    assert!(
        start.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );

    let sent = std::cell::Cell::new(0);
    let (tally, _) = feed
        .run(
            &records(5),
            |_, _| sent.set(sent.get() + 1),
            || sent.get() >= 2,
        )
        .await;
    assert_eq!(
        tally.accepted, 2,
        "stop() ends the feed before the next candle"
    );
}
