//! The national help lines of `seed/partners.json` (3018, 119, 17, 112, 114, 3114, 15,
//! Fil Santé Jeunes, 116 006), each registered on start when absent.

use chrono::NaiveDate;
use pharos_events::partner::{CATEGORY, PartnerEvent, PartnerRecord};
use pharos_eventstore::{EventStore, ExpectedVersion, Metadata, StoreError, StreamId};
use serde::Deserialize;
use uuid::Uuid;

use crate::NAME;

/// One entry of `seed/partners.json`.
#[derive(Debug, Deserialize)]
struct Seed {
    /// Stable key: the seeded stream is `partner-<UUID v5 of the key>`.
    key: String,
    verified_on: NaiveDate,
    #[serde(flatten)]
    record: PartnerRecord,
}

const SEED: &str = include_str!("../../seed/partners.json");
const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x7068_6172_6f73_5f70_6172_746e_6572_7331);

/// Registers the national lines of `seed/partners.json` that are not there yet. An
/// entry the pole edited or verified is left alone: each seed is appended only to a
/// stream that does not exist.
pub async fn seed(store: &EventStore) -> Result<usize, crate::StartError> {
    let seeds: Vec<Seed> = serde_json::from_str(SEED).map_err(crate::StartError::Seed)?;
    let metadata = Metadata {
        actor_id: Some("seed".into()),
        source_target: Some(NAME.into()),
        ..Metadata::default()
    };
    let mut added = 0;
    for seed in seeds {
        let id = Uuid::new_v5(&SEED_NAMESPACE, seed.key.as_bytes());
        let stream = StreamId::new(CATEGORY, id)?;
        let event = pharos_events::encode(&PartnerEvent::PartnerRegistered {
            record: seed.record,
            verified_on: seed.verified_on,
        })
        .with_id(Uuid::new_v5(
            &SEED_NAMESPACE,
            format!("{}#1", seed.key).as_bytes(),
        ));
        match store
            .append(&stream, ExpectedVersion::NoStream, vec![event], &metadata)
            .await
        {
            Ok(r) if r.appended => added += 1,
            Ok(_) | Err(StoreError::WrongExpectedVersion { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_events::partner::PartnerScope;

    #[test]
    fn the_seed_file_holds_the_national_lines() {
        let seeds: Vec<Seed> = serde_json::from_str(SEED).unwrap();
        let numbers: Vec<_> = seeds.iter().flat_map(|s| s.record.phones.clone()).collect();
        for line in [
            "3018",
            "119",
            "17",
            "112",
            "114",
            "3114",
            "15",
            "0 800 23 52 36",
            "116 006",
        ] {
            assert!(numbers.iter().any(|n| n == line), "{line} missing");
        }
        // Seeded numbers are stored as a typed one would be.
        for number in &numbers {
            assert_eq!(
                crate::partners::phone::normalise(number, None).as_deref(),
                Ok(number.as_str())
            );
        }
        assert!(
            seeds
                .iter()
                .all(|s| s.record.scope == PartnerScope::National)
        );
    }
}
