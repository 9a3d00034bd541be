//! [`PluginInfo`]: what a plugin says about itself.

use crate::bindings::raw_types;

/// What a plugin says about itself. The host records it at upload and lists it in
/// `GET /v1/plugins`.
///
/// Most plugins take it from their `Cargo.toml` with [`plugin_info!`](crate::plugin_info).
///
/// ```
/// use trawl_sdk::PluginInfo;
///
/// let info = PluginInfo::new("books", "1.0.0", "Books from books.toscrape.com");
/// assert_eq!(info.name, "books");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Unique plugin name, kebab-case (`css-extractor`).
    pub name: String,
    /// Semantic version of the plugin (`1.2.0`).
    pub version: String,
    /// One line for people choosing a plugin.
    pub description: String,
}

impl PluginInfo {
    /// A plugin's name, version and one-line description.
    ///
    /// ```
    /// let info = trawl_sdk::PluginInfo::new("csv-exporter", "0.1.0", "CSV with a header row");
    /// assert_eq!(info.version, "0.1.0");
    /// ```
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            description: description.into(),
        }
    }
}

/// A [`PluginInfo`] from the calling crate's `Cargo.toml`: its `name`, `version` and
/// `description` (empty when the manifest has none).
///
/// ```
/// let info = trawl_sdk::plugin_info!();
/// assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
/// ```
#[macro_export]
macro_rules! plugin_info {
    () => {
        $crate::PluginInfo::new(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
            ::core::env!("CARGO_PKG_DESCRIPTION"),
        )
    };
}

impl From<PluginInfo> for raw_types::PluginInfo {
    fn from(info: PluginInfo) -> Self {
        Self {
            name: info.name,
            version: info.version,
            description: info.description,
        }
    }
}
