//! Verification by profile lookup for vendors whose deletion API has no status: the
//! vendor's own read API is asked whether the deleted identifier is still there. Only the
//! vendor's documented answers count: a documented "not found" proves the identifier
//! absent, a documented profile carrying it proves it present, and anything else
//! (an undocumented status or shape, several profiles, retries run out) is unknown.
//! Where a vendor documents no "not found" at all (CleverTap's profile lookup, mParticle's
//! resolve), a lookup can prove a profile present, never absent.
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

/// The reason recorded for an answer in the vendor's own error shape from a route where
/// the vendor documents no answer for a missing profile (CleverTap's profile lookup,
/// mParticle's resolve). Its wording may well say "not found", but reading a deletion from
/// undocumented wording would claim more than the vendor said, so it is unknown: the
/// reason quotes what the vendor said (the looked-up value taken out, bounded, without
/// control characters) and why that proves nothing.
pub(crate) fn unproven(vendor: &str, said: &str, value: &str, missing: &str) -> String {
    let said: String = redact(said, value)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    format!(
        "{vendor} answered {said}; {vendor} documents no answer for {missing}, so this cannot prove the deletion"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unproven_answer_quotes_the_vendor_but_never_the_value() {
        let r = super::unproven(
            "CleverTap",
            "fail: 'No profile for ann@example.com\u{1b}[31m'",
            "ann@example.com",
            "a missing profile",
        );
        assert_eq!(
            r,
            "CleverTap answered fail: 'No profile for <redacted>[31m'; CleverTap documents no answer for a missing profile, so this cannot prove the deletion"
        );
        let long = "x".repeat(5000);
        assert!(super::unproven("mParticle", &long, "v", "m").len() < 400);
    }
}
