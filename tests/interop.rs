//! Models that come from, and go to, the other frameworks: files that PyTorch, NumPy and
//! ONNX wrote themselves (`tests/fixtures/`, made by `make_fixtures.py`), read by neurite and
//! run against the outputs PyTorch computed; neurite's own files read back; and damaged or
//! hostile files of each format, which must be clear errors and never panics.

mod common;

use std::path::PathBuf;

use neurite::data::image::{self, Invert};
use neurite::io::{self, npy, onnx, torch, Activations, Format};
use neurite::nn::{Activation, Dense};
use neurite::train::Sequential;
use neurite::Tensor;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// The inputs and PyTorch's outputs of the fixture network (4 -> 3 leaky ReLU 0.2 -> 2 softmax).
fn expected() -> (Tensor, Tensor) {
    let arrays = npy::load_npz(&fixture("expected.npz")).unwrap();
    (arrays[0].1.clone(), arrays[1].1.clone())
}

const LEAKY: Activation = Activation::LeakyRelu { alpha: 0.2 };

/// Predictions agree with PyTorch's to within float32 rounding of a 4-3-2 network: each
/// output is a few multiply-adds and an exp from values of order 1, so 1e-6 is tens of ulps.
fn assert_matches_torch(mut model: Sequential, what: &str) {
    let (x, y) = expected();
    let got = model.predict(&x).unwrap();
    assert_eq!(got.shape(), y.shape(), "{what}");
    let worst = got.to_vec().iter().zip(y.to_vec()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-6, "{what}: differs from PyTorch by {worst}");
}

#[test]
fn pytorch_state_dicts_from_torch_save_and_safetensors() {
    for name in ["torch_mlp.pt", "torch_mlp.safetensors"] {
        let acts = Activations { hidden: Some(LEAKY), output: Some(Activation::Softmax) };
        let model = io::load_any(&fixture(name), acts).unwrap();
        assert_eq!(model.params().names(), ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]);
        assert_matches_torch(model, name);
    }
    // float64 tensors are read as float32.
    let sd = torch::read_state_dict(&bytes("torch_f64.pt")).unwrap();
    assert_eq!(
        sd.iter().map(|(k, t)| (k.as_str(), t.shape().to_vec())).collect::<Vec<_>>(),
        [("0.weight", vec![3, 4]), ("0.bias", vec![3])]
    );
}

#[test]
fn the_activations_of_a_state_dict_must_be_given() {
    let err = io::load_any(&fixture("torch_mlp.pt"), Activations::default()).err().unwrap().to_string();
    assert!(err.contains("does not record the activations"), "{err}");
}

#[test]
fn pickles_that_are_not_a_state_dict_of_float_tensors_are_refused_and_never_run() {
    let acts = Activations { hidden: Some(Activation::Relu), output: Some(Activation::Softmax) };
    let cases = [
        ("torch_evil.pt", "refuses the global posix.system"),
        ("torch_whole_model.pt", "refuses the global torch.nn.modules.container.Sequential"),
    ];
    for (name, want) in cases {
        let err = io::load_any(&fixture(name), acts).err().unwrap().to_string();
        assert!(err.contains(want), "{name}: {err}");
        assert!(err.contains(name), "the error names the file: {err}");
    }
}

#[test]
fn onnx_from_both_torch_exporters_and_in_the_keras_tf2onnx_form() {
    for name in ["torch_dynamo.onnx", "torch_legacy.onnx", "keras_style.onnx"] {
        let model = onnx::load_onnx(&fixture(name)).unwrap();
        assert_eq!(model.layers()[0].activation(), Some(LEAKY), "{name}");
        assert_eq!(model.layers()[1].activation(), Some(Activation::Softmax), "{name}");
        assert_matches_torch(model, name);
    }
    // A convolution whose result is the model's output, channels first: neurite's images are
    // channels last, so it is refused rather than returned in another order.
    let err = onnx::load_onnx(&fixture("conv.onnx")).err().unwrap().to_string();
    assert!(err.contains("the graph ends on a channels-first image"), "{err}");
}

#[test]
fn numpy_networks_stored_and_compressed() {
    for name in ["numpy_net.npz", "numpy_net_compressed.npz"] {
        let arrays = npy::load_npz(&fixture(name)).unwrap();
        assert_eq!(arrays.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["W1", "b1", "W2", "b2"]);
        let model = io::model_from_arrays(&arrays, LEAKY, Activation::Softmax).unwrap();
        assert_matches_torch(model, name);
    }
    assert_eq!(
        npy::load_npy(&fixture("big_endian.npy")).unwrap(),
        Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]).unwrap()
    );
    // Fortran order is read as NumPy reads it: the same array, in C order (issue 26).
    assert_eq!(
        npy::load_npy(&fixture("fortran.npy")).unwrap(),
        Tensor::from_vec(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[2, 3]).unwrap()
    );
    assert_eq!(npy::load_npy(&fixture("fortran3d.npy")).unwrap(), Tensor::arange(24).reshape(&[2, 3, 4]).unwrap());
    let err = npy::load_npy(&fixture("int64.npy")).unwrap_err().to_string();
    assert!(err.contains("dtype \"<i8\" is not supported"), "{err}");
}

/// Issue 26: the files NumPy and PyTorch users really have. `np.savez` of transposed
/// weights (Fortran order), the book's `pickle.dump` of a dict of arrays (protocols 3 and 4,
/// NumPy 1's and 2's spellings), ONNX with its weights in `model.onnx.data`.
#[test]
fn fortran_arrays_numpy_pickles_and_onnx_external_data() {
    let acts = Activations { hidden: Some(LEAKY), output: Some(Activation::Softmax) };
    for name in ["numpy_net_fortran.npz", "numpy_net.pkl", "numpy_net_p4.pkl", "numpy_net_p5.pkl"] {
        assert_matches_torch(io::load_any(&fixture(name), acts).unwrap(), name);
    }
    assert_eq!(Format::detect(&bytes("numpy_net.pkl")).unwrap(), Format::Pickle);
    // Protocol 5 (NumPy's `_frombuffer`, scripts/numpy_pickle5.py) reads to the same bits as
    // the same arrays pickled with protocol 4 (`_reconstruct`).
    let arrays = |name: &str| {
        let model = io::read_model(&bytes(name), acts).unwrap();
        io::model_to_arrays(&model)
            .unwrap()
            .into_iter()
            .map(|(n, t)| (n, t.shape().to_vec(), t.to_vec()))
            .collect::<Vec<_>>()
    };
    let p5 = arrays("numpy_net_p5.pkl");
    assert!(!p5.is_empty());
    assert_eq!(p5, arrays("numpy_net_p4.pkl"));
    // Protocol 2 from Python 3 spells bytes as a call of _codecs.encode: refused by name.
    let err = io::load_any(&fixture("numpy_net_p2.pkl"), acts).err().unwrap().to_string();
    assert!(err.contains("refuses the global _codecs.encode") && err.contains("numpy_net_p2.pkl"), "{err}");
    // Code in a pickle of arrays is refused as it is in a state_dict.
    let evil = b"\x80\x02cposix\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03.";
    let err = io::read_model(evil, acts).err().unwrap().to_string();
    assert!(err.contains("refuses the global posix.system"), "{err}");

    let model = onnx::load_onnx(&fixture("external/model.onnx")).unwrap();
    assert_matches_torch(model, "external/model.onnx");
    let model = io::load_any(&fixture("external/model.onnx"), Activations::default()).unwrap();
    assert_matches_torch(model, "external/model.onnx through load_any");
    // From bytes alone the folder is unknown: a clear error, not a guess.
    let err = io::read_model(&bytes("external/model.onnx"), acts).err().unwrap().to_string();
    assert!(err.contains("keeps its data in the external file \"model.onnx.data\""), "{err}");
}

/// Issue 26: NaN or infinite weights are refused by every reader, naming the tensor.
#[test]
fn weights_that_are_not_finite_are_refused_by_every_reader() {
    let acts = Activations { hidden: Some(Activation::Tanh), output: Some(Activation::Softmax) };
    let model = small_model();
    let tensors = model.params().tensors().unwrap();
    let (name, t) = &tensors[2];
    let original = t.to_vec()[7];
    // The exporters refuse a NaN (tests/layers.rs), so each file is written from the finite model
    // and the value's four bytes then replaced by a NaN's, as a damaged or hostile file has it.
    let poisoned = |mut bytes: Vec<u8>| -> Vec<u8> {
        let at = bytes.windows(4).position(|w| w == original.to_le_bytes()).expect("the value is in the file");
        bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        bytes
    };
    let files = [
        (
            "neurite",
            poisoned(io::model_bytes(&model).unwrap()),
            format!("tensor {name} (shape (6, 5)) holds NaN at flat index 7"),
        ),
        ("onnx", poisoned(onnx::to_onnx(&model).unwrap()), "holds NaN".to_string()),
        (
            "torch",
            poisoned(torch::state_dict_bytes(&model).unwrap()),
            "tensor 2.weight (shape (5, 6)) holds NaN".to_string(),
        ),
        (
            "npz",
            // (A zip entry has a CRC: the array is poisoned before it is written.)
            npy::npz_bytes(
                &io::model_to_arrays(&model)
                    .unwrap()
                    .into_iter()
                    .map(|(n, t)| {
                        let v: Vec<f32> =
                            t.to_vec().into_iter().map(|x| if x == original { f32::NAN } else { x }).collect();
                        (n, Tensor::from_vec(v, t.shape()).unwrap())
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            "tensor W2 (shape (6, 5)) holds NaN".to_string(),
        ),
    ];
    for (what, bytes, want) in files {
        let err = io::read_model(&bytes, acts).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(&want), "{what}: {err}");
    }
    let arrays = vec![("W1".to_string(), Tensor::from_vec(vec![1.0, f32::INFINITY], &[1, 2]).unwrap())];
    let err = io::read_model(&npy::npz_bytes(&arrays).unwrap(), acts).err().unwrap().to_string();
    assert!(err.contains("tensor W1 (shape (1, 2)) holds inf at flat index 1"), "{err}");
}

#[test]
fn formats_are_told_apart_by_their_bytes() {
    for (name, format) in [
        ("torch_mlp.pt", Format::TorchPt),
        ("torch_mlp.safetensors", Format::TorchSafetensors),
        ("numpy_net.npz", Format::Npz),
        ("big_endian.npy", Format::Npy),
        ("torch_dynamo.onnx", Format::Onnx),
        ("keras_style.onnx", Format::Onnx),
    ] {
        assert_eq!(Format::detect(&bytes(name)).unwrap(), format, "{name}");
    }
    assert!(Format::detect(b"hello").is_err());
}

fn small_model() -> Sequential {
    let mut m = Sequential::with_seed(5);
    m.add(Dense::new(6).activation(Activation::Tanh).input_shape(4)).unwrap();
    m.add(Dense::new(5).activation(Activation::Elu { alpha: 0.5 })).unwrap();
    m.add(Dense::new(3).activation(Activation::Softmax)).unwrap();
    m
}

#[test]
fn neurite_round_trips_through_every_format() {
    let model = small_model();
    let acts = Activations { hidden: Some(Activation::Tanh), output: Some(Activation::Softmax) };
    // ONNX keeps every activation; the state_dict and the arrays keep one hidden activation.
    let back = onnx::from_onnx(&onnx::to_onnx(&model).unwrap()).unwrap();
    assert_eq!(back.config(), model.config());
    assert_eq!(back.params().tensors().unwrap(), model.params().tensors().unwrap());
    for bytes in
        [torch::state_dict_bytes(&model).unwrap(), npy::npz_bytes(&io::model_to_arrays(&model).unwrap()).unwrap()]
    {
        let back = io::read_model(&bytes, acts).unwrap();
        assert_eq!(back.params().tensors().unwrap(), model.params().tensors().unwrap());
    }
    let keys: Vec<String> = torch::state_dict(&model).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]);
}

/// Every truncation and a spread of byte changes of a file: errors or a model, never a panic.
fn survives_damage(name: &str, good: &[u8]) {
    let acts = Activations { hidden: Some(Activation::Relu), output: Some(Activation::Softmax) };
    for cut in 0..good.len() {
        let _ = io::read_model(&good[..cut], acts);
    }
    for i in 0..good.len() {
        for v in [0x00, 0xff, good[i] ^ 0x01] {
            let mut b = good.to_vec();
            b[i] = v;
            let _ = io::read_model(&b, acts);
        }
    }
    assert!(io::read_model(&good[..good.len() / 2], acts).is_err(), "{name}: half a file was read");
}

#[test]
fn damaged_files_of_every_format_are_errors_not_panics() {
    for name in [
        "torch_mlp.pt",
        "torch_mlp.safetensors",
        "torch_legacy.onnx",
        "keras_style.onnx",
        "numpy_net.npz",
        "numpy_net_compressed.npz",
    ] {
        survives_damage(name, &bytes(name));
    }
    let model = small_model();
    survives_damage("neurite", &io::model_bytes(&model).unwrap());
}

#[test]
fn headers_that_declare_more_than_the_file_holds() {
    // A .npy whose shape promises 10^12 floats.
    let mut b = npy::npy_bytes(&Tensor::zeros(&[3]));
    let header = String::from_utf8_lossy(&b[10..]).replace("(3,)", "(1000000000000,)");
    b.truncate(10);
    b.extend_from_slice(header.as_bytes());
    let err = npy::read_npy(&b).unwrap_err().to_string();
    assert!(err.contains("declares 4000000000000 bytes"), "{err}");
    // An .npz whose deflated entry claims to inflate to 4 GiB from 300 bytes.
    let mut z = bytes("numpy_net_compressed.npz");
    let eocd = z.len() - 22;
    let cd = u32::from_le_bytes(z[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    z[cd + 24..cd + 28].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = npy::read_npz(&z).unwrap_err().to_string();
    assert!(err.contains("more than deflate can produce"), "{err}");
    // Arrays whose shapes do not chain, and a missing bias.
    let arrays = |w2: &[usize]| {
        vec![
            ("W1".to_string(), Tensor::zeros(&[4, 3])),
            ("b1".to_string(), Tensor::zeros(&[3])),
            ("W2".to_string(), Tensor::zeros(w2)),
            ("b2".to_string(), Tensor::zeros(&[2])),
        ]
    };
    let err = io::model_from_arrays(&arrays(&[5, 2]), LEAKY, Activation::Softmax).err().unwrap().to_string();
    assert!(err.contains("layer 2's kernel (5, 2) does not take the 3 outputs of layer 1"), "{err}");
    let mut missing = arrays(&[3, 2]);
    missing.remove(1);
    let err = io::model_from_arrays(&missing, LEAKY, Activation::Softmax).err().unwrap().to_string();
    assert!(err.contains("b1 is missing"), "{err}");
}

/// The drawn digits of the fixtures become centred MNIST-like inputs.
#[test]
fn drawn_pictures_become_mnist_inputs() {
    for (name, inverted) in [("seven.png", true), ("one_rgba.png", true), ("zero.jpg", false)] {
        let picture = image::load(&fixture(name)).unwrap();
        let auto = image::to_model_input(&picture, 28, Invert::Auto).unwrap();
        let forced = image::to_model_input(&picture, 28, if inverted { Invert::Yes } else { Invert::No }).unwrap();
        assert_eq!(auto, forced, "{name}: automatic inversion");
        // The 20x20 box: the digit's extent is 20 pixels on its longer side.
        let rows = (0..28).filter(|y| (0..28).any(|x| auto[y * 28 + x] > 0.1)).count();
        let cols = (0..28).filter(|x| (0..28).any(|y| auto[y * 28 + x] > 0.1)).count();
        assert!(rows.max(cols) == 20 && rows.min(cols) >= 2, "{name}: {rows} x {cols}");
        // The centre of mass is within a pixel of the centre.
        let total: f32 = auto.iter().sum();
        let cy: f32 = (0..784).map(|i| auto[i] * ((i / 28) as f32 + 0.5)).sum::<f32>() / total;
        let cx: f32 = (0..784).map(|i| auto[i] * ((i % 28) as f32 + 0.5)).sum::<f32>() / total;
        assert!((cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0, "{name}: centre of mass ({cx}, {cy})");
    }
    // A truncated PNG is an error (up to its last chunk, IEND, whose absence the decoder
    // forgives once the pixels are complete).
    let b = bytes("seven.png");
    for cut in 0..b.len() - 12 {
        assert!(image::decode(&b[..cut]).is_err(), "seven.png cut at {cut}");
    }
    // So is a truncated JPEG (issue 26: the decoder filled the missing scans with grey and a
    // 7 became "class 4"), up to its end-of-image marker, 2 bytes after the last scan.
    let b = bytes("zero.jpg");
    for cut in 0..b.len() - 2 {
        assert!(image::decode(&b[..cut]).is_err(), "zero.jpg cut at {cut} of {}", b.len());
    }
    let err = image::decode(&b[..b.len() / 2]).unwrap_err().to_string();
    assert!(err.contains("the file ends before its 200 x 200 picture does"), "{err}");
    // Every truncation is refused for RGB too (training with --color rgb).
    for cut in [b.len() / 3, b.len() - 40] {
        assert!(image::decode_resized(&b[..cut], 28, 28, neurite::data::Color::Rgb).is_err(), "cut at {cut}");
    }
}

/// Issue 26: an 8192 x 8192 PNG of 200 KB took 794 MB to predict on. Pictures over
/// `MAX_PIXELS` are refused from their header, before a pixel is decoded, naming the size.
#[test]
fn pictures_over_the_pixel_cap_are_refused_from_their_header() {
    let mut png = bytes("seven.png");
    // IHDR: width and height at 16..24, its CRC (of type and data) at 29..33.
    for (w, h, refused) in [(8192u32, 8192u32, true), (4096, 4097, true), (8193, 1, true), (4096, 4096, false)] {
        png[16..20].copy_from_slice(&w.to_be_bytes());
        png[20..24].copy_from_slice(&h.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        let err = image::decode(&png).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err.contains("over neurite's cap of 16777216 pixels"), refused, "{w} x {h}: {err}");
        if refused {
            assert!(err.contains(&format!("a {w} x {h} picture")), "{err}");
        }
    }
    // A JPEG's size is in its start-of-frame segment (SOF0 at byte 89 of zero.jpg: height at
    // 94..96, width at 96..98): 8000 x 8000 is within 8192 a side but over the pixel cap.
    let mut jpeg = bytes("zero.jpg");
    assert_eq!(&jpeg[89..91], &[0xff, 0xc0]);
    jpeg[94..98].copy_from_slice(&[0x1f, 0x40, 0x1f, 0x40]);
    let err = image::decode(&jpeg).unwrap_err().to_string();
    assert!(err.contains("JPEG: a 8000 x 8000 picture (64000000 pixels) is over neurite's cap"), "{err}");
    let dir = std::env::temp_dir().join(format!("neurite-big-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    png[16..24].copy_from_slice(&[0, 0, 32, 0, 0, 0, 32, 0]);
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    std::fs::write(dir.join("big.png"), &png).unwrap();
    for err in [
        image::load(&dir.join("big.png")).err().unwrap().to_string(),
        image::load_resized(&dir.join("big.png"), 28, 28, neurite::data::Color::Rgb).err().unwrap().to_string(),
    ] {
        assert!(err.contains("big.png") && err.contains("a 8192 x 8192 picture (67108864 pixels)"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn an_exported_mnist_model_reads_back_with_the_same_test_numbers() {
    let (train, test) =
        neurite::data::mnist::load_mnist_dir(&common::mnist_dir(), neurite::data::DatasetName::Mnist).unwrap();
    let mut model = Sequential::with_seed(0);
    model.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(784)).unwrap();
    model.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
    let loss = neurite::nn::Loss::SparseCategoricalCrossentropy;
    let metrics = [neurite::train::Metric::Accuracy];
    model.compile(neurite::optim::Optimizer::adam(), loss, &metrics).unwrap();
    let options = neurite::train::FitOptions::default().epochs(1).verbose(neurite::train::Verbosity::Silent);
    model.fit_with(&train, None, &options, &mut []).unwrap();
    let want = model.evaluate_with(&test).unwrap();
    let acts = Activations { hidden: Some(Activation::Sigmoid), output: Some(Activation::Softmax) };
    for bytes in [
        onnx::to_onnx(&model).unwrap(),
        torch::state_dict_bytes(&model).unwrap(),
        npy::npz_bytes(&io::model_to_arrays(&model).unwrap()).unwrap(),
    ] {
        let mut back = io::read_model(&bytes, acts).unwrap();
        back.compile(neurite::optim::Optimizer::adam(), loss, &metrics).unwrap();
        assert_eq!(back.evaluate_with(&test).unwrap(), want);
    }
}
