//! The `trawl` command: parse the command line and hand over to the library.

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "trawl",
    version,
    about = "Web scraping with WebAssembly extractor and exporter plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: the HTTP API and the workers.
    Serve(Box<trawl_host::Config>),
    /// Write, check, run and upload plugins (no server or database needed).
    Plugin {
        #[command(subcommand)]
        command: trawl_host::cli::PluginCommand,
    },
    /// Print the API's OpenAPI document (what `/v1/openapi.json` serves), to generate a
    /// client from (the console's is generated from it).
    Openapi,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAWL_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,wasmtime=warn,cranelift=warn".into()),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Serve(config) => trawl_host::run(*config, shutdown_signal()).await,
        Command::Plugin { command } => trawl_host::cli::plugin(command).await,
        Command::Openapi => {
            println!("{}", trawl_host::http::openapi_text());
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // One line, causes joined, no backtrace: what went wrong and, where it can, what
        // to do.
        Err(e) => {
            eprintln!("trawl: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
