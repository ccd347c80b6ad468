//! The contests target's answers as the contest pages read them (the school's and the
//! pole's): an edition and a page of its entries.

use chrono::{DateTime, Utc};
use pharos_events::contest::EntryStatus;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Category {
    pub(crate) key: String,
    pub(crate) label: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Rules {
    pub(crate) max_file_bytes: u64,
    pub(crate) file_types: Vec<String>,
    pub(crate) max_video_seconds: u32,
}

/// A later deadline the pole granted a school.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Extension {
    pub(crate) school_uai: String,
    pub(crate) until: DateTime<Utc>,
    /// The pole's reason (given to the pole and to the school concerned).
    #[serde(default)]
    pub(crate) reason: String,
}

/// A juror appointed to an edition, with what they are attached to (for recusal).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Juror {
    pub(crate) user_id: Uuid,
    pub(crate) school_uai: Option<String>,
    pub(crate) department: Option<String>,
}

/// `GET /api/v1/contests/{id}`. Extensions and jurors are given to the pole (a school
/// sees its own extension).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Edition {
    pub(crate) id: Uuid,
    pub(crate) school_year: String,
    pub(crate) edition: u32,
    pub(crate) opens_at: DateTime<Utc>,
    pub(crate) submission_deadline: DateTime<Utc>,
    pub(crate) jury_on: Option<String>,
    pub(crate) categories: Vec<Category>,
    #[serde(default)]
    pub(crate) special_prizes: Vec<Category>,
    pub(crate) rules: Rules,
    pub(crate) results_published: bool,
    pub(crate) closed: bool,
    #[serde(default)]
    pub(crate) extensions: Vec<Extension>,
    #[serde(default)]
    pub(crate) jurors: Vec<Juror>,
}

impl Edition {
    /// The edition's name of a category (`college_affiche`), else its key.
    pub(crate) fn category_label(&self, key: &str) -> String {
        self.categories
            .iter()
            .find(|c| c.key == key)
            .map_or_else(|| key.to_owned(), |c| c.label.clone())
    }
}

/// `GET /api/v1/contests`.
#[derive(Debug, Deserialize)]
pub(crate) struct EditionList {
    pub(crate) items: Vec<Edition>,
}

/// An entry in a page of `GET /api/v1/contests/{id}/entries`.
#[derive(Debug, Deserialize)]
pub(crate) struct Summary {
    pub(crate) id: Uuid,
    pub(crate) school_uai: String,
    pub(crate) department: String,
    pub(crate) category: String,
    pub(crate) title: String,
    pub(crate) status: EntryStatus,
    pub(crate) pupil_count: u32,
    pub(crate) files: usize,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SummaryList {
    pub(crate) items: Vec<Summary>,
}
