//! The `neurite` command: argument parsing and printing only; every decision about data,
//! models and training is the library's.

mod bench;
mod logistic;
mod perceptron;
mod pictures;
mod plot;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bench::BenchArgs;
use logistic::LogisticArgs;
use perceptron::PerceptronArgs;
use plot::PlotArgs;
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
    /// Note 003's perceptron learning a logic gate: errors per epoch and the truth table.
    Perceptron(PerceptronArgs),
    /// Note 002's logistic regression on MNIST: "is it a 5?", or ten one-vs-all models.
    Logistic(LogisticArgs),
    /// Draw pictures: activations, or the history, weights, layers or errors of a saved run.
    Plot(PlotArgs),
}

/// Parses the command line, runs the command, and turns an error into a message and exit
/// code 1 (never a panic).
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Perceptron(args) => perceptron::run(&args),
        Command::Logistic(args) => logistic::run(&args),
        Command::Plot(args) => plot::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
