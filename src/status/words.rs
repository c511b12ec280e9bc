//! What the public reads: each service's state in plain language (what it means for an applicant,
//! DOMAIN.md "Services and who is affected"), in Bahasa Indonesia and English.

use crate::domain::{Language, Service, ServiceState};

use super::Overall;

/// The service's name on the status page, capitalised.
pub fn service_title(service: Service, language: Language) -> &'static str {
    use Language::{En, Id};
    match (service, language) {
        (Service::Registration, Id) => "Pendaftaran M-Paspor",
        (Service::Registration, En) => "M-Paspor registration",
        (Service::Biometrics, Id) => "Perekaman biometrik dan wawancara",
        (Service::Biometrics, En) => "Biometrics and interview",
        (Service::Printing, Id) => "Pencetakan paspor",
        (Service::Printing, En) => "Passport printing",
        (Service::Epassport, Id) => "Penerbitan paspor elektronik",
        (Service::Epassport, En) => "E-passport issuance",
        (Service::Express, Id) => "Paspor percepatan (satu hari jadi)",
        (Service::Express, En) => "Express (same-day) passports",
        (Service::Pickup, Id) => "Pengambilan paspor",
        (Service::Pickup, En) => "Passport pickup",
        (Service::StayPermit, Id) => "Izin tinggal (KITAS/KITAP)",
        (Service::StayPermit, En) => "Stay permits (KITAS/KITAP)",
        (Service::BorderCrossing, Id) => "Pemeriksaan perlintasan",
        (Service::BorderCrossing, En) => "Border crossing",
        (Service::Visa, Id) => "Visa",
        (Service::Visa, En) => "Visa",
        (Service::TravelBan, Id) => "Cegah dan tangkal",
        (Service::TravelBan, En) => "Travel bans",
    }
}

/// A state in one word or two.
pub fn state_label(state: ServiceState, language: Language) -> &'static str {
    use Language::{En, Id};
    match (state, language) {
        (ServiceState::Operational, Id) => "Normal",
        (ServiceState::Operational, En) => "Normal",
        (ServiceState::Degraded, Id) => "Terganggu",
        (ServiceState::Degraded, En) => "Delayed",
        (ServiceState::Unavailable, Id) => "Tidak tersedia",
        (ServiceState::Unavailable, En) => "Unavailable",
    }
}

/// An office's overall state.
pub fn overall_label(overall: Overall, language: Language) -> &'static str {
    use Language::{En, Id};
    match (overall, language) {
        (Overall::Normal, Id) => "Semua layanan normal",
        (Overall::Normal, En) => "All services normal",
        (Overall::Disrupted, Id) => "Sebagian layanan terganggu",
        (Overall::Disrupted, En) => "Some services disrupted",
        (Overall::Unavailable, Id) => "Layanan tidak tersedia",
        (Overall::Unavailable, En) => "Service unavailable",
    }
}

/// What the state means for an applicant or a traveller.
pub fn meaning(service: Service, state: ServiceState, language: Language) -> &'static str {
    use Language::{En, Id};
    use ServiceState::{Degraded, Operational, Unavailable};
    match (service, state, language) {
        (_, Operational, Id) => "Berjalan seperti biasa.",
        (_, Operational, En) => "Running as usual.",
        (Service::Registration, Degraded, Id) => {
            "Pendaftaran baru di M-Paspor lambat; jadwal yang sudah dipesan tetap berlaku."
        }
        (Service::Registration, Degraded, En) => {
            "New M-Paspor registrations are slow; bookings already made stand."
        }
        (Service::Registration, Unavailable, Id) => {
            "Pendaftaran baru di M-Paspor belum bisa dilakukan; jadwal yang sudah dipesan tetap berlaku."
        }
        (Service::Registration, Unavailable, En) => {
            "New M-Paspor registrations are not possible for now; bookings already made stand."
        }
        (Service::Biometrics, Degraded, Id) => {
            "Perekaman biometrik dan wawancara tetap berjalan sesuai jadwal, dengan antrean lebih lama."
        }
        (Service::Biometrics, Degraded, En) => {
            "Biometrics and interviews run as booked, with longer queues."
        }
        (Service::Biometrics, Unavailable, Id) => {
            "Perekaman biometrik dan wawancara tidak dapat dilayani; jangan datang dulu, jadwal Anda akan dipindahkan."
        }
        (Service::Biometrics, Unavailable, En) => {
            "Biometrics and interviews cannot be served; do not come for now, your slot will be moved."
        }
        (Service::Printing, Degraded, Id) => {
            "Permohonan dan wawancara tetap berjalan; paspor dicetak lebih lambat dari biasanya."
        }
        (Service::Printing, Degraded, En) => {
            "Applications and interviews continue; passports are printed later than usual."
        }
        (Service::Printing, Unavailable, Id) => {
            "Permohonan dan wawancara tetap berjalan; paspor belum dicetak sampai layanan pulih; tidak perlu datang untuk mengambil."
        }
        (Service::Printing, Unavailable, En) => {
            "Applications and interviews continue; passports are not printed until the service returns; no need to come to pick up."
        }
        (Service::Epassport, Degraded, Id) => {
            "Paspor elektronik diterbitkan lebih lambat; paspor biasa tidak terpengaruh."
        }
        (Service::Epassport, Degraded, En) => {
            "E-passports are issued later than usual; regular passports are not affected."
        }
        (Service::Epassport, Unavailable, Id) => {
            "Paspor elektronik belum dapat diterbitkan; wawancara tetap berjalan dan paspor biasa tetap diproses."
        }
        (Service::Epassport, Unavailable, En) => {
            "E-passports cannot be issued for now; interviews continue and regular passports are processed."
        }
        (Service::Express, Degraded, Id) => {
            "Paspor percepatan mungkin tidak selesai di hari yang sama."
        }
        (Service::Express, Degraded, En) => "Express passports may not be ready the same day.",
        (Service::Express, Unavailable, Id) => {
            "Layanan percepatan dihentikan sementara; permohonan diproses sebagai paspor biasa, atau jadwalkan ulang."
        }
        (Service::Express, Unavailable, En) => {
            "Express service is suspended; applications proceed as regular passports, or rebook."
        }
        (Service::Pickup, Degraded, Id) => "Pengambilan paspor tetap dibuka, dengan antrean lebih lama.",
        (Service::Pickup, Degraded, En) => "Passport pickup is open, with longer queues.",
        (Service::Pickup, Unavailable, Id) => {
            "Paspor belum dapat diambil; jangan datang dulu, pembukaan kembali akan diumumkan di sini."
        }
        (Service::Pickup, Unavailable, En) => {
            "Passports cannot be picked up yet; do not come for now, reopening will be announced here."
        }
        (Service::StayPermit, Degraded, Id) => "Layanan izin tinggal berjalan dengan antrean lebih lama.",
        (Service::StayPermit, Degraded, En) => "Stay permit services run with longer queues.",
        (Service::StayPermit, Unavailable, Id) => {
            "Permohonan izin tinggal (KITAS/KITAP) belum dapat dilayani; jangan datang dulu."
        }
        (Service::StayPermit, Unavailable, En) => {
            "Stay permit (KITAS/KITAP) applications cannot be served; do not come for now."
        }
        (Service::BorderCrossing, Degraded, Id) => {
            "Pemeriksaan di bandara dan pelabuhan lebih lambat; datanglah lebih awal."
        }
        (Service::BorderCrossing, Degraded, En) => {
            "Checks at the airport and seaport are slower; arrive early."
        }
        (Service::BorderCrossing, Unavailable, Id) => {
            "Pemeriksaan perlintasan berjalan manual dengan antrean panjang; datanglah jauh lebih awal."
        }
        (Service::BorderCrossing, Unavailable, En) => {
            "Border checks run by hand with long queues; arrive well ahead of time."
        }
        (Service::Visa, Degraded, Id) => "Permohonan visa diproses lebih lambat.",
        (Service::Visa, Degraded, En) => "Visa applications are processed more slowly.",
        (Service::Visa, Unavailable, Id) => "Permohonan visa belum dapat diproses.",
        (Service::Visa, Unavailable, En) => "Visa applications cannot be processed for now.",
        (Service::TravelBan, Degraded, Id) => "Pemeriksaan cegah dan tangkal lebih lambat.",
        (Service::TravelBan, Degraded, En) => "Travel ban checks are slower.",
        (Service::TravelBan, Unavailable, Id) => "Layanan cegah dan tangkal daring belum tersedia.",
        (Service::TravelBan, Unavailable, En) => "Online travel ban services are not available for now.",
    }
}
