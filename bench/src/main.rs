//! `trawl-bench`: measure trawl's plugin runtime against native Rust. Run it in release:
//! `cargo run --release -p trawl-bench -- extract`.

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(about = "Benchmarks for trawl")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// css-extractor through the host versus the same fields in native Rust, and the cost
    /// of a fresh instantiation, on the books.toscrape.com corpus.
    Extract(trawl_bench::extract::Args),
    /// Per-call overhead, start-up with 20 plugins cached versus cold, and throughput with
    /// the pooling allocator on versus off.
    Platform(trawl_bench::platform::Args),
    /// product-extractor and article-extractor on the annotated corpora: precision,
    /// recall and F1 per field, and the time per page against css-extractor.
    Autoextract(trawl_bench::autoextract::Args),
    /// The parse-only ceiling: the host's DOM built from every page of a site on all cores.
    Ceiling(trawl_bench::ceiling::Args),
    /// Concurrent API clients against a running host: results, run and event stream.
    ApiLoad(trawl_bench::api::LoadArgs),
    /// From starting a run to its first result readable through the API.
    FirstItem(trawl_bench::api::FirstItemArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Extract(args) => println!("{}", trawl_bench::extract::run(&args, &tokio)?),
        Command::Platform(args) => println!("{}", trawl_bench::platform::run(&args, &tokio)?),
        Command::Autoextract(args) => println!("{}", trawl_bench::autoextract::run(&args)?),
        Command::Ceiling(args) => println!("{}", trawl_bench::ceiling::run(&args)?),
        Command::ApiLoad(args) => println!("{}", trawl_bench::api::load(&args, &tokio)?),
        Command::FirstItem(args) => println!("{}", trawl_bench::api::first_item(&args, &tokio)?),
    }
    Ok(())
}
