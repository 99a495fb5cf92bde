//! MNIST and Fashion-MNIST: where to find them, how to load them, and how to download
//! them with checksum verification when they are nowhere to be found.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use md5::{Digest, Md5};

use super::idx::{read_idx, IdxArray};
use super::Dataset;
use crate::error::{Error, Result};

/// The data sets neurite knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// LeCun, Cortes and Burges' handwritten digits, 28x28.
    Mnist,
    /// Zalando's clothing images in MNIST's format.
    FashionMnist,
    /// The bundled 8x8 UCI digits.
    Digits,
}

impl DatasetName {
    /// The name used on the command line and for directories (`mnist`, `fashion-mnist`).
    pub fn as_str(&self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Digits => "digits",
        }
    }

    /// The four files and the MD5 checksums their publishers give for them.
    fn files(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            DatasetName::Mnist => &[
                ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
            ],
            DatasetName::FashionMnist => &[
                ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            ],
            DatasetName::Digits => &[],
        }
    }

    /// Where the files are published, tried in order.
    #[cfg(feature = "download")]
    pub fn mirrors(&self) -> &'static [&'static str] {
        match self {
            DatasetName::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ],
            DatasetName::FashionMnist => &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
            DatasetName::Digits => &[],
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetName {
    type Err = Error;

    fn from_str(s: &str) -> Result<DatasetName> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "mnist" => Ok(DatasetName::Mnist),
            "fashion-mnist" | "fashion" => Ok(DatasetName::FashionMnist),
            "digits" => Ok(DatasetName::Digits),
            other => Err(Error::Value(format!("unknown dataset {other:?}: expected mnist, fashion-mnist or digits"))),
        }
    }
}

/// The file `name` in `dir`, as `.gz` or uncompressed (also the `train-images.idx3-ubyte`
/// spelling some copies use).
fn find_file(dir: &Path, gz_name: &str) -> Option<PathBuf> {
    let raw = gz_name.trim_end_matches(".gz");
    let dotted = raw.replacen("-idx", ".idx", 1);
    [gz_name.to_string(), raw.to_string(), dotted.clone(), format!("{dotted}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn has_all_files(dir: &Path, name: DatasetName) -> bool {
    name.files().iter().all(|(f, _)| find_file(dir, f).is_some())
}

/// The user cache directory for a data set: `$XDG_CACHE_HOME/neurite/<name>`, else
/// `$HOME/.cache/neurite/<name>`.
pub fn cache_dir(name: DatasetName) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("neurite").join(name.as_str()))
}

/// The places searched for a data set, in order: `explicit` (the `--data` flag) alone when
/// given; else `$NEURITE_DATA`, `./data/<name>`, then the cache directory. Each place may
/// hold the files itself or in a `<name>` subdirectory.
pub fn search_path(name: DatasetName, explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut bases = Vec::new();
    if let Some(dir) = explicit {
        bases.push(dir.to_path_buf());
    } else {
        if let Some(env) = std::env::var_os("NEURITE_DATA").filter(|v| !v.is_empty()) {
            bases.push(PathBuf::from(env));
        }
        bases.push(PathBuf::from("data").join(name.as_str()));
        bases.extend(cache_dir(name));
    }
    bases.into_iter().flat_map(|b| [b.join(name.as_str()), b]).collect()
}

/// The first directory of [`search_path`] that holds all four files.
pub fn find_dir(name: DatasetName, explicit: Option<&Path>) -> Option<PathBuf> {
    search_path(name, explicit).into_iter().find(|d| has_all_files(d, name))
}

/// Loads the training (60,000) and test (10,000) parts from `dir`.
pub fn load_mnist_dir(dir: &Path, name: DatasetName) -> Result<(Dataset, Dataset)> {
    let path = |f: &str| {
        find_file(dir, f)
            .ok_or_else(|| Error::Io(format!("{}: no {f} (or its uncompressed form) for {name}", dir.display())))
    };
    let files = name.files();
    if files.is_empty() {
        return Err(Error::Value(format!("{name} is not stored in IDX files")));
    }
    let load = |images: &str, labels: &str, part: &str| -> Result<Dataset> {
        let (ip, lp) = (path(images)?, path(labels)?);
        let (img, lab) = (read_idx(&ip)?, read_idx(&lp)?);
        dataset_from_idx(name, part, (&ip.display().to_string(), img), (&lp.display().to_string(), lab))
    };
    Ok((load(files[0].0, files[1].0, "train")?, load(files[2].0, files[3].0, "test")?))
}

/// One part (`train` or `test`) of an MNIST-style data set from its decoded IDX files, each
/// given with the name its errors use: 28x28 images, as many labels as images, labels below
/// 10. This is what [`load_mnist_dir`] does with the files it reads, for callers that have
/// the bytes without a file system (the web page: [`super::idx::read_idx_bytes`] first).
///
/// ```
/// use neurite::data::{idx::IdxArray, mnist::{dataset_from_idx, DatasetName}};
/// let images = IdxArray { dims: vec![2, 28, 28], data: vec![0; 2 * 784] };
/// let labels = IdxArray { dims: vec![2], data: vec![7, 1] };
/// let part = dataset_from_idx(DatasetName::Mnist, "test", ("images", images), ("labels", labels))?;
/// assert_eq!((part.len(), part.features()), (2, 784));
/// # Ok::<(), neurite::Error>(())
/// ```
pub fn dataset_from_idx(
    name: DatasetName,
    part: &str,
    (images_name, img): (&str, IdxArray),
    (labels_name, lab): (&str, IdxArray),
) -> Result<Dataset> {
    if img.dims.len() != 3 || img.dims[1] != 28 || img.dims[2] != 28 {
        return Err(Error::Format(format!(
            "{images_name}: expected images of 28 x 28, found dimensions {:?}",
            img.dims
        )));
    }
    if lab.dims.len() != 1 || lab.dims[0] != img.dims[0] {
        return Err(Error::Format(format!(
            "{labels_name}: {:?} labels for {} images in {images_name}",
            lab.dims, img.dims[0]
        )));
    }
    Dataset::new(&format!("{name}-{part}"), img.data, lab.data, 28, 28, 10, 255).map_err(|e| e.context(labels_name))
}

/// Hex MD5 of some bytes.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The largest MNIST file, the training images, uncompressed: 16 + 60000 x 28 x 28 bytes.
const MNIST_MAX_BYTES: usize = 16 + 60_000 * 28 * 28;

/// The MD5 of the uncompressed contents of MNIST's four files: a mirror that compressed them
/// again has other gzip bytes, and the same data.
const MNIST_CONTENT: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
    ("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
    ("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
    ("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
];

/// Whether downloaded `bytes` are the file `file` of `name`: its published MD5, or for MNIST,
/// the published MD5 of its uncompressed content (a re-compressed copy).
#[cfg(feature = "download")]
fn checksum_matches(name: DatasetName, file: &str, md5: &str, bytes: &[u8]) -> std::result::Result<(), String> {
    let got = md5_hex(bytes);
    if got == md5 {
        return Ok(());
    }
    let content = MNIST_CONTENT.iter().find(|(f, _)| name == DatasetName::Mnist && *f == file);
    if let Some((_, want)) = content {
        if let Ok(raw) = super::idx::gunzip(bytes, file, MNIST_MAX_BYTES) {
            if md5_hex(&raw) == *want {
                return Ok(());
            }
        }
    }
    Err(format!("md5 {got}, expected {md5}"))
}

/// Checks the MD5 of the *uncompressed* contents of the four MNIST files in `dir` against
/// the published values (the compressed bytes of a re-gzip'd copy differ, the content not).
pub fn verify_mnist_content(dir: &Path) -> Result<()> {
    for (file, want) in MNIST_CONTENT {
        let path = find_file(dir, file).ok_or_else(|| Error::Io(format!("{}: no {file}", dir.display())))?;
        let raw = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let content = if raw.starts_with(&[0x1f, 0x8b]) {
            super::idx::gunzip(&raw, &path.display().to_string(), MNIST_MAX_BYTES)?
        } else {
            raw
        };
        let got = md5_hex(&content);
        if got != want {
            return Err(Error::Format(format!("{}: content md5 {got}, expected {want}", path.display())));
        }
    }
    Ok(())
}

/// How [`download_with`] fetches: where from, how patiently, and whether it reports progress.
#[cfg(feature = "download")]
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadOptions {
    /// Base addresses tried in order for each file (the file name is appended).
    pub mirrors: Vec<String>,
    /// Rounds over all mirrors after the first, for each file, before giving up.
    pub retries: usize,
    /// The wait before the first retry; it doubles at each further one.
    pub backoff: std::time::Duration,
    /// How long to wait for a connection.
    pub connect_timeout: std::time::Duration,
    /// How long a connection may send nothing before it counts as stalled (a slow one may take
    /// as long as it needs).
    pub read_timeout: std::time::Duration,
    /// Report progress on standard error.
    pub progress: bool,
}

#[cfg(feature = "download")]
impl DownloadOptions {
    /// The data set's published mirrors, 3 retries from 1 s of back-off, 10 s to connect and
    /// 60 s of silence at most.
    pub fn new(name: DatasetName) -> DownloadOptions {
        DownloadOptions {
            mirrors: name.mirrors().iter().map(|m| m.to_string()).collect(),
            retries: 3,
            backoff: std::time::Duration::from_secs(1),
            connect_timeout: std::time::Duration::from_secs(10),
            read_timeout: std::time::Duration::from_secs(60),
            progress: false,
        }
    }
}

/// Downloads the four files of `name` into `dest` (see [`download_with`]), from the
/// published mirrors, reporting progress on standard error when `progress`. Available with
/// the `download` feature.
#[cfg(feature = "download")]
pub fn download(name: DatasetName, dest: &Path, progress: bool) -> Result<()> {
    download_with(name, dest, &DownloadOptions { progress, ..DownloadOptions::new(name) })
}

/// Downloads the four files of `name` into `dest`: each from the first mirror that gives it
/// whole with the published MD5, going round the mirrors again after a growing pause when
/// none did (a refused connection, a stall, a truncated or corrupted copy). A file takes its
/// final name only once its checksum is right, by an atomic rename, so an interrupted or
/// failed download leaves no partial file. Files already there with the right checksum are
/// kept. For MNIST, a copy compressed again (other gzip bytes) is accepted when its content
/// has the published MD5.
#[cfg(feature = "download")]
pub fn download_with(name: DatasetName, dest: &Path, options: &DownloadOptions) -> Result<()> {
    if name.files().is_empty() {
        return Err(Error::Value(format!("{name} is bundled and needs no download")));
    }
    if options.mirrors.is_empty() {
        return Err(Error::Value(format!("{name}: no mirror to download from")));
    }
    std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(options.connect_timeout))
        .timeout_per_read(Some(options.read_timeout))
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build())
        .build()
        .into();
    for (file, md5) in name.files() {
        let target = dest.join(file);
        if target.is_file() && std::fs::read(&target).is_ok_and(|b| checksum_matches(name, file, md5, &b).is_ok()) {
            continue;
        }
        let mut failures = Vec::new();
        let mut fetched = None;
        'rounds: for round in 0..=options.retries {
            if round > 0 {
                let pause = options.backoff.saturating_mul(1 << (round - 1).min(16));
                if options.progress {
                    eprintln!("{file}: every mirror failed; trying again in {:.1} s", pause.as_secs_f64());
                }
                std::thread::sleep(pause);
            }
            for mirror in &options.mirrors {
                let url = format!("{mirror}{file}");
                match fetch(&agent, &url, options.progress) {
                    Ok(bytes) => match checksum_matches(name, file, md5, &bytes) {
                        Ok(()) => {
                            fetched = Some(bytes);
                            break 'rounds;
                        }
                        Err(why) => failures.push(format!("{url}: {why}")),
                    },
                    Err(e) => failures.push(format!("{url}: {e}")),
                }
            }
        }
        let bytes = fetched.ok_or_else(|| {
            Error::Io(format!(
                "could not download {file} after {} rounds over {} mirrors: {}",
                options.retries + 1,
                options.mirrors.len(),
                failures.join("; ")
            ))
        })?;
        crate::fs::write_atomic(&target, &bytes)?;
    }
    Ok(())
}

#[cfg(feature = "download")]
fn fetch(agent: &ureq::Agent, url: &str, progress: bool) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let mut response = agent.get(url).header("Accept-Encoding", "identity").call().map_err(|e| e.to_string())?;
    let total =
        response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let file = url.rsplit('/').next().unwrap_or(url);
    let mut reader = response.body_mut().with_config().limit(200 * 1024 * 1024).reader();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let mut reported = 0;
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
        // A line at each further tenth of the file (or each 10 MB when its size is unknown).
        let tenth = match total {
            Some(t) => (bytes.len() as u64 * 10 / t.max(1)) as usize,
            None => bytes.len() / (10 << 20),
        };
        if progress && tenth > reported {
            reported = tenth;
            match total {
                Some(t) => eprintln!("{file}: {} of {} kB", bytes.len() / 1000, t / 1000),
                None => eprintln!("{file}: {} kB", bytes.len() / 1000),
            }
        }
    }
    Ok(bytes)
}
