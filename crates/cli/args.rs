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

    /// Files read in parallel (default: one per core).
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}
