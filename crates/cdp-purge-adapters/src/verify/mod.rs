//! Verification by profile lookup for vendors whose deletion API has no status: the
//! vendor's own read API is asked whether the deleted identifier is still there. Only the
//! vendor's documented answers count: a documented "not found" proves the identifier
//! absent, a documented profile carrying it proves it present, and anything else
//! (an undocumented status or shape, several profiles, retries run out) is unknown.
//!
//! mParticle's Profile API lives in [`crate::mparticle_lookup`] (it shares its OAuth token
//! with the resolve route).

pub mod clevertap;
pub mod segment;

pub use crate::mparticle_lookup::Profile;

/// An error text with the looked-up value taken out: vendors quote paths and identifiers.
pub(crate) fn redact(text: &str, value: &str) -> String {
    if value.is_empty() {
        text.to_owned()
    } else {
        text.replace(value, "<redacted>")
    }
}

/// Whether an error text says something named by one of `about` was not found, and names
/// none of `unless` (a missing workspace or account is a configuration error, not an
/// absent profile). Case-insensitive.
pub(crate) fn says_not_found(text: &str, about: &[&str], unless: &[&str]) -> bool {
    const MISSING: &[&str] = &[
        "not found",
        "could not be found",
        "cannot be found",
        "does not exist",
        "no such",
        "no match",
        "no profile",
    ];
    let t = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    has(about) && has(MISSING) && !has(unless)
}
