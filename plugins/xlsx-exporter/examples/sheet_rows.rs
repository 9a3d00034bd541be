//! Print each sheet of an XLSX file with its rows (header included), read with calamine:
//! a check on large exports made through `trawl plugin run`.
//!
//! `cargo run --release -p xlsx-exporter --example sheet_rows -- export.xlsx`

use calamine::{Reader, Xlsx, open_workbook};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        return Err("usage: sheet_rows FILE.xlsx".into());
    };
    let mut book: Xlsx<_> = open_workbook(&path)?;
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name)?;
        let last = range
            .rows()
            .next_back()
            .map(|row| format!("{row:?}"))
            .unwrap_or_default();
        println!(
            "{name}: {} rows × {} columns; last {last}",
            range.height(),
            range.width()
        );
    }
    Ok(())
}
