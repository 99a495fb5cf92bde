//! The `neurite` command: argument parsing and printing only; every decision about data,
//! models and training is the library's.

mod bench;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
/// code 1 (never a panic).
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
