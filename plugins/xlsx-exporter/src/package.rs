//! The XLSX package, written as a ZIP stream: fixed parts first, then each sheet's entry
//! as its rows arrive, and at the end the parts that list every sheet (workbook, its
//! relationships, content types) and the ZIP's central directory.
//!
//! Entries are Deflate-compressed with data descriptors (no seeking back), and every
//! `drain` sync-flushes the compressor, so that the bytes of the rows written so far
//! leave at once: what stays behind is the compressor's fixed-size state, the current
//! sheet's byte count, and one small record per sheet and per ZIP entry.

use std::cell::Cell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::rc::Rc;

use trawl_sdk::prelude::*;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Deflate's fastest level, for the least fuel per row. Measured on 1,100,000 rows of 8
/// columns in the wasm32 plugin: level 1 gives 74 MB for 1.2e11 fuel in all, level 3
/// 56 MB for 1.6e11, level 6 51 MB for 2.3e11.
const ZIP_LEVEL: i64 = 1;

/// The largest sheet entry, in bytes of XML: a ZIP entry without the Zip64 extension
/// holds less than 4 GiB, and Zip64 entries are avoided because some Excel versions
/// reject them. A sheet that would grow past this ends early and the rows go on to the
/// next sheet. Far above what Excel's row limit gives for typical rows.
pub const MAX_SHEET_BYTES: u64 = 4_000_000_000;

/// The style indexes (`s=`) of `xl/styles.xml`'s `cellXfs`.
pub const STYLE_HEADER: u8 = 1;
pub const STYLE_DATE: u8 = 2;
pub const STYLE_DATE_TIME: u8 = 3;

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PACKAGE_REL_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// Where the ZIP writer puts its bytes until they are handed back: shared with the
/// exporter, which takes them after every call.
#[derive(Clone, Default)]
struct Sink(Rc<Cell<Vec<u8>>>);

impl Sink {
    fn take(&self) -> Vec<u8> {
        self.0.take()
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.take();
        bytes.extend_from_slice(buf);
        self.0.set(bytes);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn zip_error(e: impl std::fmt::Display) -> PluginError {
    PluginError::other(format!("XLSX: writing the file: {e}"))
}

/// One sheet written (or being written): its name and its data rows.
struct Sheet {
    name: String,
    rows: u32,
}

/// The package being streamed.
pub struct Package {
    zip: ZipWriter<StreamWriter<Sink>>,
    sink: Sink,
    options: SimpleFileOptions,
    sheets: Vec<Sheet>,
    /// Whether the last sheet's entry is still open.
    open: bool,
    /// Bytes of XML in the open sheet's entry.
    sheet_bytes: u64,
    max_sheet_bytes: u64,
}

/// What follows the last row of a sheet, at most.
const SHEET_TAIL_BYTES: u64 = 200;

impl Package {
    /// A package with its fixed parts written (they leave with the first drained bytes).
    pub fn new() -> Result<Self, PluginError> {
        let created = DateTime::from_date_and_time(2000, 1, 1, 0, 0, 0).map_err(zip_error)?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(ZIP_LEVEL))
            .last_modified_time(created);
        let sink = Sink::default();
        let mut package = Self {
            zip: ZipWriter::new_stream(sink.clone()),
            sink,
            options,
            sheets: Vec::new(),
            open: false,
            sheet_bytes: 0,
            max_sheet_bytes: MAX_SHEET_BYTES,
        };
        // `_rels/.rels` first: file-type sniffers look for it (or the content types) at
        // the start of an OOXML package.
        package.part("_rels/.rels", &root_rels())?;
        package.part("docProps/core.xml", &core_props())?;
        package.part("docProps/app.xml", &app_props())?;
        package.part("xl/styles.xml", &styles())?;
        Ok(package)
    }

    /// Lower the sheet size limit (tests).
    #[cfg(test)]
    pub fn set_max_sheet_bytes(&mut self, bytes: u64) {
        self.max_sheet_bytes = bytes;
    }

    fn part(&mut self, name: &str, xml: &str) -> Result<(), PluginError> {
        self.zip.start_file(name, self.options).map_err(zip_error)?;
        self.zip.write_all(xml.as_bytes()).map_err(zip_error)
    }

    /// Sheets started so far.
    pub fn sheet_count(&self) -> usize {
        self.sheets.len()
    }

    /// Data rows on the open sheet.
    pub fn sheet_rows(&self) -> Option<u32> {
        self.sheets.last().filter(|_| self.open).map(|s| s.rows)
    }

    /// Whether `bytes` more of XML would pass the open sheet's size limit.
    pub fn would_overflow(&self, bytes: usize) -> bool {
        self.sheet_bytes + bytes as u64 + SHEET_TAIL_BYTES > self.max_sheet_bytes
    }

    /// Open the next sheet's entry, up to and including `header` (its first row's XML,
    /// or empty for a sheet without columns).
    pub fn start_sheet(&mut self, name: String, header: &str) -> Result<(), PluginError> {
        let number = self.sheets.len() + 1;
        self.zip
            .start_file(format!("xl/worksheets/sheet{number}.xml"), self.options)
            .map_err(zip_error)?;
        let selected = if number == 1 {
            " tabSelected=\"1\""
        } else {
            ""
        };
        let pane = if header.is_empty() {
            String::new()
        } else {
            "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>\
             <selection pane=\"bottomLeft\"/>"
                .to_owned()
        };
        let head = format!(
            "{XML_DECL}<worksheet xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\">\
             <sheetViews><sheetView{selected} workbookViewId=\"0\">{pane}</sheetView></sheetViews>\
             <sheetFormatPr defaultRowHeight=\"15\"/><sheetData>"
        );
        self.zip.write_all(head.as_bytes()).map_err(zip_error)?;
        self.zip.write_all(header.as_bytes()).map_err(zip_error)?;
        self.sheet_bytes = (head.len() + header.len()) as u64;
        self.sheets.push(Sheet { name, rows: 0 });
        self.open = true;
        Ok(())
    }

    /// Append one data row's XML to the open sheet.
    pub fn write_row(&mut self, xml: &str) -> Result<(), PluginError> {
        let Some(sheet) = self.sheets.last_mut().filter(|_| self.open) else {
            return Err(PluginError::other("XLSX: no sheet is open"));
        };
        sheet.rows += 1;
        self.sheet_bytes += xml.len() as u64;
        self.zip.write_all(xml.as_bytes()).map_err(zip_error)
    }

    /// Close the open sheet: its autofilter over the header (`last_column` its letters,
    /// none for a sheet without columns) and every row under it.
    pub fn end_sheet(&mut self, last_column: Option<&str>) -> Result<(), PluginError> {
        let Some(sheet) = self.sheets.last().filter(|_| self.open) else {
            return Ok(());
        };
        let mut tail = String::from("</sheetData>");
        if let Some(last) = last_column {
            let _ = write!(tail, "<autoFilter ref=\"A1:{last}{}\"/>", sheet.rows + 1);
        }
        tail.push_str(
            "<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" \
             header=\"0.3\" footer=\"0.3\"/></worksheet>",
        );
        self.zip.write_all(tail.as_bytes()).map_err(zip_error)?;
        self.open = false;
        self.sheet_bytes = 0;
        Ok(())
    }

    /// The bytes ready so far: everything written, through the compressor.
    pub fn drain(&mut self) -> Result<Vec<u8>, PluginError> {
        if self.zip.is_writing_file() {
            self.zip.flush().map_err(zip_error)?;
        }
        Ok(self.sink.take())
    }

    /// Close the open sheet, write the parts that list every sheet and the central
    /// directory; the last bytes.
    pub fn finish(mut self, last_column: Option<&str>) -> Result<Vec<u8>, PluginError> {
        self.end_sheet(last_column)?;
        let workbook = workbook(&self.sheets, last_column);
        self.part("xl/workbook.xml", &workbook)?;
        let rels = workbook_rels(self.sheets.len());
        self.part("xl/_rels/workbook.xml.rels", &rels)?;
        let types = content_types(self.sheets.len());
        self.part("[Content_Types].xml", &types)?;
        self.zip.finish().map_err(zip_error)?;
        Ok(self.sink.take())
    }
}

/// Append `s` as XML character data (or a double-quoted attribute value).
pub fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    for (at, b) in bytes.iter().enumerate() {
        let escape = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(&s[copied..at]);
        out.push_str(escape);
        copied = at + 1;
    }
    out.push_str(&s[copied..]);
}

/// Whether `bytes` starts with an escape of the form `_xHHHH_`.
fn looks_like_escape(bytes: &[u8]) -> bool {
    matches!(bytes, [b'_', b'x', h1, h2, h3, h4, b'_', ..]
        if [h1, h2, h3, h4].iter().all(|h| h.is_ascii_hexdigit()))
}

/// Append `s` as the text of a cell (`<t>`), which is exact once read back:
/// - `& < > "` are XML-escaped;
/// - characters XML 1.0 cannot carry (controls other than tab and line feed, U+FFFE,
///   U+FFFF) and carriage returns (which XML parsers turn into line feeds) are written
///   as Excel's own `_xHHHH_` escapes, which Excel and other readers turn back into the
///   character;
/// - so an `_` that starts something looking like such an escape is itself escaped
///   (`_x005F_`), as Excel does, to stay text.
pub fn push_cell_text(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        // What replaces the `len` bytes at `at`: an entity, or a character's escape.
        let (len, entity, unit) = match bytes[at] {
            b'&' => (1, "&amp;", 0),
            b'<' => (1, "&lt;", 0),
            b'>' => (1, "&gt;", 0),
            b'"' => (1, "&quot;", 0),
            b'_' if looks_like_escape(&bytes[at..]) => (1, "_x005F_", 0),
            b @ (0..=0x08 | 0x0b..=0x1f) => (1, "", u32::from(b)),
            // U+FFFE and U+FFFF: EF BF BE and EF BF BF.
            0xef => match bytes.get(at + 1..at + 3) {
                Some([0xbf, 0xbe]) => (3, "", 0xfffe),
                Some([0xbf, 0xbf]) => (3, "", 0xffff),
                _ => {
                    at += 1;
                    continue;
                }
            },
            _ => {
                at += 1;
                continue;
            }
        };
        out.push_str(&s[copied..at]);
        if entity.is_empty() {
            let _ = write!(out, "_x{unit:04X}_");
        } else {
            out.push_str(entity);
        }
        at += len;
        copied = at;
    }
    out.push_str(&s[copied..]);
}

/// A cell's column letters: `A` for 0, `Z`, `AA`, … `XFD` for 16,383.
pub fn column_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        letters.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    letters.iter().rev().map(|b| char::from(*b)).collect()
}

/// A sheet name quoted for a formula: `'Results (2)'`, apostrophes doubled.
fn quoted_sheet(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

fn root_rels() -> String {
    format!(
        "{XML_DECL}<Relationships xmlns=\"{PACKAGE_REL_NS}\">\
         <Relationship Id=\"rId1\" Type=\"{REL_NS}/officeDocument\" Target=\"xl/workbook.xml\"/>\
         <Relationship Id=\"rId2\" \
         Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" \
         Target=\"docProps/core.xml\"/>\
         <Relationship Id=\"rId3\" Type=\"{REL_NS}/extended-properties\" Target=\"docProps/app.xml\"/>\
         </Relationships>"
    )
}

/// The document properties: a fixed creation time, so that the same rows give the same
/// file.
fn core_props() -> String {
    format!(
        "{XML_DECL}<cp:coreProperties \
         xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <dcterms:created xsi:type=\"dcterms:W3CDTF\">2000-01-01T00:00:00Z</dcterms:created>\
         <dcterms:modified xsi:type=\"dcterms:W3CDTF\">2000-01-01T00:00:00Z</dcterms:modified>\
         </cp:coreProperties>"
    )
}

fn app_props() -> String {
    format!(
        "{XML_DECL}<Properties \
         xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\" \
         xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\">\
         <Application>trawl</Application></Properties>"
    )
}

/// Styles: `cellXfs` 0 plain, 1 bold (the header), 2 a date, 3 a date and time.
fn styles() -> String {
    let font = "<sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/>";
    format!(
        "{XML_DECL}<styleSheet xmlns=\"{MAIN_NS}\">\
         <numFmts count=\"2\"><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd\"/>\
         <numFmt numFmtId=\"165\" formatCode=\"yyyy-mm-dd hh:mm:ss\"/></numFmts>\
         <fonts count=\"2\"><font>{font}</font><font><b/>{font}</font></fonts>\
         <fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>\
         <fill><patternFill patternType=\"gray125\"/></fill></fills>\
         <borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
         <cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
         <cellXfs count=\"4\">\
         <xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
         <xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>\
         <xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>\
         <xf numFmtId=\"165\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>\
         </cellXfs>\
         <cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
         <dxfs count=\"0\"/><tableStyles count=\"0\"/></styleSheet>"
    )
}

/// The workbook: its sheets in order, and each sheet's autofilter range as the defined
/// name Excel expects beside it.
fn workbook(sheets: &[Sheet], last_column: Option<&str>) -> String {
    let mut xml = format!(
        "{XML_DECL}<workbook xmlns=\"{MAIN_NS}\" xmlns:r=\"{REL_NS}\"><workbookPr/>\
         <bookViews><workbookView xWindow=\"0\" yWindow=\"0\" windowWidth=\"16384\" \
         windowHeight=\"8192\"/></bookViews><sheets>"
    );
    for (index, sheet) in sheets.iter().enumerate() {
        xml.push_str("<sheet name=\"");
        push_escaped(&mut xml, &sheet.name);
        let _ = write!(xml, "\" sheetId=\"{n}\" r:id=\"rId{n}\"/>", n = index + 1);
    }
    xml.push_str("</sheets>");
    if let Some(last) = last_column {
        xml.push_str("<definedNames>");
        for (index, sheet) in sheets.iter().enumerate() {
            let _ = write!(
                xml,
                "<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"{index}\" hidden=\"1\">"
            );
            let range = format!(
                "{}!$A$1:${last}${}",
                quoted_sheet(&sheet.name),
                sheet.rows + 1
            );
            push_escaped(&mut xml, &range);
            xml.push_str("</definedName>");
        }
        xml.push_str("</definedNames>");
    }
    xml.push_str("</workbook>");
    xml
}

fn workbook_rels(sheets: usize) -> String {
    let mut xml = format!("{XML_DECL}<Relationships xmlns=\"{PACKAGE_REL_NS}\">");
    for n in 1..=sheets {
        let _ = write!(
            xml,
            "<Relationship Id=\"rId{n}\" Type=\"{REL_NS}/worksheet\" \
             Target=\"worksheets/sheet{n}.xml\"/>"
        );
    }
    let _ = write!(
        xml,
        "<Relationship Id=\"rId{}\" Type=\"{REL_NS}/styles\" Target=\"styles.xml\"/>\
         </Relationships>",
        sheets + 1
    );
    xml
}

fn content_types(sheets: usize) -> String {
    let office = "application/vnd.openxmlformats-officedocument";
    let mut xml = format!(
        "{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Override PartName=\"/xl/workbook.xml\" ContentType=\"{office}.spreadsheetml.sheet.main+xml\"/>\
         <Override PartName=\"/xl/styles.xml\" ContentType=\"{office}.spreadsheetml.styles+xml\"/>\
         <Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>\
         <Override PartName=\"/docProps/app.xml\" ContentType=\"{office}.extended-properties+xml\"/>"
    );
    for n in 1..=sheets {
        let _ = write!(
            xml,
            "<Override PartName=\"/xl/worksheets/sheet{n}.xml\" \
             ContentType=\"{office}.spreadsheetml.worksheet+xml\"/>"
        );
    }
    xml.push_str("</Types>");
    xml
}
