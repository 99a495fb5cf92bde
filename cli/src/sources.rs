//! Your own data for `train`, `eval` and `predict`: the flags that name a CSV table or a
//! folder of pictures, and the library's `Table` and `ImageFolder` they open.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use neurite::data::{
    BadImages, Color, CsvOptions, ImageFolder, ImageFolderOptions, ImageSchema, Schema, Table, TableSchema, Task,
};
use neurite::error::{Error, Result};
use neurite::train::{Examples, Sequential};

/// A picture size given as WIDTHxHEIGHT (`28x28`, `64x48`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ImageSize {
    pub(crate) width: usize,
    pub(crate) height: usize,
}

impl std::str::FromStr for ImageSize {
    type Err = Error;
    fn from_str(s: &str) -> Result<ImageSize> {
        let bad = || Error::Value(format!("{s:?} is not a size WIDTHxHEIGHT such as 28x28"));
        let (w, h) = s
            .trim()
            .to_ascii_lowercase()
            .split_once('x')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .ok_or_else(bad)?;
        let (width, height) =
            (w.trim().parse::<usize>().map_err(|_| bad())?, h.trim().parse::<usize>().map_err(|_| bad())?);
        let max = neurite::data::image::MAX_SIDE;
        if width == 0 || height == 0 || width > max || height > max {
            return Err(Error::Value(format!("{s}: each side must be 1 to {max} pixels")));
        }
        Ok(ImageSize { width, height })
    }
}

/// Flags of `train` that name your own data instead of an IDX data set.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct OwnDataArgs {
    /// Train on a CSV table: a header row, numeric feature columns and the --target column.
    /// Features are standardised with the training part's mean and deviation (kept in the
    /// model file for eval and predict).
    #[arg(long, value_name = "FILE", requires = "target", conflicts_with_all = ["data", "dataset", "images"], help_heading = "Your own data")]
    pub(crate) csv: Option<PathBuf>,
    /// The CSV column to predict (class names or numbers).
    #[arg(long, value_name = "COLUMN", requires = "csv", help_heading = "Your own data")]
    pub(crate) target: Option<String>,
    /// classification (the target's values are classes) or regression (a number to
    /// predict: mean squared error and a linear output unless --loss or
    /// --output-activation say otherwise).
    #[arg(long, default_value = "classification", requires = "csv", help_heading = "Your own data")]
    pub(crate) task: Task,
    /// The CSV's field separator, one character (`;`, `\t` for tabs).
    #[arg(long, default_value = ",", requires = "csv", help_heading = "Your own data")]
    pub(crate) delimiter: String,
    /// A CSV of test rows with the same columns (else --test-split of --csv is held out).
    #[arg(long, value_name = "FILE", requires = "csv", conflicts_with = "test_split", help_heading = "Your own data")]
    pub(crate) test_csv: Option<PathBuf>,
    /// Train on a folder of pictures, one sub-folder per class: DIR/<class>/*.png|jpg.
    /// Pictures are read from disk a batch at a time.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "dataset"], help_heading = "Your own data")]
    pub(crate) images: Option<PathBuf>,
    /// Test pictures in the same layout (else --test-split of --images is held out).
    #[arg(
        long,
        value_name = "DIR",
        requires = "images",
        conflicts_with = "test_split",
        help_heading = "Your own data"
    )]
    pub(crate) test_images: Option<PathBuf>,
    /// The size every picture is resized to, WIDTHxHEIGHT [default: 28x28].
    // (No clap defaults for these three: a flag given without --images is then an error,
    // where clap's `requires` let it pass beside --csv, which conflicts with --images.)
    #[arg(long, help_heading = "Your own data")]
    pub(crate) image_size: Option<ImageSize>,
    /// grey (one value per pixel) or rgb (three) [default: grey].
    #[arg(long, help_heading = "Your own data")]
    pub(crate) color: Option<Color>,
    /// A picture that cannot be read: fail (stop, naming it) or skip (leave it out with a
    /// warning naming it) [default: fail].
    #[arg(long, help_heading = "Your own data")]
    pub(crate) bad_images: Option<BadImages>,
    /// Fraction of --csv or --images held out as the test part, drawn with --seed (default
    /// 0.2; 0 for none).
    #[arg(long, value_name = "F", allow_negative_numbers = true, help_heading = "Your own data")]
    pub(crate) test_split: Option<f64>,
}

/// A table or a folder of pictures, split into a training and a test part.
pub(crate) enum OwnData {
    Table(Table, Option<Table>),
    Images(ImageFolder, Option<ImageFolder>),
}

impl OwnData {
    /// Opens what the flags name; `None` when they name no table or folder.
    pub(crate) fn open(args: &OwnDataArgs, seed: u64) -> Result<Option<OwnData>> {
        if args.test_split.is_some() && args.csv.is_none() && args.images.is_none() {
            return Err(Error::Value(
                "--test-split holds out part of --csv or --images; the IDX data sets have their own test files".into(),
            ));
        }
        if args.images.is_none() {
            let given = [
                ("--image-size", args.image_size.is_some()),
                ("--color", args.color.is_some()),
                ("--bad-images", args.bad_images.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
                return Err(Error::Value(format!(
                    "{flag} says how to read a folder of pictures: it needs --images DIR"
                )));
            }
        }
        let split = args.test_split.unwrap_or(0.2);
        if !(0.0..1.0).contains(&split) {
            return Err(Error::Value(format!("--test-split {split}: a fraction from 0 up to (not including) 1")));
        }
        if let Some(path) = &args.csv {
            let target = args.target.as_deref().unwrap_or_default();
            let mut options = CsvOptions::new(target).task(args.task).seed(seed).delimiter(delimiter(&args.delimiter)?);
            if args.test_csv.is_none() {
                options = options.test_split(split);
            }
            let (train, mut test) = Table::from_csv(path, &options)?;
            if let Some(test_path) = &args.test_csv {
                test = Some(Table::from_csv_with(test_path, train.schema())?);
                let t = test.as_ref().filter(|t| !t.has_targets());
                if let Some(t) = t {
                    return Err(Error::Value(format!(
                        "--test-csv {}: no column {:?} to test against",
                        t.name(),
                        target
                    )));
                }
            }
            return Ok(Some(OwnData::Table(train, test)));
        }
        if let Some(dir) = &args.images {
            let size = args.image_size.unwrap_or(ImageSize { width: 28, height: 28 });
            let bad_images = args.bad_images.unwrap_or(BadImages::Fail);
            let mut options = ImageFolderOptions::new(size.height, size.width)
                .color(args.color.unwrap_or(Color::Grey))
                .seed(seed)
                .bad_images(bad_images);
            if args.test_images.is_none() {
                options = options.test_split(split);
            }
            let (train, mut test) = ImageFolder::open(dir, &options)?;
            warn_skipped(&train);
            if let Some(test_dir) = &args.test_images {
                let t = ImageFolder::open_with(test_dir, train.schema(), bad_images)?;
                warn_skipped(&t);
                test = Some(t);
            }
            return Ok(Some(OwnData::Images(train, test)));
        }
        Ok(None)
    }

    pub(crate) fn train(&self) -> &dyn Examples {
        match self {
            OwnData::Table(t, _) => t,
            OwnData::Images(f, _) => f,
        }
    }

    pub(crate) fn test(&self) -> Option<&dyn Examples> {
        match self {
            OwnData::Table(_, t) => t.as_ref().map(|t| t as &dyn Examples),
            OwnData::Images(_, f) => f.as_ref().map(|f| f as &dyn Examples),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            OwnData::Table(t, _) => t.name(),
            OwnData::Images(f, _) => f.name(),
        }
    }

    pub(crate) fn schema(&self) -> Schema {
        match self {
            OwnData::Table(t, _) => t.data_schema(),
            OwnData::Images(f, _) => f.data_schema(),
        }
    }

    pub(crate) fn task(&self) -> Task {
        match self {
            OwnData::Table(t, _) => t.schema().task,
            OwnData::Images(..) => Task::Classification,
        }
    }

    /// Outputs the model needs: one per class, or one value.
    pub(crate) fn outputs(&self) -> usize {
        match self.task() {
            Task::Regression => 1,
            Task::Classification => self.schema().class_names().len(),
        }
    }

    /// One line saying what was read.
    pub(crate) fn describe(&self) -> String {
        let test = self.test().map_or(0, |t| t.len());
        let classes = self.schema().class_names().join(", ");
        let classes = crate::show::name(&classes);
        match self {
            OwnData::Table(t, _) => match t.schema().task {
                Task::Classification => format!(
                    "{}: {} training and {test} test rows of {} features; {} classes of {:?}: {classes}",
                    t.name(),
                    t.len(),
                    t.features(),
                    t.classes(),
                    t.schema().target
                ),
                Task::Regression => format!(
                    "{}: {} training and {test} test rows of {} features; predicting {:?} (regression)",
                    t.name(),
                    t.len(),
                    t.features(),
                    t.schema().target
                ),
            },
            OwnData::Images(f, _) => {
                let s = f.schema();
                format!(
                    "{}: {} training and {test} test pictures resized to {}x{} {}; {} classes: {classes}",
                    f.name(),
                    f.len(),
                    s.width,
                    s.height,
                    s.color,
                    f.classes()
                )
            }
        }
    }
}

/// Prints the pictures left out as unreadable (`--bad-images skip`): count and names.
pub(crate) fn warn_skipped(folder: &ImageFolder) {
    let skipped = folder.skipped();
    if skipped.is_empty() {
        return;
    }
    eprintln!("warning: {}: skipped {} unreadable pictures:", folder.name(), skipped.len());
    for (path, why) in skipped {
        eprintln!("  {}: {why}", path.display());
    }
}

/// A one-byte field separator from the flag (`\t` and `tab` for a tab).
fn delimiter(text: &str) -> Result<u8> {
    match text {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() => Ok(t.as_bytes()[0]),
        t => Err(Error::Value(format!("--delimiter {t:?}: one ASCII character such as , ; or \\t"))),
    }
}

/// The table of a model trained on one (`eval --csv`, `predict --csv`), read with its
/// columns and standardisation.
pub(crate) fn table_for(model: &Sequential, path: &Path) -> Result<Table> {
    Table::from_csv_with(path, table_schema(model, "--csv")?)
}

/// The schema of a model trained on a table, or an error saying what the model was trained on.
pub(crate) fn table_schema<'a>(model: &'a Sequential, flag: &str) -> Result<&'a TableSchema> {
    match model.schema() {
        Some(Schema::Table(t)) => Ok(t),
        Some(Schema::Images(_)) => Err(Error::Value(format!(
            "{flag}: the model was trained on a folder of pictures, not a table; give --images DIR or pictures"
        ))),
        None => Err(Error::Value(format!(
            "{flag}: the model was not trained on a table (its file has no columns or standardisation); train it with neurite train --csv"
        ))),
    }
}

/// The picture description of a model trained on a folder of pictures.
pub(crate) fn image_schema<'a>(model: &'a Sequential, flag: &str) -> Result<&'a ImageSchema> {
    match model.schema() {
        Some(Schema::Images(s)) => Ok(s),
        Some(Schema::Table(_)) => {
            Err(Error::Value(format!("{flag}: the model was trained on a table, not pictures; give --csv FILE")))
        }
        None => Err(Error::Value(format!(
            "{flag}: the model was not trained on a folder of pictures (its file has no picture size or class names); train it with neurite train --images"
        ))),
    }
}
