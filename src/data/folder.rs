//! Folders of pictures, one folder per class (`DIR/<class>/*.png|jpg`, the layout of Keras'
//! `image_dataset_from_directory` and PyTorch's `ImageFolder`), read from disk one batch at a
//! time: an [`ImageFolder`] holds the file names and labels, never the pictures, so a folder
//! larger than memory trains. Each picture is decoded, made grey or RGB and resized
//! ([`image::decode_resized`]) when a batch needs it.
//!
//! ```
//! use neurite::data::{Color, ImageFolder, ImageFolderOptions};
//! # let dir = std::env::temp_dir().join(format!("neurite-doc-folder-{}", std::process::id()));
//! # for (class, level) in [("dark", 20u8), ("light", 230)] {
//! #     std::fs::create_dir_all(dir.join(class)).unwrap();
//! #     for i in 0..5u8 {
//! #         let mut png = Vec::new();
//! #         let mut e = png::Encoder::new(&mut png, 4, 4);
//! #         e.set_color(png::ColorType::Grayscale);
//! #         e.write_header().unwrap().write_image_data(&[level + i; 16]).unwrap();
//! #         std::fs::write(dir.join(class).join(format!("{i}.png")), png).unwrap();
//! #     }
//! # }
//! // dir/dark/*.png and dir/light/*.png, five pictures each.
//! let options = ImageFolderOptions::new(8, 8).color(Color::Grey).test_split(0.2).seed(0);
//! let (train, test) = ImageFolder::open(&dir, &options)?;
//! let test = test.unwrap();
//! assert_eq!((train.len(), test.len(), train.features()), (8, 2, 64));
//! assert_eq!(train.schema().classes, ["dark", "light"]);
//! let x = train.load(0)?;                 // one picture, resized to 8x8, in 0..1
//! assert_eq!(x.len(), 64);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), neurite::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use super::batches::{BatchSource, Batches};
use super::image;
use super::schema::{Color, ImageSchema, Schema};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// What to do with a picture that cannot be read (not a PNG or JPEG, truncated, empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadImages {
    /// Stop with an error naming the file (the default).
    #[default]
    Fail,
    /// Leave it out, and list it in [`ImageFolder::skipped`].
    Skip,
}

impl std::str::FromStr for BadImages {
    type Err = Error;
    fn from_str(s: &str) -> Result<BadImages> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail" | "error" => Ok(BadImages::Fail),
            "skip" | "warn" => Ok(BadImages::Skip),
            other => Err(Error::Value(format!("bad images: {other:?} is not fail or skip"))),
        }
    }
}

impl std::fmt::Display for BadImages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadImages::Fail => "fail",
            BadImages::Skip => "skip",
        })
    }
}

/// How to read a folder of pictures.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolderOptions {
    /// Height every picture is resized to.
    pub height: usize,
    /// Width every picture is resized to.
    pub width: usize,
    /// Grey or RGB (default RGB, as Keras and PyTorch).
    pub color: Color,
    /// The fraction of the pictures held out as the test part, drawn with `seed` (0: none).
    pub test_split: f64,
    /// Seed of the test split.
    pub seed: u64,
    /// What to do with a picture that cannot be read.
    pub bad_images: BadImages,
}

impl ImageFolderOptions {
    /// Pictures resized to `height x width`, RGB, no test split, unreadable ones an error.
    pub fn new(height: usize, width: usize) -> ImageFolderOptions {
        ImageFolderOptions { height, width, color: Color::Rgb, test_split: 0.0, seed: 0, bad_images: BadImages::Fail }
    }
    /// Sets grey or RGB.
    pub fn color(mut self, color: Color) -> Self {
        self.color = color;
        self
    }
    /// Holds out `fraction` of the pictures, drawn with the seed, as the test part.
    pub fn test_split(mut self, fraction: f64) -> Self {
        self.test_split = fraction;
        self
    }
    /// Sets the seed of the test split.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets what to do with unreadable pictures.
    pub fn bad_images(mut self, bad: BadImages) -> Self {
        self.bad_images = bad;
        self
    }
}

/// The batch whose pictures were last decoded (see `Examples::stage`): the training step's
/// threads each copy their features of it instead of decoding every picture again.
#[derive(Debug, Default)]
struct Staged {
    keys: Vec<u32>,
    rows: Vec<f32>,
}

/// Pictures in class folders, read from disk when a batch needs them: an
/// [`Examples`](crate::train::Examples) source for `fit`, `evaluate_with` and
/// `predict_with`, and batches of tensors for a hand-written loop.
#[derive(Debug)]
pub struct ImageFolder {
    name: String,
    files: Vec<PathBuf>,
    labels: Vec<u32>,
    schema: ImageSchema,
    skipped: Vec<(PathBuf, String)>,
    staged: RwLock<Staged>,
}

/// How deep class folders are searched for pictures (a link loop ends here).
const MAX_DEPTH: usize = 16;

impl ImageFolder {
    /// Lists `dir/<class>/...` (class folders sorted by name; pictures `.png`, `.jpg`,
    /// `.jpeg` in any case, in sub-folders too, sorted; hidden folders and other files left
    /// out), reads every picture once to find the unreadable ones (an error, or left out, as
    /// `options.bad_images` says), and splits off a test part as `options.test_split` says
    /// (`None` without one). Only the file names stay in memory.
    pub fn open(dir: &Path, options: &ImageFolderOptions) -> Result<(ImageFolder, Option<ImageFolder>)> {
        let schema =
            ImageSchema { height: options.height, width: options.width, color: options.color, classes: vec![] };
        let (classes, mut files, mut labels) = list(dir, None)?;
        let schema = ImageSchema { classes, ..schema };
        let skipped = verify(&mut files, &mut labels, &schema, options.bad_images)?;
        let name = dir.display().to_string();
        check_classes(&name, &schema.classes, &labels, true)?;
        let make = |name: String, files, labels, skipped| ImageFolder {
            name,
            files,
            labels,
            schema: schema.clone(),
            skipped,
            staged: RwLock::default(),
        };
        if options.test_split <= 0.0 {
            return Ok((make(name, files, labels, skipped), None));
        }
        let n = files.len();
        let b = super::test_split_rows(n, options.test_split, options.seed)
            .map_err(|e| e.context(format!("{name}: test split of {n} pictures")))?;
        let mut is_test = vec![false; n];
        b.iter().for_each(|&i| is_test[i] = true);
        let a: Vec<usize> = (0..n).filter(|&i| !is_test[i]).collect();
        let part = |rows: &[usize]| -> (Vec<PathBuf>, Vec<u32>) {
            (rows.iter().map(|&i| files[i].clone()).collect(), rows.iter().map(|&i| labels[i]).collect())
        };
        let ((tf, tl), (sf, sl)) = (part(&a), part(&b));
        Ok((make(name.clone(), tf, tl, skipped), Some(make(format!("{name}-test"), sf, sl, vec![]))))
    }

    /// Lists a folder for a model trained on pictures with `schema` (a test folder, or new
    /// pictures to evaluate): its class folders must be among the model's classes (not
    /// every class need be there), and the pictures are read at the schema's size and
    /// colour.
    pub fn open_with(dir: &Path, schema: &ImageSchema, bad_images: BadImages) -> Result<ImageFolder> {
        let (_, mut files, mut labels) = list(dir, Some(&schema.classes))?;
        let skipped = verify(&mut files, &mut labels, schema, bad_images)?;
        let name = dir.display().to_string();
        check_classes(&name, &schema.classes, &labels, false)?;
        Ok(ImageFolder { name, files, labels, schema: schema.clone(), skipped, staged: RwLock::default() })
    }

    /// The folder's name (and `-test` for a test part).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of pictures.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Inputs per picture: height x width x channels.
    pub fn features(&self) -> usize {
        self.schema.features()
    }

    /// Number of classes (class folders).
    pub fn classes(&self) -> usize {
        self.schema.classes.len()
    }

    /// Size, colour and class names.
    pub fn schema(&self) -> &ImageSchema {
        &self.schema
    }

    /// The schema as a model stores it ([`crate::train::Sequential::set_schema`]).
    pub fn data_schema(&self) -> Schema {
        Schema::Images(self.schema.clone())
    }

    /// The pictures' files, in example order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The class of each picture.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The pictures left out as unreadable ([`BadImages::Skip`]), with why.
    pub fn skipped(&self) -> &[(PathBuf, String)] {
        &self.skipped
    }

    /// Picture `i` as model inputs: resized, grey or RGB, in 0..=1, channels last.
    pub fn load(&self, i: usize) -> Result<Vec<f32>> {
        let path = self.files.get(i).ok_or_else(|| self.out_of_range(i as u32))?;
        image::load_resized(path, self.schema.height, self.schema.width, self.schema.color)
    }

    /// Batches as tensors for a hand-written (PyTorch-style) loop: `(x, y)` with x of shape
    /// (b, features) and y of shape (b,) class indices, shuffled when `rng` is given; each
    /// batch is read from disk when the iterator reaches it.
    pub fn batches(&self, batch_size: usize, rng: Option<&mut Rng>) -> Result<FolderBatches<'_>> {
        Batches::new(self, batch_size, rng)
    }

    /// Decodes picture `i` into `out` (`features()` values).
    pub(crate) fn decode_into(&self, i: u32, out: &mut [f32]) -> Result<()> {
        let x = self.load(i as usize)?;
        if x.len() != out.len() {
            return Err(Error::Shape(format!(
                "{}: {} values for a picture slot of {}",
                self.files[i as usize].display(),
                x.len(),
                out.len()
            )));
        }
        out.copy_from_slice(&x);
        Ok(())
    }

    /// Makes `indices` the staged batch: `fill` decodes them into the rows given (unless
    /// they are staged already).
    pub(crate) fn stage(&self, indices: &[u32], fill: impl FnOnce(&mut [f32]) -> Result<()>) -> Result<()> {
        let f = self.features();
        let mut staged = self.staged.write().map_err(|_| self.poisoned())?;
        if staged.keys == indices {
            return Ok(());
        }
        staged.keys.clear();
        staged.rows.resize(indices.len() * f, 0.0);
        fill(&mut staged.rows[..indices.len() * f])?;
        staged.keys.extend_from_slice(indices);
        Ok(())
    }

    /// Features `first..first + count` of the pictures `indices` into `x`: from the staged
    /// batch when it is this one, else decoded here.
    pub(crate) fn gather_range(&self, indices: &[u32], first: usize, count: usize, x: &mut [f32]) -> Result<()> {
        let f = self.features();
        if first.checked_add(count).is_none_or(|end| end > f) || indices.len().checked_mul(count) != Some(x.len()) {
            return Err(Error::Shape(format!(
                "{}: features {first}..{first}+{count} of {f} for {} pictures into {} values",
                self.name,
                indices.len(),
                x.len()
            )));
        }
        if count == 0 {
            return Ok(());
        }
        {
            let staged = self.staged.read().map_err(|_| self.poisoned())?;
            if staged.keys == indices {
                for (dst, src) in x.chunks_exact_mut(count).zip(staged.rows.chunks_exact(f)) {
                    dst.copy_from_slice(&src[first..first + count]);
                }
                return Ok(());
            }
        }
        if first == 0 && count == f {
            for (dst, &i) in x.chunks_exact_mut(f).zip(indices) {
                self.decode_into(i, dst)?;
            }
        } else {
            let mut row = vec![0.0; f];
            for (dst, &i) in x.chunks_exact_mut(count).zip(indices) {
                self.decode_into(i, &mut row)?;
                dst.copy_from_slice(&row[first..first + count]);
            }
        }
        Ok(())
    }

    /// The class of each picture `indices` into `y`.
    pub(crate) fn gather_labels(&self, indices: &[u32], y: &mut [u32]) -> Result<()> {
        if y.len() != indices.len() {
            return Err(Error::Shape(format!("{}: {} label slots for {} pictures", self.name, y.len(), indices.len())));
        }
        for (d, &i) in y.iter_mut().zip(indices) {
            *d = *self.labels.get(i as usize).ok_or_else(|| self.out_of_range(i))?;
        }
        Ok(())
    }

    fn out_of_range(&self, i: u32) -> Error {
        Error::Index(format!("{}: picture {i} is out of range for {} pictures", self.name, self.len()))
    }

    fn poisoned(&self) -> Error {
        Error::Value(format!("{}: a thread failed while reading pictures", self.name))
    }
}

/// The iterator of [`ImageFolder::batches`]: each batch read from disk when it is reached.
pub type FolderBatches<'a> = Batches<'a, ImageFolder>;

impl BatchSource for ImageFolder {
    /// x of shape (b, features), y of shape (b,) class indices; an error names a picture
    /// that cannot be read.
    type Batch = Result<(Tensor, Tensor)>;

    fn examples(&self) -> usize {
        self.len()
    }

    fn batch(&self, indices: &[u32]) -> Result<(Tensor, Tensor)> {
        let f = self.features();
        let mut x = vec![0.0; indices.len() * f];
        let mut y = vec![0; indices.len()];
        self.gather_range(indices, 0, f, &mut x)?;
        self.gather_labels(indices, &mut y)?;
        let y = y.iter().map(|&l| l as f32).collect();
        Ok((Tensor::from_parts(x, &[indices.len(), f]), Tensor::from_parts(y, &[indices.len()])))
    }
}

/// Whether a file name is a picture's (by its extension).
fn is_picture(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

/// The entries of a directory, sorted by name.
fn entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        out.push(entry.map_err(|e| Error::io(dir, e))?.path());
    }
    out.sort();
    Ok(out)
}

/// The pictures under `dir`, recursively, sorted.
fn pictures(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::Io(format!("{}: folders nested more than {MAX_DEPTH} deep (a link loop?)", dir.display())));
    }
    for path in entries(dir)? {
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            pictures(&path, depth + 1, out)?;
        } else if is_picture(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// The class folders of `dir` (sorted; or checked against `known` classes) and every
/// picture in them with its class.
fn list(dir: &Path, known: Option<&[String]>) -> Result<(Vec<String>, Vec<PathBuf>, Vec<u32>)> {
    if !dir.is_dir() {
        return Err(Error::Io(format!(
            "{}: no such folder (a folder of pictures has one sub-folder per class: DIR/<class>/*.png)",
            dir.display()
        )));
    }
    let all = entries(dir)?;
    let class_dirs: Vec<&PathBuf> = all.iter().filter(|p| p.is_dir() && !is_hidden(p)).collect();
    if class_dirs.is_empty() {
        let loose = all.iter().filter(|p| is_picture(p)).count();
        let what =
            if loose > 0 { format!("{loose} pictures but no class folders") } else { "no class folders".to_string() };
        return Err(Error::Value(format!(
            "{}: {what}; put each class's pictures in a folder named after it: DIR/<class>/*.png",
            dir.display()
        )));
    }
    let mut classes = Vec::new();
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for class_dir in class_dirs {
        let name = class_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let label = match known {
            None => classes.len(),
            Some(known) => known.iter().position(|c| *c == name).ok_or_else(|| {
                Error::Value(format!(
                    "{}: class folder {name:?} is not one of the model's classes ({})",
                    dir.display(),
                    super::csv_parse::listed(known)
                ))
            })?,
        };
        let before = files.len();
        pictures(class_dir, 0, &mut files)?;
        if files.len() == before && known.is_none() {
            return Err(Error::Value(format!(
                "{}: the class folder has no PNG or JPEG pictures (.png, .jpg, .jpeg)",
                class_dir.display()
            )));
        }
        labels.resize(files.len(), label as u32);
        classes.push(name);
    }
    if files.is_empty() {
        return Err(Error::Value(format!("{}: no PNG or JPEG pictures in the class folders", dir.display())));
    }
    if files.len() > u32::MAX as usize {
        return Err(Error::Value(format!("{}: more than {} pictures", dir.display(), u32::MAX)));
    }
    Ok((classes, files, labels))
}

/// Reads every picture once (on all cores), so that an unreadable one is found before
/// training rather than in its middle: an error naming the first, or each left out and
/// returned with why.
fn verify(
    files: &mut Vec<PathBuf>,
    labels: &mut Vec<u32>,
    schema: &ImageSchema,
    bad: BadImages,
) -> Result<Vec<(PathBuf, String)>> {
    let check = |path: &PathBuf| -> Option<String> {
        image::load_resized(path, schema.height, schema.width, schema.color).err().map(|e| {
            let m = e.to_string();
            let prefix = format!("{}: ", path.display());
            match m.split_once(prefix.as_str()) {
                Some((_, rest)) => rest.to_string(),
                None => m,
            }
        })
    };
    let threads = if cfg!(feature = "threads") {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().div_ceil(64)).max(1)
    } else {
        1
    };
    let problems: Vec<Option<String>> = if threads > 1 {
        let per = files.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> =
                files.chunks(per).map(|part| s.spawn(move || part.iter().map(check).collect::<Vec<_>>())).collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        })
    } else {
        files.iter().map(check).collect()
    };
    if problems.len() != files.len() {
        return Err(Error::Value("a thread failed while reading the pictures".into()));
    }
    let bad_count = problems.iter().flatten().count();
    if bad_count == 0 {
        return Ok(vec![]);
    }
    if bad == BadImages::Fail {
        let (i, why) =
            problems.iter().enumerate().find_map(|(i, p)| p.as_ref().map(|w| (i, w.as_str()))).unwrap_or((0, ""));
        return Err(Error::Format(format!(
            "{}: {why} ({bad_count} of {} pictures cannot be read; to train without them, skip them: --bad-images skip, BadImages::Skip)",
            files[i].display(),
            files.len()
        )));
    }
    let mut skipped = Vec::with_capacity(bad_count);
    let mut kept_files = Vec::with_capacity(files.len() - bad_count);
    let mut kept_labels = Vec::with_capacity(files.len() - bad_count);
    for ((path, label), problem) in files.drain(..).zip(labels.drain(..)).zip(problems) {
        match problem {
            Some(why) => skipped.push((path, why)),
            None => {
                kept_files.push(path);
                kept_labels.push(label);
            }
        }
    }
    *files = kept_files;
    *labels = kept_labels;
    Ok(skipped)
}

/// Checks that the pictures left make a data set: some, and for training two classes or
/// more, each with a picture.
fn check_classes(name: &str, classes: &[String], labels: &[u32], training: bool) -> Result<()> {
    if labels.is_empty() {
        return Err(Error::Value(format!("{name}: no readable pictures")));
    }
    if !training {
        return Ok(());
    }
    if classes.len() < 2 {
        return Err(Error::Value(format!(
            "{name}: one class only ({:?}): a classifier needs two or more class folders",
            classes.first().map(String::as_str).unwrap_or("")
        )));
    }
    let mut counts = vec![0usize; classes.len()];
    labels.iter().for_each(|&l| counts[l as usize] += 1);
    if let Some(empty) = counts.iter().position(|&c| c == 0) {
        return Err(Error::Value(format!("{name}: the class folder {:?} has no readable pictures", classes[empty])));
    }
    Ok(())
}
