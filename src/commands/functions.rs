use anyhow::{Result, bail};
use clap::Args;
use datafusion::logical_expr::Documentation;

/// Lists the mspkpi functions with their documentation.
#[derive(Debug, Args)]
pub struct FunctionsArgs {
    /// Show only this function.
    pub name: Option<String>,
}

/// Every mspkpi function: (name, kind, documentation).
pub fn catalog() -> Vec<(String, &'static str, Option<Documentation>)> {
    let mut all: Vec<(String, &'static str, Option<Documentation>)> = Vec::new();
    for f in mspkpi_udfs::aggregate_functions() {
        all.push((
            f.name().to_string(),
            "aggregate",
            f.documentation().cloned(),
        ));
    }
    for f in mspkpi_udfs::scalar_functions() {
        all.push((f.name().to_string(), "scalar", f.documentation().cloned()));
    }
    all
}

/// The documentation of one function as text.
pub fn describe(name: &str, kind: &str, doc: Option<&Documentation>) -> String {
    let mut out = format!("{name} ({kind} function)\n");
    if let Some(doc) = doc {
        out.push_str(&format!(
            "  {}\n\n  Syntax: {}\n",
            doc.description, doc.syntax_example
        ));
        if let Some(arguments) = &doc.arguments {
            out.push_str("  Arguments:\n");
            for (argument, description) in arguments {
                out.push_str(&format!("    {argument}: {description}\n"));
            }
        }
        if let Some(example) = &doc.sql_example {
            out.push_str("  Example:\n");
            for line in example.lines().filter(|l| !l.starts_with("```")) {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}

pub fn print(name: Option<&str>) -> Result<()> {
    let all = catalog();
    let chosen: Vec<_> = all
        .iter()
        .filter(|(n, _, _)| name.is_none_or(|wanted| n == wanted))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = all.iter().map(|(n, _, _)| n.as_str()).collect();
        bail!(
            "no mspkpi function '{}' (there are: {})",
            name.unwrap_or(""),
            names.join(", ")
        );
    }
    for (name, kind, doc) in chosen {
        println!("{}", describe(name, kind, doc.as_ref()));
    }
    Ok(())
}

pub fn run(args: FunctionsArgs) -> Result<()> {
    print(args.name.as_deref())
}
