//! `neurite perceptron`: note 003's perceptron learning a logic gate, printed epoch by epoch
//! with the truth table it ends with; for XOR, also the two ways that work.

use clap::Args;

use crate::budget;
use neurite::error::{Error, Result};
use neurite::teach::{learn_xor, Gate, Perceptron, TruthTable};

/// Flags of `neurite perceptron`: learning rate 0.1, 10 epochs, the examples in order.
#[derive(Debug, Clone, Args)]
pub(crate) struct PerceptronArgs {
    /// The gate to learn: and, or, nand or xor.
    #[arg(long, default_value = "and")]
    gate: Gate,
    /// Learning rate (the notes' eta).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    lr: f32,
    /// Passes over the four examples (the notes' niter), at most 10,000,000: each epoch keeps
    /// and prints its count of misclassified examples.
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    epochs: usize,
    /// Shuffle the examples each epoch with this seed (default: in order, as the notes);
    /// also the seed of the XOR network's weights (default 0).
    #[arg(long, allow_negative_numbers = true)]
    seed: Option<u64>,
    /// Hidden units of the network that learns XOR (only with --gate xor) [default: 2].
    // No clap default: a value given for another gate is then seen, and refused.
    #[arg(long, allow_negative_numbers = true)]
    hidden: Option<usize>,
}

/// The most epochs the perceptron runs: it keeps and prints one count per epoch (8 bytes and
/// a line each; ten million take about 4 s and 80 MB), and four examples settle in a few
/// epochs, so more is a typing slip rather than a wish (1e9 took 8 GB and five minutes).
const MAX_EPOCHS: usize = 10_000_000;

/// Epochs of the network that learns XOR.
const XOR_EPOCHS: usize = 500;

/// Refuses flags that do nothing for this gate, and sizes that do not fit in memory, before
/// anything is allocated.
fn check(args: &PerceptronArgs) -> Result<()> {
    if args.epochs == 0 {
        return Err(Error::Value("--epochs 0: the perceptron learns nothing in no epochs; give at least 1".into()));
    }
    if let (Some(h), false) = (args.hidden, args.gate == Gate::Xor) {
        return Err(Error::Value(format!(
            "--hidden {h} sizes the network that learns XOR; --gate {} is learned by one perceptron, which has no hidden units",
            args.gate
        )));
    }
    if args.epochs > MAX_EPOCHS {
        return Err(Error::Value(format!(
            "--epochs {}: the perceptron keeps and prints a count for every epoch, and runs at most {MAX_EPOCHS} (four examples settle within a few)",
            args.epochs
        )));
    }
    // The perceptron keeps its misclassification count for every epoch.
    budget::check_fits(
        &format!("--epochs {}", args.epochs),
        "the misclassifications kept for every epoch",
        budget::product(&[args.epochs, std::mem::size_of::<usize>()]),
        "give fewer --epochs",
    )?;
    if let Some(h) = args.hidden {
        if h == 0 {
            return Err(Error::Value("--hidden 0: the XOR network needs at least one hidden unit".into()));
        }
        // Per hidden unit: 4 parameters (2 weights in, a bias, a weight out), each with its
        // gradient and Adam's two moments and a copy (5 floats), and its activation and
        // gradient for the 4 examples (8 floats): 28 floats of 4 bytes.
        budget::check_fits(
            &format!("--hidden {h}"),
            &format!("training the 2-{h}-1 network"),
            budget::product(&[h, 28 * 4]),
            "use fewer hidden units (2 to 8 learn XOR)",
        )?;
    }
    Ok(())
}

/// Runs `neurite perceptron`.
pub(crate) fn run(args: &PerceptronArgs) -> Result<()> {
    check(args)?;
    let gate = args.gate;
    let x = Gate::inputs();
    let mut p = Perceptron::new(args.lr, args.epochs);
    let order = match args.seed {
        Some(seed) => {
            p = p.shuffled(seed);
            format!("shuffled with seed {seed}")
        }
        None => "in order".to_string(),
    };
    println!("perceptron learning {gate}: learning rate {}, {} epochs, examples {order}", args.lr, args.epochs);
    p.fit(&x, &gate.perceptron_targets())?;
    for (epoch, errors) in p.errors().iter().enumerate() {
        println!("epoch {:>3}: {errors} misclassified", epoch + 1);
    }
    let w = p.weights();
    println!("weights (bias first): [{}]", w.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>().join(", "));
    let learned = TruthTable::from_outputs(&p.predict(&x)?, 0.0)?;
    println!("learned truth table:\n{learned}");
    let first_clean = p.errors().iter().position(|&e| e == 0);
    let stays_clean = first_clean.is_some_and(|i| p.errors()[i..].iter().all(|&e| e == 0));
    match (learned == gate.truth_table(), first_clean) {
        (true, Some(i)) if stays_clean => {
            println!("{gate} learned: no misclassification from epoch {} on", i + 1)
        }
        (true, _) => println!("{gate} right after the last epoch, though errors did not settle at 0"),
        (false, _) if gate == Gate::Xor => println!(
            "XOR not learned: the errors never reach 0, because one perceptron draws one line and no line parts XOR's ones from its zeros"
        ),
        (false, _) => println!("{gate} not learned yet: try more --epochs"),
    }
    if gate != Gate::Xor {
        let fixed = gate.perceptron()?;
        let w = fixed.weights();
        println!(
            "\n{gate} with hand-set weights [{}]:\n{}",
            w.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(", "),
            gate.fixed_truth_table()?
        );
        return Ok(());
    }
    println!(
        "\nXOR from perceptrons with hand-set weights, AND(NAND(x1, x2), OR(x1, x2)):\n{}",
        gate.fixed_truth_table()?
    );
    let seed = args.seed.unwrap_or(0);
    let (epochs, hidden) = (XOR_EPOCHS, args.hidden.unwrap_or(2));
    let (mut model, history) = learn_xor(hidden, seed, epochs)?;
    let outputs = model.predict(&x)?;
    let losses = history.get("loss");
    println!(
        "XOR learned by a 2-{}-1 network (tanh, sigmoid) with backpropagation: seed {seed}, {epochs} epochs of Adam on binary cross-entropy, loss {:.4} -> {:.4}",
        hidden,
        losses.first().copied().unwrap_or(f64::NAN),
        losses.last().copied().unwrap_or(f64::NAN)
    );
    println!("outputs: [{}]", outputs.to_vec().iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(", "));
    let table = TruthTable::from_outputs(&outputs, 0.5)?;
    println!("truth table (output above 0.5):\n{table}");
    if table != Gate::Xor.truth_table() {
        println!("this start settled in a local minimum: try --hidden 4, or another --seed");
    }
    Ok(())
}
