//! WhatsApp template files.
//!
//! A business-initiated WhatsApp message must name a template that Meta approved; the provider
//! receives the template name, its language code and the ordered body parameters, never free
//! text. So a `whatsapp.toml` holds exactly what was submitted for approval (`body`, with Meta's
//! `{{1}}`, `{{2}}` placeholders) plus, for each placeholder in order, the handlebars expression
//! kabar renders to fill it (`params`). The local text (for previews; never logged) is the body with the
//! rendered parameters put in, which is what the applicant sees on their phone.
//!
//! Meta's rules checked here: placeholders numbered 1..n without gaps, as many parameters as
//! placeholders, a body that neither starts nor ends with a placeholder, and parameters that are
//! not empty and hold no newline, tab or more than four spaces in a row.

use std::collections::BTreeSet;

use serde::Deserialize;

/// A parsed `whatsapp.toml`.
#[derive(Debug, Clone)]
pub(crate) struct WhatsappSpec {
    pub name: String,
    pub language: String,
    /// Handlebars sources with the 1-based line of each in the file.
    pub params: Vec<(String, usize)>,
    pub body: String,
    pub body_line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    name: String,
    language: String,
    params: Vec<toml::Spanned<String>>,
    body: toml::Spanned<String>,
}

/// Parses a spec; the error is `(line, message)`.
pub(crate) fn parse(source: &str) -> Result<WhatsappSpec, (Option<usize>, String)> {
    let file: SpecFile = toml::from_str(source).map_err(|err| {
        let line = err.span().map(|span| line_of(source, span.start));
        (line, format!("not a valid WhatsApp template file: {}", err.message()))
    })?;
    Ok(WhatsappSpec {
        name: file.name,
        language: file.language,
        params: file
            .params
            .into_iter()
            .map(|param| {
                let line = line_of(source, param.span().start);
                (param.into_inner(), line)
            })
            .collect(),
        body_line: {
            // A multi-line string starts on the line after its opening quotes.
            let start = file.body.span().start;
            let opening = &source[start.min(source.len())..];
            line_of(source, start)
                + usize::from(opening.starts_with("\"\"\"\n") || opening.starts_with("'''\n"))
        },
        body: file.body.into_inner(),
    })
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// The structural problems of a spec, each with its line.
pub(crate) fn lint(spec: &WhatsappSpec) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    let valid_name = !spec.name.is_empty()
        && spec.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        problems.push((
            1,
            format!(
                "template name {:?}: WhatsApp accepts only lower-case letters, digits and '_'",
                spec.name
            ),
        ));
    }
    let numbers: Vec<usize> = placeholders(&spec.body).map(|(_, n, _)| n).collect();
    let distinct: BTreeSet<usize> = numbers.iter().copied().collect();
    let expected: BTreeSet<usize> = (1..=spec.params.len()).collect();
    if distinct != expected {
        problems.push((
            spec.body_line,
            format!(
                "the body has placeholders {{{{{}}}}} but {} parameter(s) are listed; \
                 WhatsApp needs {{{{1}}}}..{{{{n}}}} with one parameter each, in order",
                distinct.iter().map(usize::to_string).collect::<Vec<_>>().join("}}, {{"),
                spec.params.len()
            ),
        ));
    }
    let trimmed = spec.body.trim();
    let marks: Vec<_> = placeholders(trimmed).collect();
    if marks.first().is_some_and(|&(start, _, _)| start == 0) {
        problems.push((spec.body_line, "the body must not start with a placeholder".into()));
    }
    if marks.last().is_some_and(|&(_, _, end)| end == trimmed.len()) {
        problems.push((spec.body_line, "the body must not end with a placeholder".into()));
    }
    problems
}

/// WhatsApp's limit on a template body with its parameters filled in, in characters.
pub(crate) const BODY_LIMIT: usize = 1024;

/// Why WhatsApp would refuse this filled template, with the line of the spec to point at:
/// the first bad parameter, or a body over [`BODY_LIMIT`].
pub(crate) fn message_problem(
    spec: &WhatsappSpec,
    params: &[String],
    text: &str,
) -> Option<(Option<usize>, String)> {
    for (index, value) in params.iter().enumerate() {
        if let Some(problem) = param_problem(value) {
            let line = spec.params.get(index).map(|(_, line)| *line);
            return Some((line, format!("parameter {{{{{}}}}} {problem}", index + 1)));
        }
    }
    let length = text.chars().count();
    (length > BODY_LIMIT).then(|| {
        (
            Some(spec.body_line),
            format!("the filled body is {length} characters; WhatsApp allows {BODY_LIMIT}"),
        )
    })
}

/// Staff-written text on one line with single spaces, as a WhatsApp parameter must be: a
/// broadcast typed with paragraphs would otherwise be refused by Meta.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Meta refuses a parameter that is empty or spans lines.
pub(crate) fn param_problem(value: &str) -> Option<&'static str> {
    if value.trim().is_empty() {
        Some("renders empty; WhatsApp refuses empty parameters")
    } else if value.contains(['\n', '\r', '\t']) {
        Some("renders with a newline or tab; WhatsApp parameters must be one line")
    } else if value.contains("     ") {
        Some("renders with more than four spaces in a row, which WhatsApp refuses")
    } else {
        None
    }
}

/// The body with `{{n}}` replaced by the n-th parameter.
pub(crate) fn fill(body: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(body.len() + params.iter().map(String::len).sum::<usize>());
    let mut rest = 0;
    for (start, number, end) in placeholders(body) {
        out.push_str(&body[rest..start]);
        match params.get(number - 1) {
            Some(value) => out.push_str(value),
            None => out.push_str(&body[start..end]),
        }
        rest = end;
    }
    out.push_str(&body[rest..]);
    out.trim().to_owned()
}

/// `(start, number, end)` of every `{{n}}` in `body`.
fn placeholders(body: &str) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    body.match_indices("{{").filter_map(move |(start, _)| {
        let after = &body[start + 2..];
        let close = after.find("}}")?;
        let number: usize = after[..close].trim().parse().ok()?;
        (number > 0).then_some((start, number, start + 2 + close + 2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"name = "kabar_test"
language = "id"
params = [
  "{{applicant_name}}",
  "{{office_name}}",
]
body = """
Halo {{1}}, ini {{2}}.
"""
"#;

    #[test]
    fn parses_lines_and_fills_the_body() {
        let spec = parse(SPEC).unwrap();
        assert_eq!(spec.params[0], ("{{applicant_name}}".to_owned(), 4));
        assert_eq!(spec.params[1].1, 5);
        assert_eq!(spec.body_line, 8);
        assert!(lint(&spec).is_empty(), "{:?}", lint(&spec));
        let text = fill(&spec.body, &["Budi".into(), "Kanim Palembang".into()]);
        assert_eq!(text, "Halo Budi, ini Kanim Palembang.");
    }

    #[test]
    fn count_mismatches_and_edges_are_reported() {
        let mut spec = parse(SPEC).unwrap();
        spec.body = "Halo {{1}}, ini {{3}}.".into();
        let problems = lint(&spec);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("2 parameter(s)"), "{problems:?}");
        spec.body = "{{1}} dan {{2}}".into();
        let problems: Vec<String> = lint(&spec).into_iter().map(|p| p.1).collect();
        assert!(problems.iter().any(|p| p.contains("start")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("end")), "{problems:?}");
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let (line, message) = parse("name = \"x\"\nlanguage = id\n").unwrap_err();
        assert_eq!(line, Some(2), "{message}");
    }

    #[test]
    fn parameters_must_be_one_line() {
        assert!(param_problem("Budi").is_none());
        assert!(param_problem("").is_some());
        assert!(param_problem("a\nb").is_some());
        assert!(param_problem("a      b").is_some());
    }
}
