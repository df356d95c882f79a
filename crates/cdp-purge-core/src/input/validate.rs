//! Per-kind validation of cleaned identifiers. Reasons never quote the value.

use std::borrow::Cow;

/// Longest identifier accepted by validation, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

/// What validation a kind gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Email,
    Mpid,
    Plain,
}

impl Rule {
    pub(crate) fn for_kind(kind: &str) -> Self {
        if kind.eq_ignore_ascii_case("mpid") {
            Rule::Mpid
        } else if kind
            .as_bytes()
            .windows(5)
            .any(|w| w.eq_ignore_ascii_case(b"email"))
        {
            Rule::Email
        } else {
            Rule::Plain
        }
    }
}

/// Why `v` is not a valid identifier of its kind; never mentions the value itself. Junk
/// that no kind accepts (control and invisible characters) is [`junk`]'s, checked first.
pub(crate) fn invalid(rule: Rule, v: &str) -> Option<&'static str> {
    if v.len() > MAX_VALUE_BYTES {
        return Some("longer than 1024 bytes");
    }
    match rule {
        Rule::Plain => None,
        Rule::Mpid => mpid_problem(v),
        Rule::Email if v.is_ascii() => email_problem_ascii(v.as_bytes()),
        Rule::Email => email_problem(v),
    }
}

/// Why `v` cannot be sent: [`junk`] whatever its kind, then, when `rule` is given (validation
/// on), what its kind does not accept ([`invalid`]).
pub(crate) fn problem(rule: Option<Rule>, v: &str) -> Option<Cow<'static, str>> {
    if let Some(why) = junk(v) {
        return Some(why);
    }
    rule.and_then(|r| invalid(r, v)).map(Cow::Borrowed)
}

/// What one pass over a value's bytes tells the cleaner: each of its checks used to make its
/// own pass (`is_ascii` four times, the control-character fold, the uppercase scan), and on
/// values of ~20 bytes those short loops were most of `Cleaner::row`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    pub ascii: bool,
    /// A byte below 0x20 or 0x7f (ASCII control characters).
    pub control: bool,
    pub upper: bool,
    /// Where the bytes an e-mail check asks about are, for a value of at most 32 bytes.
    masks: Option<ByteMasks>,
}

impl Scan {
    pub(crate) fn of(v: &str) -> Self {
        if let Some(m) = ByteMasks::of(v.as_bytes()) {
            return Self {
                ascii: m.high == 0,
                control: m.control != 0,
                upper: m.upper != 0,
                masks: Some(m),
            };
        }
        // Branch-free folds over bytes: the compiler turns them into vector code.
        let (high, control, upper) = v.bytes().fold((0u8, 0u8, 0u8), |(h, c, u), b| {
            (
                h | b,
                c | u8::from((b < 0x20) | (b == 0x7f)),
                u | u8::from(b.wrapping_sub(b'A') < 26),
            )
        });
        Self {
            ascii: high < 0x80,
            control: control > 0,
            upper: upper > 0,
            masks: None,
        }
    }
}

/// Bit `i` set where byte `i` of a value of at most 32 bytes is of a class the cleaner asks
/// about.
///
/// Why: most identifiers are short, and on ~20 bytes the folds above and the e-mail check's
/// run mostly in their scalar tails (~30 ns a value, a tenth of the reading thread's time
/// on the shared 10M-row file); two 16-byte loads and a compare per class take a third of
/// that. x86-64 only (SSE2 is part of its baseline); elsewhere `of` says `None` and the
/// folds answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByteMasks {
    len: u32,
    /// Bytes of 0x80 and above.
    high: u32,
    /// Below 0x20, or 0x7f.
    control: u32,
    /// `A` to `Z`.
    upper: u32,
    at: u32,
    space: u32,
    dot: u32,
}

impl ByteMasks {
    #[cfg(target_arch = "x86_64")]
    fn of(v: &[u8]) -> Option<Self> {
        // SAFETY: SSE2 is part of every x86-64 CPU.
        unsafe { Self::sse2(v) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse2")]
    fn sse2(v: &[u8]) -> Option<Self> {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8, _mm_sub_epi8,
        };
        let n = v.len();
        if n > 32 {
            return None;
        }
        let mut pad = [0u8; 16];
        let (lo, hi, shift) = if n >= 16 {
            // SAFETY: n ≥ 16, so bytes [0, 16) and [n - 16, n) are inside `v`; the loads
            // are unaligned ones. The two halves overlap when n < 32: a byte seen twice
            // sets the same bit twice.
            unsafe {
                (
                    _mm_loadu_si128(v.as_ptr().cast::<__m128i>()),
                    _mm_loadu_si128(v.as_ptr().add(n - 16).cast::<__m128i>()),
                    n - 16,
                )
            }
        } else {
            pad[..n].copy_from_slice(v);
            // SAFETY: `pad` is 16 bytes.
            let x = unsafe { _mm_loadu_si128(pad.as_ptr().cast::<__m128i>()) };
            (x, x, 0)
        };
        // Only the value's own bytes (the padding is zeros, which count as control bytes).
        let inside = u32::MAX.checked_shr(32 - n as u32).unwrap_or(0);
        let bits = |lo: i32, hi: i32| -> u32 {
            ((lo as u32 & 0xffff) | ((hi as u32 & 0xffff) << shift)) & inside
        };
        // Unsigned `x ≤ max`, byte by byte.
        let at_most =
            |x: __m128i, max: u8| _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(max as i8)), x);
        let class = |x: __m128i, c: u8| _mm_cmpeq_epi8(x, _mm_set1_epi8(c as i8));
        let control = |x: __m128i| _mm_or_si128(at_most(x, 0x1f), class(x, 0x7f));
        let upper = |x: __m128i| at_most(_mm_sub_epi8(x, _mm_set1_epi8(b'A' as i8)), 25);
        let each = |f: &dyn Fn(__m128i) -> __m128i| {
            bits(_mm_movemask_epi8(f(lo)), _mm_movemask_epi8(f(hi)))
        };
        Some(Self {
            len: n as u32,
            high: bits(_mm_movemask_epi8(lo), _mm_movemask_epi8(hi)),
            control: each(&control),
            upper: each(&upper),
            at: each(&|x| class(x, b'@')),
            space: each(&|x| class(x, b' ')),
            dot: each(&|x| class(x, b'.')),
        })
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn of(_: &[u8]) -> Option<Self> {
        None
    }
}

/// [`email_problem_ascii`] from a value's masks: the same checks in the same order (at
/// most 32 bytes: neither length limit can be passed).
fn email_problem_masks(m: ByteMasks) -> Option<&'static str> {
    if m.space != 0 {
        return Some("email contains whitespace");
    }
    if m.at == 0 {
        return Some("email has no @");
    }
    if m.at.count_ones() > 1 {
        return Some("email has more than one @");
    }
    let at = m.at.trailing_zeros();
    if at == 0 {
        return Some("email has an empty local part");
    }
    // The bytes after the @ (none when it is the last of 32).
    let domain = u32::MAX.checked_shl(at + 1).unwrap_or(0);
    let dots = m.dot & domain;
    if dots == 0 {
        return Some("email domain has no dot");
    }
    // A dot right after the @, a last byte that is a dot, or two dots in a row.
    let first = 1u32 << (at + 1);
    let last = 1u32 << (m.len - 1);
    if dots & (dots >> 1) != 0 || dots & (first | last) != 0 {
        return Some("email domain has an empty label");
    }
    None
}

/// [`problem`] for a value whose [`Scan`] is known: the same answer, without scanning it
/// again when it is ASCII without control characters (the common case).
pub(crate) fn problem_scanned(
    rule: Option<Rule>,
    v: &str,
    scan: Scan,
) -> Option<Cow<'static, str>> {
    if !scan.ascii || scan.control {
        return problem(rule, v);
    }
    let rule = rule?;
    if v.len() > MAX_VALUE_BYTES {
        return Some(Cow::Borrowed("longer than 1024 bytes"));
    }
    match (rule, scan.masks) {
        // Lowercasing, the only change between scan and check, keeps the length and every
        // byte these masks mark.
        (Rule::Email, Some(m)) if m.len as usize == v.len() => {
            email_problem_masks(m).map(Cow::Borrowed)
        }
        (Rule::Email, _) => email_problem_ascii(v.as_bytes()).map(Cow::Borrowed),
        _ => invalid(rule, v).map(Cow::Borrowed),
    }
}

/// Why `v` can be no identifier at all, whatever its kind and even with `--no-validate`: a
/// control character (a TAB in a user_id, a line break from an unterminated quote) or a
/// character that renders as nothing. Such a value matches no profile, so sending it would
/// have the vendor "acknowledge" the deletion of nothing.
pub(crate) fn junk(v: &str) -> Option<Cow<'static, str>> {
    if v.is_ascii() {
        // The common case, in one pass over the bytes.
        let b = v.as_bytes();
        let control = b
            .iter()
            .fold(0u8, |acc, &c| acc | u8::from((c < 0x20) | (c == 0x7f)));
        return (control > 0).then(|| Cow::Borrowed(control_problem(v)));
    }
    for c in v.chars() {
        if c.is_control() {
            return Some(Cow::Borrowed(control_problem(v)));
        }
        if let Some(what) = invisible(c) {
            return Some(Cow::Owned(format!(
                "contains U+{:04X}, an invisible character ({what})",
                u32::from(c)
            )));
        }
    }
    None
}

/// The reason for a value with a control character.
fn control_problem(v: &str) -> &'static str {
    if v.contains(['\n', '\r']) {
        // A CSV quote left open swallows the following lines into one field.
        "spans several lines (an unterminated quote?)"
    } else {
        "contains a control character"
    }
}

/// What kind of invisible character `c` is, if it is one. The categories come from the
/// Unicode Character Database (through `unicode-properties`): format characters (Cf: BOM,
/// zero-width, bidi and tag characters), private-use (Co) and unassigned (Cn) code points,
/// and the line and paragraph separators (Zl, Zp). Outside those categories, a few
/// characters are blank by design: the Hangul fillers and the Braille blank, and the
/// Default_Ignorable_Code_Point marks (combining grapheme joiner, variation selectors;
/// DerivedCoreProperties.txt).
fn invisible(c: char) -> Option<&'static str> {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    match c.general_category() {
        G::Format => return Some("format character, Unicode category Cf"),
        G::PrivateUse => return Some("private-use code point, Unicode category Co"),
        G::Unassigned => return Some("unassigned code point, Unicode category Cn"),
        G::LineSeparator => return Some("line separator, Unicode category Zl"),
        G::ParagraphSeparator => return Some("paragraph separator, Unicode category Zp"),
        _ => {}
    }
    match c {
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => Some("Hangul filler"),
        '\u{2800}' => Some("Braille blank"),
        '\u{034F}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180D}'
        | '\u{180F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{E0100}'..='\u{E01EF}' => Some("default-ignorable mark"),
        _ => None,
    }
}

/// [`email_problem`] for ASCII without control characters (so the only whitespace is ' '):
/// the same checks in the same order. The counts are sums of comparisons without branches
/// or a running position, which the compiler turns into vector code (a byte-at-a-time loop
/// that tracked the first `@` was a third of the reading thread's cleaning time).
fn email_problem_ascii(b: &[u8]) -> Option<&'static str> {
    if b.len() > 254 {
        return Some("email longer than 254 bytes");
    }
    // At most 254 bytes: the counts fit in a byte, 16 or 32 of them per vector step.
    let (ats, spaces) = b.iter().fold((0u8, 0u8), |(a, s), &c| {
        (a + u8::from(c == b'@'), s + u8::from(c == b' '))
    });
    if spaces > 0 {
        return Some("email contains whitespace");
    }
    let Some(at) = memchr::memchr(b'@', b) else {
        return Some("email has no @");
    };
    if ats > 1 {
        return Some("email has more than one @");
    }
    if at == 0 {
        return Some("email has an empty local part");
    }
    if at > 64 {
        return Some("email local part longer than 64 bytes");
    }
    let domain = &b[at + 1..];
    let dots = domain.iter().fold(0u8, |n, &c| n + u8::from(c == b'.'));
    if dots == 0 {
        return Some("email domain has no dot");
    }
    let doubled = domain.iter().zip(&domain[1..]).fold(0u8, |acc, (&x, &y)| {
        acc | u8::from((x == b'.') & (y == b'.'))
    });
    if doubled > 0 || domain.first() == Some(&b'.') || domain.last() == Some(&b'.') {
        return Some("email domain has an empty label");
    }
    None
}

fn mpid_problem(v: &str) -> Option<&'static str> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some("an mpid must be a whole number (digits, optional leading -)");
    }
    match v.parse::<i64>() {
        Err(_) => Some("an mpid must fit in a signed 64-bit integer"),
        // mParticle never assigns 0: `0`, `-0` and `000` are a spreadsheet's empty cell.
        Ok(0) => Some("an mpid is never 0"),
        Ok(_) => None,
    }
}

fn email_problem(v: &str) -> Option<&'static str> {
    if v.len() > 254 {
        return Some("email longer than 254 bytes");
    }
    if v.chars().any(char::is_whitespace) {
        return Some("email contains whitespace");
    }
    let Some((local, domain)) = v.split_once('@') else {
        return Some("email has no @");
    };
    if domain.contains('@') {
        return Some("email has more than one @");
    }
    if local.is_empty() {
        return Some("email has an empty local part");
    }
    if local.len() > 64 {
        return Some("email local part longer than 64 bytes");
    }
    if !domain.contains('.') {
        return Some("email domain has no dot");
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Some("email domain has an empty label");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        let ok = ["a@b.co", "first.last+tag@sub.example.org", "ü@bücher.de"];
        for e in ok {
            assert_eq!(invalid(Rule::Email, e), None, "{e}");
        }
        let bad = [
            ("nobody", "email has no @"),
            ("a@@b.com", "email has more than one @"),
            ("a@b@c.com", "email has more than one @"),
            ("@b.com", "email has an empty local part"),
            ("a@localhost", "email domain has no dot"),
            ("a@.com", "email domain has an empty label"),
            ("a@b.com.", "email domain has an empty label"),
            ("a@b..com", "email domain has an empty label"),
            ("a b@c.com", "email contains whitespace"),
            ("a\u{a0}b@c.com", "email contains whitespace"),
        ];
        for (e, why) in bad {
            assert_eq!(invalid(Rule::Email, e), Some(why), "{e:?}");
        }
        let long_local = format!("{}@b.com", "x".repeat(65));
        assert_eq!(
            invalid(Rule::Email, &long_local),
            Some("email local part longer than 64 bytes")
        );
        let long = format!("a@{}.com", "x".repeat(260));
        assert_eq!(
            invalid(Rule::Email, &long),
            Some("email longer than 254 bytes")
        );
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_general_rules() {
        let cases = [
            "a@b.co",
            "nobody",
            "a@@b.com",
            "@b.com",
            "a@localhost",
            "a@.com",
            "a@b.com.",
            "a@b..com",
            "a b@c.com",
            "a@b",
            "x@y.z",
            ".a@b.c",
            "a@b.c.",
            "a@",
            "@",
            "",
            // Double dots and a second @ on each side of 8-, 16- and 32-byte steps.
            "abcde@ab.c..de.fg",
            "abcde@abcdefgh..ij",
            "a@abcdefg..hij",
            "a@abcdefg.hijklmn..op",
            "a@abcdefghijklmn..op.qrstuvwxyzabcd..ef",
            "abcdefgh@abcdef.",
            "abcdefg@@b.co",
            "abcdefghij@b.c@d.e",
            "abcdefghijklmnopqrstuvwxyzabcdef@@b.co",
            "abcdefgh ijk@b.co",
        ];
        for c in cases {
            assert_eq!(email_problem_ascii(c.as_bytes()), email_problem(c), "{c:?}");
        }
        let long_local = format!("{}@b.com", "x".repeat(65));
        let long = format!("a@{}.com", "x".repeat(260));
        for c in [long_local, long] {
            assert_eq!(email_problem_ascii(c.as_bytes()), email_problem(&c));
        }
    }

    #[test]
    fn email_checks_from_masks_agree_on_short_values_and_vector_edges() {
        // Every value of up to five bytes over the bytes an e-mail check looks at, and the
        // edges of the two vector halves (15, 16, 17, 31, 32, 33 bytes).
        let alphabet = [b'a', b'@', b'.', b' '];
        let mut short = vec![String::new()];
        for len in 1..=5u32 {
            for mut code in 0..4usize.pow(len) {
                let mut w = String::new();
                for _ in 0..len {
                    w.push(char::from(alphabet[code % 4]));
                    code /= 4;
                }
                short.push(w);
            }
        }
        for n in [15, 16, 17, 31, 32, 33] {
            for at in [0, 1, n / 2, n - 3, n - 2, n - 1] {
                for dot in [at + 1, at + 2, n - 2, n - 1] {
                    let mut b = vec![b'x'; n];
                    b[at] = b'@';
                    if dot < n && dot != at {
                        b[dot] = b'.';
                    }
                    short.push(String::from_utf8(b).unwrap());
                }
            }
        }
        for w in &short {
            let scan = Scan::of(w);
            assert_eq!(
                problem_scanned(Some(Rule::Email), w, scan),
                problem(Some(Rule::Email), w),
                "{w:?}"
            );
            if let Some(m) = scan.masks {
                assert_eq!(email_problem_masks(m), email_problem(w), "{w:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_one_pass_scan_agrees_with_the_checks_it_replaces(
            v in "[a-zA-Z@. \\x00-\\x1f\\x7f\u{80}-\u{10ffff}]{0,70}",
            upper in proptest::bool::ANY,
        ) {
            let s = Scan::of(&v);
            proptest::prop_assert_eq!(s.ascii, v.is_ascii());
            proptest::prop_assert_eq!(s.upper, v.bytes().any(|b| b.is_ascii_uppercase()));
            proptest::prop_assert_eq!(
                s.control,
                v.bytes().any(|b| b < 0x20 || b == 0x7f)
            );
            // Every rule, with and without validation, a long value too.
            let long = if upper { v.repeat(20) } else { v.clone() };
            for w in [&v, &long] {
                let scan = Scan::of(w);
                for rule in [None, Some(Rule::Email), Some(Rule::Mpid), Some(Rule::Plain)] {
                    proptest::prop_assert_eq!(problem_scanned(rule, w, scan), problem(rule, w));
                }
            }
        }

        #[test]
        fn byte_masks_mark_each_class_at_every_length(
            v in proptest::collection::vec(proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::sample::select(b"@. AZaz\x1f\x20\x7f\x80".to_vec()),
            ], 0..=40),
        ) {
            let got = ByteMasks::of(&v);
            if v.len() > 32 {
                proptest::prop_assert_eq!(got, None);
            } else if let Some(m) = got {
                let bits = |f: &dyn Fn(u8) -> bool| {
                    v.iter().enumerate().fold(0u32, |m, (i, &b)| m | u32::from(f(b)) << i)
                };
                proptest::prop_assert_eq!(m.len as usize, v.len());
                proptest::prop_assert_eq!(m.high, bits(&|b| b >= 0x80));
                proptest::prop_assert_eq!(m.control, bits(&|b| b < 0x20 || b == 0x7f));
                proptest::prop_assert_eq!(m.upper, bits(&|b| b.is_ascii_uppercase()));
                proptest::prop_assert_eq!(m.at, bits(&|b| b == b'@'));
                proptest::prop_assert_eq!(m.space, bits(&|b| b == b' '));
                proptest::prop_assert_eq!(m.dot, bits(&|b| b == b'.'));
            } else {
                // Only a target without the vector path has no masks.
                proptest::prop_assert!(!cfg!(target_arch = "x86_64"));
            }
        }

        #[test]
        fn email_checks_from_masks_agree_with_the_plain_ones(v in "[aZ@. ]{0,34}") {
            let scan = Scan::of(&v);
            proptest::prop_assert_eq!(
                problem_scanned(Some(Rule::Email), &v, scan),
                problem(Some(Rule::Email), &v)
            );
            if let Some(m) = scan.masks {
                proptest::prop_assert_eq!(email_problem_masks(m), email_problem(&v));
            }
        }

        #[test]
        fn ascii_fast_path_agrees_on_random_input(v in "[ab@. ]{0,12}") {
            proptest::prop_assert_eq!(email_problem_ascii(v.as_bytes()), email_problem(&v));
        }

        #[test]
        fn ascii_fast_path_agrees_on_longer_input(v in "[a@.]{0,80}") {
            proptest::prop_assert_eq!(email_problem_ascii(v.as_bytes()), email_problem(&v));
        }

        #[test]
        fn ascii_control_characters_are_found_anywhere(v in "[\\x00-\\x7f]{0,80}") {
            let control = v.chars().any(char::is_control);
            proptest::prop_assert_eq!(junk(&v).is_some(), control);
        }
    }

    #[test]
    fn invisible_characters_and_multi_line_values_are_junk() {
        // The nine an adversarial run found passing, and the classic ones.
        let invisible = [
            '\u{061C}',
            '\u{E0041}',
            '\u{3164}',
            '\u{115F}',
            '\u{2800}',
            '\u{FE0F}',
            '\u{034F}',
            '\u{2028}',
            '\u{1D173}',
            '\u{FEFF}',
            '\u{200B}',
            '\u{202E}',
            '\u{00AD}',
            '\u{2029}',
            '\u{E000}',
            '\u{FFA0}',
            '\u{E0100}',
        ];
        for c in invisible {
            let v = format!("A{c}2");
            let why = junk(&v).unwrap_or_else(|| panic!("U+{:04X} passed", u32::from(c)));
            assert!(why.contains("invisible"), "{why}");
            assert!(why.contains(&format!("U+{:04X}", u32::from(c))), "{why}");
        }
        // Unassigned today (Cn).
        assert!(junk("A\u{50000}").is_some());
        assert!(junk("A2\nA3\n").unwrap().contains("quote"));
        assert!(junk("Jos\u{e9}\nA3").unwrap().contains("quote"));
        assert_eq!(
            junk("A\u{7}2").as_deref(),
            Some("contains a control character")
        );
        assert_eq!(
            junk("a\tb").as_deref(),
            Some("contains a control character")
        );
        assert_eq!(
            junk("a\u{85}b").as_deref(),
            Some("contains a control character")
        );
        // Visible text of every script passes, combining accents and emoji included.
        for ok in [
            "Jos\u{e9}",
            "Jose\u{301}",
            "\u{5f20}\u{4f1f}",
            "\u{1F600}",
            "a b",
            "\u{D55C}",
        ] {
            assert_eq!(junk(ok), None, "{ok:?}");
        }
    }

    #[test]
    fn mpid_rules() {
        for ok in [
            "1",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
            "007",
        ] {
            assert_eq!(invalid(Rule::Mpid, ok), None, "{ok}");
        }
        for bad in [
            "1.2E+18",
            "1.5",
            "9223372036854775808",
            "-9223372036854775809",
            "+5",
            "-",
            "12a",
            "0x10",
            "-0",
            "00",
            "-000",
        ] {
            assert!(invalid(Rule::Mpid, bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn kinds_pick_rules() {
        assert_eq!(Rule::for_kind("email"), Rule::Email);
        assert_eq!(Rule::for_kind("$Email"), Rule::Email);
        assert_eq!(Rule::for_kind("other_email_address"), Rule::Email);
        assert_eq!(Rule::for_kind("MPID"), Rule::Mpid);
        assert_eq!(Rule::for_kind("customerid"), Rule::Plain);
        assert_eq!(
            invalid(Rule::Plain, &"x".repeat(1025)),
            Some("longer than 1024 bytes")
        );
        assert_eq!(invalid(Rule::Plain, &"x".repeat(1024)), None);
    }
}
