//! The message catalogue: rendering, wording, and an operator's overrides.

mod catalogue;
mod overrides;
mod support;
mod restored;
mod wording;
