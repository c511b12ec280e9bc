//! The two handlebars registries: plain text (SMS, WhatsApp, email text and subject) that must not
//! be HTML-escaped, and HTML (email) escaped by the engine. Both strict.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonTruthy, Output, RenderContext,
    RenderErrorReason, Renderable,
};

use super::view::OPTIONAL;

pub(crate) fn text() -> Handlebars<'static> {
    let mut registry = strict();
    registry.register_escape_fn(handlebars::no_escape);
    registry
}

pub(crate) fn html() -> Handlebars<'static> {
    let mut registry = strict();
    registry.register_escape_fn(handlebars::html_escape);
    registry
}

fn strict() -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_helper("if", Box::new(StrictIf { positive: true }));
    registry.register_helper("unless", Box::new(StrictIf { positive: false }));
    registry
}

/// `if` and `unless` as built in, except that testing a variable that does not exist is an error
/// unless it is one of the documented optional ones: handlebars' own `if` quietly treats a
/// misspelt `{{#if expected_restoraton}}` as false, and the applicant silently loses a sentence.
struct StrictIf {
    positive: bool,
}

impl HelperDef for StrictIf {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let name = if self.positive { "if" } else { "unless" };
        let param = h.param(0).ok_or(RenderErrorReason::ParamNotFoundForIndex(name, 0))?;
        if param.is_value_missing() {
            let path = param.relative_path().cloned();
            let last = path.as_deref().and_then(|p| p.rsplit(['.', '/']).next()).unwrap_or_default();
            if !OPTIONAL.contains(&last) {
                return Err(RenderErrorReason::MissingVariable(path).into());
            }
        }
        let truthy = param.value().is_truthy(false) == self.positive;
        match if truthy { h.template() } else { h.inverse() } {
            Some(template) => template.render(r, ctx, rc, out),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn text_is_not_escaped_and_html_is() {
        let data = json!({"name": "Budi & <Ani>"});
        let text = super::text().render_template("{{name}}", &data).unwrap();
        let html = super::html().render_template("{{name}}", &data).unwrap();
        assert_eq!(text, "Budi & <Ani>");
        assert_eq!(html, "Budi &amp; &lt;Ani&gt;");
    }

    #[test]
    fn missing_variables_are_errors_even_in_if() {
        let registry = super::text();
        let data = json!({"office_name": "Kanim Palembang"});
        assert!(registry.render_template("{{office_nmae}}", &data).is_err());
        assert!(registry.render_template("{{#if office_nmae}}x{{/if}}", &data).is_err());
        assert!(registry.render_template("{{#unless office_nmae}}x{{/unless}}", &data).is_err());
        // A documented optional variable may be absent.
        let rendered = registry
            .render_template(
                "{{#if expected_restoration}}by {{expected_restoration}}{{else}}soon{{/if}}",
                &data,
            )
            .unwrap();
        assert_eq!(rendered, "soon");
        let nested = json!({"bookings": [{"code": "A1"}]});
        let rendered = registry
            .render_template("{{#each bookings}}{{code}}{{#if rescheduled_to}}!{{/if}}{{/each}}", &nested)
            .unwrap();
        assert_eq!(rendered, "A1");
    }
}
