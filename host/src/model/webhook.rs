//! A job's webhooks: the URLs its runs' changes are sent to and which changes each one
//! wants, as the API takes them ([`WebhookIn`], checked by [`check`]) and as they are
//! stored and shown ([`Webhook`]). The signing secret and the deliveries live elsewhere.

use serde::{Deserialize, Serialize};

use super::WebhookEvent;

/// Webhooks one job may have.
pub const MAX_WEBHOOKS: usize = 10;

/// Longest webhook URL, in characters.
pub const MAX_URL_CHARS: usize = 2_000;

/// A webhook as a job is created or replaced with it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where deliveries are POSTed: an http or https URL with a host, at most 2,000
    /// characters. Deliveries follow no redirects, and the host's SSRF guard applies.
    #[schema(max_length = 2000)]
    pub url: String,
    /// The events sent there, each once; left out, all five. Taken as text so that an
    /// unknown event is reported at its place (`/webhooks/0/events/1`).
    #[serde(default)]
    #[schema(value_type = Option<Vec<WebhookEvent>>, min_items = 1)]
    pub events: Option<Vec<String>>,
}

/// A webhook of a job, as stored (`scraping_jobs.webhooks`, which the outbox trigger
/// reads: `events` is always spelled out) and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    /// Where deliveries are POSTed.
    pub url: String,
    /// The events sent there.
    pub events: Vec<WebhookEvent>,
}

/// The webhooks `hooks` ask for, or everything wrong with them as (JSON pointer under
/// the list, message) pairs: `/0/url`, `/1/events/2`.
pub fn check(hooks: &[WebhookIn]) -> Result<Vec<Webhook>, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut problem = |path: String, message: String| problems.push((path, message));
    if hooks.len() > MAX_WEBHOOKS {
        problem(String::new(), format!("at most {MAX_WEBHOOKS} webhooks"));
    }
    let mut out = Vec::with_capacity(hooks.len());
    for (i, hook) in hooks.iter().enumerate() {
        if let Err(message) = url_problem(&hook.url) {
            problem(format!("/{i}/url"), message);
        }
        let events = match &hook.events {
            None => WebhookEvent::ALL.to_vec(),
            Some(names) => {
                if names.is_empty() {
                    problem(
                        format!("/{i}/events"),
                        "name at least one event, or leave `events` out for all five".into(),
                    );
                }
                let mut events = Vec::with_capacity(names.len());
                for (j, name) in names.iter().enumerate() {
                    match name.parse::<WebhookEvent>() {
                        Ok(event) if events.contains(&event) => problem(
                            format!("/{i}/events/{j}"),
                            format!("{name:?} is named twice"),
                        ),
                        Ok(event) => events.push(event),
                        Err(_) => problem(
                            format!("/{i}/events/{j}"),
                            format!("{name:?} is not an event; the events are {}", event_list()),
                        ),
                    }
                }
                events
            }
        };
        out.push(Webhook {
            url: hook.url.clone(),
            events,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn url_problem(url: &str) -> Result<(), String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("at most {MAX_URL_CHARS} characters"));
    }
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        Ok(_) => Err(format!("{url:?} is not an http(s) URL with a host")),
        Err(e) => Err(format!("{url:?}: {e}")),
    }
}

fn event_list() -> String {
    WebhookEvent::ALL
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(url: &str, events: Option<&[&str]>) -> WebhookIn {
        WebhookIn {
            url: url.into(),
            events: events.map(|e| e.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn events_left_out_are_all_five() {
        let hooks = check(&[hook("https://example.com/hook", None)]).expect("valid");
        assert_eq!(hooks[0].events, WebhookEvent::ALL);
        let hooks = check(&[hook("http://example.com/h", Some(&["run.failed"]))]).expect("valid");
        assert_eq!(hooks[0].events, [WebhookEvent::RunFailed]);
    }

    #[test]
    fn each_problem_is_reported_at_its_place() {
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        let problems = check(&[
            hook("ftp://example.com/", None),
            hook("https://example.com/", Some(&[])),
            hook(
                "https://example.com/",
                Some(&["run.failed", "run.exploded", "run.failed"]),
            ),
            hook(&long, None),
            hook("not a url", None),
        ])
        .expect_err("invalid");
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/0/url",
                "/1/events",
                "/2/events/1",
                "/2/events/2",
                "/3/url",
                "/4/url"
            ],
            "{problems:?}"
        );
        let many: Vec<WebhookIn> = (0..=MAX_WEBHOOKS)
            .map(|_| hook("https://example.com/", None))
            .collect();
        assert_eq!(check(&many).expect_err("too many")[0].0, "");
    }
}
