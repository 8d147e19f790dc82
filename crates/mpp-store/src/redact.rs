//! Connection strings with their passwords masked, for logs, errors and `Debug`.

/// What a masked password is replaced with.
const MASK: &str = "***";

/// `target` with every password replaced by `***`: the password of a URL's user info
/// (`redis://user:secret@host`), and the value of any `password=` parameter, whether in a URL
/// query (`?password=secret&…`) or a key-value string (`host=db password='se cret'`).
pub(crate) fn redact(target: &str) -> String {
    mask_password_params(&mask_userinfo(target))
}

/// Masks `secret` in `scheme://user:secret@host…`.
fn mask_userinfo(target: &str) -> String {
    let Some(scheme_end) = target.find("://") else {
        return target.to_owned();
    };
    let (head, rest) = target.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return target.to_owned();
    };
    let (userinfo, host) = authority.split_at(at);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{head}{user}:{MASK}{host}{tail}"),
        None => target.to_owned(),
    }
}

/// Masks the value of every `password=` parameter (ASCII case-insensitive).
fn mask_password_params(target: &str) -> String {
    const KEY: &str = "password=";
    let mut out = String::with_capacity(target.len());
    let mut rest = target;
    while let Some(at) = find_ascii_ci(rest, KEY) {
        let (before, after_key_start) = rest.split_at(at);
        let (key, value_and_rest) = after_key_start.split_at(KEY.len());
        out.push_str(before);
        out.push_str(key);
        out.push_str(MASK);
        rest = skip_value(value_and_rest);
    }
    out.push_str(rest);
    out
}

/// The text after a parameter value: a quoted value ends at its closing quote (`\'` escapes),
/// a bare one at whitespace or `&`.
fn skip_value(value: &str) -> &str {
    if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '\'' if !escaped => return quoted.get(i + 1..).unwrap_or(""),
                _ => escaped = false,
            }
        }
        ""
    } else {
        let end = value
            .find(|c: char| c.is_whitespace() || c == '&')
            .unwrap_or(value.len());
        value.get(end..).unwrap_or("")
    }
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.char_indices().map(|(i, _)| i).find(|&i| {
        haystack
            .get(i..i + needle.len())
            .is_some_and(|window| window.eq_ignore_ascii_case(needle))
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn masks_url_passwords() {
        assert_eq!(
            redact("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact("postgres://shop:p%40ss:w@db.internal:5432/pay?sslmode=disable"),
            "postgres://shop:***@db.internal:5432/pay?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://u@h/db?password=secret&application_name=x"),
            "postgresql://u@h/db?password=***&application_name=x"
        );
    }

    #[test]
    fn masks_key_value_passwords() {
        assert_eq!(
            redact("host=db user=shop password=secret dbname=pay"),
            "host=db user=shop password=*** dbname=pay"
        );
        assert_eq!(
            redact("host=db PASSWORD='se cr\\'et' port=5432"),
            "host=db PASSWORD=*** port=5432"
        );
    }

    #[test]
    fn leaves_password_free_targets_alone() {
        for target in [
            "redis://127.0.0.1:6379/",
            "host=/run/postgresql user=me",
            "postgres://me@h/db",
        ] {
            assert_eq!(redact(target), target);
        }
    }
}
