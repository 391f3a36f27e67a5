//! The reviewer's answer as the run's final message (SPEC §21): the overall
//! explanation, then the findings (`Review comment:` for one, `Full review
//! comments:` for several, one blank line between them). An answer that is not
//! the JSON object the guidelines ask for is passed through verbatim.

use serde::Deserialize;
use serde_json::Value;

/// Shown when the reviewer's JSON holds neither an explanation nor findings.
const EMPTY_REVIEW_MESSAGE: &str = "The reviewer answered without any explanation or finding.";

/// The JSON answer the review guidelines ask for; fields this runner does not
/// show (scores, priorities, `overall_correctness`) are not read.
#[derive(Debug, Deserialize)]
struct ReviewOutput {
    #[serde(default)]
    findings: Vec<Finding>,
    #[serde(default)]
    overall_explanation: String,
}

/// One finding.
#[derive(Debug, Deserialize)]
struct Finding {
    title: String,
    #[serde(default)]
    body: String,
    code_location: CodeLocation,
}

/// Where a finding points.
#[derive(Debug, Deserialize)]
struct CodeLocation {
    absolute_file_path: String,
    line_range: LineRange,
}

/// Inclusive line numbers.
#[derive(Debug, Deserialize)]
struct LineRange {
    start: u64,
    end: u64,
}

/// The final message for the reviewer's `answer`.
pub fn render(answer: &str) -> String {
    match parse(answer) {
        Some(output) => render_output(&output),
        None => answer.to_string(),
    }
}

/// The answer as a review: the whole text, or (for an answer wrapped in prose
/// or a code fence) the text from its first `{` to its last `}`, when that is
/// a JSON object with the review's fields.
fn parse(answer: &str) -> Option<ReviewOutput> {
    let inner = match (answer.find('{'), answer.rfind('}')) {
        (Some(start), Some(end)) if start < end => Some(&answer[start..=end]),
        _ => None,
    };
    [Some(answer), inner]
        .into_iter()
        .flatten()
        .find_map(|text| {
            let value: Value = serde_json::from_str(text).ok()?;
            let object = value.as_object()?;
            if !object.contains_key("findings") && !object.contains_key("overall_explanation") {
                return None;
            }
            serde_json::from_value(value).ok()
        })
}

fn render_output(output: &ReviewOutput) -> String {
    let mut sections = Vec::new();
    let explanation = output.overall_explanation.trim();
    if !explanation.is_empty() {
        sections.push(explanation.to_string());
    }
    if !output.findings.is_empty() {
        let header = if output.findings.len() == 1 {
            "Review comment:"
        } else {
            "Full review comments:"
        };
        let mut lines = vec![header.to_string()];
        for finding in &output.findings {
            let location = &finding.code_location;
            lines.push(String::new());
            lines.push(format!(
                "- {} \u{2014} {}:{}-{}",
                finding.title,
                location.absolute_file_path,
                location.line_range.start,
                location.line_range.end
            ));
            lines.extend(finding.body.lines().map(|line| format!("  {line}")));
        }
        sections.push(lines.join("\n").trim_end().to_string());
    }
    if sections.is_empty() {
        return EMPTY_REVIEW_MESSAGE.to_string();
    }
    sections.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(title: &str, body: &str, path: &str, start: u64, end: u64) -> Value {
        json!({
            "title": title, "body": body, "confidence_score": 0.8, "priority": 1,
            "code_location": {"absolute_file_path": path, "line_range": {"start": start, "end": end}},
        })
    }

    fn answer(findings: Vec<Value>, explanation: &str) -> String {
        json!({
            "findings": findings, "overall_correctness": "patch is incorrect",
            "overall_explanation": explanation, "overall_confidence_score": 0.7,
        })
        .to_string()
    }

    /// One finding: the explanation, `Review comment:`, the finding.
    #[test]
    fn one_finding_is_a_review_comment() -> anyhow::Result<()> {
        let text = render(&answer(
            vec![finding(
                "[P1] Off by one",
                "The loop skips\nthe last item.",
                "/r/a.rs",
                3,
                5,
            )],
            " The change breaks iteration. ",
        ));
        assert_eq!(
            text,
            "The change breaks iteration.\n\nReview comment:\n\n- [P1] Off by one \u{2014} /r/a.rs:3-5\n  The loop skips\n  the last item."
        );
        Ok(())
    }

    /// Several findings: `Full review comments:`, a blank line between them.
    #[test]
    fn several_findings_are_full_review_comments() -> anyhow::Result<()> {
        let text = render(&answer(
            vec![
                finding("First", "one", "/r/a.rs", 1, 1),
                finding("Second", "two", "/r/b.rs", 7, 9),
            ],
            "Two problems.",
        ));
        assert_eq!(
            text,
            "Two problems.\n\nFull review comments:\n\n- First \u{2014} /r/a.rs:1-1\n  one\n\n- Second \u{2014} /r/b.rs:7-9\n  two"
        );
        Ok(())
    }

    /// No findings: only the explanation (a fixed text when it is blank too).
    #[test]
    fn no_findings_leave_only_the_explanation() -> anyhow::Result<()> {
        assert_eq!(render(&answer(vec![], "Looks good.\n")), "Looks good.");
        assert_eq!(render(&answer(vec![], " ")), EMPTY_REVIEW_MESSAGE);
        Ok(())
    }

    /// Findings without an explanation are the whole message.
    #[test]
    fn findings_without_an_explanation_stand_alone() -> anyhow::Result<()> {
        let text = render(&answer(vec![finding("T", "b", "/p", 1, 2)], ""));
        assert_eq!(text, "Review comment:\n\n- T \u{2014} /p:1-2\n  b");
        Ok(())
    }

    /// JSON in a code fence is found between its braces.
    #[test]
    fn a_fenced_answer_is_still_parsed() -> anyhow::Result<()> {
        let fenced = format!("```json\n{}\n```", answer(vec![], "Fine."));
        assert_eq!(render(&fenced), "Fine.");
        Ok(())
    }

    /// Anything that is not the review's JSON passes through verbatim.
    #[test]
    fn other_answers_pass_through_verbatim() -> anyhow::Result<()> {
        for text in [
            "No JSON here.\n",
            "",
            "{not json}",
            r#"{"something": "else"}"#,
            r#"{"findings": [{"title": "no location"}]}"#,
            "[1, 2]",
        ] {
            assert_eq!(render(text), text);
        }
        Ok(())
    }
}
