//! `kabar staff …` (accounts of people) and `kabar token …` (tokens of machines). Each write is
//! audited as `cli:<OS user>`.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::Origin;
use crate::staff::accounts::{self, parse_lifetime, NewStaff, NewToken, StaffChange};
use crate::staff::{Role, Scope, Username};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a staff account; the password is read from the first line of standard input, or
    /// prompted twice at a terminal
    Add {
        /// Login name: letters, digits, '.', '_' or '-'
        username: String,
        /// viewer, officer, supervisor or admin
        #[arg(long)]
        role: String,
        /// Office codes (PLG,GTO), region:NAME, or all
        #[arg(long, value_name = "SCOPE")]
        offices: String,
        /// The name shown to colleagues [default: the username]
        #[arg(long, value_name = "TEXT")]
        name: Option<String>,
    },
    /// List the staff accounts
    List {
        /// Print JSON lines
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: it can no longer log in
    Disable { username: String },
    /// Enable a disabled account
    Enable { username: String },
    /// Change an account's role, and optionally its offices
    SetRole {
        username: String,
        /// viewer, officer, supervisor or admin
        role: String,
        /// Office codes (PLG,GTO), region:NAME, or all [default: unchanged]
        #[arg(long, value_name = "SCOPE")]
        offices: Option<String>,
    },
    /// Set a new password (read as for `staff add`)
    ResetPassword { username: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a machine; it is printed once, as the last line of standard output
    Create {
        /// A name to recognise and revoke it by, e.g. m-paspor
        #[arg(long)]
        name: String,
        /// viewer, officer, supervisor or admin
        #[arg(long)]
        role: String,
        /// Office codes (PLG,GTO), region:NAME, or all
        #[arg(long, value_name = "SCOPE")]
        offices: String,
        /// How long it lives, e.g. 90d, 12h [default: until revoked]
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List the tokens (never their secrets)
    List {
        /// Print JSON lines
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: the next request with it is refused
    Revoke { name: String },
}

fn when(instant: Option<DateTime<Utc>>) -> String {
    instant.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

/// The password: the first line of standard input, or typed twice at a terminal.
fn read_password(username: &Username) -> anyhow::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {username}: "))?;
        let second = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ; nothing was changed");
        return Ok(first.into());
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input; pipe it as the first line");
    Ok(password.into())
}

pub(super) async fn run_staff(store: &Store, command: StaffCommand) -> anyhow::Result<ExitCode> {
    let origin = Origin::cli();
    let now = Utc::now();
    let username = |text: &str| text.parse::<Username>().context("USERNAME");
    match command {
        StaffCommand::Add { username: name, role, offices, name: display_name } => {
            let new = NewStaff {
                username: username(&name)?,
                display_name,
                role: role.parse::<Role>().context("--role")?,
                scope: offices.parse::<Scope>().context("--offices")?,
            };
            let password = read_password(&new.username)?;
            let account = accounts::add_staff(store, new, password, &origin, now).await?;
            println!(
                "added {} ({}, {} for {})",
                account.username, account.display_name, account.role, account.scope
            );
        }
        StaffCommand::List { json } => {
            let accounts = store.staff_accounts().await?;
            if json {
                for account in &accounts {
                    println!("{}", serde_json::to_string(account)?);
                }
            } else {
                let mut table = Table::new();
                table.load_preset(UTF8_FULL_CONDENSED);
                table.set_header(["username", "name", "role", "offices", "state", "created", "last login"]);
                for account in &accounts {
                    table.add_row([
                        account.username.to_string(),
                        account.display_name.clone(),
                        account.role.to_string(),
                        account.scope.to_string(),
                        if account.disabled { "disabled" } else { "active" }.to_owned(),
                        when(Some(account.created_at)),
                        when(account.last_login_at),
                    ]);
                }
                println!("{table}");
            }
        }
        StaffCommand::Disable { username: name } => {
            set_disabled(store, &username(&name)?, true, &origin, now).await?;
        }
        StaffCommand::Enable { username: name } => {
            set_disabled(store, &username(&name)?, false, &origin, now).await?;
        }
        StaffCommand::SetRole { username: name, role, offices } => {
            let change = StaffChange {
                role: Some(role.parse::<Role>().context("ROLE")?),
                scope: offices.map(|offices| offices.parse::<Scope>()).transpose().context("--offices")?,
                ..StaffChange::default()
            };
            let account =
                accounts::update_staff(store, &username(&name)?, change, None, &origin, now).await?;
            println!("{} is {} for {}", account.username, account.role, account.scope);
        }
        StaffCommand::ResetPassword { username: name } => {
            let username = username(&name)?;
            let password = read_password(&username)?;
            let account = accounts::update_staff(
                store,
                &username,
                StaffChange::default(),
                Some(password),
                &origin,
                now,
            )
            .await?;
            println!("new password set for {}", account.username);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_disabled(
    store: &Store,
    username: &Username,
    disabled: bool,
    origin: &Origin,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let change = StaffChange { disabled: Some(disabled), ..StaffChange::default() };
    let account = accounts::update_staff(store, username, change, None, origin, now).await?;
    println!("{} is {}", account.username, if account.disabled { "disabled" } else { "enabled" });
    Ok(())
}

pub(super) async fn run_token(store: &Store, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let origin = Origin::cli();
    let now = Utc::now();
    match command {
        TokenCommand::Create { name, role, offices, expires } => {
            let new = NewToken {
                name: name.parse().context("--name")?,
                role: role.parse::<Role>().context("--role")?,
                scope: offices.parse::<Scope>().context("--offices")?,
                expires_in: expires.as_deref().map(parse_lifetime).transpose()?,
            };
            let (record, token) = accounts::create_token(store, new, &origin, now).await?;
            let expires = record
                .expires_at
                .map_or("never expires".to_owned(), |at| format!("expires {}", when(Some(at))));
            println!(
                "token {} ({} for {}, {expires}); it is shown only now:",
                record.name, record.role, record.scope
            );
            println!("{}", token.expose_secret());
        }
        TokenCommand::List { json } => {
            let tokens = store.api_tokens().await?;
            if json {
                for token in &tokens {
                    println!("{}", serde_json::to_string(token)?);
                }
            } else {
                let mut table = Table::new();
                table.load_preset(UTF8_FULL_CONDENSED);
                table.set_header([
                    "name",
                    "prefix",
                    "role",
                    "offices",
                    "created by",
                    "expires",
                    "last used",
                    "revoked",
                ]);
                for token in &tokens {
                    table.add_row([
                        token.name.to_string(),
                        format!("{}…", token.prefix),
                        token.role.to_string(),
                        token.scope.to_string(),
                        token.created_by.clone(),
                        when(token.expires_at),
                        when(token.last_used_at),
                        when(token.revoked_at),
                    ]);
                }
                println!("{table}");
            }
        }
        TokenCommand::Revoke { name } => {
            let record = accounts::revoke_token(store, &name.parse().context("NAME")?, &origin, now).await?;
            println!("token {} revoked", record.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
