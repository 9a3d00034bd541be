//! One face on the plugin worlds of every WIT version the host serves: a compiled plugin
//! is an [`ExtractorPre`] or an [`ExporterPre`] of its version, and the calls see only
//! version-neutral values. A 0.1.0 item has no field metadata; everything else the two
//! versions share.

use wasmtime::Store;
use wasmtime::component::{Component, Linker, Resource, ResourceAny};

use super::bindings::{v0_1, v0_2};
use super::error::PluginErrorInfo;
use super::page::PageResource;
use super::store::PluginState;
use crate::model::{FieldMeta, FieldOrigin};

/// What a plugin says about itself.
pub(super) struct Info {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) description: String,
}

/// One item as the plugin returned it.
pub(super) struct RawItem {
    pub(super) json: String,
    pub(super) confidence: Option<f32>,
    pub(super) fields: Vec<(String, FieldMeta)>,
}

/// What one `extract` call returned.
pub(super) struct Extraction {
    pub(super) items: Vec<RawItem>,
    pub(super) follow: Vec<String>,
}

/// An exporter's output format.
pub(super) struct FileFormat {
    pub(super) media_type: String,
    pub(super) extension: String,
}

/// A compiled extractor, ready to instantiate.
pub(super) enum ExtractorPre {
    V0_1(v0_1::extractor::ExtractorPluginPre<PluginState>),
    V0_2(v0_2::extractor::ExtractorPluginPre<PluginState>),
}

/// An instantiated extractor.
pub(super) enum ExtractorInstance {
    V0_1(v0_1::extractor::ExtractorPlugin),
    V0_2(v0_2::extractor::ExtractorPlugin),
}

/// A compiled exporter, ready to instantiate.
pub(super) enum ExporterPre {
    V0_1(v0_1::exporter::ExporterPluginPre<PluginState>),
    V0_2(v0_2::exporter::ExporterPluginPre<PluginState>),
}

/// An instantiated exporter.
pub(super) enum ExporterInstance {
    V0_1(v0_1::exporter::ExporterPlugin),
    V0_2(v0_2::exporter::ExporterPlugin),
}

/// Add every served version of both worlds to the linkers: the extractor linker gets
/// the extractor worlds, the exporter linker the exporter worlds (and `page`, which an
/// exporter built with an SDK that also knows the extractor world may import; it can
/// never get one, but linking it costs nothing).
pub(super) fn add_to_linkers(
    extractor: &mut Linker<PluginState>,
    exporter: &mut Linker<PluginState>,
) -> wasmtime::Result<()> {
    type Me = wasmtime::component::HasSelf<PluginState>;
    v0_1::extractor::ExtractorPlugin::add_to_linker::<_, Me>(extractor, |s| s)?;
    v0_2::extractor::ExtractorPlugin::add_to_linker::<_, Me>(extractor, |s| s)?;
    v0_1::exporter::ExporterPlugin::add_to_linker::<_, Me>(exporter, |s| s)?;
    v0_2::exporter::ExporterPlugin::add_to_linker::<_, Me>(exporter, |s| s)?;
    v0_1::page::add_to_linker::<_, Me>(exporter, |s| s)?;
    v0_2::page::add_to_linker::<_, Me>(exporter, |s| s)?;
    Ok(())
}

impl ExtractorPre {
    /// The component as an extractor of WIT `version`, or why it is not one.
    pub(super) fn new(
        linker: &Linker<PluginState>,
        component: &Component,
        version: &str,
    ) -> Result<Self, String> {
        let pre = linker
            .instantiate_pre(component)
            .map_err(|e| format!("{e:#}"))?;
        match version {
            "0.1.0" => v0_1::extractor::ExtractorPluginPre::new(pre).map(Self::V0_1),
            _ => v0_2::extractor::ExtractorPluginPre::new(pre).map(Self::V0_2),
        }
        .map_err(|e| format!("{e:#}"))
    }

    pub(super) fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<ExtractorInstance> {
        Ok(match self {
            Self::V0_1(pre) => ExtractorInstance::V0_1(pre.instantiate(store)?),
            Self::V0_2(pre) => ExtractorInstance::V0_2(pre.instantiate(store)?),
        })
    }
}

impl ExtractorInstance {
    pub(super) fn info(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Info> {
        Ok(match self {
            Self::V0_1(p) => {
                let i = p.trawl_plugin_extractor().call_info(store)?;
                Info {
                    name: i.name,
                    version: i.version,
                    description: i.description,
                }
            }
            Self::V0_2(p) => {
                let i = p.trawl_plugin_extractor().call_info(store)?;
                Info {
                    name: i.name,
                    version: i.version,
                    description: i.description,
                }
            }
        })
    }

    pub(super) fn extract(
        &self,
        store: &mut Store<PluginState>,
        page: Resource<PageResource>,
        schema: &str,
        options: &str,
    ) -> wasmtime::Result<Result<Extraction, PluginErrorInfo>> {
        Ok(match self {
            Self::V0_1(p) => p
                .trawl_plugin_extractor()
                .call_extract(store, page, schema, options)?
                .map(|e| Extraction {
                    items: e
                        .items
                        .into_iter()
                        .map(|i| RawItem {
                            json: i.json,
                            confidence: i.confidence,
                            fields: Vec::new(),
                        })
                        .collect(),
                    follow: e.follow,
                })
                .map_err(Into::into),
            Self::V0_2(p) => p
                .trawl_plugin_extractor()
                .call_extract(store, page, schema, options)?
                .map(|e| Extraction {
                    items: e
                        .items
                        .into_iter()
                        .map(|i| RawItem {
                            json: i.json,
                            confidence: i.confidence,
                            fields: i.fields.into_iter().map(field_meta).collect(),
                        })
                        .collect(),
                    follow: e.follow,
                })
                .map_err(Into::into),
        })
    }
}

fn field_meta(
    f: v0_2::extractor::exports::trawl::plugin::extractor::FieldMeta,
) -> (String, FieldMeta) {
    use v0_2::extractor::exports::trawl::plugin::extractor::Origin;
    let origin = match f.origin {
        Origin::StructuredData => FieldOrigin::StructuredData,
        Origin::Meta => FieldOrigin::Meta,
        Origin::PageText => FieldOrigin::PageText,
        Origin::Hint => FieldOrigin::Hint,
        Origin::Other => FieldOrigin::Other,
    };
    (
        f.name,
        FieldMeta {
            confidence: f.confidence,
            origin,
            detail: f.detail,
        },
    )
}

impl ExporterPre {
    /// The component as an exporter of WIT `version`, or why it is not one.
    pub(super) fn new(
        linker: &Linker<PluginState>,
        component: &Component,
        version: &str,
    ) -> Result<Self, String> {
        let pre = linker
            .instantiate_pre(component)
            .map_err(|e| format!("{e:#}"))?;
        match version {
            "0.1.0" => v0_1::exporter::ExporterPluginPre::new(pre).map(Self::V0_1),
            _ => v0_2::exporter::ExporterPluginPre::new(pre).map(Self::V0_2),
        }
        .map_err(|e| format!("{e:#}"))
    }

    pub(super) fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<ExporterInstance> {
        Ok(match self {
            Self::V0_1(pre) => ExporterInstance::V0_1(pre.instantiate(store)?),
            Self::V0_2(pre) => ExporterInstance::V0_2(pre.instantiate(store)?),
        })
    }
}

/// The same call on either version's exporter interface, with its error made neutral.
macro_rules! on_exporter {
    ($self:ident, $e:ident => $call:expr) => {
        match $self {
            ExporterInstance::V0_1(p) => {
                let $e = p.trawl_plugin_exporter();
                $call.map(|r| r.map_err(PluginErrorInfo::from))
            }
            ExporterInstance::V0_2(p) => {
                let $e = p.trawl_plugin_exporter();
                $call.map(|r| r.map_err(PluginErrorInfo::from))
            }
        }
    };
}

impl ExporterInstance {
    pub(super) fn info_and_format(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<(Info, FileFormat)> {
        Ok(match self {
            Self::V0_1(p) => {
                let i = p.trawl_plugin_exporter().call_info(&mut *store)?;
                let f = p.trawl_plugin_exporter().call_format(store)?;
                (
                    Info {
                        name: i.name,
                        version: i.version,
                        description: i.description,
                    },
                    FileFormat {
                        media_type: f.media_type,
                        extension: f.extension,
                    },
                )
            }
            Self::V0_2(p) => {
                let i = p.trawl_plugin_exporter().call_info(&mut *store)?;
                let f = p.trawl_plugin_exporter().call_format(store)?;
                (
                    Info {
                        name: i.name,
                        version: i.version,
                        description: i.description,
                    },
                    FileFormat {
                        media_type: f.media_type,
                        extension: f.extension,
                    },
                )
            }
        })
    }

    pub(super) fn open(
        &self,
        store: &mut Store<PluginState>,
        schema: &str,
        options: &str,
    ) -> wasmtime::Result<Result<ResourceAny, PluginErrorInfo>> {
        on_exporter!(self, e => e.writer().call_open(store, schema, options))
    }

    pub(super) fn write(
        &self,
        store: &mut Store<PluginState>,
        writer: ResourceAny,
        rows: &[String],
    ) -> wasmtime::Result<Result<Vec<u8>, PluginErrorInfo>> {
        on_exporter!(self, e => e.writer().call_write(store, writer, rows))
    }

    pub(super) fn finish(
        &self,
        store: &mut Store<PluginState>,
        writer: ResourceAny,
    ) -> wasmtime::Result<Result<Vec<u8>, PluginErrorInfo>> {
        on_exporter!(self, e => e.writer().call_finish(store, writer))
    }
}
