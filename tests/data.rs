//! The data layer: IDX files (and what happens when they are broken), byte data sets, the
//! bundled digits, and MNIST when it is present.

mod common;

use neurite::data::{self, idx, mnist, one_hot, Dataset, DatasetName};
use neurite::Rng;

#[test]
fn idx_round_trips_raw_and_gzipped() {
    let dir = common::temp_dir("idx");
    let data: Vec<u8> = (0..24).collect();
    for gz in [false, true] {
        let p = dir.join(format!("a-{gz}.idx"));
        idx::write_idx(&p, &[2, 3, 4], &data, gz).unwrap();
        let back = idx::read_idx(&p).unwrap();
        assert_eq!(back.dims, vec![2, 3, 4]);
        assert_eq!(back.data, data);
    }
}

#[test]
fn broken_idx_files_are_errors_that_name_the_file_and_the_problem() {
    let dir = common::temp_dir("broken");
    let good = {
        let mut b = vec![0, 0, 8, 1, 0, 0, 0, 4];
        b.extend_from_slice(&[1, 2, 3, 4]);
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "too short"),
        ("magic", vec![7, 7, 8, 1, 0, 0, 0, 1, 0], "not an IDX file"),
        ("type", vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], "element type 0x0d"),
        ("truncated", good[..10].to_vec(), "truncated"),
        ("trailing", [good.clone(), vec![9, 9]].concat(), "unexpected bytes"),
        ("header", vec![0, 0, 8, 3, 0, 0], "truncated header"),
        ("gzip", vec![0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5], "corrupt gzip"),
    ];
    for (name, bytes, problem) in cases {
        let p = dir.join(format!("{name}-idx1-ubyte"));
        std::fs::write(&p, &bytes).unwrap();
        let err = idx::read_idx(&p).unwrap_err().to_string();
        assert!(err.contains(&format!("{name}-idx1-ubyte")) && err.contains(problem), "{name}: {err}");
    }
    let err = idx::read_idx(&dir.join("missing")).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
    // A truncated gzip stream of a real file.
    let p = dir.join("cut.gz");
    idx::write_idx(&p, &[100, 10], &[7u8; 1000], true).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert!(idx::read_idx(&p).unwrap_err().to_string().contains("cut.gz"));
}

/// Gzip'd bytes of `bytes`.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_gzip_that_inflates_past_its_header_is_stopped_there() {
    let dir = common::temp_dir("bomb");
    // A header for 4 images of 28 x 28, then 64 MB of zeros: 64 kB of gzip.
    let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 28, 0, 0, 0, 28];
    bytes.resize((16 + 64) << 20, 0);
    let path = dir.join("bomb-idx3-ubyte.gz");
    std::fs::write(&path, gzip(&bytes)).unwrap();
    let err = idx::read_idx(&path).unwrap_err().to_string();
    assert!(err.contains("more data after the 4 x 28 x 28 = 3136 bytes the header declares"), "{err}");
    // A header that declares more than its gzip could hold is refused before inflating.
    let path = dir.join("claims-idx3-ubyte.gz");
    std::fs::write(&path, gzip(&[0, 0, 8, 3, 0, 0x10, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28])).unwrap();
    let err = idx::read_idx(&path).unwrap_err().to_string();
    assert!(
        err.contains("1048576 x 28 x 28 = 822083584 bytes, more than") && err.contains("gzip data can hold"),
        "{err}"
    );
    // Cut short, and a gzip stream that is not one.
    let mut short = gzip(&bytes[..1000]);
    std::fs::write(dir.join("short.gz"), &short).unwrap();
    let err = idx::read_idx(&dir.join("short.gz")).unwrap_err().to_string();
    assert!(err.contains("truncated: the header says 4 x 28 x 28 = 3136 bytes of data but only 984 follow"), "{err}");
    short.truncate(short.len() / 2);
    std::fs::write(dir.join("cut.gz"), &short).unwrap();
    let err = idx::read_idx(&dir.join("cut.gz")).unwrap_err().to_string();
    assert!(err.contains("cut.gz") && err.contains("corrupt gzip data"), "{err}");
}

#[test]
fn gather_normalises_bytes_and_rejects_bad_indices() {
    let d = Dataset::new("t", vec![0, 255, 51, 102, 16, 8], vec![1, 0, 2], 1, 2, 3, 255).unwrap();
    let mut x = vec![0.0; 4];
    let mut y = vec![0; 2];
    d.gather(&[1, 0], &mut x, &mut y).unwrap();
    assert_eq!(x, vec![0.2, 0.4, 0.0, 1.0]);
    assert_eq!(y, vec![0, 1]);
    assert!(d.gather(&[3, 0], &mut x, &mut y).is_err());
    assert!(d.gather(&[0], &mut x, &mut y).is_err());
    assert!(Dataset::new("t", vec![0; 4], vec![5, 0], 1, 2, 3, 255).unwrap_err().to_string().contains("label 5"));
    assert!(Dataset::new("t", vec![0; 3], vec![0, 0], 1, 2, 3, 255).is_err());
    assert!(Dataset::new("t", vec![0, 17], vec![0], 1, 2, 3, 16).unwrap_err().to_string().contains("grey level 17"));
    assert!(Dataset::new("t", vec![], vec![], usize::MAX, 2, 3, 255).is_err());
}

#[test]
fn splits_shuffles_and_one_hot() {
    let n = 100;
    let d = Dataset::new("t", (0..n as u8).collect(), (0..n).map(|i| (i % 10) as u8).collect(), 1, 1, 10, 255).unwrap();
    let (a, b) = d.split_fraction(0.1).unwrap();
    assert_eq!((a.len(), b.len()), (90, 10));
    assert_eq!(b.images()[0], 90, "the validation part is the last 10%");
    // Keras' rule: floor(n (1 - f)) examples train.
    assert_eq!(data::validation_split_point(1797, 0.2).unwrap(), 1437);
    assert_eq!(data::validation_split_point(60_000, 0.1).unwrap(), 54_000);
    assert_eq!(data::validation_split_point(3, 0.1).unwrap(), 2, "floor(2.7)");
    assert!(data::validation_split_point(3, 0.7).is_err(), "an empty training part");
    assert!(data::validation_split_point(3, 1.0).is_err());
    let s1 = d.shuffled(&mut Rng::new(4));
    let s2 = d.shuffled(&mut Rng::new(4));
    assert_eq!(s1, s2);
    assert_ne!(s1.images(), d.images());
    assert_eq!(one_hot(&[1, 0], 2).unwrap().to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    assert!(one_hot(&[2], 2).is_err());
    let batches: Vec<_> = d.batches(32, Some(&mut Rng::new(1))).unwrap().collect();
    assert_eq!(batches.iter().map(|(x, _)| x.shape()[0]).collect::<Vec<_>>(), vec![32, 32, 32, 4]);
}

#[test]
fn bundled_digits_load_offline_with_all_classes_in_both_parts() {
    let (train, test) = data::load(DatasetName::Digits, None).unwrap();
    assert_eq!((train.len(), test.len()), (1437, 360));
    assert_eq!(train.image_shape(), (8, 8));
    assert_eq!(train.max_value(), 16);
    for part in [&train, &test] {
        let mut seen = [false; 10];
        part.labels().iter().for_each(|&l| seen[l as usize] = true);
        assert!(seen.iter().all(|&s| s));
    }
    let (x, _) = test.normalized_tensors();
    assert_eq!(x.max().unwrap().item().unwrap(), 1.0);
    // Grey level 16 of the 8x8 digits normalises to exactly 1.
    let bright = (0..test.len()).find(|&i| test.image(i).unwrap().contains(&16)).unwrap();
    let at = test.image(bright).unwrap().iter().position(|&v| v == 16).unwrap();
    let mut row = vec![0.0; 64];
    let mut label = [0u32];
    test.gather(&[bright as u32], &mut row, &mut label).unwrap();
    assert_eq!(row[at], 1.0);
}

#[test]
fn dataset_names_parse() {
    assert_eq!("fashion_mnist".parse::<DatasetName>().unwrap(), DatasetName::FashionMnist);
    assert!("cifar".parse::<DatasetName>().unwrap_err().to_string().contains("mnist, fashion-mnist or digits"));
}

#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn mnist_loads_with_the_published_checksums() {
    let dir = common::mnist_dir();
    mnist::verify_mnist_content(&dir).unwrap();
    let gz = std::fs::read(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(mnist::md5_hex(&gz), "ec29112dd5afa0611ce80d1b7f02629c");
    let (train, test) = mnist::load_mnist_dir(&dir, DatasetName::Mnist).unwrap();
    assert_eq!((train.len(), test.len(), train.features()), (60_000, 10_000, 784));
    assert_eq!(&train.labels()[..5], &[5, 0, 4, 1, 9]);
    assert_eq!(mnist::find_dir(DatasetName::Mnist, Some(&dir)).as_deref(), Some(dir.as_path()));
}

/// A data set's pixels train from their bytes (the first layer's products read the bytes
/// where they skip the zeros, issue 25) to the same numbers, bit for bit, as the same floats
/// held as a tensor: on one thread, and on two, where each thread takes its half of the
/// pixels.
#[test]
fn pixels_train_from_their_bytes_as_from_their_floats() {
    use neurite::nn::{Activation, Dense, Loss};
    use neurite::optim::Optimizer;
    use neurite::train::{Examples, FitOptions, Sequential, TensorExamples, Verbosity};
    use neurite::Tensor;
    // 28 x 28 images inked in the middle, as MNIST's are, so that the products skip zeros.
    let mut rng = Rng::new(21);
    let (n, side) = (256, 28);
    let mut images = vec![0u8; n * side * side];
    for image in images.chunks_exact_mut(side * side) {
        for r in 6..22 {
            for c in 6..22 {
                if rng.next_f32() < 0.35 {
                    image[r * side + c] = rng.below(255) as u8 + 1;
                }
            }
        }
    }
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let set = Dataset::new("inked", images, labels, side, side, 10, 255).unwrap();
    let all: Vec<u32> = (0..n as u32).collect();
    let (mut x, mut y) = (vec![0f32; n * side * side], vec![0u32; n]);
    set.gather(&all, &mut x, &mut y).unwrap();
    let x = Tensor::from_vec(x, &[n, side * side]).unwrap();
    let y = Tensor::from_vec(y.iter().map(|&c| c as f32).collect(), &[n]).unwrap();
    let floats = TensorExamples::new(&x, &y, Some(10)).unwrap();
    let options = FitOptions::default().epochs(2).batch_size(32).seed(1).verbose(Verbosity::Silent);
    for threads in [1, 2] {
        let train = |data: &dyn Examples| {
            let mut m = Sequential::with_seed(1);
            m.set_threads(threads).unwrap();
            m.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(side * side)).unwrap();
            m.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
            m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
            m.fit_with(data, None, &options, &mut []).unwrap();
            m.params().snapshot().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(train(&set), train(&floats), "{threads} threads: bytes and floats trained differently");
    }
}
