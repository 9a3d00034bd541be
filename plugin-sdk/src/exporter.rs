//! Exporter plugins: the [`Exporter`] trait, the [`Format`] it writes, and
//! [`register_exporter!`](crate::register_exporter), which exports it as the
//! `exporter-plugin` world.

use std::cell::RefCell;

use crate::bindings::{raw_exporter, raw_types};
use crate::{Options, PluginError, PluginInfo, Schema};

/// What kind of file an exporter writes.
///
/// ```
/// let format = trawl_sdk::Format::new("text/csv", "csv");
/// assert_eq!(format.extension, "csv");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// Media type of the output (`text/csv`).
    pub media_type: String,
    /// File name extension without the dot (`csv`).
    pub extension: String,
}

impl Format {
    /// A media type and a file name extension (without the dot).
    ///
    /// ```
    /// let format = trawl_sdk::Format::new("application/x-ndjson", "jsonl");
    /// assert_eq!(format.media_type, "application/x-ndjson");
    /// ```
    pub fn new(media_type: impl Into<String>, extension: impl Into<String>) -> Self {
        Self {
            media_type: media_type.into(),
            extension: extension.into(),
        }
    }
}

/// An exporter: one value of the implementing type is one export in progress.
///
/// The host [`open`](Exporter::open)s it with the item schema and the export's options,
/// hands it rows (each a JSON object as text) in batches through
/// [`write`](Exporter::write), appending the bytes each call returns to the file, and ends
/// with [`finish`](Exporter::finish). Return bytes as soon as they are ready, so that a
/// million-row export never sits in memory; a format that needs the whole file buffers
/// inside its own limits. Register the type with
/// [`register_exporter!`](crate::register_exporter).
///
/// ```
/// use trawl_sdk::prelude::*;
///
/// /// One JSON array holding every row.
/// struct JsonArray {
///     rows: usize,
/// }
///
/// impl Exporter for JsonArray {
///     fn info() -> PluginInfo {
///         PluginInfo::new("json-array", "0.1.0", "A single JSON array")
///     }
///     fn format() -> Format {
///         Format::new("application/json", "json")
///     }
///     fn open(_schema: &Schema, _options: &Options) -> Result<Self, PluginError> {
///         Ok(Self { rows: 0 })
///     }
///     fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
///         let mut out = Vec::new();
///         for row in rows {
///             out.extend_from_slice(if self.rows == 0 { b"[" } else { b"," });
///             out.extend_from_slice(row.as_bytes());
///             self.rows += 1;
///         }
///         Ok(out)
///     }
///     fn finish(self) -> Result<Vec<u8>, PluginError> {
///         Ok(if self.rows == 0 { b"[]".to_vec() } else { b"]".to_vec() })
///     }
/// }
///
/// register_exporter!(JsonArray);
///
/// let mut export = JsonArray::open(&Schema::new("{}"), &Options::new("{}"))?;
/// let mut file = export.write(vec![r#"{"a":1}"#.into(), r#"{"a":2}"#.into()])?;
/// file.extend(export.finish()?);
/// assert_eq!(file, br#"[{"a":1},{"a":2}]"#);
/// # Ok::<(), PluginError>(())
/// ```
pub trait Exporter: Sized + 'static {
    /// Describe this plugin.
    ///
    /// ```
    /// # struct Csv;
    /// # impl Csv {
    /// fn info() -> trawl_sdk::PluginInfo {
    ///     trawl_sdk::plugin_info!()
    /// }
    /// # }
    /// ```
    fn info() -> PluginInfo;

    /// Describe the output.
    ///
    /// ```
    /// # struct Csv;
    /// # impl Csv {
    /// fn format() -> trawl_sdk::Format {
    ///     trawl_sdk::Format::new("text/csv", "csv")
    /// }
    /// # }
    /// ```
    fn format() -> Format;

    /// Start an export. `schema` is the item JSON Schema, `options` the export's options.
    ///
    /// ```
    /// # use trawl_sdk::prelude::*;
    /// # struct Lines { separator: String }
    /// # impl Lines {
    /// fn open(_schema: &Schema, options: &Options) -> Result<Self, PluginError> {
    ///     let separator = options.get_str("separator")?.unwrap_or("\n").to_string();
    ///     Ok(Self { separator })
    /// }
    /// # }
    /// ```
    fn open(schema: &Schema, options: &Options) -> Result<Self, PluginError>;

    /// Take a batch of rows (each a JSON object as text); return the bytes to append.
    ///
    /// ```
    /// # use trawl_sdk::prelude::*;
    /// # struct Lines;
    /// # impl Lines {
    /// fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
    ///     Ok(rows.into_iter().flat_map(|r| r.into_bytes().into_iter().chain([b'\n'])).collect())
    /// }
    /// # }
    /// ```
    fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError>;

    /// End the export; return the last bytes.
    ///
    /// ```
    /// # use trawl_sdk::prelude::*;
    /// # struct Lines;
    /// # impl Lines {
    /// fn finish(self) -> Result<Vec<u8>, PluginError> {
    ///     Ok(Vec::new())
    /// }
    /// # }
    /// ```
    fn finish(self) -> Result<Vec<u8>, PluginError>;
}

impl From<Format> for raw_exporter::FileFormat {
    fn from(format: Format) -> Self {
        Self {
            media_type: format.media_type,
            extension: format.extension,
        }
    }
}

/// Connects an [`Exporter`] to the generated `Guest` and `GuestWriter` traits; named by
/// [`register_exporter!`](crate::register_exporter).
#[doc(hidden)]
pub struct ExporterAdapter<T> {
    // The generated resource methods take `&self`; a component instance is
    // single-threaded and never re-enters a writer, so a `RefCell` is enough.
    // `None` once finished.
    state: RefCell<Option<T>>,
}

impl<T: Exporter> raw_exporter::Guest for ExporterAdapter<T> {
    type Writer = Self;

    fn info() -> raw_types::PluginInfo {
        T::info().into()
    }

    fn format() -> raw_exporter::FileFormat {
        T::format().into()
    }
}

impl<T: Exporter> raw_exporter::GuestWriter for ExporterAdapter<T> {
    fn open(
        schema: String,
        options: String,
    ) -> Result<raw_exporter::Writer, raw_types::PluginError> {
        let exporter = T::open(&Schema::new(schema), &Options::new(options))?;
        Ok(raw_exporter::Writer::new(Self {
            state: RefCell::new(Some(exporter)),
        }))
    }

    fn write(&self, rows: Vec<String>) -> Result<Vec<u8>, raw_types::PluginError> {
        let mut state = self
            .state
            .try_borrow_mut()
            .map_err(|_| PluginError::other("writer is busy"))?;
        let exporter = state
            .as_mut()
            .ok_or_else(|| PluginError::other("write after finish"))?;
        Ok(exporter.write(rows)?)
    }

    fn finish(&self) -> Result<Vec<u8>, raw_types::PluginError> {
        let exporter = self
            .state
            .try_borrow_mut()
            .map_err(|_| PluginError::other("writer is busy"))?
            .take()
            .ok_or_else(|| PluginError::other("finish called twice"))?;
        Ok(exporter.finish()?)
    }
}

/// Export a type implementing [`Exporter`] as this component's `exporter-plugin` world.
///
/// Invoke it once, in the plugin's `lib.rs` (a `cdylib` built for `wasm32-wasip2`). The
/// component then exports `trawl:plugin/exporter@0.1.0` and nothing of the extractor world.
///
/// ```
/// use trawl_sdk::prelude::*;
///
/// struct Lines;
///
/// impl Exporter for Lines {
///     fn info() -> PluginInfo {
///         PluginInfo::new("lines", "0.1.0", "One row per line")
///     }
///     fn format() -> Format {
///         Format::new("application/x-ndjson", "jsonl")
///     }
///     fn open(_: &Schema, _: &Options) -> Result<Self, PluginError> {
///         Ok(Lines)
///     }
///     fn write(&mut self, rows: Vec<String>) -> Result<Vec<u8>, PluginError> {
///         let mut out = String::new();
///         for row in rows {
///             out.push_str(&row);
///             out.push('\n');
///         }
///         Ok(out.into_bytes())
///     }
///     fn finish(self) -> Result<Vec<u8>, PluginError> {
///         Ok(Vec::new())
///     }
/// }
///
/// register_exporter!(Lines);
/// ```
#[macro_export]
macro_rules! register_exporter {
    ($exporter:ty) => {
        // Off wasm (native tests) there is no component to export to, and the exported
        // symbol names (`trawl:plugin/…`) would not even link: only check the type.
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            const fn assert_exporter<T: $crate::Exporter>() {}
            assert_exporter::<$exporter>();
        };
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            type __TrawlExporter = $crate::__private::ExporterAdapter<$exporter>;
            $crate::__private::bindings::exporter::__export_exporter_world!(
                __TrawlExporter with_types_in $crate::__private::bindings::exporter
            );
        };
    };
}
