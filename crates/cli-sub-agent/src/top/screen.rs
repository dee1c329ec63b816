//! The terminal while `csa session top` draws on it: raw mode and the
//! alternate screen on the way in, and the terminal as it was on every way
//! out: [`Screen::leave`], the drop of a [`Screen`] (an error returned
//! through `?`), and a panic (a hook restores it before the panic message
//! is printed). The stop signals end the view through `leave` too (see
//! [`super::live`]).

use std::io::{Stdout, Write};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, execute, terminal};

/// The terminal in the live view's state.
#[derive(Debug)]
pub struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    left: bool,
}

impl Screen {
    /// Enter raw mode and the alternate screen, and arrange for a panic to
    /// restore the terminal first.
    pub fn enter() -> anyhow::Result<Screen> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        terminal::enable_raw_mode()?;
        let mut stdout = std::io::stdout();
        if let Err(err) = execute!(stdout, terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(err.into());
        }
        let terminal = Terminal::new(CrosstermBackend::new(stdout))?;
        Ok(Screen {
            terminal,
            left: false,
        })
    }

    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame<'_>)) -> anyhow::Result<()> {
        self.terminal.draw(render)?;
        Ok(())
    }

    /// Restore the terminal.
    pub fn leave(mut self) -> anyhow::Result<()> {
        self.left = true;
        restore();
        Ok(())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if !self.left {
            restore();
        }
    }
}

/// Leave the alternate screen, show the cursor, end raw mode; best effort
/// (each step is tried whatever the others did).
fn restore() {
    let mut stdout = std::io::stdout();
    let _ = execute!(stdout, terminal::LeaveAlternateScreen, cursor::Show);
    let _ = terminal::disable_raw_mode();
    let _ = stdout.flush();
}
