//! The `authhost` command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // The process's own streams; every command writes to them through this.
    let io = cli::Io::system();
    cli::main(&io)
}
