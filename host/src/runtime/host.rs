//! The host side of the imports a plugin gets: `page` (queries answered by the page's
//! DOM, within the call's bounds and clock), `log` and `types`.

use trawl_dom::DomError;
use wasmtime::component::Resource;

use super::bindings::log::{self, Level};
use super::bindings::page::{Field, Host, HostPage, Node, QueryError, Source};
use super::bindings::types;
use super::error::HostTrap;
use super::page::PageResource;
use super::store::PluginState;

/// A failed query: the plugin's own mistake comes back to it as a value; a bound of the
/// host's stops the call.
fn answer<T>(result: Result<T, DomError>) -> wasmtime::Result<Result<T, QueryError>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(DomError::BadSelector(message)) => Ok(Err(QueryError::BadSelector(message))),
        Err(DomError::BadNode(node)) => Ok(Err(QueryError::BadNode(node))),
        Err(e) => Err(HostTrap::from_dom(e)),
    }
}

fn source(source: Source) -> trawl_dom::Source {
    match source {
        Source::Text => trawl_dom::Source::Text,
        Source::InnerHtml => trawl_dom::Source::InnerHtml,
        Source::OuterHtml => trawl_dom::Source::OuterHtml,
        Source::Attr(name) => trawl_dom::Source::Attr(name),
        Source::Url(name) => trawl_dom::Source::Url(name),
    }
}

impl HostPage for PluginState {
    fn url(&mut self, page: Resource<PageResource>) -> wasmtime::Result<String> {
        Ok(self.table.get(&page)?.data.url.clone())
    }

    fn status(&mut self, page: Resource<PageResource>) -> wasmtime::Result<u16> {
        Ok(self.table.get(&page)?.data.status)
    }

    fn headers(&mut self, page: Resource<PageResource>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.table.get(&page)?.data.headers.clone())
    }

    fn body(&mut self, page: Resource<PageResource>) -> wasmtime::Result<String> {
        Ok(self.table.get(&page)?.data.body.clone())
    }

    fn select(
        &mut self,
        page: Resource<PageResource>,
        scopes: Vec<Node>,
        selector: String,
    ) -> wasmtime::Result<Result<Vec<Vec<Node>>, QueryError>> {
        let PluginState { table, clock, .. } = self;
        let page = table.get_mut(&page)?;
        let limits = page.limits.clone();
        answer(
            page.dom(clock)
                .and_then(|dom| dom.select(&scopes, &selector, &limits, clock)),
        )
    }

    fn read(
        &mut self,
        page: Resource<PageResource>,
        nodes: Vec<Node>,
        fields: Vec<Field>,
    ) -> wasmtime::Result<Result<Vec<Vec<Vec<String>>>, QueryError>> {
        let PluginState { table, clock, .. } = self;
        let page = table.get_mut(&page)?;
        let limits = page.limits.clone();
        let fields: Vec<trawl_dom::Field> = fields
            .into_iter()
            .map(|f| trawl_dom::Field {
                selector: f.selector,
                source: source(f.source),
                all: f.all,
            })
            .collect();
        answer(
            page.dom(clock)
                .and_then(|dom| dom.read(&nodes, &fields, &limits, clock)),
        )
    }

    fn drop(&mut self, page: Resource<PageResource>) -> wasmtime::Result<()> {
        self.table.delete(page)?;
        Ok(())
    }
}

impl Host for PluginState {}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

impl log::Host for PluginState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.logs
            .push(level_name(level), message)
            .map_err(wasmtime::Error::new)
    }
}

impl types::Host for PluginState {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::page::test_resource as resource;

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
