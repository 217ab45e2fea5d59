//! Data-centre names: the city an error page shows in its middle box for a colo's IATA code
//! (`CDG` -> Paris). This module owns the table only; parsing and validating codes belongs to
//! [`crate::ray::Colo`].

use crate::ray::Colo;

/// Cloudflare data centres by IATA code, with their cities as a visitor would name them;
/// several codes may share a metro area. Grouped by region, each group in code order.
const CITIES: &[(&str, &str)] = &[
    // Europe
    ("AMS", "Amsterdam"),
    ("ARN", "Stockholm"),
    ("ATH", "Athens"),
    ("BCN", "Barcelona"),
    ("BEG", "Belgrade"),
    ("BRU", "Brussels"),
    ("BUD", "Budapest"),
    ("CDG", "Paris"),
    ("CPH", "Copenhagen"),
    ("DUB", "Dublin"),
    ("DUS", "Düsseldorf"),
    ("EDI", "Edinburgh"),
    ("FRA", "Frankfurt"),
    ("HAM", "Hamburg"),
    ("HEL", "Helsinki"),
    ("IST", "Istanbul"),
    ("KBP", "Kyiv"),
    ("LHR", "London"),
    ("LIS", "Lisbon"),
    ("LUX", "Luxembourg City"),
    ("LYS", "Lyon"),
    ("MAD", "Madrid"),
    ("MAN", "Manchester"),
    ("MRS", "Marseille"),
    ("MUC", "Munich"),
    ("MXP", "Milan"),
    ("OSL", "Oslo"),
    ("OTP", "Bucharest"),
    ("PRG", "Prague"),
    ("RIX", "Riga"),
    ("SOF", "Sofia"),
    ("TLL", "Tallinn"),
    ("VIE", "Vienna"),
    ("VNO", "Vilnius"),
    ("WAW", "Warsaw"),
    ("ZAG", "Zagreb"),
    ("ZRH", "Zurich"),
    // North America
    ("ATL", "Atlanta"),
    ("AUS", "Austin"),
    ("BNA", "Nashville"),
    ("BOS", "Boston"),
    ("BUF", "Buffalo"),
    ("CLT", "Charlotte"),
    ("CMH", "Columbus"),
    ("DEN", "Denver"),
    ("DFW", "Dallas"),
    ("DTW", "Detroit"),
    ("EWR", "Newark"),
    ("HNL", "Honolulu"),
    ("IAD", "Ashburn"),
    ("IAH", "Houston"),
    ("IND", "Indianapolis"),
    ("JAX", "Jacksonville"),
    ("LAS", "Las Vegas"),
    ("LAX", "Los Angeles"),
    ("MCI", "Kansas City"),
    ("MEM", "Memphis"),
    ("MEX", "Mexico City"),
    ("MIA", "Miami"),
    ("MSP", "Minneapolis"),
    ("ORD", "Chicago"),
    ("PDX", "Portland"),
    ("PHL", "Philadelphia"),
    ("PHX", "Phoenix"),
    ("PIT", "Pittsburgh"),
    ("QRO", "Querétaro"),
    ("SAN", "San Diego"),
    ("SEA", "Seattle"),
    ("SFO", "San Francisco"),
    ("SJC", "San Jose"),
    ("SLC", "Salt Lake City"),
    ("SMF", "Sacramento"),
    ("STL", "St. Louis"),
    ("TPA", "Tampa"),
    ("YUL", "Montréal"),
    ("YVR", "Vancouver"),
    ("YWG", "Winnipeg"),
    ("YYC", "Calgary"),
    ("YYZ", "Toronto"),
    // Latin America
    ("BOG", "Bogotá"),
    ("EZE", "Buenos Aires"),
    ("GIG", "Rio de Janeiro"),
    ("GRU", "São Paulo"),
    ("LIM", "Lima"),
    ("PTY", "Panama City"),
    ("SCL", "Santiago"),
    ("UIO", "Quito"),
    // Asia and the Middle East
    ("BKK", "Bangkok"),
    ("BLR", "Bangalore"),
    ("BOM", "Mumbai"),
    ("CGK", "Jakarta"),
    ("CMB", "Colombo"),
    ("DAC", "Dhaka"),
    ("DEL", "New Delhi"),
    ("DOH", "Doha"),
    ("DXB", "Dubai"),
    ("HAN", "Hanoi"),
    ("HKG", "Hong Kong"),
    ("HYD", "Hyderabad"),
    ("ICN", "Seoul"),
    ("KHI", "Karachi"),
    ("KIX", "Osaka"),
    ("KTM", "Kathmandu"),
    ("KUL", "Kuala Lumpur"),
    ("KWI", "Kuwait City"),
    ("MAA", "Chennai"),
    ("MNL", "Manila"),
    ("NRT", "Tokyo"),
    ("RUH", "Riyadh"),
    ("SGN", "Ho Chi Minh City"),
    ("SIN", "Singapore"),
    ("TLV", "Tel Aviv"),
    ("TPE", "Taipei"),
    // Oceania
    ("AKL", "Auckland"),
    ("BNE", "Brisbane"),
    ("MEL", "Melbourne"),
    ("PER", "Perth"),
    ("SYD", "Sydney"),
    // Africa
    ("CAI", "Cairo"),
    ("CPT", "Cape Town"),
    ("JNB", "Johannesburg"),
    ("LOS", "Lagos"),
    ("NBO", "Nairobi"),
];

/// The city of a Cloudflare data centre, or `None` for a code this table does not know (pages
/// then show the code itself).
pub fn city(colo: Colo) -> Option<&'static str> {
    CITIES
        .iter()
        .find(|(code, _)| *code == colo.as_str())
        .map(|&(_, city)| city)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colo(code: &str) -> Colo {
        code.parse().expect("test codes are valid colos")
    }

    #[test]
    fn major_data_centres_have_their_city() {
        for (code, expected) in [
            ("CDG", "Paris"),
            ("SJC", "San Jose"),
            ("LHR", "London"),
            ("FRA", "Frankfurt"),
            ("IAD", "Ashburn"),
            ("NRT", "Tokyo"),
            ("GRU", "São Paulo"),
            ("JNB", "Johannesburg"),
            ("SYD", "Sydney"),
        ] {
            assert_eq!(city(colo(code)), Some(expected), "{code}");
        }
        assert_eq!(city(Colo::DEFAULT), Some("Paris"));
    }

    #[test]
    fn unknown_code_has_no_city() {
        assert_eq!(city(colo("ZZZ")), None);
    }

    #[test]
    fn every_code_is_a_valid_colo_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for &(code, _) in CITIES {
            assert!(code.parse::<Colo>().is_ok(), "{code} is not a colo code");
            assert!(seen.insert(code), "{code} is listed twice");
        }
    }
}
