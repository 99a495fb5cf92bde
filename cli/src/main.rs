//! The `neurite` command: argument parsing and printing only; every decision about data,
//! models and training is the library's.

mod bench;
mod budget;
mod convert;
mod eval;
mod logistic;
mod model;
mod paths;
mod perceptron;
mod pictures;
mod playground;
mod plot;
mod predict;
mod show;
mod sources;
mod train;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use bench::BenchArgs;
use convert::{ExportArgs, ImportArgs};
use eval::{EvalArgs, SummaryArgs};
use logistic::LogisticArgs;
use perceptron::PerceptronArgs;
use playground::PlaygroundArgs;
use plot::PlotArgs;
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
    /// Train a multi-layer perceptron (by default the notes' 784-50-10 on MNIST; or on a CSV
    /// table, --csv, or a folder of pictures, --images) and print its test loss and accuracy.
    Train(Box<TrainArgs>),
    /// Time the speed targets' workloads (seed model, wide model, inference) on MNIST.
    Bench(BenchArgs),
    /// Note 003's perceptron learning a logic gate: errors per epoch and the truth table.
    Perceptron(PerceptronArgs),
    /// Note 002's logistic regression on MNIST: "is it a 5?", or ten one-vs-all models.
    Logistic(LogisticArgs),
    /// Draw pictures: activations, or the history, weights, layers or errors of a saved run.
    Plot(PlotArgs),
    /// Evaluate a saved model on a test set (an IDX data set, --csv FILE or --images DIR): its
    /// summary, then test_loss and test_accuracy.
    Eval(EvalArgs),
    /// Print a saved model's layer table.
    Summary(SummaryArgs),
    /// Classify pictures (PNG or JPEG), or the rows of a CSV (--csv), with a saved model: class
    /// (by name for a model of your own data) and probabilities per picture or row.
    Predict(PredictArgs),
    /// Write a model as ONNX, as a PyTorch state_dict, or as NumPy arrays.
    Export(ExportArgs),
    /// Read a model from ONNX, PyTorch (.pt or safetensors) or NumPy (.npz) into neurite's format.
    Import(ImportArgs),
    /// Serve the playground web page on 127.0.0.1: draw a digit and see every layer answer,
    /// train in the browser, models to and from files.
    Playground(PlaygroundArgs),
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
        Command::Perceptron(args) => perceptron::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Logistic(args) => logistic::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Plot(args) => plot::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Eval(args) => eval::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Summary(args) => eval::run_summary(&args).map(|()| ExitCode::SUCCESS),
        Command::Predict(args) => predict::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Export(args) => convert::run_export(&args).map(|()| ExitCode::SUCCESS),
        Command::Import(args) => convert::run_import(&args).map(|()| ExitCode::SUCCESS),
        Command::Playground(args) => playground::run(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // An error may quote a file's text (a column, a class, a layer's name).
            eprintln!("error: {}", show::block(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}
