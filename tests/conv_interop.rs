//! Convolutional networks exchanged with PyTorch and ONNX (issue 27, point 6): files that
//! PyTorch 2.15 wrote (`scripts/conv_interop_fixtures.py`: both ONNX exporters, the dynamo
//! one with its `.onnx.data` file, and `torch.save` state_dicts) imported and run against
//! PyTorch's outputs; neurite's convnets exported to ONNX and PyTorch and read back.
//!
//! The other half of the torch check needs torch, which `cargo test` must not:
//! `NEURITE_CONV_EXPORT=DIR cargo test --test conv_interop` writes neurite's exports to DIR,
//! and `python scripts/conv_interop_fixtures.py --check-export DIR` builds the printed
//! `nn.Sequential` in PyTorch, loads the state_dict and compares the outputs.

use std::path::PathBuf;

use neurite::io::{self, npy, onnx, torch, Activations};
use neurite::nn::{
    Activation, AveragePooling2D, Conv2D, Dense, Flatten, GlobalAveragePooling2D, MaxPooling2D, Padding,
};
use neurite::train::Sequential;
use neurite::Tensor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conv_interop").join(name)
}

/// The largest absolute difference between two tensors of one shape.
fn worst(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec().iter().zip(b.to_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The fixture's inputs (channels last) and PyTorch's outputs for them.
fn expected(net: &str) -> (Tensor, Tensor) {
    (
        npy::load_npy(&fixture(&format!("{net}_input.npy"))).unwrap(),
        npy::load_npy(&fixture(&format!("{net}_output.npy"))).unwrap(),
    )
}

/// Within 1e-5 of PyTorch: float32 sums of at most a few hundred products in another order.
fn assert_matches(model: &mut Sequential, net: &str, what: &str) {
    let (x, y) = expected(net);
    let got = model.predict(&x).unwrap();
    let d = worst(&got, &y);
    assert!(d < 1e-5, "{what}: differs from PyTorch by {d}");
}

#[test]
fn onnx_from_both_pytorch_exporters_matches_pytorch() {
    for net in ["a", "b"] {
        for exporter in ["legacy", "dynamo"] {
            let path = fixture(&format!("{net}_{exporter}.onnx"));
            let mut model = onnx::load_onnx(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_matches(&mut model, net, &format!("{net} {exporter}"));
        }
    }
    let a = onnx::load_onnx(&fixture("a_legacy.onnx")).unwrap();
    let classes: Vec<&str> = a.layers().iter().map(|l| l.class_name()).collect();
    assert_eq!(classes, ["Conv2D", "MaxPooling2D", "Conv2D", "AveragePooling2D", "Flatten", "Dense"]);
    assert_eq!(a.input_shape().unwrap(), [12, 10, 1]);
}

#[test]
fn the_dynamo_export_needs_its_data_file() {
    // The bytes alone cannot name a folder: a clear error, not a read from the working directory.
    let bytes = std::fs::read(fixture("a_dynamo.onnx")).unwrap();
    let err = onnx::from_onnx(&bytes).err().unwrap().to_string();
    assert!(err.contains("keeps its data in the external file"), "{err}");
    // read_model_in reads it from the folder it is given.
    let mut model = io::read_model_in(&bytes, Activations::default(), &fixture("")).unwrap();
    assert_matches(&mut model, "a", "a dynamo, read_model_in");
}

#[test]
fn torch_save_state_dicts_match_pytorch() {
    for net in ["a", "b"] {
        // The architecture of the PyTorch network, as neurite reads it from the ONNX export.
        let config = onnx::load_onnx(&fixture(&format!("{net}_legacy.onnx"))).unwrap().config();
        let tensors =
            torch::read_state_dict(&std::fs::read(fixture(&format!("{net}_state_dict.pt"))).unwrap()).unwrap();
        let mut model = torch::model_from_state_dict_for(&config, &tensors).unwrap();
        assert_matches(&mut model, net, &format!("{net} state_dict"));
    }
}

/// neurite's convnets on 12x10x1 and 9x9x3 images: both paddings, strides, every pooling.
fn neurite_nets() -> Vec<(&'static str, Sequential, Vec<usize>)> {
    let mut a = Sequential::with_seed(5);
    a.add(Conv2D::new(4, 3).activation(Activation::Relu).input_shape(&[12, 10, 1])).unwrap();
    a.add(MaxPooling2D::new(2)).unwrap();
    a.add(Conv2D::new(6, 3).padding(Padding::Same).activation(Activation::Tanh)).unwrap();
    a.add(AveragePooling2D::new(2)).unwrap();
    a.add(Flatten::new()).unwrap();
    a.add(Dense::new(5).activation(Activation::Softmax)).unwrap();
    let mut b = Sequential::with_seed(6);
    b.add(Conv2D::new(5, 4).strides(2, 2).padding(Padding::Same).activation(Activation::Relu).input_shape(&[9, 9, 3]))
        .unwrap();
    // Uneven `same` padding (0 before, 1 after) for the max, even (1 and 1) for the average.
    b.add(MaxPooling2D::new(2).strides(1, 1).padding(Padding::Same)).unwrap();
    b.add(AveragePooling2D::new(3).strides(1, 1).padding(Padding::Same)).unwrap();
    b.add(Conv2D::new(4, 2).kernel_size(2, 3)).unwrap();
    b.add(GlobalAveragePooling2D::new()).unwrap();
    b.add(Dense::new(3)).unwrap();
    let mut c = Sequential::with_seed(7);
    c.add(Conv2D::new(3, 3).strides(2, 1).activation(Activation::Elu { alpha: 1.0 }).input_shape(&[9, 9, 3])).unwrap();
    c.add(MaxPooling2D::new(2)).unwrap();
    c.add(Flatten::new()).unwrap();
    c.add(Dense::new(7).activation(Activation::Sigmoid)).unwrap();
    c.add(Dense::new(2)).unwrap();
    vec![("a", a, vec![12, 10, 1]), ("b", b, vec![9, 9, 3]), ("c", c, vec![9, 9, 3])]
}

fn random_images(shape: &[usize], seed: u64) -> Tensor {
    let mut dims = vec![5];
    dims.extend_from_slice(shape);
    let mut rng = neurite::Rng::new(seed);
    let n: usize = dims.iter().product();
    Tensor::from_vec((0..n).map(|_| rng.uniform(-1.0, 1.0)).collect(), &dims).unwrap()
}

#[test]
fn neurites_convnets_go_to_onnx_and_pytorch_and_back() {
    let export_dir = std::env::var_os("NEURITE_CONV_EXPORT").map(PathBuf::from);
    for (name, mut model, shape) in neurite_nets() {
        let x = random_images(&shape, 11);
        let want = model.predict(&x).unwrap();
        // ONNX, read back: the same layers and outputs.
        let mut back = onnx::from_onnx(&onnx::to_onnx(&model).unwrap()).unwrap();
        assert_eq!(back.config().layers.len(), model.config().layers.len(), "{name}");
        let d = worst(&back.predict(&x).unwrap(), &want);
        assert!(d < 1e-6, "{name}: ONNX round trip differs by {d}");
        // PyTorch's state_dict (safetensors with the architecture), read back with no flags.
        let bytes = torch::state_dict_bytes(&model).unwrap();
        let mut back = io::read_model(&bytes, Activations::default()).unwrap();
        assert_eq!(back.params().tensors().unwrap(), model.params().tensors().unwrap(), "{name}");
        let d = worst(&back.predict(&x).unwrap(), &want);
        assert!(d < 1e-6, "{name}: state_dict round trip differs by {d}");
        // The ONNX files that python/tests/test_interop_conv_onnx.py runs in ONNX Runtime are
        // these models' exports, with these inputs and outputs.
        let committed = fixture(&format!("neurite_{name}.onnx"));
        if committed.exists() {
            let fx = npy::load_npy(&fixture(&format!("neurite_{name}.input.npy"))).unwrap();
            let fy = npy::load_npy(&fixture(&format!("neurite_{name}.output.npy"))).unwrap();
            assert_eq!(fx, x, "{name}: the committed input is not this test's");
            assert!(worst(&fy, &want) < 1e-6, "{name}: the committed outputs are not this model's");
            let mut fixed = onnx::load_onnx(&committed).unwrap();
            assert!(worst(&fixed.predict(&x).unwrap(), &want) < 1e-6, "{name}: the committed ONNX differs");
        }
        // And as the zip torch.save writes (a .pt), with the architecture too.
        let dir = std::env::temp_dir().join(format!("neurite-conv-pt-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pt = dir.join("m.pt");
        torch::save_state_dict(&model, &pt).unwrap();
        let mut back = io::load_any(&pt, Activations::default()).unwrap();
        assert_eq!(back.params().tensors().unwrap(), model.params().tensors().unwrap(), "{name}");
        assert!(worst(&back.predict(&x).unwrap(), &want) < 1e-6, "{name}: .pt round trip");
        if let Some(out) = &export_dir {
            std::fs::create_dir_all(out).unwrap();
            std::fs::copy(&pt, out.join(format!("{name}.pt"))).unwrap();
        }
        std::fs::remove_dir_all(&dir).ok();
        if let Some(dir) = &export_dir {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.safetensors")), &bytes).unwrap();
            std::fs::write(dir.join(format!("{name}.modules.txt")), torch::torch_modules(&model).unwrap()).unwrap();
            onnx::save_onnx(&model, &dir.join(format!("{name}.onnx"))).unwrap();
            npy::save_npy(&dir.join(format!("{name}.input.npy")), &x).unwrap();
            npy::save_npy(&dir.join(format!("{name}.output.npy")), &want).unwrap();
        }
    }
}

#[test]
fn what_pytorch_cannot_compute_is_refused_by_name() {
    // An average over uneven `same` padding that leaves the padding out has no nn module.
    let mut m = Sequential::with_seed(1);
    m.set_input_shape(&[5, 5, 2]).unwrap();
    m.add(AveragePooling2D::new(2).strides(1, 1).padding(Padding::Same)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(2)).unwrap();
    let err = torch::state_dict(&m).unwrap_err().to_string();
    assert!(err.contains("layer average_pooling2d") && err.contains("uneven"), "{err}");
    // ONNX writes it (explicit pads, count_include_pad=0) and reads it back.
    let mut back = onnx::from_onnx(&onnx::to_onnx(&m).unwrap()).unwrap();
    let x = random_images(&[5, 5, 2], 3);
    assert!(worst(&back.predict(&x).unwrap(), &m.predict(&x).unwrap()) < 1e-6);
}

#[test]
fn the_printed_modules_name_the_state_dicts_keys() {
    let (_, model, _) = neurite_nets().remove(0);
    assert_eq!(
        torch::torch_modules(&model).unwrap(),
        "nn.Sequential(nn.Conv2d(1, 4, (3, 3), stride=(1, 1)), nn.ReLU(), nn.MaxPool2d((2, 2), stride=(2, 2)), \
         nn.Conv2d(4, 6, (3, 3), stride=(1, 1), padding=(1, 1)), nn.Tanh(), nn.AvgPool2d((2, 2), stride=(2, 2)), \
         nn.Flatten(), nn.Linear(24, 5), nn.Softmax(dim=-1))"
    );
    let keys: Vec<String> = torch::state_dict(&model).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"]);
}
