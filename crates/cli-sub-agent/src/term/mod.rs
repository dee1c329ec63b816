//! The terminal surface: what every command needs to show text to a person.
//!
//! - [`escape`]: controls, bidi and invisible characters from session files
//!   and tool output never reach the terminal raw;
//! - [`width`]: display widths (CJK and emoji are two columns), cutting text
//!   to a width, the terminal's width;
//! - [`style`]: `--color`, `NO_COLOR`, and the colours of statuses and labels;
//! - [`time`]: relative ages and durations;
//! - [`log`]: tracing logs on stderr, escaped and coloured only on a terminal.
//!
//! Commands build their text with these and write it through `crate::ui::Ui`.
//! JSON output needs none of it: serde escapes every control character.

pub mod escape;
pub mod log;
pub mod style;
pub mod time;
pub mod width;

pub use self::escape::escape;
pub use self::style::{Palette, status_style};
pub use self::time::{human_duration, relative_age};
pub use self::width::{display_width, escape_to_width, stdout_terminal_width};
