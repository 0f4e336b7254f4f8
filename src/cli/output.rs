//! Printing results on standard output. Once the reader has gone (`eddy check … | head`), nothing
//! more is printed and the command carries on quietly, rather than panicking on the broken pipe.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints one line on standard output, unless the reader has gone.
pub fn say(line: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}").is_err() {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// `println!` for the CLI: a closed standard output ends the printing, not the program.
macro_rules! out {
    () => {
        $crate::cli::output::say(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::say(format_args!($($arg)*))
    };
}

pub(crate) use out;
