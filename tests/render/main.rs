//! The message catalogue: rendering, wording, and an operator's overrides.

mod catalogue;
mod overrides;
mod restored;
mod support;
mod wording;
