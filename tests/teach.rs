//! The notes' small models: the perceptron rule on the logic gates, the gates with hand-set
//! weights, XOR by backpropagation, and logistic regression ("is it a 5?", one-vs-all) on
//! the bundled digits and, when it is here, MNIST.

mod common;

use neurite::data::{self, Dataset, DatasetName};
use neurite::optim::Optimizer;
use neurite::teach::{
    learn_xor, most_telling_pixel, never_scores, DigitDetector, Gate, LogisticOptions, OneVsAll, Perceptron, Pixels,
    TruthTable,
};

/// The notes' perceptron (rate 0.1, examples in order) on `gate` for `epochs` epochs.
fn perceptron(gate: Gate, epochs: usize) -> Perceptron {
    let mut p = Perceptron::new(0.1, epochs);
    p.fit(&Gate::inputs(), &gate.perceptron_targets()).unwrap();
    p
}

#[test]
fn the_perceptron_learns_and_or_nand_and_its_errors_reach_zero_and_stay_there() {
    // Misclassifications per epoch, worked by hand from w = zeros(3) with the notes' rule.
    let expected = [
        (Gate::And, vec![2, 3, 3, 0, 0, 0, 0, 0, 0, 0]),
        (Gate::Or, vec![2, 2, 1, 0, 0, 0, 0, 0, 0, 0]),
        (Gate::Nand, vec![1, 3, 3, 2, 1, 0, 0, 0, 0, 0]),
    ];
    for (gate, errors) in expected {
        let p = perceptron(gate, 10);
        assert_eq!(p.errors(), errors.as_slice(), "{gate}");
        assert_eq!(TruthTable::from_outputs(&p.predict(&Gate::inputs()).unwrap(), 0.0).unwrap(), gate.truth_table());
        // Once an epoch has no error the weights no longer change, so no later one has any:
        // checked over many more epochs, and with shuffled examples.
        let long = perceptron(gate, 200);
        let first = long.errors().iter().position(|&e| e == 0).unwrap();
        assert!(long.errors()[first..].iter().all(|&e| e == 0), "{gate}: {:?}", long.errors());
        let mut shuffled = Perceptron::new(0.1, 50).shuffled(3);
        shuffled.fit(&Gate::inputs(), &gate.perceptron_targets()).unwrap();
        let first = shuffled.errors().iter().position(|&e| e == 0).unwrap();
        assert!(shuffled.errors()[first..].iter().all(|&e| e == 0), "{gate} shuffled: {:?}", shuffled.errors());
    }
}

#[test]
fn the_perceptron_never_learns_xor() {
    // An epoch without error would leave weights that classify all four examples, i.e. a
    // line separating XOR's ones from its zeros, which does not exist: so every epoch errs,
    // whatever the rate, the number of epochs or the order.
    for rate in [0.01, 0.1, 1.0] {
        let mut p = Perceptron::new(rate, 500);
        p.fit(&Gate::inputs(), &Gate::Xor.perceptron_targets()).unwrap();
        assert!(p.errors().iter().all(|&e| e > 0), "rate {rate}: {:?}", p.errors());
        let mut s = Perceptron::new(rate, 500).shuffled(7);
        s.fit(&Gate::inputs(), &Gate::Xor.perceptron_targets()).unwrap();
        assert!(s.errors().iter().all(|&e| e > 0));
    }
}

#[test]
fn the_perceptron_starts_from_zero_weights_bias_first_and_the_same_seed_repeats() {
    // After one example (0, 0) with target -1: net input 0 gives 1, so w0 -= 2 * rate.
    let mut p = Perceptron::new(0.1, 1);
    p.fit(&neurite::Tensor::matrix([[0.0, 0.0]]), &neurite::Tensor::vector(&[-1.0])).unwrap();
    assert_eq!(p.weights(), vec![-0.2, 0.0, 0.0]);
    assert_eq!(p.net_input(&neurite::Tensor::matrix([[1.0, 1.0]])).unwrap().to_vec(), vec![-0.2]);
    let run = |seed| {
        let mut p = Perceptron::new(0.1, 20).shuffled(seed);
        p.fit(&Gate::inputs(), &Gate::Nand.perceptron_targets()).unwrap();
        (p.errors().to_vec(), p.weights())
    };
    assert_eq!(run(5), run(5));
    assert!(Perceptron::new(-1.0, 3).fit(&Gate::inputs(), &Gate::And.perceptron_targets()).is_err());
}

#[test]
fn the_gates_with_hand_set_weights_have_their_truth_tables() {
    // The tables as the notes print them: outputs for (0,0), (0,1), (1,0), (1,1).
    let tables = [
        (Gate::And, [false, false, false, true]),
        (Gate::Or, [false, true, true, true]),
        (Gate::Nand, [true, true, true, false]),
        (Gate::Xor, [false, true, true, false]),
    ];
    for (gate, table) in tables {
        assert_eq!(gate.truth_table(), TruthTable(table), "{gate}'s definition");
        assert_eq!(gate.fixed_truth_table().unwrap(), TruthTable(table), "{gate} by perceptrons");
    }
    // XOR is the composition, not a perceptron of its own.
    let err = Gate::Xor.perceptron().unwrap_err().to_string();
    assert!(err.contains("no single perceptron"), "{err}");
    assert_eq!("NAND".parse::<Gate>().unwrap(), Gate::Nand);
    assert!("nor".parse::<Gate>().unwrap_err().to_string().contains("and, or, nand or xor"));
}

#[test]
fn a_2_2_1_network_learns_xor_by_backpropagation_from_a_seeded_start() {
    for (hidden, seed) in [(2, 0), (4, 1)] {
        let (mut model, history) = learn_xor(hidden, seed, 500).unwrap();
        let outputs = model.predict(&Gate::inputs()).unwrap();
        assert_eq!(TruthTable::from_outputs(&outputs, 0.5).unwrap(), Gate::Xor.truth_table(), "2-{hidden}-1");
        // Not just on the right side of 0.5: the four outputs are within 0.05 of 0 and 1.
        for (o, t) in outputs.to_vec().iter().zip(Gate::Xor.targets().to_vec()) {
            assert!((o - t).abs() < 0.05, "2-{hidden}-1, seed {seed}: outputs {:?}", outputs.to_vec());
        }
        // One thread: the same seed gives the same numbers on any machine.
        let (_, again) = learn_xor(hidden, seed, 500).unwrap();
        assert_eq!(history.get("loss"), again.get("loss"));
    }
    assert!(learn_xor(0, 0, 10).is_err());
}

#[test]
fn the_ten_one_vs_all_models_are_the_ten_detectors_trained_side_by_side() {
    let (train, test) = Dataset::digits().unwrap();
    let options = LogisticOptions { epochs: 10, threads: Some(1), ..LogisticOptions::default() };
    let (mut ova, _) = OneVsAll::fit(&train, &options).unwrap();
    let weights = ova.weights().unwrap().to_vec();
    for digit in [0u8, 3, 9] {
        let (alone, _) = DigitDetector::fit(&train, digit, Pixels::All, &options).unwrap();
        let column: Vec<f32> = (0..64).map(|p| weights[p * 10 + usize::from(digit)]).collect();
        // Same batches, same zero start, the same gradient scaled by 1/10 and the rate by
        // 10: only float32 rounding differs (weights are about 1; 1e-5 is ~100 ulp).
        for (a, b) in column.iter().zip(alone.weights().unwrap().to_vec()) {
            assert!((a - b).abs() < 1e-5, "digit {digit}: {a} vs {b}");
        }
    }
    assert!(ova.accuracy(&test).unwrap() > 0.9);
    let m = ova.confusion(&test).unwrap();
    assert_eq!((m.classes(), m.count()), (10, test.len()));
}

#[test]
fn a_detector_beats_the_never_baseline_where_accuracy_alone_would_not_tell() {
    let (train, test) = Dataset::digits().unwrap();
    // 1,437 small images: more epochs than MNIST needs (0.3 s).
    let options = LogisticOptions { epochs: 50, ..LogisticOptions::default() };
    let (mut fives, _) = DigitDetector::fit(&train, 5, Pixels::All, &options).unwrap();
    let scores = fives.scores(&test).unwrap();
    let never = never_scores(&test, 5).unwrap();
    assert!(never.accuracy() > 0.85 && never.recall() == 0.0 && never.precision() == 0.0);
    assert!(scores.accuracy() > never.accuracy() && scores.recall() > 0.75 && scores.precision() > 0.9, "{scores}");
    assert_eq!(scores.count(), test.len());
    // User input is checked, with the value in the message.
    let err = DigitDetector::fit(&train, 10, Pixels::All, &options).err().unwrap().to_string();
    assert!(err.contains("digit 10"), "{err}");
    let err = DigitDetector::fit(&train, 5, Pixels::One(64), &options).err().unwrap().to_string();
    assert!(err.contains("pixel 64") && err.contains("8x8"), "{err}");
    assert!(most_telling_pixel(&train, 5).unwrap() < 64);
}

#[test]
fn one_vs_all_with_adam_keeps_the_rate_it_is_given() {
    // Adam divides the gradient's scale out, so its rate is not multiplied by ten.
    let (train, test) = Dataset::digits().unwrap();
    let options =
        LogisticOptions { epochs: 10, optimizer: Optimizer::adam().learning_rate(0.01), ..Default::default() };
    let (mut ova, _) = OneVsAll::fit(&train, &options).unwrap();
    assert!(ova.accuracy(&test).unwrap() > 0.9);
}

/// MNIST: about 3 s in all in the test profile (5 epochs of 54,000 images, three times).
#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn on_mnist_is_it_a_5_one_vs_all_and_the_weights_of_the_0() {
    let (train, test) = data::load(DatasetName::Mnist, Some(&common::mnist_dir())).unwrap();
    let options = LogisticOptions::default();
    // One pixel cannot make a 5 likelier than not: it answers "never", like the baseline.
    let pixel = most_telling_pixel(&train, 5).unwrap();
    let (mut one, _) = DigitDetector::fit(&train, 5, Pixels::One(pixel), &options).unwrap();
    let never = never_scores(&test, 5).unwrap();
    assert_eq!(one.scores(&test).unwrap(), never);
    assert_eq!((never.true_negatives, never.false_negatives), (9108, 892));
    // All pixels and a bias find most 5s, and are mostly right when they say 5.
    let (mut all, _) = DigitDetector::fit(&train, 5, Pixels::All, &options).unwrap();
    let scores = all.scores(&test).unwrap();
    assert!(scores.accuracy() > 0.97 && scores.precision() > 0.85 && scores.recall() > 0.78, "{scores}");
    // Ten one-vs-all models, the most activated one wins.
    let (mut ova, _) = OneVsAll::fit(&train, &options).unwrap();
    let accuracy = ova.accuracy(&test).unwrap();
    assert!(accuracy >= 0.90, "one-vs-all test accuracy {accuracy}");
    // The 0's model: ink on the ring around the centre says "0" (positive weights), ink in
    // the middle says "not 0" (negative).
    let w = ova.weights().unwrap().to_vec();
    let at = |r: usize, c: usize| w[(r * 28 + c) * 10];
    let mean = |cells: &[(usize, usize)]| cells.iter().map(|&(r, c)| at(r, c)).sum::<f32>() / cells.len() as f32;
    let centre: Vec<(usize, usize)> = (12..16).flat_map(|r| (12..16).map(move |c| (r, c))).collect();
    let ring: Vec<(usize, usize)> = (0..28)
        .flat_map(|r| (0..28).map(move |c| (r, c)))
        .filter(|&(r, c)| {
            let d = ((r as f32 - 13.5).powi(2) + (c as f32 - 13.5).powi(2)).sqrt();
            (6.0..9.0).contains(&d)
        })
        .collect();
    assert!(mean(&centre) < 0.0 && mean(&ring) > 0.0, "centre {} ring {}", mean(&centre), mean(&ring));
}
