//! The host side of the imports a plugin gets, for every WIT version served: `page`
//! (queries answered by the page's DOM, within the call's bounds and clock), `log` and
//! `types`. The versions share one implementation; each only converts its own types.

use trawl_dom::{DomError, FlatTree};
use wasmtime::component::Resource;

use super::bindings::{v0_1, v0_2};
use super::error::HostTrap;
use super::page::PageResource;
use super::store::PluginState;

/// A failed query, version-neutral: the plugin's own mistake, to be answered as a value.
enum Mistake {
    BadSelector(String),
    BadNode(u32),
}

/// The plugin's own mistake comes back to it as a value; a bound of the host's stops the
/// call.
fn answer<T>(result: Result<T, DomError>) -> wasmtime::Result<Result<T, Mistake>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(DomError::BadSelector(message)) => Ok(Err(Mistake::BadSelector(message))),
        Err(DomError::BadNode(node)) => Ok(Err(Mistake::BadNode(node))),
        Err(e) => Err(HostTrap::from_dom(e)),
    }
}

impl PluginState {
    fn page_data(&self, page: &Resource<PageResource>) -> wasmtime::Result<&super::page::PageData> {
        Ok(&self.table.get(page)?.data)
    }

    fn select_nodes(
        &mut self,
        page: &Resource<PageResource>,
        scopes: &[u32],
        selector: &str,
    ) -> wasmtime::Result<Result<Vec<Vec<u32>>, Mistake>> {
        let PluginState { table, clock, .. } = self;
        let page = table.get_mut(page)?;
        let limits = page.limits.clone();
        answer(
            page.dom(clock)
                .and_then(|dom| dom.select(scopes, selector, &limits, clock)),
        )
    }

    fn read_fields(
        &mut self,
        page: &Resource<PageResource>,
        nodes: &[u32],
        fields: &[trawl_dom::Field],
    ) -> wasmtime::Result<Result<Vec<Vec<Vec<String>>>, Mistake>> {
        let PluginState { table, clock, .. } = self;
        let page = table.get_mut(page)?;
        let limits = page.limits.clone();
        answer(
            page.dom(clock)
                .and_then(|dom| dom.read(nodes, fields, &limits, clock)),
        )
    }

    fn whole_tree(
        &mut self,
        page: &Resource<PageResource>,
    ) -> wasmtime::Result<Result<FlatTree, Mistake>> {
        let PluginState { table, clock, .. } = self;
        let page = table.get_mut(page)?;
        let limits = page.limits.clone();
        answer(page.dom(clock).and_then(|dom| dom.tree(&limits, clock)))
    }

    fn push_log(&mut self, level: &'static str, message: String) -> wasmtime::Result<()> {
        self.logs.push(level, message).map_err(wasmtime::Error::new)
    }
}

/// One version's `page` and `log` host traits, over the shared implementation.
macro_rules! serve_version {
    ($module:ident, $v:ident) => {
        mod $module {
            use super::*;
            use $v::log::{self, Level};
            use $v::page::{Field, Host, HostPage, Node, QueryError, Source};

            pub(super) fn mistake(m: Mistake) -> QueryError {
                match m {
                    Mistake::BadSelector(message) => QueryError::BadSelector(message),
                    Mistake::BadNode(node) => QueryError::BadNode(node),
                }
            }

            pub(super) fn field(f: Field) -> trawl_dom::Field {
                trawl_dom::Field {
                    selector: f.selector,
                    source: match f.source {
                        Source::Text => trawl_dom::Source::Text,
                        Source::InnerHtml => trawl_dom::Source::InnerHtml,
                        Source::OuterHtml => trawl_dom::Source::OuterHtml,
                        Source::Attr(name) => trawl_dom::Source::Attr(name),
                        Source::Url(name) => trawl_dom::Source::Url(name),
                    },
                    all: f.all,
                }
            }

            impl HostPage for PluginState {
                fn url(&mut self, page: Resource<PageResource>) -> wasmtime::Result<String> {
                    Ok(self.page_data(&page)?.url.clone())
                }

                fn status(&mut self, page: Resource<PageResource>) -> wasmtime::Result<u16> {
                    Ok(self.page_data(&page)?.status)
                }

                fn headers(
                    &mut self,
                    page: Resource<PageResource>,
                ) -> wasmtime::Result<Vec<(String, String)>> {
                    Ok(self.page_data(&page)?.headers.clone())
                }

                fn body(&mut self, page: Resource<PageResource>) -> wasmtime::Result<String> {
                    Ok(self.page_data(&page)?.body.clone())
                }

                fn select(
                    &mut self,
                    page: Resource<PageResource>,
                    scopes: Vec<Node>,
                    selector: String,
                ) -> wasmtime::Result<Result<Vec<Vec<Node>>, QueryError>> {
                    Ok(self
                        .select_nodes(&page, &scopes, &selector)?
                        .map_err(mistake))
                }

                fn read(
                    &mut self,
                    page: Resource<PageResource>,
                    nodes: Vec<Node>,
                    fields: Vec<Field>,
                ) -> wasmtime::Result<Result<Vec<Vec<Vec<String>>>, QueryError>> {
                    let fields: Vec<trawl_dom::Field> = fields.into_iter().map(field).collect();
                    Ok(self.read_fields(&page, &nodes, &fields)?.map_err(mistake))
                }

                tree_method!($v);

                fn drop(&mut self, page: Resource<PageResource>) -> wasmtime::Result<()> {
                    self.table.delete(page)?;
                    Ok(())
                }
            }

            impl Host for PluginState {}

            impl log::Host for PluginState {
                fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
                    let level = match level {
                        Level::Trace => "trace",
                        Level::Debug => "debug",
                        Level::Info => "info",
                        Level::Warn => "warn",
                        Level::Error => "error",
                    };
                    self.push_log(level, message)
                }
            }

            impl $v::types::Host for PluginState {}
        }
    };
}

/// `page.tree`, which 0.1.0 does not have.
macro_rules! tree_method {
    (v0_1) => {};
    (v0_2) => {
        fn tree(
            &mut self,
            page: Resource<PageResource>,
        ) -> wasmtime::Result<Result<v0_2::page::Tree, QueryError>> {
            Ok(self
                .whole_tree(&page)?
                .map_err(mistake)
                .map(|t| v0_2::page::Tree {
                    parent: t.parent,
                    tag: t.tag,
                    text: t.text,
                    attributes: t.attributes,
                    node: t.node,
                }))
        }
    };
}

serve_version!(serve_v0_1, v0_1);
serve_version!(serve_v0_2, v0_2);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::page::test_resource as resource;
    use v0_1::page::{Field, HostPage, QueryError, Source};

    fn state() -> PluginState {
        PluginState {
            wasi: wasmtime_wasi::WasiCtx::default(),
            table: wasmtime::component::ResourceTable::new(),
            limiter: super::super::limits::Limiter::new(1 << 20),
            logs: super::super::log::LogSink::new(10),
            clock: super::super::clock::CallClock::new(std::time::Duration::from_secs(60), None),
        }
    }

    /// A plugin's `url` fields resolve against the `<base href>`, parsed ahead or on its
    /// query.
    #[test]
    fn url_fields_resolve_against_the_base_href() {
        for ahead in [false, true] {
            let mut state = state();
            let mut page = resource(r#"<head><base href="//cdn.test/x/"></head><a href="y">y</a>"#);
            if ahead {
                page.parse_ahead(&trawl_dom::Deadline::NONE);
            }
            let rep = state.table.push(page).expect("room in the table").rep();
            let rows = HostPage::read(
                &mut state,
                Resource::new_borrow(rep),
                vec![0],
                vec![Field {
                    selector: Some("a".into()),
                    source: Source::Url("href".into()),
                    all: false,
                }],
            )
            .expect("no trap")
            .expect("a good query");
            assert_eq!(
                rows,
                [[vec!["https://cdn.test/x/y".to_string()]]],
                "ahead: {ahead}"
            );
        }
    }

    /// The plugin's own mistakes come back as query errors; a bound of the host's, or its
    /// deadline, stops the call with a trap that names it.
    #[test]
    fn mistakes_are_answers_and_bounds_are_traps() {
        let mut state = state();
        let rep = state.table.push(resource("<p>a</p>")).expect("room").rep();
        let bad = HostPage::select(&mut state, Resource::new_borrow(rep), vec![], "p[".into())
            .expect("no trap");
        assert!(matches!(bad, Err(QueryError::BadSelector(_))), "{bad:?}");
        let bad = HostPage::select(&mut state, Resource::new_borrow(rep), vec![7], "p".into())
            .expect("no trap");
        assert!(matches!(bad, Err(QueryError::BadNode(7))), "{bad:?}");
        let wide = HostPage::read(
            &mut state,
            Resource::new_borrow(rep),
            vec![0; 200_000],
            Vec::new(),
        )
        .expect_err("too many nodes");
        assert!(
            matches!(wide.downcast_ref::<HostTrap>(), Some(HostTrap::Limit(_))),
            "{wide:?}"
        );
        // The parse looks at the clock after every chunk, however small the page.
        let mut fresh = state_with_past_deadline();
        let rep = fresh.table.push(resource("<p>a</p>")).expect("room").rep();
        let err = HostPage::select(&mut fresh, Resource::new_borrow(rep), vec![], "p".into())
            .expect_err("past the deadline");
        assert!(
            matches!(err.downcast_ref::<HostTrap>(), Some(HostTrap::Page(_))),
            "a parse that runs out of time is the page's fault: {err:?}"
        );
    }

    fn state_with_past_deadline() -> PluginState {
        PluginState {
            clock: super::super::clock::CallClock::new(std::time::Duration::ZERO, None),
            ..state()
        }
    }
}
