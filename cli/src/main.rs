//! The `neurite` command: argument parsing and printing only; every decision about data,
//! models and training is the library's.

mod bench;
mod convert;
mod eval;
mod model;
mod predict;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use bench::BenchArgs;
use convert::{ExportArgs, ImportArgs};
use eval::{EvalArgs, SummaryArgs};
use predict::PredictArgs;
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
    /// Evaluate a saved model on a test set: its summary, then test_loss and test_accuracy.
    Eval(EvalArgs),
    /// Print a saved model's layer table.
    Summary(SummaryArgs),
    /// Classify pictures (PNG or JPEG) with a saved model: class and probabilities per picture.
    Predict(PredictArgs),
    /// Write a model as ONNX, as a PyTorch state_dict, or as NumPy arrays.
    Export(ExportArgs),
    /// Read a model from ONNX, PyTorch (.pt or safetensors) or NumPy (.npz) into neurite's format.
    Import(ImportArgs),
}

/// Parses the command line, runs the command, and turns an error into a message and exit
/// code 1 (never a panic).
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Summary(args) => eval::run_summary(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Export(args) => convert::run_export(&args),
        Command::Import(args) => convert::run_import(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
