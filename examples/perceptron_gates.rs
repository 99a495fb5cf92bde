//! Note 003's perceptron and logic gates: Rosenblatt's rule learns AND, OR and NAND (its
//! misclassifications per epoch fall to 0), never XOR; the gates with hand-set weights, XOR
//! wired as AND(NAND, OR); and XOR learned by a 2-2-1 network with backpropagation.
//!
//! ```sh
//! cargo run --example perceptron_gates
//! ```

use neurite::teach::{learn_xor, Gate, Perceptron, TruthTable};

fn main() -> neurite::Result<()> {
    let x = Gate::inputs();
    for gate in Gate::ALL {
        // The notes' Perceptron(rate=0.1, niter=10), examples in order.
        let mut p = Perceptron::new(0.1, 10);
        p.fit(&x, &gate.perceptron_targets())?;
        let learned = TruthTable::from_outputs(&p.predict(&x)?, 0.0)?;
        println!("{gate}: misclassifications per epoch {:?}, weights (bias first) {:.2?}", p.errors(), p.weights());
        println!("learned truth table ({}):\n{learned}", if learned == gate.truth_table() { "right" } else { "wrong" });
    }

    println!("The gates with hand-set weights; XOR is AND(NAND(x1, x2), OR(x1, x2)):");
    for gate in Gate::ALL {
        println!("{gate}:\n{}", gate.fixed_truth_table()?);
    }

    let (mut model, history) = learn_xor(2, 0, 500)?;
    let outputs = model.predict(&x)?;
    println!(
        "XOR by a 2-2-1 network (tanh, sigmoid), 500 epochs of backpropagation: loss {:.4} -> {:.4}, outputs {:.3?}",
        history.get("loss")[0],
        history.get("loss").last().copied().unwrap_or(f64::NAN),
        outputs.to_vec()
    );
    println!("{}", TruthTable::from_outputs(&outputs, 0.5)?);
    Ok(())
}
