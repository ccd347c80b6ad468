//! The request deadline: a request is cut (503 problem) once `limit` has passed since it
//! began **or since the last bytes of its body arrived**, whichever is later. A JSON
//! command, whose body arrives at once, gets `limit` in all; an upload keeps going as long
//! as its bytes keep coming (a school's video over a slow line), and is cut after `limit`
//! without any — or `limit` after its last byte, if handling it then stalls.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::Problem;

/// When the request's body last made progress: milliseconds after its start.
#[derive(Clone)]
struct Progress {
    started: Instant,
    last: Arc<AtomicU64>,
}

impl Progress {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(ms, Ordering::Relaxed);
    }

    fn deadline(&self, limit: Duration) -> Instant {
        self.started + Duration::from_millis(self.last.load(Ordering::Relaxed)) + limit
    }
}

/// The request's body, telling [`Progress`] of each frame it yields.
struct Watched {
    inner: Body,
    progress: Progress,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            self.progress.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

pub(crate) async fn with_deadline(limit: Duration, request: Request, next: Next) -> Response {
    let progress = Progress {
        started: Instant::now(),
        last: Arc::new(AtomicU64::new(0)),
    };
    let watched = progress.clone();
    let request = request.map(|inner| {
        Body::new(Watched {
            inner,
            progress: watched,
        })
    });
    let run = next.run(request);
    tokio::pin!(run);
    loop {
        let deadline = progress.deadline(limit);
        tokio::select! {
            response = &mut run => return response,
            () = tokio::time::sleep_until(deadline) => {
                // Bytes that arrived meanwhile moved it: wait again.
                if progress.deadline(limit) <= Instant::now() {
                    return late(limit);
                }
            }
        }
    }
}

fn late(limit: Duration) -> Response {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        "Délai dépassé",
        format!(
            "La requête n'a pas abouti en {} s ; réessayez plus tard.",
            limit.as_secs()
        ),
    )
    .with_retry_after(5)
    .into_response()
}
