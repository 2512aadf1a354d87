//! The minijinja templates: built into the binary (the repository's `templates/`),
//! or read from `--templates DIR`. HTML templates escape everything that comes from
//! data; a template error names the template and the line.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::OutputFormat;

const BUILTIN: [(&str, &str); 7] = [
    ("base.html.j2", include_str!("../../templates/base.html.j2")),
    (
        "client.html.j2",
        include_str!("../../templates/client.html.j2"),
    ),
    ("client.md.j2", include_str!("../../templates/client.md.j2")),
    (
        "index.html.j2",
        include_str!("../../templates/index.html.j2"),
    ),
    ("index.md.j2", include_str!("../../templates/index.md.j2")),
    ("team.html.j2", include_str!("../../templates/team.html.j2")),
    ("team.md.j2", include_str!("../../templates/team.md.j2")),
];

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn load(dir: Option<&Path>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.j2") || name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // Markdown table cells: a `|` or a line break from data would break the table.
        env.add_filter("md", |text: String| {
            text.replace('|', "\\|").replace(['\n', '\r'], " ")
        });
        // A quoted CSS string (a print page header): the result is safe inside a
        // <style> element, where HTML escaping would not apply.
        env.add_filter("css_string", |text: String| {
            let mut quoted = String::from("\"");
            for c in text.chars() {
                match c {
                    c if c.is_ascii_alphanumeric() || " .,:;-_()'·/".contains(c) => quoted.push(c),
                    c if (c as u32) < 0x80 => quoted.push_str(&format!("\\{:X} ", c as u32)),
                    c => quoted.push(c),
                }
            }
            quoted.push('"');
            Value::from_safe_string(quoted)
        });
        match dir {
            None => {
                for (name, source) in BUILTIN {
                    env.add_template(name, source)
                        .map_err(|e| anyhow!("template {name}: {e}"))?;
                }
            }
            Some(dir) => {
                if !dir.is_dir() {
                    anyhow::bail!("templates folder {} does not exist", dir.display());
                }
                let dir = dir.to_path_buf();
                env.set_loader(minijinja::path_loader(dir));
            }
        }
        Ok(Self { env })
    }

    /// Renders `<name>.<md|html>.j2` with a context.
    pub fn render(&self, format: OutputFormat, name: &str, context: &Value) -> Result<String> {
        let file = format!("{name}.{}.j2", format.extension());
        let template = self
            .env
            .get_template(&file)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("cannot load template {file}"))?;
        let mut text = template
            .render(context)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("cannot render template {file}"))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}
