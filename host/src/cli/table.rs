//! Text the listings share: aligned tables and lists of capabilities.

use authhost::capability::Capability;

use super::Io;

/// Prints `rows` under `header` in columns two spaces apart, each as wide
/// as its widest cell; the last column is not padded.
pub fn print<const N: usize>(
    io: &Io,
    header: [&str; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        outln!(io, "{}", text.trim_end())
    };
    line(header.to_vec())?;
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

/// Capabilities in their canonical text, comma-separated.
pub fn capabilities(caps: &[Capability]) -> String {
    caps.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text`, or `none` when it is empty.
pub fn or_none(text: String) -> String {
    if text.is_empty() { "none".into() } else { text }
}

#[cfg(test)]
mod tests {
    use crate::cli::Io;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let (io, out, err) = Io::in_memory();
        let rows = [
            [
                "groq".to_owned(),
                "api-key".to_owned(),
                "api_key".to_owned(),
            ],
            ["openrouter".to_owned(), "-".to_owned(), String::new()],
        ];
        super::print(&io, ["PROVIDER", "PLUGIN", "CREDENTIAL"], &rows).unwrap();
        assert_eq!(
            out.text(),
            "PROVIDER    PLUGIN   CREDENTIAL\n\
             groq        api-key  api_key\n\
             openrouter  -\n"
        );
        assert_eq!(err.text(), "");
    }
}
