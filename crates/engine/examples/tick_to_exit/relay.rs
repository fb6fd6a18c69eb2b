//! Loopback relays in front of kite-sim, noting when bytes cross the wire: the
//! engine's `POST /orders` requests on the REST port, kite-sim's tick frames on the
//! ticker port. Each copies both ways and forwards a read before looking at it.
//! The REST relay also takes each read's kernel receive timestamp, so the POST's
//! arrival is known without the relay's own wake-up in it.

use std::future::Future;
use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::socket::sockopt::ReceiveTimestampns;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt};
use nix::sys::time::TimeSpec;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use crate::notes;

/// TCP connections the engine opened to kite-sim's REST port.
pub static REST_CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

/// `POST /orders` requests that were the first request on their connection (the
/// order paid for a TCP connect instead of reusing a pooled connection).
pub static FRESH_POSTS: AtomicUsize = AtomicUsize::new(0);

/// `POST /orders` requests the kernel gave no receive timestamp for: their arrival
/// is taken as the relay's read (0 expected on Linux).
pub static UNSTAMPED_POSTS: AtomicUsize = AtomicUsize::new(0);

/// When an exit's `POST /orders` reached kite-sim's side of the relay.
#[derive(Clone, Copy, Debug)]
pub struct PostSeen {
    /// The kernel's receive timestamp of the request's first bytes (`SO_TIMESTAMPNS`),
    /// taken as the engine's write delivers them on loopback: the request on the
    /// wire, whenever the relay's task gets to read it.
    pub arrived: Instant,
    /// When the relay's read returned them (its own wake-up included).
    pub read: Instant,
}

/// A loopback relay in front of kite-sim's REST port: every connection is copied
/// both ways; each read from the engine that starts a `POST /orders` request is
/// reported ([`PostSeen`]). Connections are counted in [`REST_CONNECTIONS`]: a warm,
/// kept-alive client opens none per order.
pub async fn rest(listener: TcpListener, upstream: SocketAddr, posts: notes::Sender<PostSeen>) {
    relay_each(listener, upstream, move |client, server| {
        REST_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        // Without the option the kernel sends no stamp, which is counted below.
        let _ = setsockopt(&client, ReceiveTimestampns, &true);
        let posts = posts.clone();
        let (from_client, to_client) = client.into_split();
        let (from_server, mut to_server) = server.into_split();
        let up = async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut first = true;
            loop {
                let (n, stamp) = match read_stamped(&from_client, &mut buf).await {
                    Ok((0, _)) | Err(_) => break,
                    Ok(read) => read,
                };
                let (read, now) = (Instant::now(), SystemTime::now());
                if buf[..n].starts_with(b"POST /orders") {
                    // The stamp is wall-clock time: carry it over as how long ago
                    // it was, so a clock step cannot skew the figure.
                    let ago = stamp.and_then(|stamp| now.duration_since(stamp).ok());
                    if ago.is_none() {
                        UNSTAMPED_POSTS.fetch_add(1, Ordering::Relaxed);
                    }
                    let ago = ago.unwrap_or_default();
                    let arrived = read.checked_sub(ago).unwrap_or(read);
                    let _ = posts.send(PostSeen { arrived, read });
                    if first {
                        FRESH_POSTS.fetch_add(1, Ordering::Relaxed);
                    }
                }
                first = false;
                if to_server.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = to_server.shutdown().await;
        };
        async move {
            tokio::join!(up, copy_through(from_server, to_client));
        }
    })
    .await;
}

/// Accepts each connection on `listener`, opens one to `upstream` for it (both
/// without Nagle's delay) and runs `relay` on the pair in a task of its own.
async fn relay_each<F, R>(listener: TcpListener, upstream: SocketAddr, relay: F)
where
    F: Fn(TcpStream, TcpStream) -> R + Clone + Send + 'static,
    R: Future<Output = ()> + Send,
{
    while let Ok((client, _)) = listener.accept().await {
        let relay = relay.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            relay(client, server).await;
        });
    }
}

/// Copies `from` into `to` unchanged until either side ends, then closes `to`.
async fn copy_through(mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
    let _ = tokio::io::copy(&mut from, &mut to).await;
    let _ = to.shutdown().await;
}

/// One read of `socket` with its kernel receive timestamp, if the socket gave one.
async fn read_stamped(
    socket: &OwnedReadHalf,
    buf: &mut [u8],
) -> std::io::Result<(usize, Option<SystemTime>)> {
    let stream: &TcpStream = socket.as_ref();
    loop {
        stream.readable().await?;
        let got = stream.try_io(Interest::READABLE, || {
            let mut space = nix::cmsg_space!(TimeSpec);
            let mut iov = [IoSliceMut::new(buf)];
            let msg = recvmsg::<()>(
                stream.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_DONTWAIT,
            )
            .map_err(std::io::Error::from)?;
            let stamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
                cmsgs.find_map(|cmsg| match cmsg {
                    ControlMessageOwned::ScmTimestampns(at) => {
                        Some(SystemTime::UNIX_EPOCH + Duration::from(at))
                    }
                    _ => None,
                })
            });
            Ok((msg.bytes, stamp))
        });
        match got {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

/// One tick frame kite-sim wrote: when the relay read its first byte, and the
/// instrument tokens of its packets.
pub type TickFrame = (Instant, Vec<u32>);

/// A loopback relay in front of kite-sim's ticker: the upgrade and every frame are
/// copied both ways unchanged; each binary frame kite-sim sends with packets in it
/// is reported with the instant its first byte was read, before it is forwarded.
/// That instant is the tick on the wire: what the engine's ticker socket gets next.
pub async fn ticker(listener: TcpListener, upstream: SocketAddr, frames: notes::Sender<TickFrame>) {
    relay_each(listener, upstream, move |client, server| {
        let frames = frames.clone();
        let (from_client, mut to_client) = client.into_split();
        let (mut from_server, to_server) = server.into_split();
        let down = async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut stream = ServerStream::default();
            loop {
                let n = match from_server.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let at = Instant::now();
                if to_client.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                for frame in stream.push(at, &buf[..n]) {
                    let _ = frames.send(frame);
                }
            }
            let _ = to_client.shutdown().await;
        };
        async move {
            tokio::join!(copy_through(from_client, to_server), down);
        }
    })
    .await;
}

/// kite-sim's side of a ticker connection as it arrives: the HTTP upgrade response,
/// then unmasked WebSocket frames, possibly split across reads.
#[derive(Default)]
struct ServerStream {
    upgraded: bool,
    pending: Vec<u8>,
    /// When the first byte of `pending` was read.
    since: Option<Instant>,
}

impl ServerStream {
    /// Takes one read; returns the tick frames it completed.
    fn push(&mut self, at: Instant, bytes: &[u8]) -> Vec<TickFrame> {
        if self.pending.is_empty() {
            self.since = Some(at);
        }
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        if !self.upgraded {
            let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                return out;
            };
            self.pending.drain(..end + 4);
            self.upgraded = true;
        }
        while let Some((header, length)) = frame_size(&self.pending) {
            if self.pending.len() < header + length {
                break;
            }
            let opcode = self.pending[0] & 0x0f;
            let payload = &self.pending[header..header + length];
            let tokens = if opcode == 2 {
                tokens(payload)
            } else {
                Vec::new()
            };
            if !tokens.is_empty() {
                out.push((self.since.unwrap_or(at), tokens));
            }
            self.pending.drain(..header + length);
            // What is left of this read began in it.
            self.since = Some(at);
        }
        out
    }
}

/// An unmasked frame's header size and payload length, once the header is complete.
fn frame_size(bytes: &[u8]) -> Option<(usize, usize)> {
    let short = usize::from(*bytes.get(1)? & 0x7f);
    match short {
        126 => Some((
            4,
            usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
        )),
        127 => {
            let long: [u8; 8] = bytes.get(2..10)?.try_into().ok()?;
            Some((10, usize::try_from(u64::from_be_bytes(long)).ok()?))
        }
        length => Some((2, length)),
    }
}

/// The instrument tokens of a binary tick message: a packet count, then each
/// packet's length and bytes, a packet starting with its token. A heartbeat (one
/// byte) has none.
fn tokens(payload: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let Some(count) = payload.get(0..2).map(|c| u16::from_be_bytes([c[0], c[1]])) else {
        return out;
    };
    let mut at = 2;
    for _ in 0..count {
        let Some(length) = payload
            .get(at..at + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            break;
        };
        let Some(token) = payload.get(at + 2..at + 6) else {
            break;
        };
        out.push(u32::from_be_bytes([token[0], token[1], token[2], token[3]]));
        at += 2 + length;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

    /// A binary message of LTP-mode packets (token, then a price), as kite-sim
    /// writes it: unmasked, with the 7-bit or 16-bit length form.
    fn tick_frame(tokens: &[u32]) -> Vec<u8> {
        let mut payload = u16::try_from(tokens.len())
            .expect("a test frame has few packets")
            .to_be_bytes()
            .to_vec();
        for token in tokens {
            payload.extend_from_slice(&8u16.to_be_bytes());
            payload.extend_from_slice(&token.to_be_bytes());
            payload.extend_from_slice(&250_000u32.to_be_bytes());
        }
        let mut frame = vec![0x82];
        match payload.len() {
            n @ 0..=125 => frame.push(u8::try_from(n).expect("matched 0..=125")),
            n => {
                frame.push(126);
                frame.extend_from_slice(
                    &u16::try_from(n)
                        .expect("a test frame is short")
                        .to_be_bytes(),
                );
            }
        }
        frame.extend_from_slice(&payload);
        frame
    }

    fn instants() -> (Instant, Instant) {
        let first = Instant::now();
        (first, first + Duration::from_micros(10))
    }

    #[test]
    fn the_upgrade_and_a_tick_in_one_read_give_that_reads_instant() {
        let (at, _) = instants();
        let mut stream = ServerStream::default();
        let read = [UPGRADE, &tick_frame(&[0x0102_0304, 7])].concat();
        assert_eq!(stream.push(at, &read), vec![(at, vec![0x0102_0304, 7])]);
    }

    #[test]
    fn a_frame_split_across_reads_is_timed_from_its_first_byte() {
        let (first, second) = instants();
        let mut stream = ServerStream::default();
        assert!(stream.push(first, UPGRADE).is_empty());
        let frame = tick_frame(&[42]);
        assert!(stream.push(first, &frame[..5]).is_empty());
        assert_eq!(stream.push(second, &frame[5..]), vec![(first, vec![42])]);
    }

    #[test]
    fn a_frame_begun_after_another_in_the_same_read_is_timed_from_that_read() {
        let (first, second) = instants();
        let mut stream = ServerStream::default();
        assert!(stream.push(first, UPGRADE).is_empty());
        let (one, two) = (tick_frame(&[1]), tick_frame(&[2]));
        let read = [one.as_slice(), &two[..3]].concat();
        assert_eq!(stream.push(first, &read), vec![(first, vec![1])]);
        assert_eq!(stream.push(second, &two[3..]), vec![(first, vec![2])]);
        let three = tick_frame(&[3]);
        assert_eq!(stream.push(second, &three), vec![(second, vec![3])]);
    }

    #[test]
    fn heartbeats_and_text_messages_are_not_ticks() {
        let (at, _) = instants();
        let mut stream = ServerStream::default();
        let heartbeat = [0x82, 1, 0];
        let text = [&[0x81, 5][..], b"hello"].concat();
        let read = [UPGRADE, &heartbeat, &text, &tick_frame(&[9])].concat();
        assert_eq!(stream.push(at, &read), vec![(at, vec![9])]);
    }

    #[test]
    fn a_frame_with_a_16_bit_length_is_read_whole() {
        let (at, _) = instants();
        let mut stream = ServerStream::default();
        let many: Vec<u32> = (1..=40).collect();
        let frame = tick_frame(&many);
        assert_eq!(frame[1], 126, "the frame uses the 16-bit length form");
        let read = [UPGRADE, &frame].concat();
        assert_eq!(stream.push(at, &read), vec![(at, many)]);
    }

    #[tokio::test]
    async fn a_read_carries_the_kernels_receive_timestamp() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let mut client = TcpStream::connect(addr).await.expect("connected");
        let (server, _) = listener.accept().await.expect("accepted");
        setsockopt(&server, ReceiveTimestampns, &true).expect("SO_TIMESTAMPNS set");
        let (from_client, _to_client) = server.into_split();
        // Linux switches receive timestamps on for the whole stack from a work queue
        // the first time a socket asks (and off when the last such socket closes):
        // bytes sent in that moment carry none. So send until a read has one.
        let mut buf = [0u8; 64];
        let mut stamp = None;
        for _ in 0..10_000 {
            client
                .write_all(b"POST /orders/regular")
                .await
                .expect("written");
            let (n, read) = read_stamped(&from_client, &mut buf).await.expect("read");
            assert_eq!(&buf[..n], b"POST /orders/regular");
            stamp = read;
            if stamp.is_some() {
                break;
            }
        }
        assert!(stamp.is_some(), "the kernel stamped the bytes");
    }
}
