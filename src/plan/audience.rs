//! Who hears what when a service stops (DOMAIN.md, "Services and who is affected"): each rule
//! names a notice kind and the bookings it is for. Rules are data; the store turns them into one
//! set-based statement.

use crate::domain::{Service, ServiceState, Stage};
use crate::render::NoticeKind;

/// The bookings one notice kind is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: NoticeKind,
    pub stages: &'static [Stage],
    /// Only e-passport applications (an e-passport issuance outage leaves regular ones alone).
    pub epassport_only: bool,
    /// Only bookings with the express (same-day) option.
    pub express_only: bool,
    /// Only appointments from now to the expected restoration (or the horizon).
    pub upcoming_only: bool,
}

const IN_PROCESS: &[Stage] = &[Stage::Attended, Stage::Paid, Stage::Printing];

const fn rule(kind: NoticeKind, stages: &'static [Stage], upcoming_only: bool) -> Rule {
    Rule { kind, stages, epassport_only: false, express_only: false, upcoming_only }
}

const BIOMETRICS: &[Rule] = &[rule(NoticeKind::AppointmentPostponed, &[Stage::Booked], true)];
const PRINTING: &[Rule] = &[
    rule(NoticeKind::AppointmentUnchanged, &[Stage::Booked], true),
    rule(NoticeKind::IssuanceDelayed, IN_PROCESS, false),
];
const EPASSPORT: &[Rule] = &[
    Rule { epassport_only: true, ..rule(NoticeKind::AppointmentUnchanged, &[Stage::Booked], true) },
    Rule { epassport_only: true, ..rule(NoticeKind::IssuanceDelayed, IN_PROCESS, false) },
];
const EXPRESS: &[Rule] = &[
    Rule { express_only: true, ..rule(NoticeKind::ExpressSuspended, &[Stage::Booked], true) },
    Rule { express_only: true, ..rule(NoticeKind::ExpressSuspended, IN_PROCESS, false) },
];
const PICKUP: &[Rule] = &[rule(NoticeKind::PickupSuspended, &[Stage::Ready], false)];

/// The rules of a service in a state, in priority order: an applicant matched by several rules
/// (one booking still to come, one in printing) gets the first rule's notice, listing every
/// matched booking.
///
/// Degraded biometrics, express and pickup still run (with delays), so nobody is told to stay
/// away; degraded printing or e-passport issuance delays passports just as an outage does.
/// Registration, border crossing, visa and travel bans have no booking list (status page only);
/// stay permits are booked outside M-Paspor, so kabar holds no permit bookings to notify.
pub fn rules(service: Service, state: ServiceState) -> &'static [Rule] {
    match (service, state) {
        (_, ServiceState::Operational) => &[],
        (Service::Biometrics, ServiceState::Unavailable) => BIOMETRICS,
        (Service::Printing, _) => PRINTING,
        (Service::Epassport, _) => EPASSPORT,
        (Service::Express, ServiceState::Unavailable) => EXPRESS,
        (Service::Pickup, ServiceState::Unavailable) => PICKUP,
        _ => &[],
    }
}

/// The periodic update of an open incident (the Palembang practice): everyone booked for the next
/// day at the office hears where things stand.
pub const STATUS_UPDATE: &[Rule] = &[rule(NoticeKind::StatusUpdate, &[Stage::Booked], true)];

/// The notice that closes the loop for those told of a disruption of `service`.
pub fn restoration_kind(service: Service) -> NoticeKind {
    match service {
        Service::Pickup => NoticeKind::ReadyForPickup,
        _ => NoticeKind::ServiceRestored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_is_affected_follows_the_domain_table() {
        assert!(rules(Service::Registration, ServiceState::Unavailable).is_empty());
        assert!(rules(Service::BorderCrossing, ServiceState::Unavailable).is_empty());
        assert!(rules(Service::Biometrics, ServiceState::Degraded).is_empty());
        assert_eq!(
            rules(Service::Biometrics, ServiceState::Unavailable)[0].kind,
            NoticeKind::AppointmentPostponed
        );
        assert_eq!(rules(Service::Printing, ServiceState::Degraded), PRINTING);
        assert!(rules(Service::Epassport, ServiceState::Unavailable).iter().all(|rule| rule.epassport_only));
        assert!(rules(Service::Express, ServiceState::Unavailable).iter().all(|rule| rule.express_only));
        assert_eq!(restoration_kind(Service::Pickup), NoticeKind::ReadyForPickup);
    }
}
