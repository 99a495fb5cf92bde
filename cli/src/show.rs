//! Text from files, made safe to print on a terminal.
//!
//! Class names come from CSV cells and folder names, layer names and columns from model
//! files: a stranger's text. Printed raw, an escape sequence in one of them moves the cursor,
//! clears the screen or retitles the window, and a newline or carriage return in a class
//! name forges a line of output. Every such name goes through [`name`] (one line) or a whole
//! printed block through [`block`] before it reaches the terminal; `--json` output needs
//! neither (JSON escapes control characters itself).

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is: a control character (C0, DEL, C1), or a
/// bidirectional override or isolate, which reorders what follows it on the line.
fn hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every hostile character written as a Rust escape (`\u{1b}`), `keep` excepted.
fn escaped<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !text.chars().any(|c| hostile(c) && !keep.contains(&c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hostile(c) && !keep.contains(&c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A name from a file (a class, a column, a path) for one line of output: every control
/// character escaped, newlines and tabs included.
pub(crate) fn name(text: &str) -> Cow<'_, str> {
    escaped(text, &[])
}

/// A block of lines that holds names from a file (a model's summary table, an error): control
/// characters escaped except the newlines that make its lines.
pub(crate) fn block(text: &str) -> Cow<'_, str> {
    escaped(text, &['\n'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_newlines_and_overrides_are_written_out() {
        assert_eq!(name("cat"), "cat");
        assert_eq!(name("\u{1b}[2Jcat"), "\\u{1b}[2Jcat");
        assert_eq!(name("a\nb\rc"), "a\\u{a}b\\u{d}c");
        assert_eq!(name("x\u{202e}y\u{9b}"), "x\\u{202e}y\\u{9b}");
        assert_eq!(block("line 1\nline \u{7}2"), "line 1\nline \\u{7}2");
        assert_eq!(name("고양이 é"), "고양이 é", "letters of any script stay");
    }
}
