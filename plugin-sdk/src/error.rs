//! [`PluginError`]: the failures a plugin reports on purpose.
//!
//! A panic is not one of them: it aborts the call, and the host reports it as a trap.

use std::fmt;

use crate::bindings::raw_types;

/// An error the plugin understands and reports on purpose (the WIT `plugin-error`).
///
/// The host stores the message on the run, tagged with the plugin's name and version,
/// and tells it apart from a trap (a panic or a limit reached).
///
/// ```
/// use trawl_sdk::PluginError;
///
/// let err = PluginError::invalid_input("x-regex of `price` does not compile");
/// assert!(matches!(err, PluginError::InvalidInput(_)));
/// assert_eq!(err.to_string(), "invalid input: x-regex of `price` does not compile");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// The schema or options cannot be used by this plugin; the text says why.
    InvalidInput(String),
    /// The page (or rows) is not something this plugin can handle.
    Unsupported(String),
    /// Any other failure, with a message meant for the user.
    Other(String),
}

impl PluginError {
    /// A [`PluginError::InvalidInput`]: the schema or options are unusable.
    ///
    /// ```
    /// let err = trawl_sdk::PluginError::invalid_input("options must be a JSON object");
    /// assert_eq!(err.message(), "options must be a JSON object");
    /// ```
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }

    /// A [`PluginError::InvalidInput`] about one place in the schema (or options), given
    /// as a JSON pointer: `"/properties/price/x-regex"`. The message is the pointer, a
    /// colon and the text; the host takes the pointer apart from the text and answers a
    /// schema's creation with it as the problem's `path`. (The host checks a schema by
    /// calling the extractor on an empty page when the schema is saved.)
    ///
    /// ```
    /// let err = trawl_sdk::PluginError::invalid_at("/properties/price", "`x-regex` does not compile");
    /// assert_eq!(err.message(), "/properties/price: `x-regex` does not compile");
    /// ```
    pub fn invalid_at(pointer: &str, message: impl std::fmt::Display) -> Self {
        Self::InvalidInput(format!("{pointer}: {message}"))
    }

    /// A [`PluginError::Unsupported`]: the page or rows are not something this plugin handles.
    ///
    /// ```
    /// let err = trawl_sdk::PluginError::unsupported("not an HTML page");
    /// assert!(matches!(err, trawl_sdk::PluginError::Unsupported(_)));
    /// ```
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::Unsupported(message.into())
    }

    /// A [`PluginError::Other`]: any other failure.
    ///
    /// ```
    /// let err = trawl_sdk::PluginError::other("row 3 is not a JSON object");
    /// assert!(matches!(err, trawl_sdk::PluginError::Other(_)));
    /// ```
    pub fn other(message: impl Into<String>) -> Self {
        Self::Other(message.into())
    }

    /// The message, without the kind.
    ///
    /// ```
    /// let err = trawl_sdk::PluginError::other("boom");
    /// assert_eq!(err.message(), "boom");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidInput(m) | Self::Unsupported(m) | Self::Other(m) => m,
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Self::Unsupported(m) => write!(f, "unsupported: {m}"),
            Self::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for PluginError {}

impl From<PluginError> for raw_types::PluginError {
    fn from(err: PluginError) -> Self {
        match err {
            PluginError::InvalidInput(m) => Self::InvalidInput(m),
            PluginError::Unsupported(m) => Self::Unsupported(m),
            PluginError::Other(m) => Self::Other(m),
        }
    }
}
