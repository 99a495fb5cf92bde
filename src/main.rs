//! The `neurite` command: a thin layer over the library (see `neurite --help`).

use std::process::ExitCode;

fn main() -> ExitCode {
    neurite::cli::main()
}
