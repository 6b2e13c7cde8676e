//! Scenario errors that say where: file, line, column, field — and what would be valid.

use std::fmt;

/// A problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Dotted path of the offending field, e.g. `fault[2].action` (empty for the whole file).
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Turns byte offsets into positions and guesses the field an offset belongs to.
pub(crate) struct Locator<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Locator<'_> {
    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    pub fn error(&self, offset: usize, field: String, message: String) -> ScenarioError {
        let (line, column) = self.position(offset);
        ScenarioError {
            file: self.file.to_string(),
            line,
            column,
            field,
            message,
        }
    }

    /// The table path (`cluster`, `fault[1]`, …) in force at `offset`: the nearest header above.
    pub fn section_at(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let mut section = String::new();
        let mut counts: Vec<(String, usize)> = Vec::new();
        let mut pos = 0;
        for line in self.text.split_inclusive('\n') {
            if pos > offset {
                break;
            }
            let trimmed = line.trim();
            if let Some(name) = trimmed
                .strip_prefix("[[")
                .and_then(|t| t.split("]]").next())
            {
                let name = name.trim().to_string();
                let index = match counts.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, c)) => {
                        *c += 1;
                        *c
                    }
                    None => {
                        counts.push((name.clone(), 1));
                        1
                    }
                };
                section = format!("{name}[{index}]");
            } else if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.split(']').next()) {
                section = name.trim().to_string();
            }
            pos += line.len();
        }
        section
    }

    /// The key whose value contains `offset` (or which starts at `offset`), including keys of
    /// inline tables (`mix = { read = 4 }`).
    pub fn key_at(&self, offset: usize) -> Option<String> {
        let offset = offset.min(self.text.len());
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        let line = &self.text[line_start..line_end];
        let rel = offset - line_start;
        // The offset is on a key: take the identifier there.
        let after = &line[rel..];
        let ident: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if !ident.is_empty() && after[ident.len()..].trim_start().starts_with('=') {
            return Some(self.with_inline_parent(line, rel, ident));
        }
        // Otherwise the nearest `key =` before the offset on this line.
        let before = &line[..rel];
        let eq = before.rfind('=')?;
        let key: String = before[..eq]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if key.is_empty() {
            return None;
        }
        let key_pos = before[..eq].trim_end().len() - key.len();
        Some(self.with_inline_parent(line, key_pos, key))
    }

    /// `mix = { read = 4 }`: a key inside braces is reported as `mix.read`.
    fn with_inline_parent(&self, line: &str, key_pos: usize, key: String) -> String {
        let before = &line[..key_pos];
        let open = before.matches('{').count();
        let close = before.matches('}').count();
        if open > close {
            if let Some(brace) = before.rfind('{') {
                let head = before[..brace].trim_end().trim_end_matches('=').trim_end();
                let parent: String = head
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                if !parent.is_empty() {
                    return format!("{parent}.{key}");
                }
            }
        }
        key
    }

    /// `section.key`, or whichever part is known.
    pub fn field_at(&self, offset: usize) -> String {
        join(&self.section_at(offset), self.key_at(offset).as_deref())
    }
}

pub(crate) fn join(section: &str, key: Option<&str>) -> String {
    match (section.is_empty(), key) {
        (true, Some(k)) => k.to_string(),
        (false, Some(k)) => format!("{section}.{k}"),
        (_, None) => section.to_string(),
    }
}
