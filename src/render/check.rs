//! `kabar templates check`: every template of every kind, channel and language, rendered against
//! the sample data, with every problem reported at once as `file:line: message`.

use std::collections::BTreeSet;

use super::catalogue::{expected_files, file_key, Catalogue, Origin, Part};
use super::error::{Problem, RenderError};
use super::kind::NoticeKind;
use super::whatsapp;
use super::{render, samples, sms, Encoding, Rendered};
use crate::domain::{Channel, Language};

/// An SMS may cost at most this many GSM-7 segments.
pub const SMS_SEGMENT_BUDGET: usize = 2;

/// Every problem of the catalogue, sorted by file and line; empty when it is fit to ship.
pub fn check(catalogue: &Catalogue) -> Vec<Problem> {
    let mut problems: BTreeSet<Problem> = catalogue.syntax_problems().iter().cloned().collect();
    let broken: BTreeSet<String> = problems.iter().map(|p| p.file.clone()).collect();

    for key in expected_files() {
        if !catalogue.has(&key) {
            problems.insert(Problem::new(
                catalogue.display(&key),
                None,
                "missing: every notice kind needs sms, whatsapp and email files in id and en",
            ));
        }
    }
    problems.extend(one_sided_overrides(catalogue));
    problems.extend(whatsapp_structure(catalogue));

    for &kind in NoticeKind::ALL {
        for (label, context) in samples::variants(kind) {
            for &language in Language::ALL {
                for &channel in Channel::ALL {
                    let problem = match render(catalogue, kind, channel, language, &context) {
                        Err(err) => Some(render_problem(catalogue, kind, channel, language, err, &label)),
                        Ok(rendered) => over_limits(catalogue, kind, language, &rendered, &label),
                    };
                    // A file that does not compile was reported once already.
                    if let Some(problem) = problem.filter(|p| !broken.contains(&p.file)) {
                        problems.insert(problem);
                    }
                }
            }
        }
    }
    problems.into_iter().collect()
}

/// A failed rendering as a problem: template errors already name their file and line; any other
/// error is reported against the file of the channel that failed.
fn render_problem(
    catalogue: &Catalogue,
    kind: NoticeKind,
    channel: Channel,
    language: Language,
    err: RenderError,
    sample: &str,
) -> Problem {
    match err {
        RenderError::Template(problem) => problem,
        RenderError::Unsendable(mut problem) => {
            problem.message = format!("{} (sample: {sample})", problem.message);
            problem
        }
        other => {
            let part = match channel {
                Channel::Sms => Part::Sms,
                Channel::Whatsapp => Part::Whatsapp,
                Channel::Email => Part::EmailText,
            };
            Problem::new(
                catalogue.display(&file_key(language, kind, part)),
                None,
                format!("{other} (sample: {sample})"),
            )
        }
    }
}

/// An operator who changes the Indonesian text and forgets the English one leaves English
/// readers with the old words: both language variants of a file are overridden, or neither.
fn one_sided_overrides(catalogue: &Catalogue) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (key, origin) in catalogue.origins() {
        let Origin::Override(path) = origin else {
            continue;
        };
        let Some((language, rest)) = key.split_once('/') else {
            continue;
        };
        for &other in Language::ALL {
            if other.as_str() == language {
                continue;
            }
            let counterpart = format!("{other}/{rest}");
            if matches!(catalogue.origin(&counterpart), Some(Origin::Builtin)) {
                problems.push(Problem::new(
                    path.display().to_string(),
                    None,
                    format!(
                        "overridden in {language:?} only; readers in {:?} still get the built-in \
                         text: override {counterpart} too",
                        other.as_str()
                    ),
                ));
            }
        }
    }
    problems
}

fn whatsapp_structure(catalogue: &Catalogue) -> Vec<Problem> {
    let mut problems = Vec::new();
    for &language in Language::ALL {
        for &kind in NoticeKind::ALL {
            let key = file_key(language, kind, Part::Whatsapp);
            let Ok(spec) = catalogue.whatsapp(&key) else {
                continue;
            };
            let file = catalogue.display(&key);
            for (line, message) in whatsapp::lint(spec) {
                problems.push(Problem::new(&file, Some(line), message));
            }
            let code = language.as_str();
            if spec.language != code && !spec.language.starts_with(&format!("{code}_")) {
                problems.push(Problem::new(
                    &file,
                    None,
                    format!(
                        "language {:?} does not match the folder {code:?}; use {code:?} or a \
                         regional code such as {code}_XX",
                        spec.language
                    ),
                ));
            }
        }
    }
    problems
}

fn over_limits(
    catalogue: &Catalogue,
    kind: NoticeKind,
    language: Language,
    rendered: &Rendered,
    sample: &str,
) -> Option<Problem> {
    match rendered {
        Rendered::Sms(message) => {
            let file = catalogue.display(&file_key(language, kind, Part::Sms));
            if message.encoding == Encoding::Ucs2 {
                let culprit = sms::first_non_gsm(&message.text).unwrap_or('?');
                return Some(Problem::new(
                    file,
                    None,
                    format!(
                        "renders as {} because of {culprit:?} (sample: {sample}); use GSM-7 \
                         characters only",
                        super::segment_cost(message.encoding, message.segments)
                    ),
                ));
            }
            (message.segments > SMS_SEGMENT_BUDGET).then(|| {
                Problem::new(
                    file,
                    None,
                    format!(
                        "renders to {} GSM-7 segments ({} septets) with sample \"{sample}\"; the \
                         budget is {SMS_SEGMENT_BUDGET} segments (306 septets): shorten the text",
                        message.segments, message.units
                    ),
                )
            })
        }
        // `render` refuses a WhatsApp message Meta would refuse (`RenderError::Unsendable`).
        Rendered::Whatsapp(_) => None,
        Rendered::Email(message) => message.subject.is_empty().then(|| {
            Problem::new(
                catalogue.display(&file_key(language, kind, Part::EmailSubject)),
                None,
                "the subject renders empty",
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_errors_are_reported_against_the_file_of_their_channel() {
        let catalogue = Catalogue::builtin();
        for (channel, file) in [
            (Channel::Sms, "templates/en/broadcast/sms.hbs"),
            (Channel::Whatsapp, "templates/en/broadcast/whatsapp.toml"),
            (Channel::Email, "templates/en/broadcast/email_body.txt.hbs"),
        ] {
            let problem = render_problem(
                &catalogue,
                NoticeKind::Broadcast,
                channel,
                Language::En,
                RenderError::NoUnsubscribeLink,
                "lean",
            );
            assert_eq!(problem.file, file, "{channel}");
            assert!(problem.message.contains("unsubscribe"), "{problem}");
            assert!(problem.message.ends_with("(sample: lean)"), "{problem}");
        }
    }
}
