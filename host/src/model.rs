//! Types only: the fixed sets of values trawl's rows take, each an enum mapped once to
//! its SQL CHECK constraint (as text), to serde and to OpenAPI, and used alike by the API,
//! the workers and the queries; and the job specification ([`job`]).

pub mod job;
pub mod quota;
pub mod reach;
pub mod schedule;
pub mod webhook;

/// An enum of fixed text values: the variants with their text, which is the value in
/// the database's CHECK constraint, in JSON and in the OpenAPI document.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt, )+
        }
    ) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
        )]
        #[sqlx(type_name = "text")]
        $(#[$meta])*
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                #[sqlx(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The text stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownValue(text.to_owned())),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A text that is none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not one of the values this takes")]
pub struct UnknownValue(pub String);

text_enum! {
    /// Role of a user: admins manage plugins, users and keys.
    #[derive(Default)]
    pub enum Role {
        /// Manages plugins, users and keys.
        Admin = "admin",
        /// Uses trawl.
        #[default]
        Member = "member",
    }
}

text_enum! {
    /// Where an extractor found the value of an item's field.
    pub enum FieldOrigin {
        /// Structured data the page carries for machines: JSON-LD, microdata, RDFa.
        StructuredData = "structured_data",
        /// A `<meta>` tag (OpenGraph, product and article tags).
        Meta = "meta",
        /// The page's visible content, read by the extractor's own rules.
        PageText = "page_text",
        /// A hint of the schema's, which overrides the rules.
        Hint = "hint",
        /// Anything else (a URL, a default).
        Other = "other",
    }
}

/// The metadata of an item's fields as one JSON object by field name, as results store
/// it (none when the extractor said nothing).
pub fn field_meta_json(fields: &[(String, FieldMeta)]) -> Option<serde_json::Value> {
    if fields.is_empty() {
        return None;
    }
    let object = fields
        .iter()
        .map(|(name, meta)| {
            let meta = serde_json::to_value(meta).expect("field metadata always serialises");
            (name.clone(), meta)
        })
        .collect();
    Some(serde_json::Value::Object(object))
}

/// What the extractor said of one field of a stored item: its own confidence, and where
/// the value was found. Stored beside the item as `{"<field>": {…}}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldMeta {
    /// How sure the extractor is of this value, in [0, 1], when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// Where the value was found.
    pub origin: FieldOrigin,
    /// Finer detail for people (`json-ld`, `og:price:amount`, `the h1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

text_enum! {
    /// Which world a plugin implements.
    pub enum PluginKind {
        /// `extractor-plugin`: pages in, items out.
        Extractor = "extractor",
        /// `exporter-plugin`: rows in, file bytes out.
        Exporter = "exporter",
    }
}

text_enum! {
    /// How strictly items are checked.
    #[derive(Default)]
    pub enum ValidationMode {
        /// Invalid items are counted and dropped.
        #[default]
        Strict = "strict",
        /// Invalid items are kept, with their validation errors.
        Lenient = "lenient",
        /// Items are not checked.
        Off = "off",
    }
}

text_enum! {
    /// Items are deduplicated within one run, or across every run of the job (incremental).
    #[derive(Default)]
    pub enum DedupScope {
        /// Each run starts afresh.
        #[default]
        Run = "run",
        /// A run stores only items no earlier run of the job stored.
        Job = "job",
    }
}

text_enum! {
    /// Where a run stands. `queued → running → succeeded | failed | cancelled | timed_out`,
    /// and `queued → cancelled`; a running run whose host stops goes back to `queued`, and
    /// one whose host died stays `running` until another host takes its lease over.
    pub enum RunStatus {
        /// Waiting for a worker.
        Queued = "queued",
        /// A worker holds it.
        Running = "running",
        /// It ended and got pages.
        Succeeded = "succeeded",
        /// It ended with an error (its code and reason are on the run).
        Failed = "failed",
        /// Someone stopped it.
        Cancelled = "cancelled",
        /// It ran past its time.
        TimedOut = "timed_out",
    }
}

impl RunStatus {
    /// Whether the run is over.
    pub fn is_over(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

text_enum! {
    /// How the worker holding a run ends it.
    pub enum RunEnd {
        /// It got pages.
        Succeeded = "succeeded",
        /// With an error.
        Failed = "failed",
        /// Someone asked it to stop.
        Cancelled = "cancelled",
        /// Past its time.
        TimedOut = "timed_out",
    }
}

impl From<RunEnd> for RunStatus {
    fn from(end: RunEnd) -> Self {
        match end {
            RunEnd::Succeeded => RunStatus::Succeeded,
            RunEnd::Failed => RunStatus::Failed,
            RunEnd::Cancelled => RunStatus::Cancelled,
            RunEnd::TimedOut => RunStatus::TimedOut,
        }
    }
}

text_enum! {
    /// What started a run.
    pub enum Trigger {
        /// `POST /v1/jobs/{id}/runs`.
        Api = "api",
        /// The job's schedule.
        Schedule = "schedule",
    }
}

text_enum! {
    /// Where a page of a run stands.
    #[schema(as = PageOutcome)]
    #[derive(Default)]
    pub enum PageState {
        /// In the frontier, or being fetched and extracted.
        #[default]
        Pending = "pending",
        /// Not written any more: trawl versions before December 2026 marked pages in
        /// flight so; a migration put those back to `pending`. Kept as the CHECK allows it.
        Fetching = "fetching",
        /// Fetched and extracted (`items` says how many items it gave).
        Done = "done",
        /// Fetching or extracting failed; `error` says why.
        Failed = "failed",
        /// Deliberately not fetched or not extracted (robots.txt, content type); `error` says why.
        Skipped = "skipped",
    }
}

text_enum! {
    /// Where an export stands.
    pub enum ExportStatus {
        /// Waiting for a worker.
        Queued = "queued",
        /// Being written.
        Running = "running",
        /// Written: its file can be downloaded.
        Succeeded = "succeeded",
        /// It failed (its code and reason are on the export).
        Failed = "failed",
        /// Its time was up: the janitor deleted its file, and its links say `link_expired`.
        Expired = "expired",
        /// Deleted through the API: its file is gone and its links say `link_revoked`.
        Deleted = "deleted",
    }
}

text_enum! {
    /// A run's change a webhook can be sent for.
    pub enum WebhookEvent {
        /// The run started for the first time (a resumed run does not start again).
        RunStarted = "run.started",
        /// The run ended `succeeded`.
        RunSucceeded = "run.succeeded",
        /// The run ended `failed`.
        RunFailed = "run.failed",
        /// The run ended `cancelled`.
        RunCancelled = "run.cancelled",
        /// The run ended `timed_out`.
        RunTimedOut = "run.timed_out",
    }
}

text_enum! {
    /// Where a webhook delivery stands.
    pub enum DeliveryState {
        /// Waiting for its next attempt (or being sent).
        Pending = "pending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Given up: blocked by the SSRF guard, or no 2xx within the retry window.
        Failed = "failed",
    }
}

text_enum! {
    /// What a job's due schedule occurrence does while a run of the job is queued or running.
    #[derive(Default)]
    pub enum Overlap {
        /// Nothing: the occurrence is skipped.
        #[default]
        Skip = "skip",
        /// A run is queued all the same, to start after the ones before it.
        Queue = "queue",
    }
}

// After `text_enum!`, which it uses.
pub mod export;
pub mod pricing;

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts are the CHECK constraints' values, in JSON as in SQL.
    #[test]
    fn texts_are_the_stored_values() {
        assert_eq!(RunStatus::TimedOut.as_str(), "timed_out");
        assert_eq!(
            serde_json::to_value(RunStatus::TimedOut).expect("serialises"),
            "timed_out"
        );
        let back: RunStatus = serde_json::from_value("cancelled".into()).expect("parses");
        assert_eq!(back, RunStatus::Cancelled);
        assert_eq!(RunStatus::from(RunEnd::Failed), RunStatus::Failed);
        assert!(RunStatus::ALL.iter().filter(|s| !s.is_over()).count() == 2);
        assert_eq!(PageState::ALL.len(), 5);
        assert_eq!(DedupScope::Job.to_string(), "job");
    }

    /// The OpenAPI document lists the stored texts, the values the API sends.
    #[test]
    fn the_document_lists_the_stored_texts() {
        fn same<T: utoipa::PartialSchema + Copy>(all: &[T], text: fn(T) -> &'static str) {
            let schema = serde_json::to_value(T::schema()).expect("serialises");
            let listed: Vec<&str> = schema["enum"]
                .as_array()
                .expect("an enum")
                .iter()
                .map(|v| v.as_str().expect("text"))
                .collect();
            let texts: Vec<&str> = all.iter().map(|v| text(*v)).collect();
            assert_eq!(listed, texts);
        }
        same(Role::ALL, Role::as_str);
        same(PluginKind::ALL, PluginKind::as_str);
        same(ValidationMode::ALL, ValidationMode::as_str);
        same(DedupScope::ALL, DedupScope::as_str);
        same(RunStatus::ALL, RunStatus::as_str);
        same(RunEnd::ALL, RunEnd::as_str);
        same(Trigger::ALL, Trigger::as_str);
        same(PageState::ALL, PageState::as_str);
        same(ExportStatus::ALL, ExportStatus::as_str);
        same(WebhookEvent::ALL, WebhookEvent::as_str);
        same(DeliveryState::ALL, DeliveryState::as_str);
        same(Overlap::ALL, Overlap::as_str);
    }
}
