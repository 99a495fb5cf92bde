//! The PyTorch way: layers as modules, a hand-written loop, autograd and an optimiser, on
//! the 8x8 digits bundled with the library (no download, a few seconds).
//!
//! ```sh
//! cargo run --release --example torch_style_loop
//! ```

use neurite::autograd::{no_grad, Var};
use neurite::data::Dataset;
use neurite::nn::{accuracy, Activation, Linear, Loss, Module};
use neurite::optim::{Optim, Optimizer};
use neurite::Rng;

fn main() -> neurite::Result<()> {
    let (train, test) = Dataset::digits()?;
    let mut rng = Rng::new(0);
    let fc1 = Linear::new(64, 32, &mut rng)?;
    let fc2 = Linear::new(32, 10, &mut rng)?;
    let mut params = fc1.parameters();
    params.extend(fc2.parameters());
    let mut opt = Optim::new(Optimizer::adam().learning_rate(0.01), params)?;
    let forward = |x: &Var| -> neurite::Result<Var> { fc2.forward(&fc1.forward(x)?.relu()?) };

    for epoch in 1..=10 {
        let (mut total, mut count) = (0.0, 0);
        for (x, y) in train.batches(32, Some(&mut rng))? {
            opt.zero_grad();
            let logits = forward(&Var::constant(x))?;
            // Softmax and cross-entropy in one stable step, as torch.nn.CrossEntropyLoss.
            let loss = Loss::SparseCategoricalCrossentropy.forward_logits(&logits, Activation::Softmax, &y)?;
            loss.backward()?;
            opt.step()?;
            total += loss.value().item()? as f64 * y.len() as f64;
            count += y.len();
        }
        println!("epoch {epoch:2}: loss {:.4}", total / count as f64);
    }

    let (x, y) = test.normalized_tensors();
    let logits = no_grad(|| forward(&Var::constant(x)))?;
    println!("test accuracy {:.4}", accuracy(&logits.value(), &y)?);
    Ok(())
}
