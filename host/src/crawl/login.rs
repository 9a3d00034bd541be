//! A login before a run's start URLs: fetch the login page, read its form (hidden fields
//! such as a CSRF token included), set the job's fields and secrets over it, send it the
//! way the form says, and judge by status and selectors whether the session is logged in.
//! The cookies the site sets go into the run's jar, and every later request carries them.

use std::collections::BTreeMap;

use scraper::{ElementRef, Html, Selector};

use super::fetch::FetchError;
use super::session::{Session, VisitResult};
use crate::model::reach::Login;

/// Why a login failed; the run fails with `login_failed` and this as its message.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The login page or the form's target could not be fetched.
    #[error("{what} {url}: {error}")]
    Fetch {
        /// `the login page` or `the form's target`.
        what: &'static str,
        /// The URL.
        url: String,
        /// What went wrong.
        error: FetchError,
    },
    /// The login page has no form the selector matches, or the form cannot be sent.
    #[error("{0}")]
    Form(String),
    /// The site answered, but not as a logged-in session.
    #[error("{0}")]
    Rejected(String),
}

/// A form to send: where, how, and its fields in document order.
#[derive(Debug, PartialEq, Eq)]
struct Form {
    action: url::Url,
    post: bool,
    fields: Vec<(String, String)>,
}

/// Log `session` in as `login` says, with the secret fields over the form's own.
pub async fn log_in(
    session: &Session,
    login: &Login,
    secrets: &BTreeMap<String, String>,
) -> Result<(), LoginError> {
    let visit = session.visit_other(&login.url).await;
    let page = match visit.result {
        VisitResult::Fetched(raw) => raw.into_fetched(),
        VisitResult::Skipped { code, message } => {
            return Err(LoginError::Fetch {
                what: "the login page",
                url: login.url.clone(),
                error: FetchError::Skipped { code, message },
            });
        }
        VisitResult::Failed(error) => {
            return Err(LoginError::Fetch {
                what: "the login page",
                url: login.url.clone(),
                error,
            });
        }
    };
    let base = url::Url::parse(&page.page.url)
        .map_err(|e| LoginError::Form(format!("the login page's URL: {e}")))?;
    let mut form = read_form(&page.page.body, &base, &login.form)?;
    set_fields(&mut form.fields, login.fields.iter().chain(secrets.iter()));
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form.fields)
        .finish();
    let (url, method, body) = if form.post {
        (
            form.action.clone(),
            reqwest::Method::POST,
            Some((
                bytes::Bytes::from(encoded),
                "application/x-www-form-urlencoded",
            )),
        )
    } else {
        let mut url = form.action.clone();
        url.set_query(Some(&encoded));
        (url, reqwest::Method::GET, None)
    };
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(referer) = reqwest::header::HeaderValue::from_str(base.as_str()) {
        headers.insert(reqwest::header::REFERER, referer);
    }
    let answer = session
        .send(url.as_str(), method, headers, body)
        .await
        .map_err(|error| match error {
            FetchError::Status { status, .. } => {
                LoginError::Rejected(format!("the site answered the login form with {status}"))
            }
            error => LoginError::Fetch {
                what: "the form's target",
                url: url.to_string(),
                error,
            },
        })?;
    let answer = answer.into_fetched();
    judge(&answer.page.body, login)
}

/// The form `selector` matches in `html`, its action resolved against `base` (or the
/// document's `<base href>`).
fn read_form(html: &str, base: &url::Url, selector: &str) -> Result<Form, LoginError> {
    let doc = Html::parse_document(html);
    let form_selector = Selector::parse(selector)
        .map_err(|e| LoginError::Form(format!("form selector {selector:?}: {e}")))?;
    let form = doc.select(&form_selector).next().ok_or_else(|| {
        LoginError::Form(format!(
            "the login page has no element matching {selector:?}"
        ))
    })?;
    let base = Selector::parse("base[href]")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .and_then(|b| base.join(b.value().attr("href")?).ok())
        .unwrap_or_else(|| base.clone());
    let action = match form.value().attr("action").map(str::trim) {
        None | Some("") => base.clone(),
        Some(action) => base
            .join(action)
            .map_err(|e| LoginError::Form(format!("the form's action {action:?}: {e}")))?,
    };
    if !matches!(action.scheme(), "http" | "https") {
        return Err(LoginError::Form(format!(
            "the form's action {action} is not an http(s) URL"
        )));
    }
    let post = form
        .value()
        .attr("method")
        .is_some_and(|m| m.eq_ignore_ascii_case("post"));
    if post
        && form
            .value()
            .attr("enctype")
            .is_some_and(|e| e.eq_ignore_ascii_case("multipart/form-data"))
    {
        return Err(LoginError::Form(
            "the login form is multipart/form-data, which trawl does not send".into(),
        ));
    }
    Ok(Form {
        action,
        post,
        fields: fields_of(form),
    })
}

/// The fields a browser would send for `form` without a click: its named inputs (checked
/// boxes only, no buttons or files), selects and text areas, and its first named submit
/// button, as pressing Enter would.
fn fields_of(form: ElementRef<'_>) -> Vec<(String, String)> {
    let Ok(controls) = Selector::parse("input[name], select[name], textarea[name], button[name]")
    else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    let mut submitted = false;
    for control in form.select(&controls) {
        let element = control.value();
        let name = element.attr("name").unwrap_or_default().to_owned();
        if name.is_empty() || element.attr("disabled").is_some() {
            continue;
        }
        let value = element.attr("value");
        match element.name() {
            "input" => {
                let kind = element.attr("type").unwrap_or("text").to_ascii_lowercase();
                match kind.as_str() {
                    "checkbox" | "radio" => {
                        if element.attr("checked").is_some() {
                            fields.push((name, value.unwrap_or("on").to_owned()));
                        }
                    }
                    "submit" => {
                        if !submitted {
                            submitted = true;
                            fields.push((name, value.unwrap_or_default().to_owned()));
                        }
                    }
                    "button" | "image" | "reset" | "file" => {}
                    _ => fields.push((name, value.unwrap_or_default().to_owned())),
                }
            }
            "button" => {
                let kind = element.attr("type").unwrap_or("submit");
                if kind.eq_ignore_ascii_case("submit") && !submitted {
                    submitted = true;
                    fields.push((name, value.unwrap_or_default().to_owned()));
                }
            }
            "select" => {
                let Ok(options) = Selector::parse("option") else {
                    continue;
                };
                let chosen = control
                    .select(&options)
                    .find(|o| o.value().attr("selected").is_some())
                    .or_else(|| control.select(&options).next());
                if let Some(option) = chosen {
                    let value = option
                        .value()
                        .attr("value")
                        .map(str::to_owned)
                        .unwrap_or_else(|| option.text().collect::<String>().trim().to_owned());
                    fields.push((name, value));
                }
            }
            "textarea" => fields.push((name, control.text().collect())),
            _ => {}
        }
    }
    fields
}

/// Set each of `values` over the field of its name (the first of that name), or add it.
fn set_fields<'a>(
    fields: &mut Vec<(String, String)>,
    values: impl Iterator<Item = (&'a String, &'a String)>,
) {
    for (name, value) in values {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.clone(),
            None => fields.push((name.clone(), value.clone())),
        }
    }
}

/// Whether the page the form led to is a logged-in one.
fn judge(html: &str, login: &Login) -> Result<(), LoginError> {
    if login.success_selector.is_none() && login.failure_selector.is_none() {
        return Ok(());
    }
    let doc = Html::parse_document(html);
    let matches = |selector: &str| {
        Selector::parse(selector)
            .map(|s| doc.select(&s).next().is_some())
            .unwrap_or(false)
    };
    if let Some(failure) = &login.failure_selector
        && matches(failure)
    {
        return Err(LoginError::Rejected(format!(
            "the page after the login has an element matching failure_selector {failure:?}"
        )));
    }
    if let Some(success) = &login.success_selector
        && !matches(success)
    {
        return Err(LoginError::Rejected(format!(
            "the page after the login has no element matching success_selector {success:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><base href="/app/"></head><body>
        <form id="search" action="/search"><input name="q"></form>
        <form id="login" action="session" method="POST">
          <input type="hidden" name="csrf" value="t0k3n">
          <input name="user" value="">
          <input type="password" name="pass">
          <input type="checkbox" name="remember" value="yes">
          <input type="checkbox" name="terms" checked>
          <select name="lang"><option value="en">English</option><option value="de" selected>Deutsch</option></select>
          <textarea name="note">hi</textarea>
          <input type="file" name="avatar">
          <input name="off" value="x" disabled>
          <button type="submit" name="go" value="1">Log in</button>
          <button type="submit" name="other" value="2">Other</button>
        </form></body></html>"#;

    #[test]
    fn reads_the_form_a_browser_would_send() {
        let base = url::Url::parse("http://site.test/login").unwrap();
        let form = read_form(PAGE, &base, "form#login").unwrap();
        assert_eq!(form.action.as_str(), "http://site.test/app/session");
        assert!(form.post);
        let fields: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("csrf", "t0k3n"),
                ("user", ""),
                ("pass", ""),
                ("terms", "on"),
                ("lang", "de"),
                ("note", "hi"),
                ("go", "1"),
            ]
        );
        let first = read_form(PAGE, &base, "form").unwrap();
        assert!(!first.post);
        assert_eq!(first.action.as_str(), "http://site.test/search");
        assert!(matches!(
            read_form(PAGE, &base, "form#nope"),
            Err(LoginError::Form(_))
        ));
    }

    #[test]
    fn secrets_go_over_the_fields() {
        let mut fields = vec![
            ("user".to_owned(), String::new()),
            ("csrf".into(), "t".into()),
        ];
        let secrets: BTreeMap<String, String> = [
            ("user".to_owned(), "alice".to_owned()),
            ("pass".to_owned(), "pw".to_owned()),
        ]
        .into();
        set_fields(&mut fields, secrets.iter());
        assert_eq!(
            fields,
            [
                ("user".to_owned(), "alice".to_owned()),
                ("csrf".into(), "t".into()),
                ("pass".into(), "pw".into())
            ]
        );
    }

    #[test]
    fn judged_by_selectors() {
        let login = Login {
            url: "http://site.test/login".into(),
            form: "form".into(),
            fields: BTreeMap::new(),
            success_selector: Some("a.logout".into()),
            failure_selector: Some(".error".into()),
        };
        assert!(judge(r#"<a class="logout">out</a>"#, &login).is_ok());
        assert!(judge(r#"<p class="error">bad</p><a class="logout">"#, &login).is_err());
        assert!(judge("<p>welcome</p>", &login).is_err());
    }
}
