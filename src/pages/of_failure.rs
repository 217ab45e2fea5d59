//! Which page each [`OriginFailure`] gets. The mapping lives here, beside the pages, so a
//! failure names no page: the failure module says what went wrong and with which status,
//! this one how Cloudflare shows it (the branded page with the hop that failed, the 1xxx page,
//! or the unbranded one).

use crate::failure::OriginFailure;

use super::{Hop, PageKind};

impl PageKind {
    /// The page a visitor gets for `failure`.
    pub fn of(failure: &OriginFailure) -> PageKind {
        let host_failed = |status| PageKind::Branded {
            status,
            failing: Hop::Host,
        };
        match failure {
            OriginFailure::Unknown(_)
            | OriginFailure::Refused(_)
            | OriginFailure::ConnectTimeout { .. }
            | OriginFailure::AckTimeout { .. }
            | OriginFailure::Unreachable(_)
            | OriginFailure::ReadTimeout { .. }
            | OriginFailure::WriteTimeout { .. }
            | OriginFailure::TlsHandshake(_)
            | OriginFailure::InvalidCertificate(_)
            | OriginFailure::Gateway { .. }
            | OriginFailure::Railgun(_) => host_failed(failure.status()),
            OriginFailure::Dns(_) => PageKind::Numbered {
                status: 530,
                code: 1016,
            },
            OriginFailure::VisitorBody(_) => PageKind::Unbranded { status: 400 },
            OriginFailure::BodyTooLarge { .. } => PageKind::Unbranded { status: 413 },
            OriginFailure::Internal(_) | OriginFailure::Edge { status: 500 } => PageKind::Branded {
                status: 500,
                failing: Hop::Cloudflare,
            },
            OriginFailure::Edge { status } => PageKind::Unbranded { status: *status },
            OriginFailure::Numbered { status, code } => PageKind::Numbered {
                status: *status,
                code: *code,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use crate::failure::{DnsCause, DnsFailure, OriginFailure, Unknown};

    use super::{Hop, PageKind};

    #[test]
    fn each_origin_failure_gets_the_branded_page_with_the_failing_hop() {
        let io = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let after = Duration::from_secs(1);
        let cases = [
            (OriginFailure::Unknown(Unknown::EmptyReply), 520, Hop::Host),
            (OriginFailure::Refused(io()), 521, Hop::Host),
            (OriginFailure::ConnectTimeout { after }, 522, Hop::Host),
            (OriginFailure::AckTimeout { after }, 522, Hop::Host),
            (OriginFailure::Unreachable(io()), 523, Hop::Host),
            (OriginFailure::ReadTimeout { after }, 524, Hop::Host),
            (OriginFailure::WriteTimeout { after }, 524, Hop::Host),
            (OriginFailure::Gateway { status: 502 }, 502, Hop::Host),
            (OriginFailure::Gateway { status: 504 }, 504, Hop::Host),
            (OriginFailure::Internal(io()), 500, Hop::Cloudflare),
        ];
        for (failure, status, failing) in cases {
            assert_eq!(
                PageKind::of(&failure),
                PageKind::Branded { status, failing },
                "{failure}"
            );
        }
    }

    #[test]
    fn dns_failure_gets_the_1016_page() {
        let failure = OriginFailure::Dns(DnsFailure {
            name: "nowhere.test".into(),
            cause: DnsCause::NotInStaticHosts,
        });
        assert_eq!(
            PageKind::of(&failure),
            PageKind::Numbered {
                status: 530,
                code: 1016
            }
        );
    }

    #[test]
    fn visitor_side_failures_get_the_unbranded_page() {
        let failure = OriginFailure::BodyTooLarge { limit: 1 };
        assert_eq!(PageKind::of(&failure), PageKind::Unbranded { status: 413 });
    }
}
