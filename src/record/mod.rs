//! What a request leaves behind, written by the visitor and origin sides and read by the
//! observers, owned by neither: the [`finished::Finished`] record of each request, the
//! origin's [`ExchangeFacts`], the open-connection count ([`connections`]) and a scenario
//! phase's tally ([`tally`]). It names only the layers below it (config, base, ray).

pub mod connections;
pub mod exchange;
pub mod finished;
pub mod tally;

pub use exchange::ExchangeFacts;
