//! The loopback HTTP/1 server under [`crate::ags`] and [`crate::outcomes11_service`]: bound
//! to `127.0.0.1:0`, able to stop (refusing connections) and restart on the same port with
//! its state intact, and able to hang up on a request without answering.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A response from a handler.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// Why a handler closes the connection instead of answering (the service error hyper turns
/// into a dropped connection).
#[derive(Debug)]
pub(crate) struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection closed without an answer")
    }
}

impl std::error::Error for Hangup {}

/// What a server runs for each request.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The response, or [`Hangup`] to close the connection without one.
    fn handle(
        &self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Result<HttpResponse, Hangup>> + Send;
}

/// A server on a fixed loopback port, stoppable and restartable.
pub(crate) struct Server<H> {
    addr: SocketAddr,
    handler: Arc<H>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl<H: Handler> Server<H> {
    /// Serves `handler` on `listener`.
    pub(crate) fn start(listener: TcpListener, handler: Arc<H>) -> Self {
        let addr = listener.local_addr().expect("a bound address");
        let task = tokio::spawn(serve(listener, Arc::clone(&handler)));
        Self {
            addr,
            handler,
            task: Mutex::new(Some(task)),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn take_task(&self) -> Option<JoinHandle<()>> {
        self.task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Whether the server accepts connections.
    pub(crate) fn is_running(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// Closes the listener and every open connection; connections are refused until
    /// [`Self::restart`].
    pub(crate) async fn stop(&self) {
        if let Some(task) = self.take_task() {
            task.abort();
            let _ = task.await;
            // Let the aborted connection tasks run their drops, so their sockets close now.
            tokio::task::yield_now().await;
        }
    }

    /// Binds the same port again and serves. Does nothing if running.
    pub(crate) async fn restart(&self) {
        if self.is_running() {
            return;
        }
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(error) => {
                    attempts += 1;
                    assert!(attempts < 100, "cannot rebind {}: {error}", self.addr);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        let task = tokio::spawn(serve(listener, Arc::clone(&self.handler)));
        *self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
    }
}

impl<H> Drop for Server<H> {
    fn drop(&mut self) {
        if let Some(task) = self
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

async fn serve<H: Handler>(listener: TcpListener, handler: Arc<H>) {
    // Connections live in the set, so aborting this task (stop or drop) ends them.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        let handler = Arc::clone(&handler);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let handler = Arc::clone(&handler);
                async move { handler.handle(request).await }
            });
            // A client that hangs up, or a handler that does, ends the connection; neither is
            // the server's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A response with a body and content type.
pub(crate) fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("a valid response")
}
