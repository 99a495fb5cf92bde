//! The `neurite` command: argument parsing and printing only; every decision about data,
//! models and training is the library's.

mod bench;
mod train;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use bench::BenchArgs;
use train::TrainArgs;

/// neurite: neural networks from the tensor up, and the fastest small-MLP trainer on a CPU.
#[derive(Debug, Parser)]
#[command(name = "neurite", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a multi-layer perceptron (by default the notes' 784-50-10 on MNIST) and print
    /// its test loss and accuracy.
    Train(TrainArgs),
    /// Time the speed targets' workloads (seed model, wide model, inference) on MNIST.
    Bench(BenchArgs),
}

/// Parses the command line, runs the command, and turns an error into a message and exit
/// code 1 (never a panic). A flag that does not parse is clap's exit code 2; a run stopped by
/// Ctrl-C exits with 130 after writing its checkpoint.
fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Train(args) => {
            let given = matches.subcommand_matches("train").cloned().unwrap_or_default();
            // What followed `train` on the command line, recorded in checkpoints.
            let argv: Vec<String> = std::env::args().skip_while(|a| a != "train").skip(1).collect();
            train::run(&args, &given, &argv)
        }
        Command::Bench(args) => bench::run(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
