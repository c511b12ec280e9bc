//! The notice kinds: what happened, from the applicant's side.

use crate::domain::text_enum;

text_enum!(
    /// What a notice tells its reader. The planner picks the kind; the catalogue holds its words.
    NoticeKind, "notice kind" {
        AppointmentPostponed => "appointment_postponed",
        AppointmentUnchanged => "appointment_unchanged",
        IssuanceDelayed => "issuance_delayed",
        ExpressSuspended => "express_suspended",
        PickupSuspended => "pickup_suspended",
        ServiceRestored => "service_restored",
        ReadyForPickup => "ready_for_pickup",
        StatusUpdate => "status_update",
        Broadcast => "broadcast",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_ids() {
        assert_eq!(NoticeKind::ALL.len(), 9);
        for kind in NoticeKind::ALL {
            assert_eq!(kind.as_str().parse::<NoticeKind>().unwrap(), *kind);
        }
        let err = "postponed".parse::<NoticeKind>().unwrap_err().to_string();
        assert!(err.contains("appointment_postponed, appointment_unchanged"), "{err}");
    }
}
