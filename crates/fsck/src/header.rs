//! Splitting the header part of a commit or tag into lines, one pass.

use std::ops::Range;

use crate::error::{escape, Malformed, ObjectKind, Rule};

/// One line of the header part.
pub(crate) enum Line<'a> {
    /// `key SP value LF` (or `key LF`, then `value` is empty and `spaced` false).
    Header {
        key: &'a [u8],
        value: &'a [u8],
        spaced: bool,
        /// Offset of the first byte of the line.
        start: usize,
        /// Offset just past the line's newline.
        next: usize,
        number: usize,
    },
    /// ` more LF`: continues the previous header.
    Continuation { next: usize, number: usize },
    /// The blank line; the message starts at `body`.
    End { body: usize },
}

/// Walks the header lines of a commit or tag.
pub(crate) struct HeaderLines<'a> {
    raw: &'a [u8],
    pos: usize,
    number: usize,
    object: ObjectKind,
}

impl<'a> HeaderLines<'a> {
    pub(crate) fn new(raw: &'a [u8], object: ObjectKind) -> Self {
        HeaderLines {
            raw,
            pos: 0,
            number: 0,
            object,
        }
    }

    /// Number of the line last returned (1-based).
    pub(crate) fn number(&self) -> usize {
        self.number
    }

    pub(crate) fn next_line(&mut self) -> Result<Line<'a>, Malformed> {
        let raw = self.raw;
        let start = self.pos;
        self.number += 1;
        let number = self.number;
        if start == raw.len() {
            return Err(Malformed::new(
                self.object,
                Rule::MissingBlankLine,
                if start == 0 {
                    "empty object".to_string()
                } else {
                    format!("no blank line after the headers (line {number})")
                },
            ));
        }
        let rest = &raw[start..];
        let end = match rest.iter().position(|&b| b == b'\n' || b == 0) {
            Some(i) if rest[i] == 0 => {
                return Err(Malformed::new(
                    self.object,
                    Rule::NulByte,
                    format!("NUL byte in the header (line {number})"),
                ))
            }
            Some(i) => start + i,
            None => {
                return Err(Malformed::new(
                    self.object,
                    Rule::UnterminatedHeader,
                    format!("header line {number} has no newline"),
                ))
            }
        };
        let line = &raw[start..end];
        let next = end + 1;
        self.pos = next;
        if line.is_empty() {
            return Ok(Line::End { body: next });
        }
        if line[0] == b' ' {
            return Ok(Line::Continuation { next, number });
        }
        let (key, value, spaced) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], &line[i + 1..], true),
            None => (line, &line[line.len()..], false),
        };
        Ok(Line::Header {
            key,
            value,
            spaced,
            start,
            next,
            number,
        })
    }
}

/// A header whose value may go on over continuation lines (`gpgsig`,
/// `gpgsig-sha256`, `mergetag`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderBlock<'a> {
    /// Line number of the header's first line (1-based).
    pub line: usize,
    /// Byte range of the whole header in the object, from the first byte of
    /// its key to just past the newline of its last continuation line. The
    /// object without these bytes is what a `gpgsig` signature signs.
    pub span: Range<usize>,
    /// The value as stored: from just after `key SP` to just before the last
    /// newline, continuation lines still starting with their space.
    pub folded: &'a [u8],
}

impl<'a> HeaderBlock<'a> {
    /// The value's lines with the continuation space removed (no newlines).
    pub fn lines(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let folded: &'a [u8] = self.folded;
        folded.split(|&b| b == b'\n').enumerate().map(|(i, l)| {
            if i == 0 {
                l
            } else {
                l.strip_prefix(b" ").unwrap_or(l)
            }
        })
    }

    /// The value unfolded the way git extracts a signature: each line
    /// without its continuation space and followed by a newline.
    pub fn unfold(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.folded.len() + 1);
        for l in self.lines() {
            out.extend_from_slice(l);
            out.push(b'\n');
        }
        out
    }
}

/// `(line N)` in an error message, formatted only when an error is made.
#[derive(Clone, Copy)]
pub(crate) struct At(pub(crate) usize);

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(line {})", self.0)
    }
}

/// Shows a header key in an error message.
pub(crate) fn show_key(key: &[u8]) -> String {
    format!("`{}`", escape(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_unfolds_like_git() {
        let raw = b"gpgsig -----BEGIN-----\n \n abc\n -----END-----\n";
        let b = HeaderBlock {
            line: 1,
            span: 0..raw.len(),
            folded: &raw[7..raw.len() - 1],
        };
        assert_eq!(b.unfold(), b"-----BEGIN-----\n\nabc\n-----END-----\n");
        assert_eq!(b.lines().count(), 4);
    }
}
