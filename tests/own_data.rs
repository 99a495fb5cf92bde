//! Your own data in the library: a CSV table and a folder of pictures as `Examples` for
//! `fit` (the Keras way) and as batches of tensors for a hand-written loop (the PyTorch way),
//! and their description kept in the model file.

mod common;

use std::path::Path;

use neurite::autograd::Var;
use neurite::data::{BadImages, Color, CsvOptions, ImageFolder, ImageFolderOptions, Schema, Table};
use neurite::nn::{Activation, Dense, Linear, Loss, Module};
use neurite::optim::{Optim, Optimizer};
use neurite::train::{FitOptions, Metric, Sequential};
use neurite::Rng;

/// Three classes of points around three centres, in columns of different scales.
fn three_blobs(rows: usize) -> String {
    let mut rng = Rng::new(3);
    let mut csv = String::from("x,label,y\n");
    for i in 0..rows {
        let c = i % 3;
        let (x, y) =
            (c as f32 * 100.0 + rng.uniform(-30.0, 30.0), (c as f32 - 1.0) * 0.01 + rng.uniform(-0.003, 0.003));
        csv += &format!("{x},{},{y}\n", ["a", "b", "c"][c]);
    }
    csv
}

fn model_for(inputs: usize, classes: usize) -> Sequential {
    let mut model = Sequential::with_seed(1);
    model.add(Dense::new(16).activation(Activation::Relu).input_shape(inputs)).unwrap();
    model.add(Dense::new(classes).activation(Activation::Softmax)).unwrap();
    model
        .compile(Optimizer::adam().learning_rate(0.01), Loss::SparseCategoricalCrossentropy, &[Metric::Accuracy])
        .unwrap();
    model
}

#[test]
fn a_table_trains_with_fit_and_with_a_hand_written_loop() {
    let dir = common::temp_dir("lib-table");
    let path = dir.join("blobs.csv");
    std::fs::write(&path, three_blobs(300)).unwrap();
    let (train, test) = Table::from_csv(&path, &CsvOptions::new("label").test_split(0.2).seed(4)).unwrap();
    let test = test.unwrap();
    assert_eq!((train.len(), test.len(), train.features(), train.classes()), (240, 60, 2, 3));
    // Keras: fit on the table itself.
    let mut model = model_for(2, 3);
    model.fit_with(&train, None, &FitOptions::default().epochs(20).batch_size(16).seed(0), &mut []).unwrap();
    assert!(model.evaluate_with(&test).unwrap().accuracy > 0.95);
    // PyTorch: batches of tensors, autograd, an optimiser.
    let mut rng = Rng::new(0);
    let (fc1, fc2) = (Linear::new(2, 16, &mut rng).unwrap(), Linear::new(16, 3, &mut rng).unwrap());
    let mut params = fc1.parameters();
    params.extend(fc2.parameters());
    let mut opt = Optim::new(Optimizer::adam().learning_rate(0.01), params).unwrap();
    let forward = |x: &Var| fc2.forward(&fc1.forward(x)?.relu()?);
    for _ in 0..20 {
        for (x, y) in train.batches(16, Some(&mut rng)).unwrap() {
            opt.zero_grad();
            let logits = forward(&Var::constant(x)).unwrap();
            let loss = Loss::SparseCategoricalCrossentropy.forward_logits(&logits, Activation::Softmax, &y).unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
        }
    }
    let (x, y) = test.tensors();
    let logits = forward(&Var::constant(x)).unwrap();
    assert!(neurite::nn::accuracy(&logits.value(), &y).unwrap() > 0.95);
}

#[test]
fn the_data_description_is_kept_in_the_model_file() {
    let table = Table::from_reader(three_blobs(30).as_bytes(), "t.csv", &CsvOptions::new("label")).unwrap();
    let mut model = model_for(2, 3);
    model.set_schema(Some(table.data_schema())).unwrap();
    let bytes = neurite::io::model_bytes(&model).unwrap();
    let back = neurite::io::model_from_bytes(&bytes).unwrap();
    assert_eq!(back.schema(), Some(&table.data_schema()));
    let Some(Schema::Table(t)) = back.schema() else { panic!() };
    assert_eq!(t.classes, ["a", "b", "c"]);
    assert_eq!(t.mean, table.schema().mean);
    // A model without one (MNIST, files written before) has none, and loads as before.
    model.set_schema(None).unwrap();
    let back = neurite::io::model_from_bytes(&neurite::io::model_bytes(&model).unwrap()).unwrap();
    assert_eq!(back.schema(), None);
    // A description that does not fit the model is refused.
    let four =
        Table::from_reader("a,b,c,d,y\n1,2,3,4,p\n5,6,7,8,q\n".as_bytes(), "t.csv", &CsvOptions::new("y")).unwrap();
    let err = model.set_schema(Some(four.data_schema())).unwrap_err().to_string();
    assert!(err.contains("the data description has 4 features, the model takes 2 inputs"), "{err}");
}

fn grey_png(path: &Path, level: u8) {
    let mut bytes = Vec::new();
    let mut e = png::Encoder::new(&mut bytes, 6, 6);
    e.set_color(png::ColorType::Grayscale);
    e.write_header().unwrap().write_image_data(&[level; 36]).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_folder_of_pictures_is_read_a_batch_at_a_time() {
    let dir = common::temp_dir("lib-folder");
    for (class, level) in [("black", 0u8), ("grey", 128), ("white", 255)] {
        std::fs::create_dir_all(dir.join(class).join("more")).unwrap();
        for i in 0..8 {
            grey_png(&dir.join(class).join(format!("{i}.PNG")), level);
        }
        grey_png(&dir.join(class).join("more/deep.png"), level);
        std::fs::write(dir.join(class).join("notes.txt"), "not a picture").unwrap();
    }
    std::fs::create_dir_all(dir.join(".hidden")).unwrap();
    let options = ImageFolderOptions::new(3, 3).color(Color::Grey);
    let (folder, none) = ImageFolder::open(&dir, &options).unwrap();
    assert!(none.is_none());
    assert_eq!((folder.len(), folder.classes(), folder.features()), (27, 3, 9));
    assert_eq!(folder.schema().classes, ["black", "grey", "white"]);
    assert_eq!(folder.load(9).unwrap(), vec![128.0 / 255.0; 9]);
    let mut model = model_for(9, 3);
    model.set_schema(Some(folder.data_schema())).unwrap();
    model.fit_with(&folder, None, &FitOptions::default().epochs(30).batch_size(4).seed(0), &mut []).unwrap();
    assert_eq!(model.evaluate_with(&folder).unwrap().accuracy, 1.0);
    // Batches for a hand-written loop; RGB has three values per pixel.
    let (rgb, _) = ImageFolder::open(&dir, &ImageFolderOptions::new(2, 2)).unwrap();
    let batches: Vec<_> = rgb.batches(10, None).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(|(x, _)| x.shape().to_vec()).collect::<Vec<_>>(), [[10, 12], [10, 12], [7, 12]]);
    // A picture that turns bad after the folder was opened is an error naming it, mid-training.
    std::fs::write(dir.join("grey/3.PNG"), b"gone").unwrap();
    let err = model.fit_with(&folder, None, &FitOptions::default().epochs(1), &mut []).unwrap_err().to_string();
    assert!(err.contains("3.PNG") && err.contains("not a PNG or JPEG picture"), "{err}");
    let (skipping, _) = ImageFolder::open(&dir, &options.clone().bad_images(BadImages::Skip)).unwrap();
    assert_eq!((skipping.len(), skipping.skipped().len()), (26, 1));
}
