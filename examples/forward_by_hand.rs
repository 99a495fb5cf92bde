//! The notes' three-layer forward pass (SPEC section 3), then one step of gradient descent
//! with autograd: every number on the way is printed, so it can be checked by hand.
//!
//! ```sh
//! cargo run --example forward_by_hand
//! ```

use neurite::autograd::{no_grad, Var};
use neurite::{Error, Tensor};

/// W1, B1, W2, B2, W3, B3.
type Params = [Var; 6];

/// The forward pass, returning A1 = X W1 + B1, Z1 = sigmoid(A1) and the identity output Y.
fn forward(x: &Var, p: &Params) -> neurite::Result<(Var, Var, Var)> {
    let a1 = x.matmul(&p[0])?.add(&p[1])?;
    let z1 = a1.sigmoid()?;
    let z2 = z1.matmul(&p[2])?.add(&p[3])?.sigmoid()?;
    let y = z2.matmul(&p[4])?.add(&p[5])?;
    Ok((a1, z1, y))
}

fn main() -> neurite::Result<()> {
    let x = Var::constant(Tensor::matrix([[1.0, 0.5]]));
    let params: Params = [
        Var::parameter(Tensor::matrix([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])),
        Var::parameter(Tensor::vector(&[0.1, 0.2, 0.3])),
        Var::parameter(Tensor::matrix([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]])),
        Var::parameter(Tensor::vector(&[0.1, 0.2])),
        Var::parameter(Tensor::matrix([[0.1, 0.3], [0.2, 0.4]])),
        Var::parameter(Tensor::vector(&[0.1, 0.2])),
    ];

    let (a1, z1, y) = forward(&x, &params)?;
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
    no_grad(|| -> neurite::Result<()> {
        for p in &params {
            let grad = p.grad().ok_or_else(|| Error::Value("a parameter took no part in the loss".into()))?;
            p.set_value(p.value().sub(&(&grad * lr))?)?;
        }
        Ok(())
    })?;
    println!("B3 after one step = {:?}", params[5].value().to_vec());

    let (_, _, y) = forward(&x, &params)?;
    let loss_after = y.sub(&target)?.powf(2.0)?.mean()?;
    println!("loss after one step = {}", loss_after.value().item()?);
    Ok(())
}
