//! The template files: built in, embedded in the binary, and overridden file by file from an
//! operator's directory.
//!
//! The layout is `LANG/KIND/FILE` with the files of [`Part`], plus two email layouts per language
//! (`LANG/email_layout.txt.hbs`, `LANG/email_layout.html.hbs`) that wrap every email body. Files
//! ending in `.html.hbs` are rendered with HTML escaping; all others as plain text.
//!
//! Loading never fails on a broken template: syntax errors are kept and reported by
//! [`super::check`] (all of them at once, with file and line) and by rendering that template.
//! Loading does fail on a file name that matches no built-in template, because an override that is
//! silently never used is worse than one that is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::{Context, Handlebars};
use include_dir::{include_dir, Dir};
use serde_json::Value;

use super::engine;
use super::error::{Problem, RenderError};
use super::kind::NoticeKind;
use super::view::{self, variable_names};
use super::whatsapp::{self, WhatsappSpec};
use crate::domain::{Channel, Language};

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// One template file of a notice kind in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Sms,
    Whatsapp,
    EmailSubject,
    EmailText,
    EmailHtml,
}

impl Part {
    pub const ALL: [Part; 5] =
        [Part::Sms, Part::Whatsapp, Part::EmailSubject, Part::EmailText, Part::EmailHtml];

    pub fn file_name(self) -> &'static str {
        match self {
            Part::Sms => "sms.hbs",
            Part::Whatsapp => "whatsapp.toml",
            Part::EmailSubject => "email_subject.hbs",
            Part::EmailText => "email_body.txt.hbs",
            Part::EmailHtml => "email_body.html.hbs",
        }
    }

    pub fn channel(self) -> Channel {
        match self {
            Part::Sms => Channel::Sms,
            Part::Whatsapp => Channel::Whatsapp,
            _ => Channel::Email,
        }
    }
}

/// The file of `part` for `kind` in `language`, relative to the template root.
pub fn file_key(language: Language, kind: NoticeKind, part: Part) -> String {
    format!("{language}/{kind}/{}", part.file_name())
}

/// The email layout (`html` or plain text) of `language`.
pub fn layout_key(language: Language, html: bool) -> String {
    let ext = if html { "html" } else { "txt" };
    format!("{language}/email_layout.{ext}.hbs")
}

/// Every file a complete catalogue has.
pub fn expected_files() -> Vec<String> {
    let mut files = Vec::new();
    for &language in Language::ALL {
        files.push(layout_key(language, false));
        files.push(layout_key(language, true));
        for &kind in NoticeKind::ALL {
            files.extend(Part::ALL.iter().map(|&part| file_key(language, kind, part)));
        }
    }
    files
}

/// Where a template's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    Override(PathBuf),
}

#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub text: String,
    pub origin: Origin,
}

/// The loaded, compiled templates.
#[derive(Debug)]
pub struct Catalogue {
    sources: BTreeMap<String, Source>,
    text: Handlebars<'static>,
    html: Handlebars<'static>,
    whatsapp: BTreeMap<String, WhatsappSpec>,
    /// Syntax errors found while compiling.
    broken: Vec<Problem>,
}

impl Catalogue {
    /// The templates shipped in the binary.
    pub fn builtin() -> Catalogue {
        Catalogue::compile(builtin_sources())
    }

    /// The built-in templates with every file found under `dir` (same relative path, e.g.
    /// `id/appointment_postponed/sms.hbs`) in place of the built-in one. Files that are neither
    /// `.hbs` nor `.toml` (a README, an editor's backup) are ignored, and so are hidden files and
    /// directories (`.git`, an editor's `.#sms.hbs` lock or `.sms.hbs.swp`); symbolic links are
    /// followed.
    pub fn with_overrides(dir: &Path) -> Result<Catalogue, RenderError> {
        let mut sources = builtin_sources();
        match std::fs::metadata(dir) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(RenderError::NoOverrideDir { path: dir.to_owned() })
            }
            Err(source) => return Err(RenderError::Io { path: dir.to_owned(), source }),
            Ok(_) => {}
        }
        let mut found = Vec::new();
        collect_files(dir, &mut found, &mut Vec::new())?;
        for path in found {
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            let key =
                relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            if !(key.ends_with(".hbs") || key.ends_with(".toml")) {
                continue;
            }
            if !sources.contains_key(&key) {
                return Err(RenderError::UnknownOverride { path });
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|source| RenderError::Io { path: path.clone(), source })?;
            sources.insert(key, Source { text, origin: Origin::Override(path) });
        }
        Ok(Catalogue::compile(sources))
    }

    fn compile(sources: BTreeMap<String, Source>) -> Catalogue {
        let mut catalogue = Catalogue {
            text: engine::text(),
            html: engine::html(),
            whatsapp: BTreeMap::new(),
            broken: Vec::new(),
            sources: BTreeMap::new(),
        };
        for (key, source) in &sources {
            let file = display_path(key, &source.origin);
            if key.ends_with(".toml") {
                match whatsapp::parse(&source.text) {
                    Ok(spec) => {
                        for (index, (param, line)) in spec.params.iter().enumerate() {
                            let name = param_name(key, index);
                            if let Err(err) = catalogue.text.register_template_string(&name, param) {
                                let at = err.pos().map(|(l, _)| line + l - 1).or(Some(*line));
                                catalogue.broken.push(Problem::new(&file, at, err.reason().to_string()));
                            }
                        }
                        catalogue.whatsapp.insert(key.clone(), spec);
                    }
                    Err((line, message)) => catalogue.broken.push(Problem::new(file, line, message)),
                }
                continue;
            }
            let registry = if key.ends_with(".html.hbs") { &mut catalogue.html } else { &mut catalogue.text };
            if let Err(err) = registry.register_template_string(key, &source.text) {
                let line = err.pos().map(|(line, _)| line);
                catalogue.broken.push(Problem::new(file, line, err.reason().to_string()));
            }
        }
        catalogue.sources = sources;
        catalogue
    }

    /// Where each file comes from, by its key.
    pub fn origins(&self) -> impl Iterator<Item = (&str, &Origin)> {
        self.sources.iter().map(|(k, s)| (k.as_str(), &s.origin))
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.sources.contains_key(key)
    }

    pub(crate) fn origin(&self, key: &str) -> Option<&Origin> {
        self.sources.get(key).map(|s| &s.origin)
    }

    pub(crate) fn syntax_problems(&self) -> &[Problem] {
        &self.broken
    }

    /// `templates/KEY` for a built-in file, the path on disk for an override.
    pub(crate) fn display(&self, key: &str) -> String {
        match self.sources.get(key) {
            Some(source) => display_path(key, &source.origin),
            None => format!("templates/{key}"),
        }
    }

    pub(crate) fn whatsapp(&self, key: &str) -> Result<&WhatsappSpec, RenderError> {
        self.whatsapp.get(key).ok_or_else(|| self.unusable(key))
    }

    /// Renders a plain-text template (or a WhatsApp parameter, see [`param_name`]). The view is a
    /// handlebars [`Context`] made once per message: `Registry::render` would serialize the whole
    /// view again for every template it renders.
    pub(crate) fn render_text(&self, key: &str, view: &Context) -> Result<String, RenderError> {
        self.render_with(&self.text, key, view)
    }

    pub(crate) fn render_html(&self, key: &str, view: &Context) -> Result<String, RenderError> {
        self.render_with(&self.html, key, view)
    }

    fn render_with(
        &self,
        registry: &Handlebars<'static>,
        name: &str,
        view: &Context,
    ) -> Result<String, RenderError> {
        if !registry.has_template(name) {
            return Err(self.unusable(name));
        }
        registry
            .render_with_context(name, view)
            .map_err(|err| RenderError::Template(self.problem_from(name, &err, view.data())))
    }

    fn unusable(&self, name: &str) -> RenderError {
        let key = name.split('#').next().unwrap_or(name);
        let message = if self.has(key) {
            "this template has errors; run `kabar templates check`"
        } else {
            "this template is missing from the catalogue"
        };
        RenderError::Template(Problem::new(self.display(key), None, message))
    }

    /// Turns a handlebars error into a problem at the right file and line, with a suggestion for
    /// a misspelt variable.
    fn problem_from(&self, name: &str, err: &handlebars::RenderError, view: &Value) -> Problem {
        let (key, param) = match name.split_once('#') {
            Some((key, index)) => (key, index.parse::<usize>().ok()),
            None => (name, None),
        };
        let mut line = err.line_no;
        if let (Some(index), Some(spec)) = (param, self.whatsapp.get(key)) {
            let param_line = spec.params.get(index).map(|(_, l)| *l);
            line = match (param_line, line) {
                (Some(at), Some(l)) => Some(at + l - 1),
                (at, _) => at,
            };
        }
        let message = match err.reason() {
            handlebars::RenderErrorReason::MissingVariable(Some(path)) => {
                let wanted = path.rsplit(['.', '/']).next().unwrap_or(path);
                let short = |name: &str| name.rsplit('.').next().unwrap_or(name).to_owned();
                if view::ALL.iter().any(|name| short(name) == wanted) {
                    // A real variable that this context does not have.
                    format!(
                        "variable `{path}` is not set for this notice (sample: {}); guard it \
                         with {{{{#if {wanted}}}}} or use it only in the kinds that have it",
                        variable_names(view).join(", ")
                    )
                } else {
                    let closest = view::ALL
                        .iter()
                        .map(|name| (strsim::jaro_winkler(wanted, &short(name)), name))
                        .filter(|(score, _)| *score > 0.8)
                        .max_by(|a, b| a.0.total_cmp(&b.0));
                    match closest {
                        Some((_, name)) => {
                            format!("unknown variable `{path}`; did you mean `{name}`?")
                        }
                        None => {
                            format!("unknown variable `{path}`; the variables are: {}", view::ALL.join(", "))
                        }
                    }
                }
            }
            other => other.to_string(),
        };
        Problem::new(self.display(key), line, message)
    }
}

/// The name a WhatsApp parameter is registered under: `id/kind/whatsapp.toml#0`.
pub(crate) fn param_name(key: &str, index: usize) -> String {
    format!("{key}#{index}")
}

fn display_path(key: &str, origin: &Origin) -> String {
    match origin {
        Origin::Builtin => format!("templates/{key}"),
        Origin::Override(path) => path.display().to_string(),
    }
}

fn builtin_sources() -> BTreeMap<String, Source> {
    let mut sources = BTreeMap::new();
    let mut stack = vec![&BUILTIN];
    while let Some(dir) = stack.pop() {
        for file in dir.files() {
            let key = file.path().to_string_lossy().replace('\\', "/");
            if let (true, Some(text)) =
                (key.ends_with(".hbs") || key.ends_with(".toml"), file.contents_utf8())
            {
                let source = Source { text: text.to_owned(), origin: Origin::Builtin };
                sources.insert(key, source);
            }
        }
        stack.extend(dir.dirs());
    }
    sources
}

/// The files under `dir`, following symbolic links; `ancestors` holds the real paths of the
/// directories above, so that a link back up the tree is not followed for ever.
fn collect_files(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    ancestors: &mut Vec<PathBuf>,
) -> Result<(), RenderError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| RenderError::Io { path, source }
    };
    let real = std::fs::canonicalize(dir).map_err(io(dir))?;
    if ancestors.contains(&real) {
        return Ok(());
    }
    ancestors.push(real);
    let mut entries =
        std::fs::read_dir(dir).map_err(io(dir))?.collect::<Result<Vec<_>, _>>().map_err(io(dir))?;
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        // Hidden: `.git`, editors' lock files (`.#sms.hbs`, often a dangling link) and swap files.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // `metadata` follows links, where `DirEntry::file_type` would report the link itself.
        if std::fs::metadata(&path).map_err(io(&path))?.is_dir() {
            collect_files(&path, out, ancestors)?;
        } else {
            out.push(path);
        }
    }
    ancestors.pop();
    Ok(())
}
