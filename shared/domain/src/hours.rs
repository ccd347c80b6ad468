//! Hours of training derived from attendance: the one rule for trainings, the read model
//! and pHARe evidence.
