//! [`Route`]: the soak's traffic mix. Each route is a path prefix, the origin behind it (one
//! `[[route]]` table in edgecase's config), how often visitors ask for it, and what edgecase
//! answers there when no fault rule interferes.

use std::net::SocketAddr;

use crate::origins::Origins;

/// One kind of request in the mix.
#[derive(Clone, Debug)]
pub struct Route {
    /// A short name for the report.
    pub name: &'static str,
    /// The path prefix visitors ask for (and the `[[route]]` matches).
    pub path: &'static str,
    /// Its share of the traffic, relative to the other routes' weights.
    pub weight: u64,
    /// What edgecase answers there without a fault rule, for the report.
    pub expect: &'static str,
    /// The `[[route]]`'s origin; `None`: no `[[route]]` table (edgecase answers itself).
    pub origin: Option<String>,
    /// The `[[route]]`'s `ssl` mode, when not the default.
    pub ssl: Option<&'static str>,
    /// Whether some of its requests are POSTs with a body.
    pub uploads: bool,
    /// Whether its requests carry [`FAULTABLE_HEADER`], which the fault rules meant for every
    /// route match on. The healthy route's requests do not, and no rule names its path: it is
    /// the control, where anything but a 200 is edgecase's own doing.
    pub faultable: bool,
}

/// The request header that makes a request eligible for the rules aimed at every route.
pub const FAULTABLE_HEADER: &str = "x-soak-faultable";

/// The name of the control route (see [`Route::faultable`]).
pub const CONTROL: &str = "healthy";

/// A name no static entry answers and the system resolver is not asked about.
pub const UNRESOLVABLE: &str = "nowhere.soak.test:80";

/// Every route, most traffic on the healthy ones, every failure class present.
pub fn all(origins: &Origins, untrusted_tls: SocketAddr) -> Vec<Route> {
    let to = |name, path, weight, expect, origin: SocketAddr| Route {
        name,
        path,
        weight,
        expect,
        origin: Some(origin.to_string()),
        ssl: None,
        uploads: false,
        faultable: true,
    };
    vec![
        Route {
            uploads: true,
            faultable: false,
            ..to(CONTROL, "/ok/", 30, "200 only", origins.healthy)
        },
        Route {
            uploads: true,
            ..to(
                "faulted",
                "/faulted/",
                12,
                "200 or a fault",
                origins.healthy,
            )
        },
        to("slow body", "/slow-body/", 8, "200", origins.slow_body),
        to("refused", "/refused/", 5, "521", origins.refusing),
        to("blackhole", "/blackhole/", 5, "522", origins.blackhole),
        to("silent", "/silent/", 5, "524", origins.silent),
        to("empty reply", "/empty/", 5, "520", origins.empty),
        to("garbage", "/garbage/", 5, "520", origins.garbage),
        to("oversized head", "/oversized/", 5, "520", origins.oversized),
        Route {
            origin: Some(UNRESOLVABLE.to_owned()),
            ..to("dns", "/dns/", 4, "530", origins.healthy)
        },
        Route {
            ssl: Some("strict"),
            ..to(
                "tls handshake",
                "/tls-handshake/",
                4,
                "525",
                origins.plain_http,
            )
        },
        Route {
            ssl: Some("strict"),
            ..to("tls untrusted", "/tls-untrusted/", 4, "526", untrusted_tls)
        },
        Route {
            origin: None,
            ..to("trace", "/cdn-cgi/trace", 2, "200", origins.healthy)
        },
    ]
}

/// The `[[route]]` tables for `routes`, in order.
pub fn config_tables(routes: &[Route]) -> String {
    let mut text = String::new();
    for route in routes {
        let Some(origin) = &route.origin else {
            continue;
        };
        text.push_str(&format!(
            "\n[[route]]\npath_prefix = \"{}\"\norigin = \"{origin}\"\n",
            route.path
        ));
        if let Some(ssl) = route.ssl {
            text.push_str(&format!("ssl = \"{ssl}\"\n"));
        }
    }
    text
}
