//! Upcasting: old schema versions of an event are upgraded on read, one version at a time.
//! Stored events are never rewritten.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::StoreError;

type UpcastFn = dyn Fn(Value) -> Result<Value, String> + Send + Sync;

/// Upcasters keyed by `(event_type, from_schema_version)`; each turns version `n` into `n + 1`.
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<(String, i32), Arc<UpcastFn>>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.steps.keys()).finish()
    }
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step from `from_version` to `from_version + 1` of `event_type`.
    pub fn register(
        mut self,
        event_type: &str,
        from_version: i32,
        step: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .insert((event_type.to_owned(), from_version), Arc::new(step));
        self
    }

    /// Applies every registered step from `schema_version` on; returns the data and its
    /// final version.
    pub fn upcast(
        &self,
        event_type: &str,
        mut schema_version: i32,
        mut data: Value,
    ) -> Result<(i32, Value), StoreError> {
        if self.steps.is_empty() {
            return Ok((schema_version, data));
        }
        // Allocation-free lookups would need a borrowed key type; upcasting is rare enough.
        let mut key = (event_type.to_owned(), schema_version);
        while let Some(step) = self.steps.get(&key) {
            data = step(data).map_err(|reason| StoreError::Upcast {
                event_type: event_type.to_owned(),
                from: schema_version,
                reason,
            })?;
            schema_version += 1;
            key.1 = schema_version;
        }
        Ok((schema_version, data))
    }
}
