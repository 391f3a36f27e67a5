//! The one stderr writer for human-facing text: notices, warnings, fatal
//! errors and the human transcript. Tracing logs go to stderr separately.
#![allow(clippy::print_stderr)]

use std::io::Write;

/// ANSI styles used by the human output (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bold,
    Dim,
    Italic,
    Red,
    Green,
    Magenta,
    Cyan,
    MagentaItalic,
    YellowBold,
}

impl Style {
    fn sgr(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Italic => "3",
            Style::Red => "31",
            Style::Green => "32",
            Style::Magenta => "35",
            Style::Cyan => "36",
            Style::MagentaItalic => "35;3",
            Style::YellowBold => "33;1",
        }
    }
}

/// Writes human text to stderr, coloured or not.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    color: bool,
}

impl Reporter {
    /// A reporter that colours when `color` is true.
    pub fn new(color: bool) -> Reporter {
        Reporter { color }
    }

    /// `text` wrapped in the style's escape codes (plain without colour).
    pub fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", style.sgr())
        } else {
            text.to_string()
        }
    }

    /// Write one line (a newline is added).
    pub fn line(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        // stderr failures cannot be reported anywhere; ignore them.
        let _ = writeln!(stderr, "{text}");
    }

    /// A plain informational line.
    pub fn notice(&self, text: &str) {
        self.line(text);
    }

    /// `warning: <text>`.
    pub fn warning(&self, text: &str) {
        self.line(&format!(
            "{} {text}",
            self.paint("warning:", Style::YellowBold)
        ));
    }

    /// `ERROR: <text>`.
    pub fn error(&self, text: &str) {
        self.line(&format!("{} {text}", self.paint("ERROR:", Style::Red)));
    }

    /// A fatal startup error, printed as is (the texts callers match on).
    pub fn fatal(&self, text: &str) {
        self.line(text);
    }
}
