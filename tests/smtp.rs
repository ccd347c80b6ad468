//! A real SMTP server in the test process (mailcrab), receiving over TCP what a `pharos`
//! process or the assembled application sends.

use std::time::Duration;

/// A free local port, claimed by this process (for a server started now, or later to end
/// an outage).
pub use crate::layout::free_port;

/// A real SMTP server on `port`, accepting once [`Smtp::start`] returns.
pub struct Smtp {
    handle: mailcrab::TestMailServerHandle,
    pub port: u16,
}

impl Smtp {
    pub async fn start(port: u16) -> Self {
        let handle = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(tokio::time::Instant::now() < deadline, "SMTP server not up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { handle, port }
    }

    /// `smtp://127.0.0.1:<port>`, as `smtp_url` takes it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next `n` mails, raw; fails after `deadline` without them.
    pub async fn received_within(&mut self, n: usize, deadline: Duration) -> Vec<Vec<u8>> {
        let end = tokio::time::Instant::now() + deadline;
        let mut mails = Vec::new();
        while mails.len() < n {
            let mail = tokio::time::timeout_at(end, self.handle.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("{n} mails within {deadline:?}, got {}", mails.len()))
                .unwrap();
            mails.push(mail.raw_bytes().unwrap());
        }
        mails
    }

    /// The next `n` mails, raw; fails after 10 s without them.
    pub async fn received(&mut self, n: usize) -> Vec<Vec<u8>> {
        self.received_within(n, Duration::from_secs(10)).await
    }

    /// Nothing else arrived (every mail of a run is received before the run returns:
    /// the server answered each one).
    pub fn nothing_more(&mut self) {
        assert!(
            self.handle.rx.try_recv().is_err(),
            "an unexpected extra mail"
        );
    }

    /// Every mail received so far and not yet taken, raw.
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut mails = Vec::new();
        while let Ok(mail) = self.handle.rx.try_recv() {
            mails.push(mail.raw_bytes().unwrap());
        }
        mails
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.handle.token.cancel();
    }
}
