//! The bottom layer of the crate: small formatters and facts every stage shares (clock formats,
//! HTML escaping, the status of each 1xxx error, the open-file limit). Nothing here names another module of the crate, so any module may use it without
//! a cycle; what to show and when is decided by the callers.

pub mod fd_limit;
pub mod html;
pub mod numbered;
pub mod time;
