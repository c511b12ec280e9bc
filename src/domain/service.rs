use super::text_enum;

text_enum!(
    /// The fixed service catalogue of an immigration office (see DOMAIN.md, "Services and who is
    /// affected when one stops").
    Service, "service" {
        Registration => "registration",
        Biometrics => "biometrics",
        Printing => "printing",
        Epassport => "epassport" | "e-passport",
        Express => "express",
        Pickup => "pickup",
        StayPermit => "stay_permit" | "stay-permit",
        BorderCrossing => "border_crossing" | "border-crossing",
        Visa => "visa",
        TravelBan => "travel_ban" | "travel-ban",
    }
);

impl Service {
    /// Border checkpoints exist only at TPI offices; every other service runs at every office.
    pub fn needs_checkpoint(self) -> bool {
        matches!(self, Service::BorderCrossing)
    }
}

text_enum!(
    /// The state of one service at one office.
    ServiceState, "service state" {
        Operational => "operational" | "normal" | "up",
        Degraded => "degraded" | "slow",
        Unavailable => "unavailable" | "down",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_round_trip_through_text() {
        for service in Service::ALL {
            assert_eq!(service.as_str().parse::<Service>().unwrap(), *service);
        }
        assert_eq!(" E-Passport ".parse::<Service>().unwrap(), Service::Epassport);
        assert_eq!(Service::ALL.len(), 10);
    }

    #[test]
    fn unknown_service_lists_the_catalogue() {
        let err = "passports".parse::<Service>().unwrap_err().to_string();
        assert!(err.contains("unknown service \"passports\""), "{err}");
        assert!(err.contains("registration, biometrics, printing"), "{err}");
    }

    #[test]
    fn states_accept_plain_words() {
        assert_eq!("down".parse::<ServiceState>().unwrap(), ServiceState::Unavailable);
        assert!("broken".parse::<ServiceState>().is_err());
    }
}
