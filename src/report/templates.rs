//! The minijinja templates: built into the binary (the repository's `templates/`),
//! or read from `--templates DIR`. HTML templates escape everything that comes from
//! data; a template error names the template and the line.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use include_dir::{Dir, include_dir};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::OutputFormat;

/// The templates built into the binary: the repository's `templates/`.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

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
                for file in BUILTIN.files() {
                    let name = file.path().to_string_lossy();
                    let source = file
                        .contents_utf8()
                        .ok_or_else(|| anyhow!("template {name} is not UTF-8"))?;
                    env.add_template(file.path().to_str().unwrap_or_default(), source)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// include_dir does not notice a new file by itself: a stale build fails here.
    #[test]
    fn the_embedded_templates_are_the_repository_folder() {
        let mut embedded: Vec<String> = BUILTIN
            .files()
            .map(|f| f.path().to_string_lossy().into_owned())
            .collect();
        embedded.sort();
        let mut on_disk: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        on_disk.sort();
        assert_eq!(embedded, on_disk);
        for file in BUILTIN.files() {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("templates")
                .join(file.path());
            assert_eq!(file.contents(), std::fs::read(&path).unwrap(), "{path:?}");
        }
    }
}
