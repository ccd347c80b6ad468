//! pHARe compliance flags: computed from the recorded facts, they never block a save.
