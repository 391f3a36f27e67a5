//! Rate-limit snapshots read from the headers of a successful model response
//! (SPEC §22.3). They are recorded on the rollout's `token_count` events and
//! never printed.
//!
//! The `codex` limit uses `x-codex-primary-used-percent`,
//! `x-codex-primary-window-minutes`, `x-codex-primary-reset-at` (unix seconds)
//! and the `secondary` equivalents. Any other limit id `<id>` uses the same
//! names with `x-<id>-` in place of `x-codex-` (dashes in the header name,
//! underscores in the id: `x-codex-other-…` is limit `codex_other`) and may
//! carry a display name in `x-<id>-limit-name`. The credit headers
//! (`x-codex-credits-has-credits`, `-unlimited`, `-balance`) apply to every
//! snapshot. Values that do not parse are ignored, as if the header were absent.

use reqwest::header::HeaderMap;
use serde::Serialize;

/// The id of the default limit.
const DEFAULT_LIMIT_ID: &str = "codex";
/// Suffix that marks a limit's headers; finding it names a limit id.
const USED_PERCENT_SUFFIX: &str = "-primary-used-percent";

/// What one limit looked like when the response was sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLimitSnapshot {
    /// `codex`, or another limit's id (lowercase, `_` between words).
    pub limit_id: String,
    /// The limit's display name, when the server gave one.
    pub limit_name: Option<String>,
    /// The shorter window.
    pub primary: Option<RateLimitWindow>,
    /// The longer window.
    pub secondary: Option<RateLimitWindow>,
    /// The account's credits.
    pub credits: Option<CreditsSnapshot>,
    /// The next four are never sent in headers; they are written (as null)
    /// for the shape the reference records.
    pub individual_limit: Option<serde_json::Value>,
    pub spend_control_reached: Option<bool>,
    pub plan_type: Option<String>,
    pub rate_limit_reached_type: Option<String>,
}

/// One window of a limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLimitWindow {
    /// Share of the window used, 0–100.
    pub used_percent: f64,
    /// Length of the window.
    pub window_minutes: Option<i64>,
    /// When the window resets, in unix seconds.
    pub resets_at: Option<i64>,
}

/// The account's credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditsSnapshot {
    pub has_credits: bool,
    pub unlimited: bool,
    /// The balance as the server wrote it.
    pub balance: Option<String>,
}

/// Every snapshot the headers carry: `codex` first, then the other limits by
/// id. A limit with no usable window and no credits gives no snapshot, so
/// headers without rate-limit data give an empty list.
pub fn parse(headers: &HeaderMap) -> Vec<RateLimitSnapshot> {
    let mut ids: Vec<String> = headers
        .keys()
        .filter_map(|name| {
            let prefix = name.as_str().strip_suffix(USED_PERCENT_SUFFIX)?;
            let id = prefix.strip_prefix("x-")?;
            (!id.is_empty() && id != DEFAULT_LIMIT_ID).then(|| id.replace('-', "_"))
        })
        .collect();
    ids.sort();
    ids.dedup();
    std::iter::once(DEFAULT_LIMIT_ID.to_string())
        .chain(ids)
        .filter_map(|id| snapshot(headers, id))
        .collect()
}

/// The snapshot of limit `id`, if its headers carry any data.
fn snapshot(headers: &HeaderMap, limit_id: String) -> Option<RateLimitSnapshot> {
    let prefix = format!("x-{}", limit_id.replace('_', "-"));
    let primary = window(headers, &prefix, "primary");
    let secondary = window(headers, &prefix, "secondary");
    let credits = credits(headers);
    if primary.is_none() && secondary.is_none() && credits.is_none() {
        return None;
    }
    let limit_name = text(headers, &format!("{prefix}-limit-name")).map(str::to_string);
    Some(RateLimitSnapshot {
        limit_id,
        limit_name,
        primary,
        secondary,
        credits,
        individual_limit: None,
        spend_control_reached: None,
        plan_type: None,
        rate_limit_reached_type: None,
    })
}

/// One window; it needs a used percentage, and some sign of life (a non-zero
/// percentage or window length, or a reset time) to count.
fn window(headers: &HeaderMap, prefix: &str, which: &str) -> Option<RateLimitWindow> {
    let used_percent = text(headers, &format!("{prefix}-{which}-used-percent"))?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())?;
    let integer = |suffix: &str| {
        text(headers, &format!("{prefix}-{which}-{suffix}"))?
            .parse::<i64>()
            .ok()
    };
    let window_minutes = integer("window-minutes");
    let resets_at = integer("reset-at");
    let has_data =
        used_percent != 0.0 || window_minutes.is_some_and(|m| m != 0) || resets_at.is_some();
    has_data.then_some(RateLimitWindow {
        used_percent,
        window_minutes,
        resets_at,
    })
}

/// The credit headers; both flags must parse.
fn credits(headers: &HeaderMap) -> Option<CreditsSnapshot> {
    let flag = |name: &str| match text(headers, name)? {
        v if v.eq_ignore_ascii_case("true") || v == "1" => Some(true),
        v if v.eq_ignore_ascii_case("false") || v == "0" => Some(false),
        _ => None,
    };
    Some(CreditsSnapshot {
        has_credits: flag("x-codex-credits-has-credits")?,
        unlimited: flag("x-codex-credits-unlimited")?,
        balance: text(headers, "x-codex-credits-balance").map(str::to_string),
    })
}

/// A header's value, trimmed; absent when missing, not text, or blank.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn reads_both_windows_and_credits() {
        let snapshots = parse(&headers(&[
            ("X-Codex-Primary-Used-Percent", "12.5"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-at", "1790369264"),
            ("x-codex-secondary-used-percent", "64"),
            ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-credits-has-credits", "True"),
            ("x-codex-credits-unlimited", "0"),
            ("x-codex-credits-balance", " 12.50 "),
            ("content-type", "text/event-stream"),
        ]));
        assert_eq!(
            snapshots,
            [RateLimitSnapshot {
                limit_id: "codex".into(),
                limit_name: None,
                primary: Some(RateLimitWindow {
                    used_percent: 12.5,
                    window_minutes: Some(300),
                    resets_at: Some(1790369264),
                }),
                secondary: Some(RateLimitWindow {
                    used_percent: 64.0,
                    window_minutes: Some(10080),
                    resets_at: None,
                }),
                credits: Some(CreditsSnapshot {
                    has_credits: true,
                    unlimited: false,
                    balance: Some("12.50".into()),
                }),
                individual_limit: None,
                spend_control_reached: None,
                plan_type: None,
                rate_limit_reached_type: None,
            }]
        );
    }

    #[test]
    fn no_rate_limit_headers_give_no_snapshot() {
        assert!(parse(&headers(&[("x-request-id", "r1")])).is_empty());
        // An all-zero window carries no information.
        assert!(parse(&headers(&[
            ("x-codex-primary-used-percent", "0"),
            ("x-codex-primary-window-minutes", "0"),
        ]))
        .is_empty());
    }

    #[test]
    fn bad_values_are_ignored() {
        let snapshots = parse(&headers(&[
            ("x-codex-primary-used-percent", "lots"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-secondary-used-percent", "40"),
            ("x-codex-secondary-window-minutes", "a week"),
            ("x-codex-secondary-reset-at", "1.5"),
            ("x-codex-credits-has-credits", "yes"),
            ("x-codex-credits-unlimited", "false"),
            ("x-other-primary-used-percent", "NaN"),
            ("x-inf-primary-used-percent", "inf"),
        ]));
        assert_eq!(snapshots.len(), 1, "{snapshots:?}");
        let codex = &snapshots[0];
        assert_eq!(codex.primary, None);
        assert_eq!(
            codex.secondary,
            Some(RateLimitWindow {
                used_percent: 40.0,
                window_minutes: None,
                resets_at: None,
            })
        );
        assert_eq!(codex.credits, None);
    }

    #[test]
    fn other_limits_get_their_own_snapshots() {
        let snapshots = parse(&headers(&[
            ("x-codex-other-primary-used-percent", "80"),
            ("x-codex-other-primary-window-minutes", "1440"),
            ("x-codex-other-limit-name", "gpt-5-codex-mini"),
            ("x-codex-primary-used-percent", "5"),
            ("x-beta-primary-used-percent", "1"),
        ]));
        let ids: Vec<&str> = snapshots.iter().map(|s| s.limit_id.as_str()).collect();
        assert_eq!(ids, ["codex", "beta", "codex_other"]);
        let other = &snapshots[2];
        assert_eq!(other.limit_name.as_deref(), Some("gpt-5-codex-mini"));
        assert_eq!(
            other.primary.as_ref().map(|w| w.window_minutes),
            Some(Some(1440))
        );
        assert_eq!(other.secondary, None);
    }

    #[test]
    fn serialises_with_the_recorded_field_names() {
        let snapshot = &parse(&headers(&[
            ("x-codex-primary-used-percent", "7"),
            ("x-codex-primary-reset-at", "100"),
        ]))[0];
        assert_eq!(
            serde_json::to_value(snapshot).unwrap(),
            serde_json::json!({
                "limit_id": "codex",
                "limit_name": null,
                "primary": {"used_percent": 7.0, "window_minutes": null, "resets_at": 100},
                "secondary": null,
                "credits": null,
                "individual_limit": null,
                "spend_control_reached": null,
                "plan_type": null,
                "rate_limit_reached_type": null,
            })
        );
    }
}
