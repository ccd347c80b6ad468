//! How a reminder becomes a mail and leaves: lettre over SMTP (no TLS, STARTTLS or TLS
//! from the URL), or `.eml` files in an outbox directory when no SMTP server is set
//! (the embedded default). Training convocations carry an iCalendar invitation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pharos_kit::MailSettings;

use crate::templates::Rendered;

/// How long one SMTP exchange may take before it counts as a temporary failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Checks an SMTP URL as lettre reads it; the reason in French.
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "URL SMTP invalide ({e}) : smtp://hôte:25 (sans chiffrement), \
                 smtp://hôte:587?tls=required (STARTTLS) ou smtps://utilisateur:mot-de-passe@hôte:465 (TLS)"
            )
        })
}

/// Checks the sender address; the reason in French.
pub fn check_sender(from: &str) -> Result<(), String> {
    from.trim().parse::<Mailbox>().map(|_| ()).map_err(|_| {
        format!(
            "« {from} » n'est pas une adresse d'expéditeur (exemple : \
             Pharos <pharos@ac-toulouse.fr>)"
        )
    })
}

/// A calendar invitation for one registrant of one session.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// Stable per session and registrant: calendars update the event instead of adding one.
    pub uid: String,
    /// Grows with every change of the session's dates.
    pub sequence: u32,
    pub summary: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    pub url: String,
    pub cancelled: bool,
}

impl Invitation {
    /// The `.ics` text: `METHOD:REQUEST`, or `METHOD:CANCEL` for a cancelled session.
    pub fn ics(&self, organizer: &str, attendee: &str, stamp: DateTime<Utc>) -> String {
        let mut event = icalendar::Event::new();
        event
            .uid(&self.uid)
            .sequence(self.sequence)
            .summary(&self.summary)
            .starts(self.starts_at)
            .ends(self.ends_at)
            .timestamp(stamp)
            .url(&self.url)
            .status(if self.cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            })
            .add_property("ORGANIZER", format!("mailto:{organizer}"))
            .add_property("ATTENDEE", format!("mailto:{attendee}"));
        if let Some(location) = &self.location {
            event.location(location);
        }
        let mut calendar = Calendar::new();
        calendar
            .append_property(("METHOD", if self.cancelled { "CANCEL" } else { "REQUEST" }))
            .push(event.done());
        calendar.done().to_string()
    }

    fn method(&self) -> &'static str {
        if self.cancelled { "CANCEL" } else { "REQUEST" }
    }
}

/// What came of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent(String),
    /// The server is unreachable or answered 4xx: try again later.
    Temporary(String),
    /// The server refused for good (5xx), or the mail cannot be built.
    Permanent(String),
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(std::path::PathBuf),
}

/// Sends mails.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The domain of the sender, for `Message-ID`s.
    pub domain: String,
    pub public_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("outbox", &matches!(self.transport, Transport::Outbox(_)))
            .finish()
    }
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let from: Mailbox = settings.from.parse().map_err(|_| {
            anyhow::anyhow!("{}", check_sender(&settings.from).err().unwrap_or_default())
        })?;
        let domain = from.email.domain().to_owned();
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|_| {
                        anyhow::anyhow!("{}", check_smtp_url(url).err().unwrap_or_default())
                    })?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None => Transport::Outbox(settings.outbox_dir.clone()),
        };
        Ok(Self {
            transport,
            from,
            domain,
            public_url: settings.public_url.clone(),
        })
    }

    /// One French line for the start: where mails go.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "rappels : courriels envoyés par SMTP".into(),
            Transport::Outbox(dir) => format!(
                "rappels : aucun serveur SMTP configuré (smtp_url) ; les courriels sont écrits \
                 dans {}",
                dir.display()
            ),
        }
    }

    pub fn sender_address(&self) -> String {
        self.from.email.to_string()
    }

    /// Builds the mail of one reminder: plain text and HTML, the invitation attached.
    pub fn message(
        &self,
        to: &str,
        message_id: &str,
        date: DateTime<Utc>,
        rendered: &Rendered,
        invitation: Option<&Invitation>,
    ) -> Result<Message, String> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| format!("adresse du destinataire invalide ({to})"))?;
        let attendee = to.email.to_string();
        let body = MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone());
        let body = match invitation {
            Some(invitation) => {
                let ics = invitation.ics(&self.sender_address(), &attendee, date);
                let content_type = ContentType::parse(&format!(
                    "text/calendar; charset=utf-8; method={}",
                    invitation.method()
                ))
                .map_err(|e| e.to_string())?;
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new("invitation.ics".into()).body(ics, content_type))
            }
            None => MultiPart::mixed().multipart(body),
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject.clone())
            .message_id(Some(message_id.to_owned()))
            .date(date.into())
            .multipart(body)
            .map_err(|e| e.to_string())
    }

    /// Delivers one message.
    pub async fn deliver(&self, message: Message, file_name: &str) -> Outcome {
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(response) => Outcome::Sent(format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )),
                Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
                Err(e) => Outcome::Temporary(e.to_string()),
            },
            Transport::Outbox(dir) => {
                let path = dir.join(format!("{file_name}.eml"));
                let written = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&path, message.formatted()).await
                }
                .await;
                match written {
                    Ok(()) => Outcome::Sent(format!("écrit dans {}", path.display())),
                    Err(e) => Outcome::Temporary(format!("écriture de {} : {e}", path.display())),
                }
            }
        }
    }
}
