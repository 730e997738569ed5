//! Requests in progress on one connection, so its watchdog can tell when it is idle. A
//! request counts from the moment its headers are in until its response body is finished or
//! dropped, so a long subscription keeps its connection busy and a client that only holds a
//! socket open does not.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, Default)]
struct Load {
    in_flight: usize,
    /// Requests begun on this connection so far.
    begun: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<watch::Sender<Load>>);

/// One request in progress; dropped when it ends.
#[derive(Debug)]
pub struct Busy(Arc<watch::Sender<Load>>);

impl Activity {
    pub fn begin(&self) -> Busy {
        self.0.send_modify(|l| {
            l.in_flight += 1;
            l.begun += 1;
        });
        Busy(self.0.clone())
    }

    /// Returns once no request has been in progress for `first` (before the connection's
    /// first request) or `idle` (after it).
    pub async fn until_idle(&self, first: Duration, idle: Duration) {
        let mut rx = self.0.subscribe();
        loop {
            let load = *rx.borrow_and_update();
            if load.in_flight > 0 {
                // `self` holds the sender, so this waits for a change rather than failing.
                let _ = rx.changed().await;
                continue;
            }
            let wait = if load.begun == 0 { first } else { idle };
            if tokio::time::timeout(wait, rx.changed()).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|l| l.in_flight = l.in_flight.saturating_sub(1));
    }
}

/// A response body that keeps its request counted as in progress until it is done.
#[derive(Debug)]
pub struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl Tracked {
    pub fn body(inner: Body, busy: Busy) -> Body {
        Body::new(Tracked { inner, _busy: busy })
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_means_no_request_in_progress_for_the_timeout() {
        let a = Activity::default();
        let (first, idle) = (Duration::from_secs(1), Duration::from_secs(5));
        let started = tokio::time::Instant::now();
        a.until_idle(first, idle).await;
        assert_eq!(started.elapsed(), first, "nothing asked: the first-request deadline");

        let busy = a.begin();
        let watcher = {
            let a = a.clone();
            tokio::spawn(async move { a.until_idle(first, idle).await })
        };
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!watcher.is_finished(), "a request in progress is not idle");
        let body = Tracked::body(Body::from("x"), busy);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!watcher.is_finished(), "nor is a response still being sent");
        let ended = tokio::time::Instant::now();
        drop(body);
        watcher.await.unwrap();
        assert_eq!(ended.elapsed(), idle);
    }
}
