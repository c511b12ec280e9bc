//! Operators' override directories: a broken or misspelt template is reported with its file and
//! line by `check`, and refused at render time instead of sending a message with a hole in it.

use std::fs;
use std::path::Path;

use kabar::domain::{Channel, Language};
use kabar::render::{check, render, samples, Catalogue, NoticeKind, Origin, Problem, RenderError, Rendered};

fn write(dir: &Path, relative: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_misspelt_variable_in_an_override_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let sms = "{{office_short}}: layanan {{service_short}} terhenti.\nJangan datang. Info {{office_phnoe}}\n";
    let id_path = write(dir.path(), "id/appointment_postponed/sms.hbs", sms);
    write(
        dir.path(),
        "en/appointment_postponed/sms.hbs",
        "{{office_short}}: {{service_short}} stopped. Do not come. Info {{office_contact}}\n",
    );
    let catalogue = Catalogue::with_overrides(dir.path()).unwrap();

    let problems = check(&catalogue);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert_eq!(problem.file, id_path.display().to_string());
    assert_eq!(problem.line, Some(2));
    assert!(problem.message.contains("office_phnoe"), "{problem}");
    assert!(problem.message.contains("did you mean `office_phone`"), "{problem}");
    assert!(problem.to_string().starts_with(&format!("{}:2: ", id_path.display())), "{problem}");

    // Rendering it for real fails the same way instead of sending "Info ".
    let context = samples::context(NoticeKind::AppointmentPostponed);
    let err = render(&catalogue, NoticeKind::AppointmentPostponed, Channel::Sms, Language::Id, &context)
        .unwrap_err();
    assert!(matches!(&err, RenderError::Template(p) if p == problem), "{err}");
    // The English override is in use and the other files are still the built-in ones.
    let Rendered::Sms(en) =
        render(&catalogue, NoticeKind::AppointmentPostponed, Channel::Sms, Language::En, &context).unwrap()
    else {
        panic!("not an SMS");
    };
    assert_eq!(
        en.text,
        "Kanim Soekarno-Hatta: biometrics & interview stopped. Do not come. Info (021) 5507 0000"
    );
    assert!(render(&catalogue, NoticeKind::AppointmentPostponed, Channel::Whatsapp, Language::Id, &context)
        .is_ok());
}

#[test]
fn a_misspelt_if_is_reported_not_silently_false() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "Layanan {{service}} terhenti.\n\n{{#if expected_restorasi}}Pulih {{expected_restoration}}.{{/if}}\n";
    let path = write(dir.path(), "id/issuance_delayed/email_body.txt.hbs", text);
    write(dir.path(), "en/issuance_delayed/email_body.txt.hbs", "The {{service}} service stopped.\n");
    let problems = check(&Catalogue::with_overrides(dir.path()).unwrap());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!((problems[0].file.as_str(), problems[0].line), (path.to_str().unwrap(), Some(3)));
    assert!(problems[0].message.contains("expected_restorasi"), "{}", problems[0]);
}

#[test]
fn whatsapp_overrides_are_checked_for_parameter_counts_and_variables() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "name = \"kabar_broadcast\"\nlanguage = \"id\"\nparams = [\n  '{{applicant_name}}',\n  '{{sendr}}',\n  '{{broadcast_text}}',\n]\nbody = \"\"\"\nHalo {{1}}, dari {{2}}: {{4}}. Terima kasih.\n\"\"\"\n";
    let path = write(dir.path(), "id/broadcast/whatsapp.toml", spec);
    write(dir.path(), "en/broadcast/whatsapp.toml", &spec.replace("\"id\"", "\"en\""));
    let problems = check(&Catalogue::with_overrides(dir.path()).unwrap());
    let file = path.display().to_string();
    let mine: Vec<&Problem> = problems.iter().filter(|p| p.file == file).collect();
    assert!(mine.iter().any(|p| p.line == Some(9) && p.message.contains("3 parameter(s)")), "{mine:#?}");
    assert!(
        mine.iter().any(|p| p.line == Some(5) && p.message.contains("did you mean `sender`")),
        "{mine:#?}"
    );
}

#[test]
fn syntax_errors_unknown_files_and_one_sided_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        write(dir.path(), "id/status_update/sms.hbs", "{{office_short}}:\n{{#if service}}masih terganggu\n");
    let problems = check(&Catalogue::with_overrides(dir.path()).unwrap());
    let file = path.display().to_string();
    assert!(problems.iter().any(|p| p.file == file && p.line.is_some()), "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.file == file && p.message.contains("override en/status_update/sms.hbs too")),
        "{problems:#?}"
    );

    let typo = tempfile::tempdir().unwrap();
    write(typo.path(), "id/appointment_postpned/sms.hbs", "x");
    write(typo.path(), "README.md", "notes for the operators");
    let err = Catalogue::with_overrides(typo.path()).unwrap_err();
    assert!(matches!(err, RenderError::UnknownOverride { .. }), "{err}");
    assert!(err.to_string().contains("appointment_postpned"), "{err}");
}

#[test]
fn a_whatsapp_parameter_that_renders_empty_is_refused_at_render_time() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "name = \"kabar_broadcast\"\nlanguage = \"id\"\nparams = [\n  '{{applicant_name}}',\n  '{{#if reason}}{{reason}}{{/if}}',\n]\nbody = \"\"\"\nHalo {{1}}, karena {{2}}. Terima kasih.\n\"\"\"\n";
    let path = write(dir.path(), "id/broadcast/whatsapp.toml", spec);
    write(dir.path(), "en/broadcast/whatsapp.toml", &spec.replace("\"id\"", "\"en\""));
    let catalogue = Catalogue::with_overrides(dir.path()).unwrap();
    let mut context = samples::context(NoticeKind::Broadcast);
    context.reason = None;
    let err =
        render(&catalogue, NoticeKind::Broadcast, Channel::Whatsapp, Language::Id, &context).unwrap_err();
    let RenderError::Unsendable(problem) = &err else {
        panic!("{err:?}");
    };
    assert_eq!((problem.file.as_str(), problem.line), (path.to_str().unwrap(), Some(5)));
    assert!(problem.message.contains("{{2}} renders empty"), "{err}");

    // `check` finds the same, with the sample that shows it.
    let problems = check(&catalogue);
    assert!(
        problems.iter().any(|p| p.file == problem.file
            && p.line == Some(5)
            && p.message.contains("renders empty")
            && p.message.contains("sample: one booking")),
        "{problems:#?}"
    );
}

#[test]
fn a_missing_override_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("templat");
    let err = Catalogue::with_overrides(&missing).unwrap_err();
    assert!(matches!(err, RenderError::NoOverrideDir { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&missing.display().to_string()) && message.contains("does not exist"),
        "{message}"
    );
}

#[test]
fn hidden_files_and_editor_locks_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "id/broadcast/.sms.hbs.swp", "binary swap");
    write(dir.path(), "id/broadcast/.sms.hbs", "{{office_short}} hidden");
    write(dir.path(), ".git/templates/sms.hbs", "not a template");
    write(dir.path(), ".DS_Store", "");
    #[cfg(unix)]
    std::os::unix::fs::symlink("kabar@laptop.12345:1719000000", dir.path().join("id/broadcast/.#sms.hbs"))
        .unwrap();
    let catalogue = Catalogue::with_overrides(dir.path()).unwrap();
    assert!(
        catalogue.origins().all(|(_, origin)| matches!(origin, Origin::Builtin)),
        "a hidden file was used as an override"
    );
}

#[cfg(unix)]
#[test]
fn symbolic_links_to_files_and_directories_are_followed() {
    let shared = tempfile::tempdir().unwrap();
    write(
        shared.path(),
        "id/ready_for_pickup/sms.hbs",
        "{{office_short}}: paspor {{booking_codes}} siap diambil.",
    );
    let en_sms =
        write(shared.path(), "en-source/sms.hbs", "{{office_short}}: passport {{booking_codes}} is ready.");
    let dir = tempfile::tempdir().unwrap();
    // A linked language directory, and a linked file inside a real one.
    std::os::unix::fs::symlink(shared.path().join("id"), dir.path().join("id")).unwrap();
    fs::create_dir_all(dir.path().join("en/ready_for_pickup")).unwrap();
    std::os::unix::fs::symlink(&en_sms, dir.path().join("en/ready_for_pickup/sms.hbs")).unwrap();
    // A link back up the tree is not followed for ever.
    std::os::unix::fs::symlink(dir.path(), dir.path().join("en/ready_for_pickup/loop")).unwrap();

    let catalogue = Catalogue::with_overrides(dir.path()).unwrap();
    let overridden: Vec<&str> = catalogue
        .origins()
        .filter(|(_, origin)| matches!(origin, Origin::Override(_)))
        .map(|(key, _)| key)
        .collect();
    assert_eq!(overridden, ["en/ready_for_pickup/sms.hbs", "id/ready_for_pickup/sms.hbs"]);
    let context = samples::context(NoticeKind::ReadyForPickup);
    let Rendered::Sms(sms) =
        render(&catalogue, NoticeKind::ReadyForPickup, Channel::Sms, Language::Id, &context).unwrap()
    else {
        panic!("not an SMS");
    };
    assert!(sms.text.ends_with("siap diambil."), "{}", sms.text);
}
