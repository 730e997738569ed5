//! Connection limits on a real socket, served by `rpc::serve_app`: past a cap a new
//! connection gets 429 with a JSON body and is closed; one address cannot take every slot;
//! sockets that send nothing, or half a request, are closed after the header timeout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::{Duration, Instant};

use rpc::access::AccessConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

/// A server answering `ok` on `GET /` with `access`'s connection settings.
async fn server(access: AccessConfig) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(rpc::serve_app(tcp, app, access, std::future::pending()));
    addr
}

/// A connection to `to` from the loopback address `from` (all of 127.0.0.0/8 is loopback).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends a request on `s` and reads until the response's body is in.
async fn ask(s: &mut TcpStream) -> String {
    s.write_all(REQUEST).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("reply within 5 s").unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// How long until the server closes `s` (reading and dropping whatever it sends first), if
/// within `limit`.
async fn closed_after(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(limit, s.read_to_end(&mut rest)).await.ok().map(|_| started.elapsed())
}

fn caps(total: usize, per_ip: usize) -> AccessConfig {
    AccessConfig {
        max_connections: Some(total),
        max_connections_per_ip: NonZeroUsize::new(per_ip),
        ..AccessConfig::default()
    }
}

#[tokio::test]
async fn over_the_cap_is_told_why_and_closed() {
    let addr = server(caps(2, 2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut s).await.ends_with("ok"), "within the cap");
        held.push(s);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    let reply = ask(&mut third).await;
    assert!(reply.starts_with("HTTP/1.1 429"), "{reply}");
    let body: serde_json::Value = serde_json::from_str(reply.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"], "too_many_connections");
    assert!(body["message"].as_str().unwrap().contains("at most 2 connections"), "{body}");
    let mut rest = Vec::new();
    assert_eq!(third.read_to_end(&mut rest).await.unwrap_or(0), 0, "closed after the reply");
    assert!(ask(&mut held[0]).await.ends_with("ok"), "held connections still served");

    // Closing one frees its slot (the server notices the close asynchronously).
    drop(held.pop());
    let mut freed = false;
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if ask(&mut s).await.ends_with("ok") {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "a slot came free within 5 s");
}

#[tokio::test]
async fn one_address_holding_sockets_does_not_lock_out_another() {
    let addr = server(caps(8, 4)).await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(connect_from("127.0.0.2", addr).await);
    }
    let mut other = connect_from("127.0.0.3", addr).await;
    assert!(ask(&mut other).await.ends_with("ok"), "another address is served");
    // Four were taken in; the other four were told why and closed, without asking anything.
    let mut refused = 0;
    for s in &mut idle {
        let mut buf = vec![0u8; 4096];
        if let Ok(n) = tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            let reply = String::from_utf8_lossy(&buf[..n.unwrap()]).into_owned();
            assert!(reply.starts_with("HTTP/1.1 429") && reply.contains("from one address"), "{reply}");
            refused += 1;
        }
    }
    assert_eq!(refused, 4);
}

#[tokio::test]
async fn silent_and_slow_sockets_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(500);
    let addr =
        server(AccessConfig { header_read_timeout_ms: NonZeroU64::new(500).unwrap(), ..AccessConfig::default() }).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial.write_all(b"POST / HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let mut h2_preface_only = TcpStream::connect(addr).await.unwrap();
    h2_preface_only.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
    let mut kept_alive = TcpStream::connect(addr).await.unwrap();
    assert!(ask(&mut kept_alive).await.ends_with("ok"));
    for (what, s) in [
        ("nothing sent", &mut silent),
        ("half a header", &mut partial),
        ("HTTP/2 preface alone", &mut h2_preface_only),
        ("kept alive without a next request", &mut kept_alive),
    ] {
        let after = closed_after(s, Duration::from_secs(5)).await;
        assert!(after.is_some_and(|t| t < timeout * 8), "{what}: closed after {after:?} (None: still open)");
    }
}
