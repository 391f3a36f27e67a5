//! Case-insensitive glob matching for environment variable names
//! (`shell_environment_policy.exclude` / `include_only`, SPEC §14).
//!
//! Supports `*`, `?`, and bracket classes `[abc]`, `[a-z]`, `[!x]` / `[^x]`.
//! A malformed class (no closing `]`) matches its `[` literally.

/// Whether `name` matches `pattern`, ignoring ASCII and Unicode case.
pub fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let name: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    match_from(&pattern, &name)
}

/// Iterative matcher with single-star backtracking (linear in practice).
fn match_from(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index).
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class(&pattern[p..], name[n]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                None => (name[n] == '[').then_some(1),
            },
            Some(c) => (*c == name[n]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match star {
                Some((after_star, matched)) => {
                    p = after_star;
                    n = matched + 1;
                    star = Some((after_star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Match `c` against the class at the start of `pattern` (which begins with
/// `[`). Returns whether it matched and the class's length, or `None` when the
/// class is not closed.
fn class(pattern: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let current = *pattern.get(i)?;
        if current == ']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|end| *end != ']') {
            let end = pattern[i + 2];
            found |= current <= c && c <= end;
            i += 3;
        } else {
            found |= current == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_questions() {
        assert!(matches("*KEY*", "openai_api_key"));
        assert!(matches("*key*", "MY_KEYRING"));
        assert!(matches("AWS_*", "aws_region"));
        assert!(!matches("AWS_*", "XAWS_REGION"));
        assert!(matches("P?TH", "PATH"));
        assert!(!matches("P?TH", "PTH"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("HOME", "home"));
    }

    #[test]
    fn classes() {
        assert!(matches("[AB]_X", "b_x"));
        assert!(!matches("[!AB]_X", "b_x"));
        assert!(matches("[^AB]_X", "c_x"));
        assert!(matches("VAR[0-9]", "VAR7"));
        assert!(!matches("VAR[0-9]", "VARx"));
        assert!(matches("[]]", "]"));
        assert!(matches("A[", "a["));
    }
}
