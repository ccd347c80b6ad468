//! Pure rules that more than one target needs — the commands that record the facts, the
//! read model that counts them, the reminders that chase what is missing — so that each
//! reuses them instead of importing another service. No I/O, no HTTP.

pub mod compliance;
pub mod hours;
pub mod national_day;
