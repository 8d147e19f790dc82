//! Prefix listings as key ranges, for the SQL stores: a prefix becomes `key >= prefix AND
//! key < end`, which an index on `key` answers directly, with no `LIKE` pattern to escape.

/// The least string above every string that starts with `prefix`, in code point order (which
/// is the byte order of UTF-8, SQLite's `BINARY` and PostgreSQL's `"C"` collation); `None`
/// when no string is (`prefix` is empty, or only U+10FFFF).
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = next_char(last) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The code point after `c`, skipping the surrogates (which no string holds).
fn next_char(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        c => char::from_u32(u32::from(c) + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_bounds_exactly_the_keys_with_the_prefix() {
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_end("ch:").as_deref(), Some("ch;"));
        assert_eq!(prefix_end("a%").as_deref(), Some("a&"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));

        let keys = [
            "",
            "a",
            "a\u{0}",
            "a%",
            "a%b",
            "a&",
            "a_",
            "a\u{7F}",
            "a\u{80}",
            "a\u{D7FF}",
            "a\u{D7FF}x",
            "a\u{E000}",
            "a\u{FFFF}",
            "a\u{10000}",
            "a\u{10FFFF}",
            "a\u{10FFFF}z",
            "b",
            "é",
            "\u{10FFFF}",
        ];
        for prefix in keys {
            let end = prefix_end(prefix);
            for key in keys {
                let in_range = key >= prefix && end.as_deref().is_none_or(|end| key < end);
                assert_eq!(in_range, key.starts_with(prefix), "{prefix:?} / {key:?}");
            }
        }
    }
}
