//! Reading the text of `csa session list`: the line of a session, found by
//! its `SESSION` cell (the id's shortest unique prefix, after any tree guides).

/// The `SESSION` cell of a table line: its first word that is not a tree guide.
pub fn session_cell(line: &str) -> &str {
    line.split_whitespace()
        .find(|word| !word.starts_with(['├', '└', '│', '…']))
        .unwrap_or("")
}

/// The line of the session `id` in a `csa session list` table: the one whose
/// `SESSION` cell is a prefix of `id` (at least 8 characters, as shown).
pub fn list_line<'t>(table: &'t str, id: &str) -> Option<&'t str> {
    table.lines().skip(1).find(|line| {
        let cell = session_cell(line);
        cell.len() >= 8 && id.starts_with(cell)
    })
}
