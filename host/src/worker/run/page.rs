//! One page of a run: fetch it through the session, extract with the plugin, check each
//! item, and hand items, outcome and next pages to the writer.
use trawl_browser::RenderError;

use super::context::{Failure, RunCtx};
use crate::crawl::VisitResult;
use crate::db::{self, pages::Outcome, results::NewResult, runs::Counters};
use crate::model::reach::RenderMode;
use crate::model::{PageState, ValidationMode, field_meta_json};
use crate::runtime::ExtractedItem;
use crate::validate::{self, ItemIssue};
use crate::worker::writer::{StoreError, Unpaid};

pub(super) struct PageReport {
    pub(super) ok: bool,
    pub(super) error: Option<String>,
    pub(super) counters: Counters,
    /// How the page was recorded, and its code when it failed or was skipped.
    pub(super) outcome: (PageState, Option<&'static str>),
    /// Set when the run can pay for no page after this one.
    pub(super) last: Option<Unpaid>,
}

impl PageReport {
    /// Count the page and its items in the host's metrics.
    pub(super) fn record_metrics(&self) {
        crate::telemetry::page(self.outcome.0, self.outcome.1);
        let c = &self.counters;
        crate::telemetry::items(
            c.items_new as u64,
            c.items_duplicate as u64,
            c.items_invalid as u64,
            c.items_empty as u64,
        );
    }
}

/// The first few item issues of a page, kept on its record; the rest are counted only.
#[derive(Debug, Default)]
struct Issues(Vec<ItemIssue>);

impl Issues {
    const KEPT: usize = 5;

    fn push(&mut self, issue: ItemIssue) {
        if self.0.len() < Self::KEPT {
            let mut issue = issue;
            // One issue's message stays short whatever the plugin or the schema said.
            if issue.message.len() > 500 {
                let mut cut = 500;
                while !issue.message.is_char_boundary(cut) {
                    cut -= 1;
                }
                issue.message.truncate(cut);
            }
            self.0.push(issue);
        }
    }

    fn to_json(&self) -> Option<String> {
        (!self.0.is_empty())
            .then(|| serde_json::to_string(&self.0).expect("issues always serialise"))
    }
}

pub(super) async fn process_page(
    ctx: &RunCtx,
    url: String,
    depth: i32,
) -> Result<PageReport, Failure> {
    let pool = &ctx.state.pool;
    let permit = ctx
        .fetches
        .acquire()
        .await
        .expect("the run never closes its semaphore");
    let visit = ctx.session.visit(&url).await;
    let (state, code, message) = match visit.result {
        VisitResult::Fetched(fetched) if ctx.settings.render == RenderMode::Browser => {
            // The permit is held while the browser fetches what the page asks for.
            let rendered = render(ctx, &fetched).await;
            drop(permit);
            match rendered {
                Ok(fetched) => return extract_page(ctx, url, depth, fetched, visit.attempts).await,
                Err(RenderError::Unavailable(e)) => {
                    return Err(Failure::new("browser_unavailable", e.to_string()));
                }
                Err(e) => (PageState::Failed, e.code(), format!("{url}: {e}")),
            }
        }
        VisitResult::Fetched(fetched) => {
            drop(permit);
            return extract_page(ctx, url, depth, fetched, visit.attempts).await;
        }
        VisitResult::Skipped { code, message } => (PageState::Skipped, code, message),
        VisitResult::Failed(e) => (PageState::Failed, e.code(), format!("{url}: {e}")),
    };
    let outcome = Outcome {
        state,
        http_status: visit.status.map(i32::from),
        attempts: visit.attempts as i32,
        error_code: Some(code),
        error_message: Some(&message),
        ..Outcome::default()
    };
    if !db::pages::record(pool, ctx.lease, &url, &outcome).await? {
        return Err(Failure::lost());
    }
    Ok(PageReport {
        ok: false,
        error: Some(message),
        outcome: (state, Some(code)),
        counters: Counters {
            pages_failed: i64::from(state == PageState::Failed),
            ..Counters::default()
        },
        last: None,
    })
}

/// The page as headless Chromium leaves it, its requests made through the run's session.
async fn render(
    ctx: &RunCtx,
    fetched: &crate::crawl::Fetched,
) -> Result<crate::crawl::Fetched, RenderError> {
    let render = crate::crawl::render::Render::new(
        &ctx.state.browser,
        &ctx.session,
        &ctx.settings.browser,
        ctx.lease.run.0.as_u128(),
    );
    let (fetched, rendered) = render.page(fetched).await?;
    tracing::debug!(
        requests = rendered.requests,
        refused = rendered.refused,
        blocked = rendered.blocked,
        "rendered {} in {:?}",
        fetched.page.url,
        rendered.elapsed
    );
    Ok(fetched)
}

async fn extract_page(
    ctx: &RunCtx,
    url: String,
    depth: i32,
    fetched: crate::crawl::Fetched,
    attempts: u32,
) -> Result<PageReport, Failure> {
    let pool = &ctx.state.pool;
    let link_selector = ctx.planner.link_selector();
    let page = fetched.page.clone();
    let extracted = ctx
        .state
        .runtime
        .extract_limited(
            &ctx.plugin,
            page.clone(),
            ctx.schema.clone(),
            ctx.options.clone(),
            link_selector,
            ctx.limits.clone(),
        )
        .await;
    let output = match extracted {
        Ok(output) => {
            store_logs(ctx, &page.url, &output.logs, output.logs_dropped).await?;
            output
        }
        Err(e) => {
            let message = e.to_string();
            let outcome = Outcome {
                state: PageState::Failed,
                final_url: Some(&page.url),
                http_status: Some(i32::from(page.status)),
                bytes: Some(fetched.bytes as i64),
                attempts: attempts as i32,
                content_type: fetched.content_type.as_deref(),
                error_code: Some(e.code()),
                error_message: Some(&message),
                fuel: e.fuel as i64,
                ..Outcome::default()
            };
            if !db::pages::record(pool, ctx.lease, &url, &outcome).await? {
                return Err(Failure::lost());
            }
            let counters = Counters {
                pages_failed: 1,
                bytes_fetched: fetched.bytes as i64,
                fuel_consumed: e.fuel as i64,
                ..Counters::default()
            };
            if e.is_page_fault() {
                // The page's fault (too large to query), not the plugin's: the run goes on.
                return Ok(PageReport {
                    ok: false,
                    error: Some(message),
                    outcome: (PageState::Failed, Some(e.code())),
                    counters,
                    last: None,
                });
            }
            // The run fails on the plugin's fault; its counters are recomputed from its
            // pages as it ends, this one's fuel included.
            return Err(e.into());
        }
    };

    let found = output.items.len() + output.refused.len();
    let mut issues = Issues::default();
    let mut invalid = output.refused.len() as i64;
    for refused in &output.refused {
        issues.push(refused.clone());
    }
    let mut empty = 0i64;
    let mut rows = Vec::with_capacity(output.items.len());
    let indexes: Vec<usize> = output.item_indexes().collect();
    for (extracted, index) in output.items.into_iter().zip(indexes) {
        let ExtractedItem {
            value: mut item,
            confidence,
            fields,
        } = extracted;
        if validate::is_empty_item(&item) {
            empty += 1;
            issues.push(ItemIssue::new(
                index,
                ItemIssue::EMPTY,
                "none of the schema's properties was found in the item",
            ));
            continue;
        }
        validate::make_storable(&mut item);
        let problems = match &ctx.validator {
            Some(v) => validate::item_problems(v, &item),
            None => Vec::new(),
        };
        if !problems.is_empty() {
            invalid += 1;
            issues.push(ItemIssue::new(
                index,
                ItemIssue::INVALID,
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
            if ctx.mode == ValidationMode::Strict {
                continue;
            }
        }
        let data = validate::canonical_json(&item);
        rows.push(NewResult {
            content_hash: validate::content_hash(&data),
            data,
            confidence,
            validation_errors: (!problems.is_empty())
                .then(|| serde_json::to_string(&problems).expect("problems always serialise")),
            field_meta: field_meta_json(&fields).map(|meta| meta.to_string()),
        });
    }
    let next =
        ctx.enqueued.fresh(
            ctx.planner
                .next(&url, depth, found, &output.links, &output.follow),
        );
    let write = db::pages::DonePage {
        url,
        final_url: page.url.clone(),
        http_status: i32::from(page.status),
        bytes: fetched.bytes as i64,
        items: i32::try_from(found).unwrap_or(i32::MAX),
        items_invalid: i32::try_from(invalid).unwrap_or(i32::MAX),
        items_empty: i32::try_from(empty).unwrap_or(i32::MAX),
        item_problems: issues.to_json(),
        elapsed_ms: i32::try_from(fetched.elapsed.as_millis() + output.elapsed.as_millis())
            .unwrap_or(i32::MAX),
        attempts: attempts as i32,
        content_type: fetched.content_type.clone(),
        fuel: output.fuel as i64,
        rows,
        next,
        next_depth: depth + 1,
    };
    let rows = write.rows.len() as i64;
    let (stored, last) = match ctx.writer.write(write).await {
        Ok(stored) => (stored.new as i64, stored.last),
        Err(StoreError::Refused(message)) => {
            return Ok(PageReport {
                ok: false,
                error: Some(message),
                outcome: (PageState::Failed, Some("store_failed")),
                counters: Counters {
                    pages_failed: 1,
                    bytes_fetched: fetched.bytes as i64,
                    fuel_consumed: output.fuel as i64,
                    ..Counters::default()
                },
                last: None,
            });
        }
        Err(StoreError::Lost) => return Err(Failure::lost()),
        Err(StoreError::Unpaid(why)) => return Err(Failure::new(why.code(), why.message())),
        Err(e) => return Err(Failure::new("internal_error", e.to_string())),
    };
    let counters = Counters {
        pages_fetched: 1,
        items_new: stored,
        items_duplicate: rows - stored,
        items_invalid: invalid,
        items_empty: empty,
        bytes_fetched: fetched.bytes as i64,
        fuel_consumed: output.fuel as i64,
        ..Counters::default()
    };
    Ok(PageReport {
        ok: true,
        error: None,
        outcome: (PageState::Done, None),
        counters,
        last,
    })
}

async fn store_logs(
    ctx: &RunCtx,
    page_url: &str,
    lines: &[crate::runtime::LogLine],
    dropped: u64,
) -> Result<(), sqlx::Error> {
    let keep = ctx.logs.take(lines.len(), dropped);
    let rows: Vec<(&str, &str)> = lines[..keep]
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    db::logs::insert(&ctx.state.pool, ctx.lease, Some(page_url), &rows).await
}
