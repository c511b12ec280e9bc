//! The admin pages render with sample data in both languages: hostile names escaped, field
//! errors beside their fields, the audit chain intact and broken.

use chrono::{TimeZone as _, Utc};
use serde_json::{json, Value};

use super::{directory, HOSTILE};
use crate::domain::Language;
use crate::http::console::pages::{Frame, Viewer};
use crate::staff::Role;

/// The admin pages, with sample data (hostile names, field errors, a broken chain), in `language`.
fn admin_pages(language: Language) -> Vec<(&'static str, String)> {
    use crate::audit::{AuditProblem, AuditRecord, AuditVerification};
    use crate::http::console::admin::{audit, staff, tokens, FieldErrors};
    let frame = Frame {
        language,
        viewer: Some(Viewer { name: "Adi".into(), role: Role::Admin, csrf: "t0k3n".into() }),
    };
    let at = Utc.with_ymd_and_hms(2024, 6, 20, 3, 0, 0).unwrap();
    let account = crate::staff::StaffAccount {
        username: "ani".parse().unwrap(),
        display_name: HOSTILE.into(),
        role: Role::Officer,
        scope: "PLG".parse().unwrap(),
        disabled: true,
        created_at: at,
        last_login_at: Some(at),
    };
    let token = crate::staff::TokenRecord {
        id: 1,
        name: "mpaspor-sync".parse().unwrap(),
        prefix: "kbr_abcd".into(),
        role: Role::Viewer,
        scope: "PLG".parse().unwrap(),
        created_by: "staff:adi".into(),
        created_at: at,
        expires_at: Some(Utc.with_ymd_and_hms(2099, 1, 1, 3, 0, 0).unwrap()),
        last_used_at: None,
        revoked_at: None,
    };
    let mut errors = FieldErrors::default();
    errors.add(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "offices", HOSTILE);
    errors.add(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "password_again", "differ");
    let add = staff::AddForm {
        username: HOSTILE.into(),
        name: String::new(),
        role: "admin".into(),
        offices: "GTO".into(),
    };
    let record = |id: i64, offices: &[&str]| AuditRecord {
        id,
        at,
        actor: "staff:adi".into(),
        action: "staff.add".into(),
        target: HOSTILE.into(),
        offices: offices.iter().map(|code| code.to_string()).collect(),
        request_id: None,
        client: Some("127.0.0.1".into()),
        summary: json!({"after": HOSTILE}),
        prev_hash: String::new(),
        hash: String::new(),
    };
    let rows = vec![record(9, &["GTO"]), record(8, &["PLG", "GTO"]), record(7, &[])];
    let broken = AuditVerification { rows: 4, head: 9, problem: Some(AuditProblem::Altered { id: 5 }) };
    let intact = AuditVerification { rows: 9, head: 9, problem: None };
    let form = audit::AuditForm { actor: HOSTILE.into(), from: "2024-06-20".into(), ..Default::default() };
    let render = |name: &'static str, data: Value| (name, frame.render(name, "title", data).0);
    let none = FieldErrors::default();
    vec![
        render(
            "admin_staff",
            staff::list_data(language, std::slice::from_ref(&account), &add, &errors, Some("added")),
        ),
        render(
            "admin_account",
            staff::account_data(language, &account, Some(("root", "all")), &errors, None),
        ),
        render(
            "admin_tokens",
            tokens::list_data(language, std::slice::from_ref(&token), &Default::default(), &errors, None),
        ),
        render(
            "admin_token_created",
            tokens::created_data(language, &token, &"kbr_s3cr3t".to_owned().into()),
        ),
        render(
            "admin_audit",
            audit::log_data(language, &directory(), &rows, Some(7), &form, &none, Some(&broken)),
        ),
        render(
            "admin_audit",
            audit::log_data(language, &directory(), &[], None, &form, &errors, Some(&intact)),
        ),
    ]
}

#[test]
fn the_admin_pages_render_with_sample_data_in_both_languages() {
    for language in [Language::Id, Language::En] {
        for (name, html) in admin_pages(language) {
            let document = scraper::Html::parse_document(&html);
            assert!(document.errors.is_empty(), "{name} ({language}): {:?}\n{html}", document.errors);
            assert!(html.contains(&format!("<html lang=\"{}\">", language.as_str())), "{name}");
            assert!(!html.contains("<script"), "{name}: staff text must be escaped\n{html}");
            assert!(!html.contains("style="), "{name}: no inline style");
            assert!(html.contains("id=\"nav-admin\""), "{name}: the admin's nav link");
        }
    }
    let pages = admin_pages(Language::Id);
    let staff = &pages[0].1;
    assert!(staff.contains("data-username=\"ani\"") && staff.contains("Nonaktif"), "{staff}");
    assert!(staff.contains("id=\"offices-error\"") && staff.contains("id=\"password_again-error\""));
    assert!(staff.matches("autocomplete=\"new-password\"").count() == 2, "both password fields");
    assert!(staff.contains("2024-06-20 10:00 WIB"), "the last login, in WIB");
    let account = &pages[1].1;
    assert!(account.contains("value=\"all\"") && account.contains("/console/admin/staff/ani/enable"));
    let tokens = &pages[2].1;
    assert!(tokens.contains("id=\"revoke-mpaspor-sync\"") && tokens.contains("2099-01-01 10:00 WIB"));
    let created = &pages[3].1;
    assert!(created.contains("kbr_s3cr3t") && created.contains("tidak akan ditampilkan lagi"));
    let audit = &pages[4].1;
    assert!(audit.contains("2024-06-20 11:00 WITA"), "a GTO row in WITA: {audit}");
    assert!(audit.contains("2024-06-20 10:00 WIB"), "rows of several or no offices in WIB");
    assert!(audit.contains("data-intact=\"false\"") && audit.contains("#5"), "{audit}");
    assert!(audit.contains("id=\"older\"") && audit.contains("before"), "{audit}");
    assert!(pages[5].1.contains("data-intact=\"true\"") && pages[5].1.contains("id=\"no-rows\""));
}
