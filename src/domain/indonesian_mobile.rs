//! The usual spellings of an Indonesian mobile number (`0812…`, `+62 812…`), recognised without
//! libphonenumber's general parser: the same metadata patterns, compiled once and tried in the
//! order libphonenumber tries them. An import parses a million numbers; the general parser
//! locks a shared pattern cache and rebuilds its automata for each, most of an import's parsing
//! time. Anything this does not accept goes to libphonenumber, which then decides. What this
//! accepts, libphonenumber accepts written plainly (`+62` and the digits); it also forgives the
//! dashes after a `+` that trip the general parser (`+62812345678-9` was refused outright). The
//! property test in `phone` checks both.

use std::sync::LazyLock;

use phonenumber::metadata::{Descriptor, DATABASE};
use regex::{Regex, RegexBuilder};

/// One descriptor's test, as `Descriptor::is_match` makes it: a possible length, then the
/// pattern matching from the first digit.
struct Test {
    lengths: Vec<u16>,
    pattern: Regex,
}

impl Test {
    fn of(descriptor: &Descriptor) -> Option<Test> {
        let pattern =
            RegexBuilder::new(descriptor.national_number().as_str()).ignore_whitespace(true).build().ok()?;
        Some(Test { lengths: descriptor.possible_length().to_vec(), pattern })
    }

    fn is_match(&self, national: &str) -> bool {
        if !self.lengths.is_empty() && !self.lengths.contains(&(national.len() as u16)) {
            return false;
        }
        self.pattern.find(national).is_some_and(|found| found.start() == 0)
    }
}

/// `validator::number_type` for Indonesia, up to "mobile": the general description must match,
/// every type tried before mobile must not, and mobile must.
struct Indonesia {
    general: Test,
    before_mobile: Vec<Test>,
    mobile: Test,
}

static INDONESIA: LazyLock<Option<Indonesia>> = LazyLock::new(|| {
    let kinds = DATABASE.by_id("ID")?.descriptors();
    let earlier = [
        kinds.premium_rate(),
        kinds.toll_free(),
        kinds.shared_cost(),
        kinds.voip(),
        kinds.personal_number(),
        kinds.pager(),
        kinds.uan(),
        kinds.voicemail(),
    ];
    let before_mobile = earlier.into_iter().flatten().map(Test::of).collect::<Option<Vec<_>>>()?;
    Some(Indonesia { general: Test::of(kinds.general())?, before_mobile, mobile: Test::of(kinds.mobile()?)? })
});

/// The E.164 form of `text` (only digits, the usual separators and a leading `+`) when it is an
/// Indonesian mobile number written as `0…` or `+62…`; `None` when libphonenumber must decide.
pub(super) fn recognise(text: &str) -> Option<String> {
    let indonesia = INDONESIA.as_ref()?;
    let plus = text.starts_with('+');
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let national = match plus {
        true => digits.strip_prefix("62")?,
        false if digits.starts_with("00") => return None,
        false => digits.strip_prefix('0')?,
    };
    let mobile = national.starts_with('8')
        && indonesia.general.is_match(national)
        && !indonesia.before_mobile.iter().any(|test| test.is_match(national))
        && indonesia.mobile.is_match(national);
    mobile.then(|| format!("+62{national}"))
}
