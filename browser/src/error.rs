//! Why a render failed, with the stable codes the host's API reports.

/// No Chromium to run: the message says what to install.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unavailable {
    pub message: String,
}

/// Why [`BrowserPool::render`](crate::BrowserPool::render) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("the browser did not start: {0}")]
    Launch(String),
    /// The browser (or the page's renderer) died, even after one retry on a fresh browser.
    #[error("the browser crashed: {0}")]
    Crashed(String),
    #[error("the render did not finish within its deadline")]
    Timeout,
    #[error("the page could not be rendered: {0}")]
    Navigation(String),
    #[error("the rendered page is larger than the limit")]
    TooLarge,
}

impl RenderError {
    /// A stable snake_case code for the API and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "browser_unavailable",
            Self::Launch(_) => "browser_launch_failed",
            Self::Crashed(_) => "browser_crashed",
            Self::Timeout => "render_timeout",
            Self::Navigation(_) => "render_failed",
            Self::TooLarge => "render_too_large",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let all = [
            (
                RenderError::Unavailable(Unavailable {
                    message: String::new(),
                }),
                "browser_unavailable",
            ),
            (RenderError::Launch(String::new()), "browser_launch_failed"),
            (RenderError::Crashed(String::new()), "browser_crashed"),
            (RenderError::Timeout, "render_timeout"),
            (RenderError::Navigation(String::new()), "render_failed"),
            (RenderError::TooLarge, "render_too_large"),
        ];
        for (error, code) in all {
            assert_eq!(error.code(), code);
        }
    }
}
