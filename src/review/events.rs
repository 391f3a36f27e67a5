//! The notifications of a review run as the front end shows them (SPEC §21,
//! §4.2): the reviewer's last message is held back and replaced, when the turn
//! completes, by the rendered review; earlier messages and every other item
//! pass through; `turn.completed` reports zero usage, as the reference does
//! for a review (its reviewer runs in a child thread).
//!
//! Item ids are renumbered in the order items are shown, so the held message
//! does not leave a gap and the rendered review gets the next id.

use std::collections::{HashMap, VecDeque};

use super::render::render;
use crate::runner::events::{ItemDetails, MessageText, ThreadEvent, ThreadItem, Usage};
use crate::runner::AgentThread;

/// Turns a review thread's notifications into what is shown.
#[derive(Debug, Default)]
pub struct ReviewEvents {
    /// The agent's item id -> the id shown.
    ids: HashMap<String, String>,
    next_id: u64,
    /// The latest agent message, not shown yet.
    held: Option<MessageText>,
    /// Events ready to be shown.
    ready: VecDeque<ThreadEvent>,
}

impl ReviewEvents {
    /// A filter for a new review turn.
    pub fn new() -> ReviewEvents {
        ReviewEvents::default()
    }

    /// The next event to show; `None` once the thread has stopped. Cancel
    /// safe: an event is taken from the thread and filtered without awaiting.
    pub async fn next(&mut self, thread: &mut AgentThread) -> Option<ThreadEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let event = thread.next_event().await?;
            self.accept(event);
        }
    }

    /// Filter one notification of the thread.
    fn accept(&mut self, event: ThreadEvent) {
        match event {
            ThreadEvent::ItemCompleted {
                item:
                    ThreadItem {
                        details: ItemDetails::AgentMessage { text },
                        ..
                    },
            } => {
                if let Some(earlier) = self.held.replace(text) {
                    self.show_message(earlier);
                }
            }
            ThreadEvent::ItemStarted { item } => {
                let item = self.renumber(item);
                self.ready.push_back(ThreadEvent::ItemStarted { item });
            }
            ThreadEvent::ItemUpdated { item } => {
                let item = self.renumber(item);
                self.ready.push_back(ThreadEvent::ItemUpdated { item });
            }
            ThreadEvent::ItemCompleted { item } => {
                let item = self.renumber(item);
                self.ready.push_back(ThreadEvent::ItemCompleted { item });
            }
            ThreadEvent::TurnCompleted { .. } => {
                if let Some(answer) = self.held.take() {
                    self.show_message(MessageText::new(&render(&answer.text())));
                }
                self.ready.push_back(ThreadEvent::TurnCompleted {
                    usage: Usage::default(),
                });
            }
            ThreadEvent::TurnFailed { error } => {
                // A failed review has no result to show.
                self.held = None;
                self.ready.push_back(ThreadEvent::TurnFailed { error });
            }
            event @ (ThreadEvent::ThreadStarted { .. }
            | ThreadEvent::TurnStarted {}
            | ThreadEvent::Error { .. }
            | ThreadEvent::ContextCompacted {}) => self.ready.push_back(event),
        }
    }

    /// Queue an agent message under a new id.
    fn show_message(&mut self, text: MessageText) {
        let id = self.fresh_id();
        self.ready.push_back(ThreadEvent::ItemCompleted {
            item: ThreadItem {
                id,
                details: ItemDetails::AgentMessage { text },
            },
        });
    }

    /// `item` under the id it is shown with (a new one at first sight).
    fn renumber(&mut self, mut item: ThreadItem) -> ThreadItem {
        item.id = match self.ids.get(&item.id) {
            Some(id) => id.clone(),
            None => {
                let id = self.fresh_id();
                self.ids.insert(item.id.clone(), id.clone());
                id
            }
        };
        item
    }

    fn fresh_id(&mut self) -> String {
        let id = format!("item_{}", self.next_id);
        self.next_id += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::events::{CommandStatus, ThreadError};
    use pretty_assertions::assert_eq;

    fn message(id: &str, text: &str) -> ThreadEvent {
        ThreadEvent::ItemCompleted {
            item: ThreadItem {
                id: id.into(),
                details: ItemDetails::AgentMessage {
                    text: MessageText::new(text),
                },
            },
        }
    }

    fn command(id: &str, started: bool) -> ThreadEvent {
        let item = ThreadItem {
            id: id.into(),
            details: ItemDetails::CommandExecution {
                command: "git diff".into(),
                aggregated_output: String::new(),
                exit_code: None,
                status: CommandStatus::InProgress,
            },
        };
        if started {
            ThreadEvent::ItemStarted { item }
        } else {
            ThreadEvent::ItemCompleted { item }
        }
    }

    fn filtered(events: Vec<ThreadEvent>) -> Vec<ThreadEvent> {
        let mut filter = ReviewEvents::new();
        for event in events {
            filter.accept(event);
        }
        filter.ready.into_iter().collect()
    }

    /// Earlier messages pass, the last becomes the rendered review, usage is zero.
    #[test]
    fn the_last_message_becomes_the_rendered_review_with_zero_usage() -> anyhow::Result<()> {
        let answer = r#"{"findings": [], "overall_explanation": "All good."}"#;
        let usage = Usage {
            input_tokens: 10,
            output_tokens: 3,
            ..Usage::default()
        };
        let shown = filtered(vec![
            ThreadEvent::TurnStarted {},
            message("item_0", "Looking at the diff."),
            command("item_1", true),
            command("item_1", false),
            message("item_2", answer),
            ThreadEvent::TurnCompleted { usage },
        ]);
        assert_eq!(
            shown,
            vec![
                ThreadEvent::TurnStarted {},
                command("item_0", true),
                command("item_0", false),
                message("item_1", "Looking at the diff."),
                message("item_2", "All good."),
                ThreadEvent::TurnCompleted {
                    usage: Usage::default()
                },
            ]
        );
        Ok(())
    }

    /// A failed turn drops the held answer.
    #[test]
    fn a_failed_turn_shows_no_review() -> anyhow::Result<()> {
        let error = ThreadError {
            message: "boom".into(),
        };
        let shown = filtered(vec![
            message("item_0", "{}"),
            ThreadEvent::Error {
                message: "boom".into(),
            },
            ThreadEvent::TurnFailed {
                error: error.clone(),
            },
        ]);
        assert_eq!(
            shown,
            vec![
                ThreadEvent::Error {
                    message: "boom".into()
                },
                ThreadEvent::TurnFailed { error },
            ]
        );
        Ok(())
    }

    /// A turn without a message shows no review message.
    #[test]
    fn a_turn_without_a_message_shows_none() -> anyhow::Result<()> {
        let shown = filtered(vec![ThreadEvent::TurnCompleted {
            usage: Usage::default(),
        }]);
        assert_eq!(
            shown,
            vec![ThreadEvent::TurnCompleted {
                usage: Usage::default()
            }]
        );
        Ok(())
    }
}
