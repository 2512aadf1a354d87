//! mspkpi: client KPIs for Managed Service Providers, from help-desk history in Parquet.
//!
//! The binary is a thin shell over these modules; tests call them directly.

#[cfg(feature = "cluster")]
pub mod cluster;
#[cfg(not(feature = "cluster"))]
#[path = "cluster_absent.rs"]
pub mod cluster;
pub mod commands;
pub mod data;
pub mod export;
pub mod import;
pub mod kpi;
pub mod models;
pub mod output;
pub mod pause;
pub mod period;
pub mod report;
pub mod results;
pub mod run;
pub mod sample;
pub mod saved_queries;
pub mod session;
pub mod timings;
pub mod unit;
pub mod write;

/// Installs rustls's ring crypto provider for the process, where none is installed yet.
/// delta-rs turns on both of rustls's providers, so rustls cannot choose one itself and
/// the first HTTPS connection (S3) would fail; every entry point calls this first.
pub fn install_crypto_provider() {
    // An error means a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An error and its causes as one line, without the repetitions that arise when a
/// cause's message already contains its own source (as DataFusion's errors do).
pub fn error_message(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}
