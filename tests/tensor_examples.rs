//! The worked examples of the notes' NumPy and torch parts (SPEC.md section 1), with the
//! notes' own numbers, plus the shape-error contract.

use neurite::{Rng, Tensor};

fn v(t: &Tensor) -> Vec<f32> {
    t.to_vec()
}

#[test]
fn dot_of_two_vectors_is_the_inner_product() {
    let a = Tensor::vector(&[1.0, 2.0, 3.0]);
    let b = Tensor::vector(&[4.0, 5.0, 6.0]);
    let d = a.dot(&b).unwrap();
    assert_eq!(d.ndim(), 0);
    assert_eq!(d.item().unwrap(), 32.0);
}

#[test]
fn dot_with_a_scalar_scales() {
    let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(v(&a.dot(&Tensor::scalar(3.0)).unwrap()), vec![3.0, 6.0, 9.0, 12.0]);
    assert_eq!(v(&Tensor::scalar(2.0).dot(&a).unwrap()), vec![2.0, 4.0, 6.0, 8.0]);
}

#[test]
fn dot_2x2_by_2x2_gives_19_22_43_50() {
    let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0]]);
    let b = Tensor::matrix([[5.0, 6.0], [7.0, 8.0]]);
    let c = a.dot(&b).unwrap();
    assert_eq!(c.shape(), &[2, 2]);
    assert_eq!(v(&c), vec![19.0, 22.0, 43.0, 50.0]);
}

#[test]
fn dot_3x2_by_vector_gives_23_53_83() {
    let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    let b = Tensor::vector(&[7.0, 8.0]);
    let c = a.dot(&b).unwrap();
    assert_eq!(c.shape(), &[3]);
    assert_eq!(v(&c), vec![23.0, 53.0, 83.0]);
}

#[test]
fn dot_vector_by_2x3_gives_5_11_17() {
    let a = Tensor::vector(&[1.0, 2.0]);
    let b = Tensor::matrix([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]);
    let c = a.dot(&b).unwrap();
    assert_eq!(c.shape(), &[3]);
    assert_eq!(v(&c), vec![5.0, 11.0, 17.0]);
}

#[test]
fn dot_with_mismatched_inner_dimensions_names_both_shapes() {
    let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    let b = Tensor::vector(&[7.0, 8.0, 9.0]);
    let err = a.dot(&b).unwrap_err().to_string();
    assert!(err.contains("dot: shapes (3, 2) and (3,) not aligned: 2 (dim 1) != 3 (dim 0)"), "{err}");
    let err = Tensor::vector(&[1.0, 2.0]).dot(&Tensor::vector(&[1.0])).unwrap_err().to_string();
    assert!(err.contains("(2,) and (1,)"), "{err}");
    let err = Tensor::zeros(&[2, 3]).matmul(&Tensor::zeros(&[2, 3])).unwrap_err().to_string();
    assert!(err.contains("(2, 3) and (2, 3)"), "{err}");
    // A 1-D operand is named as given, not as the matrix it is promoted to.
    let err = Tensor::ones(&[3]).matmul(&Tensor::zeros(&[4, 5])).unwrap_err().to_string();
    assert!(err.contains("matmul: shapes (3,) and (4, 5) not aligned: 3 (dim 0) != 4 (dim 0)"), "{err}");
    let err = Tensor::zeros(&[2, 4, 5]).matmul(&Tensor::ones(&[3])).unwrap_err().to_string();
    assert!(err.contains("matmul: shapes (2, 4, 5) and (3,) not aligned: 5 (dim 2) != 3 (dim 0)"), "{err}");
}

#[test]
fn dot_of_higher_dimensions_follows_numpy() {
    // np.dot(a, b)[i,j,k,m] = sum(a[i,j,:] * b[k,:,m])
    let a = Tensor::arange(12).reshape(&[2, 3, 2]).unwrap();
    let b = Tensor::arange(12).reshape(&[3, 2, 2]).unwrap();
    let c = a.dot(&b).unwrap();
    assert_eq!(c.shape(), &[2, 3, 3, 2]);
    let (av, bv) = (v(&a), v(&b));
    let mut want = Vec::new();
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..3 {
                for m in 0..2 {
                    want.push((0..2).map(|p| av[i * 6 + j * 2 + p] * bv[k * 4 + p * 2 + m]).sum::<f32>());
                }
            }
        }
    }
    assert_eq!(v(&c), want);
}

#[test]
fn the_notes_inference_chain_has_the_notes_shapes() {
    // X(100x784) . W1(784x50) . W2(50x100) . W3(100x10) gives Y(100x10)
    let mut rng = Rng::new(1);
    let x = Tensor::rand(&[100, 784], &mut rng);
    let w1 = Tensor::randn(&[784, 50], &mut rng);
    let w2 = Tensor::randn(&[50, 100], &mut rng);
    let w3 = Tensor::randn(&[100, 10], &mut rng);
    let y = x.dot(&w1).unwrap().dot(&w2).unwrap().dot(&w3).unwrap();
    assert_eq!(y.shape(), &[100, 10]);
}

#[test]
fn matmul_batches_and_broadcasts_like_pytorch() {
    let mut rng = Rng::new(2);
    let a = Tensor::randn(&[4, 1, 2, 3], &mut rng);
    let b = Tensor::randn(&[5, 3, 6], &mut rng);
    let c = a.matmul(&b).unwrap();
    assert_eq!(c.shape(), &[4, 5, 2, 6]);
    let a1 = a.select(0, 3).unwrap().select(0, 0).unwrap();
    let b1 = b.select(0, 4).unwrap();
    let c1 = c.select(0, 3).unwrap().select(0, 4).unwrap();
    assert!(c1.allclose(&a1.matmul(&b1).unwrap(), 1e-6, 1e-6));
    // 1-D operands are promoted and the added dimension removed.
    assert_eq!(Tensor::ones(&[3]).matmul(&b).unwrap().shape(), &[5, 6]);
    assert_eq!(b.matmul(&Tensor::ones(&[6])).unwrap().shape(), &[5, 3]);
}

#[test]
fn transposed_operands_share_storage_and_multiply_correctly() {
    let a = Tensor::arange(6).reshape(&[2, 3]).unwrap();
    let at = a.t().unwrap();
    assert!(at.shares_storage_with(&a));
    assert!(!at.is_contiguous());
    let c = at.matmul(&a).unwrap(); // (3,2).(2,3)
    let explicit = at.contiguous().matmul(&a).unwrap();
    assert_eq!(c, explicit);
    assert_eq!(v(&c), vec![9.0, 12.0, 15.0, 12.0, 17.0, 22.0, 15.0, 22.0, 29.0]);
}

#[test]
fn reshape_minus_one_flattens_images_to_784() {
    let images = Tensor::zeros(&[5, 28, 28]);
    let flat = images.reshape(&[-1, 784]).unwrap();
    assert_eq!(flat.shape(), &[5, 784]);
    assert!(flat.shares_storage_with(&images));
    let err = images.reshape(&[-1, 100]).unwrap_err().to_string();
    assert!(err.contains("(5, 28, 28)"), "{err}");
    assert!(images.reshape(&[-1, -1]).is_err());
}

#[test]
fn view_refuses_non_contiguous_tensors_and_reshape_copies() {
    let a = Tensor::arange(6).reshape(&[2, 3]).unwrap().t().unwrap();
    assert!(a.view(&[-1]).is_err());
    assert_eq!(v(&a.reshape(&[-1]).unwrap()), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn constructors_match_numpy() {
    assert_eq!(v(&Tensor::arange(9)), (0..9).map(|i| i as f32).collect::<Vec<_>>());
    assert_eq!(Tensor::arange(9).reshape(&[3, 3]).unwrap().shape(), &[3, 3]);
    assert_eq!(v(&Tensor::linspace(0.0, 1.0, 5)), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(v(&Tensor::arange_step(1.0, 2.0, 0.25).unwrap()), vec![1.0, 1.25, 1.5, 1.75]);
    assert_eq!(v(&Tensor::eye(2)), vec![1.0, 0.0, 0.0, 1.0]);
    assert_eq!(v(&Tensor::full(&[2], 7.0)), vec![7.0, 7.0]);
    assert_eq!(Tensor::zeros(&[2, 3]).size(), 6);
    assert_eq!(Tensor::ones(&[2, 3]).ndim(), 2);
    assert_eq!(Tensor::ones(&[4, 3]).len(), 4);
    assert!(Tensor::from_vec(vec![1.0; 5], &[2, 3]).is_err());
    assert!(Tensor::arange_step(0.0, 1.0, 0.0).is_err());
    let mut r1 = Rng::new(9);
    let mut r2 = Rng::new(9);
    assert_eq!(Tensor::randn(&[3, 3], &mut r1), Tensor::randn(&[3, 3], &mut r2));
    let u = Tensor::rand(&[1000], &mut r1);
    assert!(u.to_vec().iter().all(|&x| (0.0..1.0).contains(&x)));
}

#[test]
fn broadcasting_adds_a_row_to_every_row() {
    let x = Tensor::matrix([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let b = Tensor::vector(&[10.0, 20.0, 30.0]);
    assert_eq!(v(&x.add(&b).unwrap()), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    let col = Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    assert_eq!(v(&x.mul(&col).unwrap()), vec![1.0, 2.0, 3.0, 8.0, 10.0, 12.0]);
    let outer = col.add(&b).unwrap();
    assert_eq!(outer.shape(), &[2, 3]);
    let err = x.add(&Tensor::vector(&[1.0, 2.0])).unwrap_err().to_string();
    assert!(err.contains("(2, 3) (2,)"), "{err}");
}

#[test]
fn comparisons_give_masks_and_the_step_function_casts_to_int() {
    // The notes' step function: y = x > 0; y.astype(int)
    let x = Tensor::vector(&[-1.0, 1.0, 2.0]);
    let mask = x.gt(0.0).unwrap();
    assert_eq!(mask.to_bool(), vec![false, true, true]);
    assert_eq!(mask.to_i64(), vec![0, 1, 1]);
    assert_eq!(v(&x.step()), vec![0.0, 1.0, 1.0]);
    assert_eq!(v(&x.le(&Tensor::scalar(1.0)).unwrap()), vec![1.0, 1.0, 0.0]);
    let w = Tensor::where_cond(&mask, &x, &Tensor::scalar(0.0)).unwrap();
    assert_eq!(v(&w), vec![0.0, 1.0, 2.0]);
    assert_eq!(v(&x.maximum(0.0).unwrap()), vec![0.0, 1.0, 2.0]);
    assert_eq!(Tensor::from_u8(&[0, 128, 255], &[3]).unwrap().to_u8(), vec![0, 128, 255]);
    assert_eq!(Tensor::from_i64(&[-2, 3], &[2]).unwrap().to_vec(), vec![-2.0, 3.0]);
    assert_eq!(Tensor::from_bool(&[true, false], &[2]).unwrap().to_vec(), vec![1.0, 0.0]);
}

#[test]
fn unary_functions() {
    let x = Tensor::vector(&[1.0, 4.0, 9.0]);
    assert_eq!(v(&x.sqrt()), vec![1.0, 2.0, 3.0]);
    assert_eq!(v(&x.neg().abs()), vec![1.0, 4.0, 9.0]);
    assert_eq!(v(&x.powf(2.0)), vec![1.0, 16.0, 81.0]);
    assert_eq!(v(&x.pow(&Tensor::vector(&[0.0, 0.5, 1.0])).unwrap()), vec![1.0, 2.0, 9.0]);
    assert!(x.log().exp().allclose(&x, 1e-6, 0.0));
    assert_eq!(v(&(&x * 2.0)), vec![2.0, 8.0, 18.0]);
    assert_eq!(v(&(&x + 1.0)), vec![2.0, 5.0, 10.0]);
}

#[test]
fn reductions_over_all_and_one_axis() {
    let x = Tensor::matrix([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]);
    assert_eq!(x.sum().item().unwrap(), 21.0);
    assert_eq!(x.mean().unwrap().item().unwrap(), 3.5);
    assert_eq!(x.max().unwrap().item().unwrap(), 6.0);
    assert_eq!(x.min().unwrap().item().unwrap(), 1.0);
    assert_eq!(x.argmax().unwrap(), 5);
    assert_eq!(v(&x.sum_axis(0, false).unwrap()), vec![5.0, 7.0, 9.0]);
    assert_eq!(x.sum_axis(1, true).unwrap().shape(), &[2, 1]);
    assert_eq!(v(&x.mean_axis(-1, false).unwrap()), vec![3.0, 4.0]);
    assert_eq!(v(&x.max_axis(1, false).unwrap()), vec![5.0, 6.0]);
    let classes: Vec<usize> = x.argmax_axis(1).unwrap();
    assert_eq!(classes, vec![1, 2]);
    assert_eq!(x.argmin_axis(0).unwrap(), vec![0, 1, 0]);
    assert_eq!(Tensor::zeros(&[2, 3, 4]).argmax_axis(1).unwrap().len(), 8);
    let err = x.sum_axis(2, false).unwrap_err().to_string();
    assert!(err.contains("axis 2 is out of bounds for a tensor of dimension 2"), "{err}");
    // Only the sum of nothing has a value.
    let empty = Tensor::zeros(&[0]);
    assert_eq!(empty.sum().item().unwrap(), 0.0);
    assert!(empty.max().is_err() && empty.min().is_err() && empty.argmax().is_err());
    assert!(empty.mean().unwrap_err().to_string().contains("empty"));
    assert!(Tensor::zeros(&[2, 0]).mean_axis(1, false).is_err());
    assert!(Tensor::zeros(&[2, 0]).argmax_axis(1).is_err());
}

#[test]
fn shape_operations() {
    let x = Tensor::arange(6).reshape(&[1, 2, 3]).unwrap();
    assert_eq!(x.squeeze().shape(), &[2, 3]);
    assert_eq!(x.unsqueeze(-1).unwrap().shape(), &[1, 2, 3, 1]);
    assert_eq!(x.transpose(1, 2).unwrap().shape(), &[1, 3, 2]);
    assert_eq!(x.permute(&[2, 0, 1]).unwrap().shape(), &[3, 1, 2]);
    assert!(x.permute(&[0, 0, 1]).is_err());
    let a = Tensor::matrix([[1.0, 2.0]]);
    let b = Tensor::matrix([[3.0, 4.0]]);
    assert_eq!(v(&Tensor::cat(&[&a, &b], 0).unwrap()), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(v(&Tensor::cat(&[&a, &b], 1).unwrap()), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(Tensor::cat(&[&a, &b], 1).unwrap().shape(), &[1, 4]);
    assert_eq!(Tensor::stack(&[&a, &b], 0).unwrap().shape(), &[2, 1, 2]);
    assert!(Tensor::cat(&[&a, &Tensor::zeros(&[1, 3])], 0).is_err());
    let m = Tensor::arange(12).reshape(&[3, 4]).unwrap();
    assert_eq!(v(&m.narrow(1, 1, 2).unwrap()), vec![1.0, 2.0, 5.0, 6.0, 9.0, 10.0]);
    assert_eq!(v(&m.select(0, 2).unwrap()), vec![8.0, 9.0, 10.0, 11.0]);
    assert_eq!(v(&m.index_select(0, &[2, 0]).unwrap()), vec![8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0]);
    assert!(m.narrow(1, 3, 2).is_err());
    assert!(m.select(0, 3).is_err());
    assert!(m.get(&[3, 0]).is_err());
    assert_eq!(m.get(&[2, 1]).unwrap(), 9.0);
}

#[test]
fn in_place_operations_do_not_reach_other_handles() {
    let a = Tensor::ones(&[2, 2]);
    let mut b = a.clone();
    b.add_(&Tensor::vector(&[1.0, 2.0])).unwrap();
    assert_eq!(v(&b), vec![2.0, 3.0, 2.0, 3.0]);
    assert_eq!(v(&a), vec![1.0; 4]);
    b.mul_(2.0).unwrap();
    b.sub_(1.0).unwrap();
    b.div_(&Tensor::scalar(3.0)).unwrap();
    assert_eq!(v(&b), vec![1.0, 5.0 / 3.0, 1.0, 5.0 / 3.0]);
    assert!(b.add_(&Tensor::zeros(&[3])).is_err());
    b.fill_(0.0);
    b.set(&[1, 1], 4.0).unwrap();
    assert_eq!(v(&b), vec![0.0, 0.0, 0.0, 4.0]);
}

#[test]
fn bad_indices_and_shapes_are_errors_not_panics() {
    let x = Tensor::zeros(&[2, 3]);
    assert!(x.item().is_err());
    assert!(x.transpose(0, 5).is_err());
    assert!(x.unsqueeze(4).is_err());
    assert!(x.squeeze_axis(-3).is_err());
    assert!(x.broadcast_to(&[3, 3]).is_err());
    assert!(Tensor::zeros(&[2, 3, 4]).t().is_err());
    assert!(Tensor::cat(&[], 0).is_err());
    assert!(x.softmax(2).is_err());
    assert!(Tensor::scalar(1.0).matmul(&x).is_err());
}

#[test]
fn display_looks_like_numpy() {
    let x = Tensor::matrix([[1.0, 2.0], [3.0, 4.5]]);
    assert_eq!(format!("{x}"), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]])");
    assert_eq!(format!("{}", Tensor::vector(&[1.0, 2.0])), "tensor([1., 2.])");
}

// -------------------------------------------------------------------------------------
// Printing, as PyTorch prints (`torch/_tensor_str.py` with its default options: precision
// 4, threshold 1000, edgeitems 3, linewidth 80). The one deliberate difference: PyTorch
// writes a summarised row's ellipsis as the entry " ..." joined by ", ", i.e. two spaces
// before it (`2.0000e+00,  ..., 1.9970e+03`); neurite keeps the usual single space.
// -------------------------------------------------------------------------------------

#[test]
fn display_shows_ten_probabilities_in_full_wrapped_at_80_columns() {
    let p = Tensor::vector(&[0.01, 0.02, 0.03, 0.04, 0.1, 0.15, 0.2, 0.25, 0.1, 0.1]);
    // As PyTorch: (80 - len("tensor(")) / len("0.0100, ") = 9 entries a line.
    assert_eq!(
        p.to_string(),
        "tensor([0.0100, 0.0200, 0.0300, 0.0400, 0.1000, 0.1500, 0.2000, 0.2500, 0.1000,\n        0.1000])"
    );
    assert_eq!(format!("{}", Tensor::vector(&[0.2689, 0.7311, 0.5])), "tensor([0.2689, 0.7311, 0.5000])");
}

#[test]
fn display_uses_scientific_notation_for_tiny_or_wide_ranging_values() {
    // PyTorch: torch.tensor([1e-6, 1.0]) prints tensor([1.0000e-06, 1.0000e+00]).
    assert_eq!(Tensor::vector(&[1e-6, 1.0]).to_string(), "tensor([1.0000e-06, 1.0000e+00])");
    assert_eq!(Tensor::vector(&[-0.5, 2e8]).to_string(), "tensor([-5.0000e-01,  2.0000e+08])");
    assert_eq!(Tensor::vector(&[0.001, 5.0]).to_string(), "tensor([1.0000e-03, 5.0000e+00])");
    assert_eq!(Tensor::vector(&[0.001, 0.5]).to_string(), "tensor([0.0010, 0.5000])");
}

#[test]
fn display_prints_integral_values_with_a_trailing_point() {
    assert_eq!(Tensor::vector(&[1.0, 2.0, 3.0]).to_string(), "tensor([1., 2., 3.])");
    assert_eq!(Tensor::vector(&[-3.0, 1.0, 10.0]).to_string(), "tensor([-3.,  1., 10.])");
    assert_eq!(Tensor::zeros(&[3]).to_string(), "tensor([0., 0., 0.])");
    assert_eq!(Tensor::from_u8(&[0, 128, 255], &[3]).unwrap().to_string(), "tensor([  0., 128., 255.])");
}

#[test]
fn display_aligns_the_rows_of_matrices_and_separates_blocks() {
    assert_eq!(Tensor::matrix([[1.0, 2.0], [3.0, 4.0]]).to_string(), "tensor([[1., 2.],\n        [3., 4.]])");
    assert_eq!(
        Tensor::matrix([[0.5, -1.25], [2.0, 3.0]]).to_string(),
        "tensor([[ 0.5000, -1.2500],\n        [ 2.0000,  3.0000]])"
    );
    assert_eq!(
        Tensor::arange(8).reshape(&[2, 2, 2]).unwrap().to_string(),
        "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"
    );
    // Debug is Display and the shape.
    assert_eq!(
        format!("{:?}", Tensor::matrix([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])),
        "tensor([[1., 2., 3.],\n        [4., 5., 6.]]) shape=(2, 3)"
    );
}

#[test]
fn display_summarises_only_above_1000_elements() {
    // 1000 elements: all shown.
    let full = Tensor::ones(&[1000]).to_string();
    assert_eq!(full.matches("1.").count(), 1000);
    assert!(!full.contains("..."));
    // 2000: the first and last three, the ellipsis an entry with the usual separators.
    let x = (Tensor::arange(2000) * 0.25 + 100.0).to_string();
    assert_eq!(x, "tensor([100.0000, 100.2500, 100.5000, ..., 599.2500, 599.5000, 599.7500])");
    // PyTorch, torch.arange(2000.): integral but spanning more than 1000x, so scientific;
    // 6 entries of 10 characters fit a line, the 7th wraps. PyTorch prints the same with
    // two spaces before the `...`.
    assert_eq!(
        Tensor::arange(2000).to_string(),
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00, ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"
    );
    let m = (Tensor::arange(2000).reshape(&[40, 50]).unwrap() + 1000.0).to_string();
    assert_eq!(
        m,
        "tensor([[1000., 1001., 1002., ..., 1047., 1048., 1049.],\n        \
         [1050., 1051., 1052., ..., 1097., 1098., 1099.],\n        \
         [1100., 1101., 1102., ..., 1147., 1148., 1149.],\n        \
         ...,\n        \
         [2850., 2851., 2852., ..., 2897., 2898., 2899.],\n        \
         [2900., 2901., 2902., ..., 2947., 2948., 2949.],\n        \
         [2950., 2951., 2952., ..., 2997., 2998., 2999.]])"
    );
}

#[test]
fn display_of_a_0d_and_an_empty_tensor() {
    assert_eq!(Tensor::scalar(3.5).to_string(), "tensor(3.5000)");
    assert_eq!(Tensor::scalar(3.0).to_string(), "tensor(3.)");
    assert_eq!(format!("{:?}", Tensor::scalar(3.5)), "tensor(3.5000) shape=()");
    assert_eq!(Tensor::vector(&[]).to_string(), "tensor([])");
    assert_eq!(format!("{:?}", Tensor::vector(&[])), "tensor([]) shape=(0,)");
    // As PyTorch (and NumPy), an empty tensor of another shape names it.
    assert_eq!(Tensor::zeros(&[2, 0]).to_string(), "tensor([], size=(2, 0))");
}

#[test]
fn display_of_nan_and_infinities() {
    // PyTorch: tensor([1.5000,    nan,    inf,   -inf]).
    assert_eq!(
        Tensor::vector(&[1.5, f32::NAN, f32::INFINITY, f32::NEG_INFINITY]).to_string(),
        "tensor([1.5000,    nan,    inf,   -inf])"
    );
    assert_eq!(Tensor::vector(&[1.0, f32::NAN]).to_string(), "tensor([1., nan])");
    assert_eq!(Tensor::vector(&[f32::NAN, f32::INFINITY]).to_string(), "tensor([nan, inf])");
}

#[test]
fn operators_on_references_chain_with_one_question_mark() -> neurite::Result<()> {
    let a = Tensor::matrix([[1.0, 2.0], [3.0, 4.0]]);
    let b = Tensor::vector(&[10.0, 20.0]);
    let c = Tensor::scalar(1.0);
    assert_eq!(v(&(&a + &b)?), vec![11.0, 22.0, 13.0, 24.0]);
    assert_eq!(v(&(&a * &b + &c)?), vec![11.0, 41.0, 31.0, 81.0]);
    assert_eq!(v(&(&a - &a.mean_axis(0, true)?)?), vec![-1.0, -1.0, 1.0, 1.0]);
    assert_eq!(v(&((&a / &b)? * 10.0)), vec![1.0, 1.0, 3.0, 2.0]);
    assert_eq!(v(&(1.0 - &a)), vec![0.0, -1.0, -2.0, -3.0]);
    assert_eq!(v(&(2.0 * &b)), vec![20.0, 40.0]);
    assert_eq!(v(&-(a.clone())), vec![-1.0, -2.0, -3.0, -4.0]);
    let err = (&a + &Tensor::vector(&[1.0, 2.0, 3.0])).unwrap_err().to_string();
    assert!(err.contains("add: operands could not be broadcast together with shapes (2, 2) (3,)"), "{err}");
    let err = (&a * &Tensor::zeros(&[3]) + &a).unwrap_err().to_string();
    assert!(err.contains("mul: operands could not be broadcast together with shapes (2, 2) (3,)"), "{err}");
    Ok(())
}
