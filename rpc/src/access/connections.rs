//! A listener that holds at most `max` connections open. Past the cap, a new connection is
//! answered `429` with a JSON body and closed, so the node never queues sockets it cannot
//! serve and existing clients are unaffected.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub struct CappedListener {
    inner: TcpListener,
    /// `None`: no cap.
    slots: Option<(usize, Arc<Semaphore>)>,
}

/// A connection holding one slot until it closes.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    _slot: Option<OwnedSemaphorePermit>,
}

impl CappedListener {
    pub fn new(inner: TcpListener, max: Option<usize>) -> Self {
        CappedListener { inner, slots: max.map(|m| (m, Arc::new(Semaphore::new(m)))) }
    }
}

/// Tells an over-the-cap client why, then closes.
async fn refuse(mut stream: TcpStream, max: usize) {
    let body = serde_json::json!({
        "error": "too_many_connections",
        "message": format!("the node holds at most {max} connections open; retry later"),
    })
    .to_string();
    let reply = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

impl axum::serve::Listener for CappedListener {
    type Io = Counted;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Counted, std::net::SocketAddr) {
        loop {
            let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
            let _ = stream.set_nodelay(true);
            let Some((max, slots)) = &self.slots else {
                return (Counted { stream, _slot: None }, addr);
            };
            match slots.clone().try_acquire_owned() {
                Ok(slot) => return (Counted { stream, _slot: Some(slot) }, addr),
                Err(_) => {
                    tracing::debug!(target: "rpc", %addr, max, "connection refused: at the cap");
                    tokio::spawn(refuse(stream, *max));
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
