//! `neurite bench`: the three workloads of the speed targets, timed in this process.
//!
//! * seed: the notes' model (784-50 sigmoid, 10 softmax, Adam, batch 32, 10 epochs);
//! * wide: 784-1024-1024-10 ReLU, batch 256, 1 epoch;
//! * inference: the seed model's forward pass over the 10,000 test images (median of 50).
//!
//! Each prints seconds, examples per second, GFLOP/s (multiply-adds counted as two) and the
//! process's peak resident memory so far.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use neurite::data::{mnist, Dataset, DatasetName};
use neurite::error::{Error, Result};
use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::train::{FitOptions, Metric, Sequential, Verbosity};

/// Timed repetitions of the inference workload; the median is reported.
const INFERENCE_REPS: usize = 50;

/// Flags of `neurite bench`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Directory with MNIST's four IDX files (else $NEURITE_DATA, ./data/mnist, the cache).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Which workloads: seed, wide, inference (comma separated; default all three).
    #[arg(long, value_delimiter = ',', default_value = "seed,wide,inference")]
    pub(crate) workloads: Vec<String>,
    /// Threads (default: all cores).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Epochs of the seed workload.
    #[arg(long, default_value_t = 10)]
    pub(crate) epochs: usize,
    /// Print one JSON object per workload.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Floating-point operations of one example's training step through `sizes`
/// (forward, weight gradient, and input gradient of every layer but the first).
fn train_flops(sizes: &[usize]) -> f64 {
    let macs: Vec<f64> = sizes.windows(2).map(|w| (w[0] * w[1]) as f64).collect();
    let total: f64 = macs.iter().sum();
    2.0 * (2.0 * total + (total - macs[0]))
}

fn forward_flops(sizes: &[usize]) -> f64 {
    2.0 * sizes.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>()
}

/// Peak resident memory of this process so far, in MiB (Linux), from /proc.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn model(sizes: &[usize], hidden: Activation, threads: Option<usize>, seed: u64) -> Result<Sequential> {
    let mut m = Sequential::with_seed(seed);
    if let Some(t) = threads {
        m.set_threads(t)?;
    }
    for (i, w) in sizes.windows(2).enumerate() {
        let last = i + 2 == sizes.len();
        let mut layer = Dense::new(w[1]).activation(if last { Activation::Softmax } else { hidden });
        if i == 0 {
            layer = layer.input_shape(w[0]);
        }
        m.add(layer)?;
    }
    m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])?;
    Ok(m)
}

fn report(
    args: &BenchArgs,
    name: &str,
    seconds: f64,
    examples: usize,
    flops: f64,
    accuracy: Option<f64>,
    threads: usize,
) {
    let rss = peak_rss_mib().unwrap_or(f64::NAN);
    if args.json {
        println!(
            "{}",
            json!({"workload": name, "seconds": seconds, "examples_per_second": examples as f64 / seconds,
                   "gflops": flops / seconds / 1e9, "test_accuracy": accuracy, "peak_rss_mib": rss, "threads": threads})
        );
    } else {
        let acc = accuracy.map(|a| format!(" test_accuracy={a:.4}")).unwrap_or_default();
        println!(
            "{name:<10} seconds={seconds:.4} examples/s={:.0} GFLOP/s={:.1} peak_rss_mib={rss:.1} threads={threads}{acc}",
            examples as f64 / seconds,
            flops / seconds / 1e9
        );
    }
}

/// Runs `neurite bench`.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    let dir = mnist::find_dir(DatasetName::Mnist, args.data.as_deref()).ok_or_else(|| {
        Error::Io("bench needs MNIST: pass --data DIR or set NEURITE_DATA (neurite train can download it)".into())
    })?;
    let (train, test): (Dataset, Dataset) = mnist::load_mnist_dir(&dir, DatasetName::Mnist)?;
    let quiet = FitOptions::default().verbose(Verbosity::Silent).seed(0);
    let mut seed_model = None;
    for w in &args.workloads {
        match w.trim() {
            "seed" => {
                let sizes = [784, 50, 10];
                let mut m = model(&sizes, Activation::Sigmoid, args.threads, 0)?;
                let h = m.fit_with(&train, None, &quiet.clone().epochs(args.epochs).batch_size(32), &mut [])?;
                let acc = m.evaluate_with(&test)?.accuracy;
                let n = train.len() * args.epochs;
                report(args, "seed", h.seconds(), n, train_flops(&sizes) * n as f64, Some(acc), m.threads());
                seed_model = Some(m);
            }
            "wide" => {
                let sizes = [784, 1024, 1024, 10];
                let mut m = model(&sizes, Activation::Relu, args.threads, 0)?;
                let h = m.fit_with(&train, None, &quiet.clone().epochs(1).batch_size(256), &mut [])?;
                let acc = m.evaluate_with(&test)?.accuracy;
                report(
                    args,
                    "wide",
                    h.seconds(),
                    train.len(),
                    train_flops(&sizes) * train.len() as f64,
                    Some(acc),
                    m.threads(),
                );
            }
            "inference" => {
                let mut m = match seed_model.take() {
                    Some(m) => m,
                    None => {
                        let mut m = model(&[784, 50, 10], Activation::Sigmoid, args.threads, 0)?;
                        m.fit_with(&train, None, &quiet.clone().epochs(1), &mut [])?;
                        m
                    }
                };
                let (x, _) = test.normalized_tensors();
                m.predict(&x)?; // warm the buffers, as the peers' timings exclude their set-up too
                let mut times = Vec::with_capacity(INFERENCE_REPS);
                let mut out = m.predict(&x)?;
                for _ in 0..INFERENCE_REPS {
                    let started = Instant::now();
                    out = m.predict(&x)?;
                    times.push(started.elapsed().as_secs_f64());
                }
                times.sort_by(f64::total_cmp);
                let seconds = times[times.len() / 2];
                let pred = out.argmax_axis(1)?;
                let correct = pred.iter().zip(test.labels()).filter(|(&p, &l)| p == l as usize).count();
                let acc = correct as f64 / test.len() as f64;
                report(
                    args,
                    "inference",
                    seconds,
                    test.len(),
                    forward_flops(&[784, 50, 10]) * test.len() as f64,
                    Some(acc),
                    m.threads(),
                );
            }
            other => return Err(Error::Value(format!("unknown workload {other:?}: expected seed, wide or inference"))),
        }
    }
    Ok(())
}
