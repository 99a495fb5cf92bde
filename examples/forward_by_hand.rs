//! The notes' three-layer forward pass (SPEC section 3), then one step of gradient descent
//! with autograd: every number on the way is printed, so it can be checked by hand.
//!
//! ```sh
//! cargo run --example forward_by_hand
//! ```

use neurite::autograd::{no_grad, Var};
use neurite::Tensor;

fn main() -> neurite::Result<()> {
    let x = Var::constant(Tensor::matrix([[1.0, 0.5]]));
    let w1 = Var::parameter(Tensor::matrix([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]));
    let b1 = Var::parameter(Tensor::vector(&[0.1, 0.2, 0.3]));
    let w2 = Var::parameter(Tensor::matrix([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]));
    let b2 = Var::parameter(Tensor::vector(&[0.1, 0.2]));
    let w3 = Var::parameter(Tensor::matrix([[0.1, 0.3], [0.2, 0.4]]));
    let b3 = Var::parameter(Tensor::vector(&[0.1, 0.2]));

    let a1 = x.matmul(&w1)?.add(&b1)?;
    let z1 = a1.sigmoid()?;
    let z2 = z1.matmul(&w2)?.add(&b2)?.sigmoid()?;
    let y = z2.matmul(&w3)?.add(&b3)?; // identity output
    println!("A1 = {:?}", a1.value().to_vec()); // [0.3, 0.7, 1.1]
    println!("Z1 = {:?}", z1.value().to_vec()); // [0.57444252, 0.66818777, 0.75026011]
    println!("Y  = {:?}", y.value().to_vec()); // [0.31682708, 0.69627909]

    // Squared error against a target, its gradients, and one step of gradient descent:
    // the bias moves exactly like the weight, b = b - lr * dL/db.
    let target = Var::constant(Tensor::matrix([[0.0, 1.0]]));
    let loss = y.sub(&target)?.powf(2.0)?.mean()?;
    loss.backward()?;
    println!("loss = {}", loss.value().item()?);
    let lr = 0.5;
    let params = [&w1, &b1, &w2, &b2, &w3, &b3];
    no_grad(|| -> neurite::Result<()> {
        for p in params {
            let grad = p.grad().expect("every parameter took part in the loss");
            p.set_value(p.value().sub(&(&grad * lr))?)?;
        }
        Ok(())
    })?;
    println!("b3 after one step = {:?}", b3.value().to_vec());

    let y = z_forward(&x, &params)?;
    let loss_after = y.sub(&target)?.powf(2.0)?.mean()?;
    println!("loss after one step = {}", loss_after.value().item()?);
    Ok(())
}

/// The same forward pass with the updated parameters.
fn z_forward(x: &Var, p: &[&Var; 6]) -> neurite::Result<Var> {
    let z1 = x.matmul(p[0])?.add(p[1])?.sigmoid()?;
    let z2 = z1.matmul(p[2])?.add(p[3])?.sigmoid()?;
    z2.matmul(p[4])?.add(p[5])
}
