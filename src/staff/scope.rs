//! The offices a caller may act on.

use std::fmt;
use std::str::FromStr;

use crate::domain::{Office, OfficeCode, ParseError};
use crate::state::Target;
use crate::store::OfficeDirectory;

/// Office codes, `region:NAME` entries, or `all`, separated by commas: each entry is parsed by
/// the parser of `kabar state set`'s target ([`Target`]), so `PLG,GTO`, `region:Gorontalo` and
/// `all` mean here what they mean there, and `PLG,region:Gorontalo` combines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    all: bool,
    regions: Vec<String>,
    offices: Vec<OfficeCode>,
}

impl Scope {
    /// Every office.
    pub fn all() -> Scope {
        Scope { all: true, regions: Vec::new(), offices: Vec::new() }
    }

    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Whether `office` is in scope.
    pub fn covers(&self, office: &Office) -> bool {
        self.all
            || self.offices.contains(&office.code)
            || self.regions.iter().any(|region| region.eq_ignore_ascii_case(&office.region))
    }

    /// Whether the office with `code` is in scope; an office the directory does not know is not.
    pub fn covers_code(&self, code: &OfficeCode, offices: &OfficeDirectory) -> bool {
        self.all || offices.office(code).is_some_and(|office| self.covers(office))
    }

    /// The offices of `codes` that are out of scope, in order.
    pub fn outside(&self, codes: &[OfficeCode], offices: &OfficeDirectory) -> Vec<OfficeCode> {
        codes.iter().filter(|code| !self.covers_code(code, offices)).cloned().collect()
    }

    /// Whether every office `inner` could ever cover is covered by this scope: what an admin
    /// may grant.
    pub fn contains(&self, inner: &Scope, offices: &OfficeDirectory) -> bool {
        if self.all {
            return true;
        }
        if inner.all {
            return false;
        }
        // A region grows when offices are imported into it: only the same region covers it.
        let region_covered =
            |region: &String| self.regions.iter().any(|own| own.eq_ignore_ascii_case(region));
        inner.offices.iter().all(|code| self.covers_code(code, offices))
            && inner.regions.iter().all(region_covered)
    }

    /// Checks every entry names something the directory has: an office code it knows, a region
    /// with at least one office.
    pub fn check(&self, offices: &OfficeDirectory) -> Result<(), String> {
        for code in &self.offices {
            if offices.office(code).is_none() {
                return Err(format!(
                    "unknown office {code}; import it first with `kabar import offices`, or see `kabar state show`"
                ));
            }
        }
        for region in &self.regions {
            if !offices.offices().any(|office| office.region.eq_ignore_ascii_case(region)) {
                return Err(format!(
                    "no office is in region {region:?}; regions are written as in the office list, e.g. \
                     region:Sumatera Selatan"
                ));
            }
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = ParseError;
    fn from_str(input: &str) -> Result<Self, ParseError> {
        let mut scope = Scope { all: false, regions: Vec::new(), offices: Vec::new() };
        if input.trim().is_empty() {
            return Err(ParseError(
                "no offices given; write office codes (PLG,GTO), region:NAME, or all".to_owned(),
            ));
        }
        for entry in input.split(',') {
            match entry.parse::<Target>()? {
                Target::All => scope.all = true,
                Target::Region(region) if region.is_empty() => {
                    return Err(ParseError("region: needs a name, e.g. region:Sumatera Selatan".to_owned()))
                }
                Target::Region(region) => scope.regions.push(region),
                Target::Offices(codes) => scope.offices.extend(codes),
            }
        }
        if scope.all {
            return Ok(Scope::all());
        }
        scope.offices.sort();
        scope.offices.dedup();
        scope.regions.dedup();
        Ok(scope)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.all {
            return f.write_str("all");
        }
        let entries: Vec<String> = self
            .offices
            .iter()
            .map(ToString::to_string)
            .chain(self.regions.iter().map(|region| format!("region:{region}")))
            .collect();
        f.write_str(&entries.join(","))
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_as_state_targets() {
        assert_eq!("ALL".parse::<Scope>().unwrap(), Scope::all());
        assert_eq!("gto,PLG".parse::<Scope>().unwrap().to_string(), "GTO,PLG");
        let mixed: Scope = "PLG,region:Gorontalo".parse().unwrap();
        assert_eq!(mixed.to_string(), "PLG,region:Gorontalo");
        assert_eq!("PLG,all".parse::<Scope>().unwrap(), Scope::all());
        for wrong in ["", "PLG,,GTO", "region:", "P"] {
            assert!(wrong.parse::<Scope>().is_err(), "{wrong:?}");
        }
    }
}
