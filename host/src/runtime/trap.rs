//! The traps the host raises in host calls made for a plugin: a bound of its own, the
//! call's deadline, or a page too complex to query.

/// A trap the host raises in a host call made for the plugin.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HostTrap {
    /// The plugin asked for more than its limits allow (DOM nodes, query size, log lines).
    #[error("{0}")]
    Limit(String),
    /// The call's deadline passed while the host worked for it.
    #[error("the call's deadline passed during a host call")]
    Deadline,
    /// The page is too large for the host to build a DOM of.
    #[error("{0}")]
    Page(String),
}

impl HostTrap {
    /// The trap for a DOM error that stops the call (the plugin's own mistakes, a bad
    /// selector or node, come back to it as a query error instead).
    pub(crate) fn from_dom(e: trawl_dom::DomError) -> wasmtime::Error {
        let trap = match e {
            trawl_dom::DomError::Deadline => HostTrap::Deadline,
            trawl_dom::DomError::PageTooComplex(message) => HostTrap::Page(message),
            other => HostTrap::Limit(other.to_string()),
        };
        wasmtime::Error::new(trap)
    }
}
