//! Printing results: aligned tables for people, JSON for scripts.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use crate::CliError;

/// Where results go, and in which form.
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether results are printed as JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `rows` as a table with `header`, or `value` as JSON.
    pub(crate) fn table<T: Serialize>(
        &self,
        value: &T,
        header: &[&str],
        rows: Vec<Vec<String>>,
    ) -> Result<(), CliError> {
        if self.json {
            return self.json(value);
        }
        if rows.is_empty() {
            println!("(none)");
            return Ok(());
        }
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
        for row in rows {
            table.add_row(row);
        }
        println!("{table}");
        Ok(())
    }

    /// Prints a confirmation line, or `value` as JSON.
    pub(crate) fn done<T: Serialize>(&self, value: &T, message: &str) -> Result<(), CliError> {
        if self.json {
            self.json(value)
        } else {
            println!("{message}");
            Ok(())
        }
    }

    fn json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::Failure(format!("cannot print JSON: {e}")))?;
        println!("{text}");
        Ok(())
    }
}
