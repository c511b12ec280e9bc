//! Any text through the SMS normaliser and segment counter: the counts hold together.
#![no_main]

use kabar::render::sms::{normalise, segment};
use kabar::render::Encoding;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let normal = normalise(&text);
    assert_eq!(normalise(&normal), normal, "normalising twice changes nothing");
    let cost = segment(&normal);
    let (single, multi) = match cost.encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    assert!(cost.segments >= 1);
    if cost.units <= single {
        assert_eq!(cost.segments, 1);
    } else {
        // Each part but the last is at least one unit short of full at worst (a pair moved on).
        assert!(cost.segments * multi >= cost.units && (cost.segments - 1) * (multi - 1) < cost.units);
    }
    assert!(cost.units >= cost.characters || cost.encoding == Encoding::Ucs2);
});
