//! Every route the control API serves, as one table: what `docs/control-api.md` documents
//! (`tests/docs.rs` checks it row by row) and what the router answers (`tests/control_api_routes.rs`
//! sends each row, and every other method on the same paths, to a running edge). The routing
//! itself is the match arms of [`super`] and its modules; a 405's `Allow` comes from this table
//! ([`allow`]), so the methods a path serves are written once.

/// One route: a method and a path pattern, `{...}` standing for one path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The request method, as sent: `GET`, `HEAD`, `POST`, `PATCH`, `DELETE`.
    pub method: &'static str,
    /// The path pattern: `/faults/{id}`. A query string is never part of it.
    pub path: &'static str,
}

const fn route(method: &'static str, path: &'static str) -> Route {
    Route { method, path }
}

/// Every route the control API serves, each method on its own row; any other method on one of
/// these paths is a 405, and any other path a 404.
pub const ROUTES: &[Route] = &[
    route("GET", "/healthz"),
    route("HEAD", "/healthz"),
    // Fault rules and recent requests: `faults`.
    route("GET", "/faults"),
    route("POST", "/faults"),
    route("DELETE", "/faults"),
    route("GET", "/faults/{id}"),
    route("DELETE", "/faults/{id}"),
    route("GET", "/requests"),
    // What edgecase observed: `observe`.
    route("GET", "/metrics"),
    route("HEAD", "/metrics"),
    route("GET", "/analytics"),
    route("HEAD", "/analytics"),
    route("GET", "/analytics.json"),
    route("HEAD", "/analytics.json"),
    route("GET", "/har"),
    route("HEAD", "/har"),
    // Scenarios: `scenarios`.
    route("GET", "/scenarios"),
    route("POST", "/scenarios"),
    route("GET", "/scenarios/{name}"),
    route("HEAD", "/scenarios/{name}"),
    route("POST", "/scenarios/{name}/start"),
    route("POST", "/scenarios/{name}/stop"),
    route("POST", "/reload"),
    // Toxiproxy's API: `toxiproxy` and `proxies`.
    route("GET", "/version"),
    route("POST", "/reset"),
    route("POST", "/populate"),
    route("GET", "/proxies"),
    route("POST", "/proxies"),
    route("GET", "/proxies/{name}"),
    route("POST", "/proxies/{name}"),
    route("PATCH", "/proxies/{name}"),
    route("DELETE", "/proxies/{name}"),
    route("GET", "/proxies/{name}/toxics"),
    route("POST", "/proxies/{name}/toxics"),
    route("GET", "/proxies/{name}/toxics/{toxic}"),
    route("POST", "/proxies/{name}/toxics/{toxic}"),
    route("PATCH", "/proxies/{name}/toxics/{toxic}"),
    route("DELETE", "/proxies/{name}/toxics/{toxic}"),
];

/// The methods [`ROUTES`] serves on the path `segments` (split at `/`, empty segments left out),
/// in the table's order and joined as `Allow` wants them: `GET, POST`. Empty for a path the table
/// does not have.
pub fn allow(segments: &[&str]) -> String {
    let methods: Vec<&str> = ROUTES
        .iter()
        .filter(|route| matches(route.path, segments))
        .map(|route| route.method)
        .collect();
    methods.join(", ")
}

/// Whether the pattern `path` (`/faults/{id}`) matches `segments`, a `{...}` taking any one.
fn matches(path: &str, segments: &[&str]) -> bool {
    let mut pattern = path.split('/').filter(|s| !s.is_empty());
    let mut given = segments.iter();
    loop {
        match (pattern.next(), given.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) if want.starts_with('{') || want == *got => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_methods_of_the_matching_pattern_in_table_order() {
        assert_eq!(allow(&["faults"]), "GET, POST, DELETE");
        assert_eq!(allow(&["faults", "7"]), "GET, DELETE");
        assert_eq!(allow(&["proxies", "db"]), "GET, POST, PATCH, DELETE");
        assert_eq!(allow(&["proxies", "db", "toxics"]), "GET, POST");
        assert_eq!(allow(&["scenarios", "x", "start"]), "POST");
        assert_eq!(allow(&["healthz"]), "GET, HEAD");
    }

    #[test]
    fn allow_is_empty_for_a_path_the_table_lacks() {
        assert_eq!(allow(&[]), "");
        assert_eq!(allow(&["faults", "7", "extra"]), "");
        assert_eq!(allow(&["proxy"]), "");
        assert_eq!(allow(&["scenarios", "x", "pause"]), "");
    }
}
