//! `neurite bench`: the three workloads of the speed targets, timed in this process.
//!
//! * seed: the notes' model (784-50 sigmoid, 10 softmax, Adam, batch 32, 10 epochs);
//! * wide: 784-1024-1024-10 ReLU, batch 256, 1 epoch;
//! * inference: the seed model's forward pass over the 10,000 test images (median of 50);
//! * convnet: Keras' "Simple MNIST convnet" (Conv2D 32 and 64, 3x3 ReLU, max pooling,
//!   dropout 0.5, Dense 10; Adam, batch 128), one epoch of the 54,000 images Keras trains on
//!   with `validation_split=0.1`;
//! * products: the wide model's large products alone (its 1024x1024 layer's forward, weight
//!   gradient and input gradient at batch 256), each split by rows over the threads.
//!
//! First it prints the CPU, the instruction set neurite's loops run, where the products go,
//! and the machine's measured peak: a 2048x2048x2048 SGEMM split by rows over the threads,
//! through each GEMM crate, best of three. Each workload then prints seconds, examples per
//! second, GFLOP/s (multiply-adds counted as two), the fraction of that peak, and the
//! process's peak resident memory so far.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde_json::json;

use crate::budget;
use neurite::data::{mnist, Dataset, DatasetName};
use neurite::error::{Error, Result};
use neurite::kernels::dispatch::{self, Isa, ProductKernel};
use neurite::kernels::{gemm, MatLayout};
use neurite::nn::{Activation, Dense, Initializer, Loss};
use neurite::optim::Optimizer;
use neurite::train::{FitOptions, Metric, ModelConfig, Sequential, Verbosity, KERAS_CONVNET};

/// Timed repetitions of the inference workload; the median is reported.
const INFERENCE_REPS: usize = 50;

/// Flags of `neurite bench`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Directory with MNIST's four IDX files (else $NEURITE_DATA, ./data/mnist, the cache).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Which workloads: seed, wide, inference, convnet, products (comma separated; default all).
    #[arg(long, value_delimiter = ',', default_value = "seed,wide,inference,convnet,products")]
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
    /// Run neurite's own loops at most at this level: baseline, avx2 or avx512 (default:
    /// the best this CPU has), to measure what each level brings.
    #[arg(long, value_name = "LEVEL")]
    pub(crate) isa: Option<Isa>,
    /// Send the products to: auto (each to the crate that measured faster for its shape),
    /// matrixmultiply or gemm.
    #[arg(long, value_name = "KERNEL", default_value = "auto")]
    pub(crate) products: ProductKernel,
    /// Skip the peak measurement (about two seconds).
    #[arg(long)]
    pub(crate) no_peak: bool,
}

/// Side of the square SGEMM whose speed is taken as the machine's peak.
const PEAK_SIZE: usize = 2048;

/// `C = A B` for row-major `A` (m x k) and `B` (k x n), with the rows of `C` split into
/// `threads` bands computed at the same time; the seconds it took.
fn product_split_by_rows(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    (m, k, n): (usize, usize, usize),
    threads: usize,
) -> Result<f64> {
    let band = m.div_ceil(threads.max(1));
    let started = Instant::now();
    std::thread::scope(|scope| {
        let jobs: Vec<_> = c
            .chunks_mut(band * n)
            .zip(a.chunks(band * k))
            .map(|(c, a)| {
                let rows = a.len() / k;
                scope.spawn(move || {
                    gemm(
                        1.0,
                        a,
                        MatLayout::row_major(rows, k),
                        b,
                        MatLayout::row_major(k, n),
                        0.0,
                        c,
                        MatLayout::row_major(rows, n),
                    )
                })
            })
            .collect();
        jobs.into_iter().try_for_each(|j| j.join().map_err(|_| Error::Value("a product's thread panicked".into()))?)
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// Deterministic operands in [-1, 1) for the timed products.
fn operand(len: usize, salt: u64) -> Vec<f32> {
    let mut rng = neurite::Rng::new(salt);
    neurite::Tensor::uniform(&[len], -1.0, 1.0, &mut rng).to_vec()
}

/// The machine's measured peak in GFLOP/s: the best of three 2048^3 SGEMMs through each GEMM
/// crate, split by rows over `threads`; and the crate that reached it.
fn measure_peak(threads: usize) -> Result<(f64, ProductKernel)> {
    let n = PEAK_SIZE;
    let (a, b) = (operand(n * n, 1), operand(n * n, 2));
    let mut c = vec![0.0; n * n];
    let chosen = dispatch::product_kernel();
    let mut best = (0.0, ProductKernel::Auto);
    for kernel in [ProductKernel::Matrixmultiply, ProductKernel::Gemm] {
        dispatch::set_product_kernel(kernel);
        product_split_by_rows(&a, &b, &mut c, (n, n, n), threads)?; // warm up: pages, caches
        for _ in 0..3 {
            let gflops = 2.0 * (n * n * n) as f64 / product_split_by_rows(&a, &b, &mut c, (n, n, n), threads)? / 1e9;
            if gflops > best.0 {
                best = (gflops, kernel);
            }
        }
    }
    dispatch::set_product_kernel(chosen);
    Ok(best)
}

/// The wide model's three large products for its 1024x1024 layer at batch 256 (forward,
/// weight gradient read as a plain product of the transposed activations, input gradient),
/// best of five rounds: seconds for one round and its floating-point operations.
fn time_large_products(threads: usize) -> Result<(f64, f64)> {
    let (batch, width) = (256, 1024);
    let shapes = [(batch, width, width), (width, batch, width), (batch, width, width)];
    let operands: Vec<_> = shapes
        .iter()
        .enumerate()
        .map(|(i, &(m, k, n))| (operand(m * k, 10 + i as u64), operand(k * n, 20 + i as u64), vec![0.0; m * n]))
        .collect();
    let mut operands = operands;
    let flops: f64 = shapes.iter().map(|&(m, k, n)| 2.0 * (m * k * n) as f64).sum();
    let mut best = f64::INFINITY;
    for _ in 0..6 {
        let mut round = 0.0;
        for (shape, (a, b, c)) in shapes.iter().zip(operands.iter_mut()) {
            round += product_split_by_rows(a, b, c, *shape, threads)?;
        }
        best = best.min(round);
    }
    Ok((best, flops))
}

/// Floating-point operations of one example's training step through `sizes`
/// (forward, weight gradient, and input gradient of every layer but the first).
fn train_flops(sizes: &[usize]) -> f64 {
    let macs: Vec<f64> = sizes.windows(2).map(|w| (w[0] * w[1]) as f64).collect();
    let total: f64 = macs.iter().sum();
    2.0 * (2.0 * total + (total - macs[0]))
}

/// Multiply-adds of each layer of a model for one example: a layer with a kernel does its
/// kernel's size of them at each output position (a dense layer at one, a convolution at
/// each of its output's positions); the others are not counted.
fn model_macs(model: &Sequential) -> Result<Vec<f64>> {
    let mut macs = vec![];
    for layer in model.layers() {
        let specs = layer.param_specs();
        let Some(kernel) = specs.iter().find(|s| s.name == "kernel") else { continue };
        let out = layer.output_shape(layer.input_shape())?;
        let per_position = kernel.shape.last().copied().unwrap_or(1).max(1);
        let positions = out.iter().product::<usize>() / per_position;
        macs.push(positions as f64 * kernel.shape.iter().product::<usize>() as f64);
    }
    Ok(macs)
}

/// [`train_flops`] from a model's layers.
fn model_train_flops(model: &Sequential) -> Result<f64> {
    let macs = model_macs(model)?;
    let total: f64 = macs.iter().sum();
    Ok(2.0 * (2.0 * total + (total - macs.first().copied().unwrap_or(0.0))))
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

/// One workload's figures.
struct Measured {
    seconds: f64,
    examples: usize,
    flops: f64,
    accuracy: Option<f64>,
    threads: usize,
}

fn report(args: &BenchArgs, name: &str, m: Measured, peak_gflops: Option<f64>) {
    let rss = peak_rss_mib().unwrap_or(f64::NAN);
    let gflops = m.flops / m.seconds / 1e9;
    let of_peak = peak_gflops.map(|p| gflops / p);
    if args.json {
        println!(
            "{}",
            json!({"workload": name, "seconds": m.seconds, "examples_per_second": m.examples as f64 / m.seconds,
                   "gflops": gflops, "fraction_of_peak": of_peak, "test_accuracy": m.accuracy,
                   "peak_rss_mib": rss, "threads": m.threads})
        );
    } else {
        let acc = m.accuracy.map(|a| format!(" test_accuracy={a:.4}")).unwrap_or_default();
        let peak = of_peak.map(|f| format!(" of_peak={:.0}%", f * 100.0)).unwrap_or_default();
        println!(
            "{name:<10} seconds={:.4} examples/s={:.0} GFLOP/s={gflops:.1}{peak} peak_rss_mib={rss:.1} threads={}{acc}",
            m.seconds,
            m.examples as f64 / m.seconds,
            m.threads
        );
    }
}

/// The header: what runs the arithmetic here, and the peak it is measured against.
fn report_machine(args: &BenchArgs, threads: usize, peak: Option<(f64, ProductKernel)>) {
    let (cpu, isa, detected, products) =
        (dispatch::cpu_model(), dispatch::isa(), dispatch::detected_isa(), dispatch::product_kernels_in_use());
    if args.json {
        println!(
            "{}",
            json!({"cpu": cpu, "isa": isa.name(), "detected_isa": detected.name(), "products": products,
                   "threads": threads, "peak_gflops": peak.map(|p| p.0), "peak_kernel": peak.map(|p| p.1.name()),
                   "peak_sgemm_size": PEAK_SIZE})
        );
    } else {
        println!("cpu        {cpu}");
        println!("isa        {isa} (this CPU: {detected})");
        println!("products   {products}");
        match peak {
            Some((gflops, kernel)) => println!(
                "peak       GFLOP/s={gflops:.1} ({PEAK_SIZE}^3 SGEMM split by rows over {threads} threads, best of 3, through {kernel})"
            ),
            None => println!("peak       not measured (--no-peak)"),
        }
    }
}

/// Runs `neurite bench`.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    let isa = dispatch::limit_isa(args.isa);
    if args.isa.is_some_and(|asked| asked != isa) {
        return Err(Error::Value(format!(
            "--isa {}: this CPU runs at most {}",
            args.isa.map_or("", |i| i.name()),
            dispatch::detected_isa()
        )));
    }
    if args.epochs == 0 {
        return Err(Error::Value("--epochs 0: the seed workload would time no epochs; give at least 1".into()));
    }
    budget::check_fits(
        &format!("--epochs {}", args.epochs),
        "the seed workload's record of every epoch",
        budget::product(&[args.epochs, 2 * std::mem::size_of::<neurite::train::EpochLogs>()]),
        "give fewer --epochs",
    )?;
    dispatch::set_product_kernel(args.products);
    let threads = match args.threads {
        Some(0) => return Err(Error::Value("--threads 0: at least one thread is needed".into())),
        Some(t) => t,
        None => Sequential::default_threads(),
    };
    // The products workload needs no data; the others train or predict on MNIST.
    let data: Option<(Dataset, Dataset)> = if args.workloads.iter().all(|w| w.trim() == "products") {
        None
    } else {
        let dir = mnist::find_dir(DatasetName::Mnist, args.data.as_deref()).ok_or_else(|| {
            Error::Io("bench needs MNIST: pass --data DIR or set NEURITE_DATA (neurite train can download it)".into())
        })?;
        Some(mnist::load_mnist_dir(&dir, DatasetName::Mnist)?)
    };
    let mnist = || data.as_ref().ok_or_else(|| Error::Value("this workload needs MNIST, which was not loaded".into()));
    let peak = if args.no_peak { None } else { Some(measure_peak(threads)?) };
    report_machine(args, threads, peak);
    let peak_gflops = peak.map(|p| p.0);
    let quiet = FitOptions::default().verbose(Verbosity::Silent).seed(0);
    let mut seed_model = None;
    for w in &args.workloads {
        match w.trim() {
            "seed" => {
                let (train, test) = mnist()?;
                let sizes = [784, 50, 10];
                let mut m = model(&sizes, Activation::Sigmoid, args.threads, 0)?;
                let h = m.fit_with(train, None, &quiet.clone().epochs(args.epochs).batch_size(32), &mut [])?;
                let acc = m.evaluate_with(test)?.accuracy;
                let n = train.len() * args.epochs;
                let measured = Measured {
                    seconds: h.seconds(),
                    examples: n,
                    flops: train_flops(&sizes) * n as f64,
                    accuracy: Some(acc),
                    threads: m.threads(),
                };
                report(args, "seed", measured, peak_gflops);
                seed_model = Some(m);
            }
            "wide" => {
                let (train, test) = mnist()?;
                let sizes = [784, 1024, 1024, 10];
                let mut m = model(&sizes, Activation::Relu, args.threads, 0)?;
                let h = m.fit_with(train, None, &quiet.clone().epochs(1).batch_size(256), &mut [])?;
                let acc = m.evaluate_with(test)?.accuracy;
                let measured = Measured {
                    seconds: h.seconds(),
                    examples: train.len(),
                    flops: train_flops(&sizes) * train.len() as f64,
                    accuracy: Some(acc),
                    threads: m.threads(),
                };
                report(args, "wide", measured, peak_gflops);
            }
            "inference" => {
                let (train, test) = mnist()?;
                let mut m = match seed_model.take() {
                    Some(m) => m,
                    None => {
                        let mut m = model(&[784, 50, 10], Activation::Sigmoid, args.threads, 0)?;
                        m.fit_with(train, None, &quiet.clone().epochs(1), &mut [])?;
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
                let measured = Measured {
                    seconds,
                    examples: test.len(),
                    flops: forward_flops(&[784, 50, 10]) * test.len() as f64,
                    accuracy: Some(acc),
                    threads: m.threads(),
                };
                report(args, "inference", measured, peak_gflops);
            }
            "convnet" => {
                let (train, test) = mnist()?;
                // Keras' validation_split=0.1 trains on the first 54,000 images.
                let (train, _) = train.split_at(train.len() * 9 / 10)?;
                let config = ModelConfig::parse_layers(&[28, 28, 1], KERAS_CONVNET, Initializer::GlorotUniform)?;
                let mut m = Sequential::from_config(&config, 0)?;
                if let Some(t) = args.threads {
                    m.set_threads(t)?;
                }
                m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])?;
                let h = m.fit_with(&train, None, &quiet.clone().epochs(1).batch_size(128), &mut [])?;
                let acc = m.evaluate_with(test)?.accuracy;
                let measured = Measured {
                    seconds: h.seconds(),
                    examples: train.len(),
                    flops: model_train_flops(&m)? * train.len() as f64,
                    accuracy: Some(acc),
                    threads: m.threads(),
                };
                report(args, "convnet", measured, peak_gflops);
            }
            "products" => {
                let (seconds, flops) = time_large_products(threads)?;
                let measured = Measured { seconds, examples: 256, flops, accuracy: None, threads };
                report(args, "products", measured, peak_gflops);
            }
            other => {
                return Err(Error::Value(format!(
                    "unknown workload {other:?}: expected seed, wide, inference, convnet or products"
                )))
            }
        }
    }
    Ok(())
}
