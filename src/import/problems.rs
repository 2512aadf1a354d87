//! What an import found wrong with its mapping or sources: each kind of problem once,
//! with its mapping file and line, how often it occurred and its first examples (the
//! value and the source row).

use std::fmt;

/// How many examples each problem keeps.
const EXAMPLES: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The mapping file (or source) the problem is in.
    pub origin: String,
    pub line: usize,
    pub message: String,
    pub count: u64,
    /// The first occurrences: the value and where the source has it.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Counts a problem; the same origin, line and message counts as one problem more.
    pub fn add(&mut self, origin: &str, line: usize, message: String, example: Option<String>) {
        let known = self
            .list
            .iter()
            .position(|p| p.origin == origin && p.line == line && p.message == message);
        let at = known.unwrap_or_else(|| {
            self.list.push(Problem {
                origin: origin.to_string(),
                line,
                message,
                count: 0,
                examples: Vec::new(),
            });
            self.list.len() - 1
        });
        let problem = &mut self.list[at];
        problem.count += 1;
        if let Some(example) = example
            && problem.examples.len() < EXAMPLES
        {
            problem.examples.push(example);
        }
    }

    /// How many problems occurred, counting repeats.
    pub fn total(&self) -> u64 {
        self.list.iter().map(|p| p.count).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.list.iter()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let times = if self.count > 1 {
            format!("{} × ", self.count)
        } else {
            String::new()
        };
        write!(
            f,
            "{} line {}: {times}{}",
            self.origin, self.line, self.message
        )?;
        if !self.examples.is_empty() {
            write!(f, "\n    e.g. {}", self.examples.join("\n         "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_count_once_with_their_first_examples() {
        let mut problems = Problems::default();
        for row in 1..=7 {
            problems.add("t.sql", 3, "bad".into(), Some(format!("row {row}")));
        }
        problems.add("t.sql", 4, "other".into(), None);
        assert_eq!(problems.total(), 8);
        let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            [
                "t.sql line 3: 7 × bad\n    e.g. row 1\n         row 2\n         row 3\n         row 4\n         row 5",
                "t.sql line 4: other"
            ]
        );
    }
}
