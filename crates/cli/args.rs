//! Command-line arguments, as typed ("low" arguments in ripgrep's terms).
//! `config.rs` resolves them into what the commands run with.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "pixelscope",
    version,
    about = "What did this web page tell the trackers about its visitor?",
    long_about = "Reads HAR exports and packet captures (pcap, pcapng), finds every tracker \
                  beacon in them, and decodes each payload field by field."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find and decode tracker requests in HAR files and packet captures.
    Scan(ScanArgs),
    /// List the tracker decoders: id, vendor, endpoints, version, sources.
    Trackers(TrackersArgs),
    /// Write a court-ready exhibit bundle: HTML, JSONL, CSV, SQLite and a
    /// manifest of SHA-256 hashes.
    Report(ReportArgs),
    /// Re-check an exhibit bundle's hashes; exit 0 only when all match.
    Verify(VerifyArgs),
    /// Score decoding against a capture-lab ground truth (truth.json).
    Accuracy(AccuracyArgs),
    /// Browse the leaks interactively in the terminal.
    Tui(TuiArgs),
    /// One row per site and tracker: what each site sent to each tracker.
    Matrix(MatrixArgs),
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// HAR files, captures, or folders.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// The folder to write the bundle into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Case name or number shown at the top of the exhibit.
    #[arg(long, value_name = "NAME")]
    pub case: Option<String>,

    /// Title of the exhibit.
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,

    #[command(flatten)]
    pub analysis: AnalysisArgs,

    /// Threads: files read in parallel, or for a large file (or one alone) the
    /// threads that decode it while one reads it (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// An exhibit bundle folder written by `pixelscope report`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The original input files, when they are no longer where the manifest
    /// says (matched by file name).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AccuracyArgs {
    /// The capture lab's ground truth for the inputs.
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,

    /// HAR files or captures of the lab session.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Write the table as Markdown (as in docs/ACCURACY.md).
    #[arg(long)]
    pub markdown: bool,

    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Args, Debug)]
pub struct TuiArgs {
    /// HAR files, captures, or folders.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub analysis: AnalysisArgs,

    /// Where the TUI writes its log while it owns the terminal.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MatrixArgs {
    /// HAR files, captures, or folders.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = MatrixFormat::Table)]
    pub format: MatrixFormat,

    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the per-tracker totals instead of the site rows (CSV and
    /// Parquet hold one table; the terminal table and JSON always show both).
    #[arg(long)]
    pub totals: bool,

    #[command(flatten)]
    pub analysis: AnalysisArgs,

    /// Threads: files read in parallel, or for a large file (or one alone) the
    /// threads that decode it while one reads it (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    Table,
    Csv,
    Json,
    /// A Parquet file (needs -o FILE and a build with `--features parquet`).
    Parquet,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// HAR files, pcap/pcapng captures, or folders (searched recursively).
    /// The format is recognised from the bytes, not the name.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Write records to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write every diagnostic as JSON Lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub diagnostics: Option<PathBuf>,

    /// Only report event records (leave out library loads and contacts).
    #[arg(long)]
    pub events_only: bool,

    /// Do not print diagnostics to standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Only report events that carry a sensitive-content, policy or
    /// linkage flag, or an identifier that matched a known identity.
    #[arg(long)]
    pub only_flagged: bool,

    #[command(flatten)]
    pub analysis: AnalysisArgs,

    /// Threads: files read in parallel, or for a large file (or one alone) the
    /// threads that decode it while one reads it (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
}

/// Options that shape how inputs are read and analysed; shared by every
/// command that reads inputs.
#[derive(Args, Debug, Default)]
pub struct AnalysisArgs {
    /// TLS key log (NSS format, as written by SSLKEYLOGFILE). Repeatable.
    /// Keys embedded in a pcapng Decryption Secrets Block are used as well.
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,

    /// A known identity to look for, hashed or not: KIND:VALUE[=LABEL],
    /// e.g. email:jane@example.org=subject-1. Kinds: email, phone, name,
    /// first_name, last_name, external_id, user_id, date_of_birth, city,
    /// state, zip, country, gender, search_term. Repeatable.
    #[arg(long, value_name = "KIND:VALUE")]
    pub identity: Vec<String>,

    /// A file of identities, one KIND:VALUE[=LABEL] per line (# comments).
    #[arg(long, value_name = "FILE")]
    pub identities: Vec<PathBuf>,

    /// Country calling code assumed for phone numbers given without one.
    #[arg(long, value_name = "CODE", default_value = "1")]
    pub default_country_code: String,

    /// Extra sensitive-content rules (rule-pack format, see docs/ANALYSIS.md). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Extra tracker decoders from a TOML catalog (see docs/DECODERS.md). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub decoders: Vec<PathBuf>,

    // Limits on what one input may make pixelscope hold in memory (see
    // docs/LIMITS.md). Unset means the reading crate's default. Sizes take
    // K, M or G suffixes (powers of 1024).
    /// Largest HTTP body kept from a capture, before and after content
    /// decoding (default 16M); beyond it the body is cut (`body.too-large`).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Limits")]
    pub max_body_bytes: Option<usize>,

    /// Largest HAR entry read (default 128M); a larger one is skipped
    /// (`har.entry-too-large`).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Limits")]
    pub max_entry_bytes: Option<usize>,

    /// TCP connections of a capture tracked at once (default 65536); when
    /// full, the least recently active are closed early (more data on one
    /// later is read as a new stream, `tcp.reopened`).
    #[arg(long, value_name = "N", value_parser = parse_count, help_heading = "Limits")]
    pub max_flows: Option<usize>,

    /// Out-of-order TCP bytes buffered across all connections (default
    /// 32M; per direction at most 4M or this, whichever is smaller); beyond
    /// it the oldest hole is declared a gap (`tcp.gap`).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Limits")]
    pub max_reassembly_bytes: Option<usize>,
}

/// A size in bytes: digits with an optional K, M or G suffix (powers of
/// 1024, case-insensitive, an optional trailing `B` or `iB`). Zero is refused.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let t = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K')) => (t.get(..i).unwrap_or(""), 10),
        Some((i, 'M')) => (t.get(..i).unwrap_or(""), 20),
        Some((i, 'G')) => (t.get(..i).unwrap_or(""), 30),
        _ => (t, 0),
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size (like 4096, 512K, 16M, 1G)"))?;
    let bytes = n
        .checked_mul(1usize << shift)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if bytes == 0 {
        return Err("a limit of 0 would read nothing".to_owned());
    }
    Ok(bytes)
}

/// A positive count.
fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("a limit of 0 would read nothing".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

#[derive(Args, Debug)]
pub struct TrackersArgs {
    /// Extra tracker decoders from a TOML catalog. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub decoders: Vec<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Jsonl,
    Json,
    Csv,
    /// A Parquet file (needs -o FILE and a build with `--features parquet`).
    Parquet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[cfg(test)]
mod limit_tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_suffixes_and_refuse_nonsense() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2 GB"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1M").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
