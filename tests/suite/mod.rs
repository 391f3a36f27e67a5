//! Behaviour files of the black-box suite, one per area of SPEC.

mod apply_patch_tool;
mod cli;
mod config;
mod git_check;
mod human_output;
mod input_limits;
mod mcp;
mod mcp_resources;
mod output_files;
mod output_jsonl;
mod parallel_calls;
mod prompt_sources;
mod request_shape;
mod retries;
mod rollout_records;
mod sandbox;
mod server_faults;
mod session_faults;
mod session_names;
mod sessions;
mod shell_tools;
mod signals;
mod stream_failures;
mod todo_list;
mod view_image;
