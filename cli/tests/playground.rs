//! The playground page in a real browser: `neurite playground` serves it, Debian's headless
//! Chromium runs it under chromedriver (WebDriver over plain HTTP), and the test uses it as a
//! learner would: opens on the shipped trained MLP, resets it, trains one epoch in the page
//! and checks the numbers against `neurite train` with one thread on the same data, downloads
//! the page's model and evaluates it with `neurite eval`, loads a model trained by the command
//! line, draws a 1 and a 0 as pointer strokes and compares the page's probabilities with
//! `neurite predict` on the same picture; then picks the convnet, which opens trained too,
//! checks its feature maps for a drawn 1, and trains it one epoch from new weights against
//! `neurite train --layers keras-convnet --threads 1`.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`):
//! the build script marks the test ignored without them, and fails under CI (`NEURITE_CI`).
//! A browser asking for Korean gets the page's words in Korean (web/app.js's dictionary).
//! `NEURITE_SCREENSHOTS=DIR` also saves screenshots of the page there.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A child process killed when the test ends, passing or not.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session.
struct Browser {
    base: String,
    agent: ureq::Agent,
}

impl Browser {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let text = response
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}: {text}"));
        if value["value"].get("error").is_some() {
            panic!("WebDriver {method} {path}: {}", value["value"]);
        }
        value["value"].clone()
    }

    /// Runs `script` (a function body) in the page and returns its value.
    fn run(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// Waits until `script` returns something truthy, and returns it.
    fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        loop {
            let value = self.run(script);
            if !matches!(value, Value::Null | Value::Bool(false)) && value != json!("") {
                return value;
            }
            let status = self.run("return document.getElementById('status').textContent");
            assert!(start.elapsed() < timeout, "waited {timeout:?} for {what}; the page says: {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn element(&self, css: &str) -> String {
        let found = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), None);
    }

    /// Draws one stroke through `points` (pixels from the element's centre) with a mouse
    /// pointer: down at the first, a move to each of the others, up at the last.
    fn stroke(&self, css: &str, points: &[(f64, f64)]) {
        let id = self.element(css);
        let origin = json!({ ELEMENT: id });
        let mut actions = vec![];
        for (i, &(x, y)) in points.iter().enumerate() {
            actions.push(json!({"type": "pointerMove", "duration": 0, "origin": origin, "x": x.round() as i64, "y": y.round() as i64}));
            if i == 0 {
                actions.push(json!({"type": "pointerDown", "button": 0}));
            }
        }
        actions.push(json!({"type": "pointerUp", "button": 0}));
        let body = json!({"actions": [{"type": "pointer", "id": "pen", "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.call("POST", "/actions", Some(body));
        self.call("DELETE", "/actions", None);
    }

    fn screenshot(&self, path: &Path) {
        let png = base64(self.call("GET", "/screenshot", None).as_str().expect("a screenshot"));
        std::fs::write(path, png).unwrap();
    }
}

/// Decodes standard base64 (what WebDriver and `toDataURL` give).
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// A port that was free a moment ago: chromedriver cannot be told to pick one and report it,
/// so another process may take it before chromedriver binds it ([`start_chromedriver`]
/// then tries another).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts chromedriver and waits for it to answer, on a new port each try: one that another
/// process took between [`free_port`] and chromedriver's bind makes chromedriver exit, and
/// the next try takes another.
fn start_chromedriver(agent: &ureq::Agent) -> (Process, String) {
    for _ in 0..5 {
        let port = free_port();
        let mut process = Process(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let driver = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            if process.0.try_wait().unwrap().is_some() {
                break; // the port was taken: try another
            }
            if agent.get(&format!("{driver}/status")).call().is_ok() {
                return (process, driver);
            }
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("chromedriver exited at once on five ports in a row");
}

/// Runs the neurite command and returns its stdout as JSON.
fn neurite_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_neurite")).args(args).output().expect("run neurite");
    assert!(out.status.success(), "neurite {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("neurite {args:?}: {e}"))
}

/// A stroke of `n` points along `f(t)`, t from 0 to 1.
fn path(n: usize, f: impl Fn(f64) -> (f64, f64)) -> Vec<(f64, f64)> {
    (0..=n).map(|i| f(i as f64 / n as f64)).collect()
}

/// Clears the canvas, draws `strokes`, waits for the page's answer to the finished drawing,
/// and returns the class and probabilities it shows and the drawing as a PNG file.
fn draw(browser: &Browser, strokes: &[Vec<(f64, f64)>], png: &Path) -> (u64, Vec<f64>) {
    browser.click("#clear");
    for s in strokes {
        browser.stroke("#draw", s);
    }
    // The answer shown is the last drawing's once no request is in flight or waiting.
    browser.wait_for(
        "the prediction",
        "return !inFlight && !pending && document.getElementById('probabilities').dataset.values !== '[]'",
        Duration::from_secs(20),
    );
    let shown = browser.run(
        "const p = document.getElementById('probabilities'); \
         return [Number(p.dataset.class), JSON.parse(p.dataset.values), document.getElementById('prediction').textContent, \
                 document.getElementById('draw').toDataURL('image/png')]",
    );
    let class = shown[0].as_u64().unwrap();
    assert_eq!(shown[2], json!(class.to_string()), "the digit shown is the class of the bars");
    let probabilities: Vec<f64> = shown[1].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let data_url = shown[3].as_str().unwrap();
    std::fs::write(png, base64(data_url.strip_prefix("data:image/png;base64,").unwrap())).unwrap();
    (class, probabilities)
}

/// The page's probabilities equal `neurite predict`'s for the same picture, to 1e-5.
fn check_against_predict(model: &Path, png: &Path, class: u64, probabilities: &[f64]) {
    let predicted = neurite_json(&["predict", "--model", model.to_str().unwrap(), "--json", png.to_str().unwrap()]);
    let cli = &predicted["predictions"][0];
    assert_eq!(cli["class"], json!(class), "page class {class}, neurite predict {cli}");
    let cli: Vec<f64> = cli["probabilities"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(cli.len(), probabilities.len());
    for (i, (a, b)) in probabilities.iter().zip(&cli).enumerate() {
        assert!((a - b).abs() <= 1e-5, "class {i}: page {a}, neurite predict {b}");
    }
}

/// The page's probabilities equal the library's for the same picture, to 1e-5: the
/// preprocessing of `neurite predict` (`data::image::to_model_input`), then the model read
/// from `model` on one example of its input shape.
fn check_against_library(model: &Path, png: &Path, class: u64, probabilities: &[f64]) {
    use neurite::data::image::{self, Invert};
    let mut model = neurite::io::model_from_bytes(&std::fs::read(model).unwrap()).unwrap();
    let shape = model.input_shape().unwrap();
    let input = image::to_model_input(&image::load(png).unwrap(), 28, Invert::Auto).unwrap();
    let batch: Vec<usize> = std::iter::once(1).chain(shape).collect();
    let expected = model.predict(&neurite::Tensor::from_vec(input, &batch).unwrap()).unwrap().to_vec();
    let best = expected.iter().enumerate().fold(0, |b, (i, &v)| if v > expected[b] { i } else { b });
    assert_eq!(best as u64, class, "page class {class}, the library's {expected:?}");
    assert_eq!(expected.len(), probabilities.len());
    for (i, (a, b)) in probabilities.iter().zip(&expected).enumerate() {
        assert!((a - *b as f64).abs() <= 1e-5, "class {i}: page {a}, the library {b}");
    }
}

/// What a browser test runs: the server, chromedriver and a Chromium session on a fresh
/// profile (killed and removed when dropped).
struct Session {
    browser: Browser,
    url: String,
    _server: Process,
    _driver: Process,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Chromium goes with its session; chromedriver and the server with their guards.
        let _ = self.browser.agent.delete(&self.browser.base).call();
    }
}

/// Starts the server, chromedriver and a headless Chromium that downloads into `downloads`,
/// its language English.
fn start(dir: &Path, downloads: &Path) -> Session {
    start_in(dir, downloads, "en-US")
}

/// [`start`] with the browser's preferred language `language` (`--lang` and
/// `intl.accept_languages`, which set `navigator.languages`).
fn start_in(dir: &Path, downloads: &Path, language: &str) -> Session {
    // The server, on a port the system chooses; it prints its address.
    let mut server = Process(
        Command::new(env!("CARGO_BIN_EXE_neurite"))
            .args(["playground", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start neurite playground"),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no address in {line:?}"));
    let url = url.to_string();

    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(120))).build().into();
    let (driver_process, driver) = start_chromedriver(&agent);
    let profile = dir.join("profile");
    let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": which("chromium").unwrap_or_else(|| PathBuf::from("/usr/bin/chromium")),
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", format!("--user-data-dir={}", profile.display()),
                 format!("--lang={language}"), format!("--accept-lang={language}")],
        "prefs": {"download.default_directory": downloads.to_str().unwrap(), "download.prompt_for_download": false,
                  "intl.accept_languages": language}
    }}}});
    let session = Browser { base: driver.clone(), agent: agent.clone() }.call("POST", "/session", Some(capabilities));
    let id = session["sessionId"].as_str().expect("a session").to_string();
    let browser = Browser { base: format!("{driver}/session/{id}"), agent };
    Session { browser, url, _server: server, _driver: driver_process }
}

#[test]
#[cfg_attr(not(browser), ignore = "needs chromium and chromedriver (apt-get install chromium chromium-driver)")]
fn the_page_draws_trains_and_exchanges_models_in_chromium() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let data = workspace.join("web/data");
    let dir = common::temp_dir("playground");
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    // The command line's numbers for the same settings and data, on one thread.
    let data_dir = data.to_str().unwrap();
    let cli = neurite_json(&["train", "--data", data_dir, "--epochs", "1", "--threads", "1", "--seed", "3", "--json"]);
    let cli_convnet = neurite_json(&[
        "train",
        "--data",
        data_dir,
        "--layers",
        "keras-convnet",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--seed",
        "3",
        "--json",
    ]);
    let model = dir.join("cli.safetensors");
    neurite_json(&[
        "train",
        "--data",
        data_dir,
        "--epochs",
        "5",
        "--threads",
        "1",
        "--json",
        "--save",
        model.to_str().unwrap(),
    ]);

    let session = start(&dir, &downloads);
    let (browser, url) = (&session.browser, &session.url);
    let screenshots = std::env::var_os("NEURITE_SCREENSHOTS").map(PathBuf::from);

    // The settings come from the address; the page opens on the shipped trained MLP.
    browser.call("POST", "/url", Some(json!({"url": format!("{url}?epochs=1&seed=3")})));
    browser.wait_for(
        "the page to load",
        "return document.getElementById('status').dataset.state === 'ready'",
        Duration::from_secs(60),
    );
    assert_eq!(
        browser.run("return [document.getElementById('epochs').value, document.getElementById('seed').value]"),
        json!(["1", "3"])
    );
    // An English browser gets the page's English words.
    assert_eq!(
        browser.run("return [document.documentElement.lang, document.getElementById('train').textContent]"),
        json!(["en", "Train"])
    );
    let status = browser.run("return document.getElementById('status').textContent");
    assert!(
        status.as_str().unwrap().contains("models/mlp.safetensors"),
        "the page opens on the shipped model: {status}"
    );

    // Reset: the settings' new weights, which the command line starts from too.
    reset(browser);

    // One epoch in the page: the same numbers as `neurite train --threads 1`.
    let page = train_in_page(browser, Duration::from_secs(300));
    check_epoch("the MLP", &page, &cli);
    let shown = browser.run("return document.getElementById('accuracy').textContent");
    let test_accuracy = cli["test_accuracy"].as_f64().unwrap();
    assert_eq!(shown, json!(format!("{:.2}%", test_accuracy * 100.0)), "the accuracy shown");
    assert!(test_accuracy > 0.7, "one epoch on 5,000 examples learns something: {test_accuracy}");

    // The page's model as a file: `neurite eval` reads it and finds the same test accuracy.
    browser.click("#download");
    let downloaded = downloads.join("playground.safetensors");
    let start = Instant::now();
    while !downloaded.is_file() {
        assert!(start.elapsed() < Duration::from_secs(30), "no download in {}", downloads.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(200));
    let eval = neurite_json(&["eval", "--model", downloaded.to_str().unwrap(), "--data", data_dir, "--json"]);
    assert_eq!(eval["test_accuracy"], cli["test_accuracy"], "neurite eval of the downloaded model: {eval}");
    if let Some(dir) = &screenshots {
        browser.stroke("#draw", &path(24, |t| (0.0, -90.0 + 180.0 * t)));
        browser.wait_for("the prediction", "return !inFlight && !pending", Duration::from_secs(20));
        browser.screenshot(&dir.join("playground-trained.png"));
    }

    // A model from the command line, given to the page's file input.
    let input = browser.element("#model-file");
    browser.call("POST", &format!("/element/{input}/value"), Some(json!({"text": model.to_str().unwrap()})));
    browser.wait_for(
        "the model file",
        "const s = document.getElementById('status'); return s.dataset.state === 'ready' && s.textContent.includes('cli.safetensors')",
        Duration::from_secs(20),
    );

    // A 1: one stroke down, slightly slanted.
    let one = [path(30, |t| (10.0 - 20.0 * t, -100.0 + 200.0 * t))];
    let png = dir.join("one.png");
    let (class, probabilities) = draw(browser, &one, &png);
    assert_eq!(class, 1, "a drawn 1: probabilities {probabilities:?}");
    check_against_predict(&model, &png, class, &probabilities);

    // A 0: one closed oval stroke.
    let zero = [path(60, |t| {
        let a = 2.0 * std::f64::consts::PI * t;
        (60.0 * a.sin(), -95.0 * a.cos())
    })];
    let png = dir.join("zero.png");
    let (class, probabilities) = draw(browser, &zero, &png);
    assert_eq!(class, 0, "a drawn 0: probabilities {probabilities:?}");
    check_against_predict(&model, &png, class, &probabilities);

    // Latency while drawing: the round trip from the drawing to the answer shown.
    let latencies = browser.run("return latencies");
    println!("prediction round trips while drawing (ms): {latencies}");
    if let Some(dir) = &screenshots {
        browser.screenshot(&dir.join("playground.png"));
    }

    // The convnet, chosen in the address: the page opens on the shipped trained one and shows
    // every feature map of every convolution and pooling layer for the drawing.
    browser.call("POST", "/url", Some(json!({"url": format!("{url}?model=convnet&epochs=1&seed=3")})));
    browser.wait_for(
        "the shipped convnet",
        "const s = document.getElementById('status'); return s.dataset.state === 'ready' && s.textContent.includes('models/convnet.safetensors')",
        Duration::from_secs(60),
    );
    let png = dir.join("one-convnet.png");
    let (class, probabilities) = draw(browser, &one, &png);
    assert_eq!(class, 1, "a drawn 1, the shipped convnet: probabilities {probabilities:?}");
    // `neurite predict` reads pictures for flat-input models only (it refuses a convnet's
    // (28, 28, 1) examples), so the library does what it does: the same preprocessing, and
    // the model on the picture's shape.
    check_against_library(&workspace.join("web/models/convnet.safetensors"), &png, class, &probabilities);
    let layers = browser.run(
        "return [...document.querySelectorAll('#layers .layer')].map((l) => [l.dataset.shape, l.querySelectorAll('canvas').length,          [...l.querySelectorAll('canvas')].some((c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 !== 3 && v > 0))])",
    );
    assert_eq!(
        layers,
        json!([
            ["26x26x32", 32, true],
            ["13x13x32", 32, true],
            ["11x11x64", 64, true],
            ["5x5x64", 64, true],
            ["1600", 0, false],
            ["1600", 0, false],
            ["10", 0, false]
        ]),
        "a feature map per channel of each convolution and pooling layer, not all black"
    );
    if let Some(dir) = &screenshots {
        browser.screenshot(&dir.join("playground-convnet.png"));
    }
    // One epoch of the convnet in the page, from the new weights: `neurite train`'s numbers.
    reset(browser);
    let page = train_in_page(browser, Duration::from_secs(600));
    check_epoch("the convnet", &page, &cli_convnet);
}

/// A browser whose first language is Korean gets the page's words in Korean (web/app.js's
/// dictionary): the labels, the buttons and the status line.
#[test]
#[cfg_attr(not(browser), ignore = "needs chromium and chromedriver (apt-get install chromium chromium-driver)")]
fn the_page_speaks_korean_to_a_korean_browser() {
    let dir = common::temp_dir("playground-ko");
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let session = start_in(&dir, &downloads, "ko-KR");
    let (browser, url) = (&session.browser, &session.url);
    browser.call("POST", "/url", Some(json!({"url": url})));
    browser.wait_for(
        "the page to load",
        "return document.getElementById('status').dataset.state === 'ready'",
        Duration::from_secs(60),
    );
    let seen = browser.run(
        "return [navigator.languages[0], document.documentElement.lang, document.getElementById('train').textContent, \
         document.getElementById('clear').textContent, document.querySelector('[data-i18n=\"hidden\"]').textContent, \
         document.getElementById('status').textContent, document.title]",
    );
    let seen = seen.as_array().expect("an array").clone();
    assert!(seen[0].as_str().unwrap().starts_with("ko"), "navigator.languages: {seen:?}");
    assert_eq!(seen[1..5], [json!("ko"), json!("학습"), json!("지우기"), json!("은닉층 크기")], "{seen:?}");
    let status = seen[5].as_str().unwrap();
    assert!(status.starts_with("준비됨") && status.contains("models/mlp.safetensors"), "status: {status}");
    assert_eq!(seen[6], json!("neurite 놀이터"));
    if let Some(dir) = std::env::var_os("NEURITE_SCREENSHOTS").map(PathBuf::from) {
        browser.screenshot(&dir.join("playground-ko.png"));
    }
}

/// The models the page opens on (web/models, trained on all of MNIST by `neurite train`, see
/// web/models/README.md) load and classify MNIST's 10,000 test digits (`neurite eval`).
#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn the_shipped_models_classify_mnist_test_digits() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mnist = common::mnist_dir();
    for (name, least) in [("mlp", 0.96), ("convnet", 0.98)] {
        let model = workspace.join(format!("web/models/{name}.safetensors"));
        let model = model.to_str().unwrap();
        let eval = neurite_json(&["eval", "--model", model, "--data", mnist.to_str().unwrap(), "--json"]);
        let accuracy = eval["test_accuracy"].as_f64().unwrap();
        println!("web/models/{name}.safetensors: test accuracy {accuracy} on MNIST's 10,000 test digits");
        assert!(accuracy >= least, "{name}: test accuracy {accuracy} < {least}");
    }
}

/// Clicks Reset and waits for the settings' new weights.
fn reset(browser: &Browser) {
    browser.click("#reset");
    browser.wait_for(
        "the new weights",
        "const s = document.getElementById('status'); return s.dataset.state === 'ready' && s.textContent.includes('new weights')",
        Duration::from_secs(20),
    );
}

/// Clicks Train and returns the first epoch the page reports once the fit has finished.
fn train_in_page(browser: &Browser, timeout: Duration) -> Value {
    browser.click("#train");
    browser.wait_for(
        "an epoch of training",
        "return document.getElementById('status').dataset.state === 'finished'",
        timeout,
    );
    let history: Value =
        serde_json::from_str(browser.run("return document.getElementById('history').textContent").as_str().unwrap())
            .unwrap();
    history[0].clone()
}

/// The page's first epoch has `neurite train --threads 1 --json`'s numbers: the loss to a
/// relative 1e-5, the training and test accuracies exactly.
fn check_epoch(what: &str, page: &Value, cli: &Value) {
    let cli_epoch = &cli["history"]["epochs"][0];
    let (page_loss, cli_loss) = (page["logs"]["loss"].as_f64().unwrap(), cli_epoch["loss"].as_f64().unwrap());
    println!("{what}, one epoch: page loss {page_loss} accuracy {} test accuracy {} ({} s in the page); neurite train loss {cli_loss} accuracy {} test accuracy {}",
        page["logs"]["accuracy"], page["test_accuracy"], page["page_seconds"], cli_epoch["accuracy"], cli["test_accuracy"]);
    // WebAssembly has no FMA and its own GEMM kernels, so the arithmetic rounds differently
    // from the native build (relative differences of about 1e-7, see wasm/tests/wasm.rs);
    // another seed or batch order moves the loss by 1e-3 or more.
    assert!(
        (page_loss - cli_loss).abs() / cli_loss < 1e-5,
        "{what}: epoch loss: page {page_loss}, neurite train {cli_loss}"
    );
    assert_eq!(page["logs"]["accuracy"], cli_epoch["accuracy"], "{what}: training accuracy");
    assert_eq!(page["test_accuracy"], cli["test_accuracy"], "{what}: test accuracy");
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}

/// The median and the 95th percentile of some times.
fn median_p95(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95))
}

/// The figures of BENCHMARKS.md's playground section, measured in headless Chromium: the
/// page's download size, the seed model's epoch time on the shipped subset, and the prediction
/// latency while drawing. A measurement, not a check, so it is run by hand:
/// `cargo test --release -p neurite-cli --test playground -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement for BENCHMARKS.md: cargo test --release -p neurite-cli --test playground -- --ignored --nocapture"]
fn measure_the_page() {
    let dir = common::temp_dir("playground-measure");
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let session = start(&dir, &downloads);
    let (browser, url) = (&session.browser, &session.url);

    // What the page downloads: the page, its script, style and worker, the module, the data.
    let files = [
        "",
        "style.css",
        "app.js",
        "worker.js",
        "neurite.wasm",
        "models/mlp.safetensors",
        "models/convnet.safetensors",
    ]
    .into_iter()
    .map(String::from)
    .chain(
        [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ]
        .map(|f| format!("data/{f}")),
    );
    let mut total = 0;
    for file in files {
        let bytes = browser.agent.get(&format!("{url}{file}")).call().unwrap().body_mut().read_to_vec().unwrap().len();
        println!("  /{file}: {bytes} bytes");
        total += bytes;
    }
    println!("page download: {total} bytes");

    // The seed model (the defaults: 784-50-10, sigmoid, Adam, batch 32) for 5 epochs.
    browser.call("POST", "/url", Some(json!({"url": format!("{url}?epochs=5")})));
    browser.wait_for(
        "the page to load",
        "return document.getElementById('status').dataset.state === 'ready'",
        Duration::from_secs(60),
    );
    reset(browser);
    browser.click("#train");
    browser.wait_for(
        "5 epochs",
        "return document.getElementById('status').dataset.state === 'finished'",
        Duration::from_secs(600),
    );
    let history: Value =
        serde_json::from_str(browser.run("return document.getElementById('history').textContent").as_str().unwrap())
            .unwrap();
    let seconds: Vec<f64> = history.as_array().unwrap().iter().map(|e| e["page_seconds"].as_f64().unwrap()).collect();
    println!("epoch seconds in the page: {seconds:?}; median {:.3}", median_p95(seconds.clone()).0);

    // One epoch of the convnet (keras-convnet, batch 32) from its new weights.
    browser.call("POST", "/url", Some(json!({"url": format!("{url}?model=convnet&epochs=1")})));
    browser.wait_for(
        "the page to load",
        "return document.getElementById('status').dataset.state === 'ready'",
        Duration::from_secs(60),
    );
    reset(browser);
    let page = train_in_page(browser, Duration::from_secs(900));
    println!("convnet: one epoch in the page: {} s; {page}", page["page_seconds"]);

    // Back to the MLP for the latency.
    browser.call("POST", "/url", Some(json!({"url": format!("{url}?epochs=5")})));
    browser.wait_for(
        "the page to load",
        "return document.getElementById('status').dataset.state === 'ready'",
        Duration::from_secs(60),
    );

    // Latency while drawing: 20 zeros of 60 pointer moves each.
    browser.run("latencies.length = 0; moduleTimes.length = 0;");
    for _ in 0..20 {
        browser.click("#clear");
        browser.stroke(
            "#draw",
            &path(60, |t| {
                let a = 2.0 * std::f64::consts::PI * t;
                (60.0 * a.sin(), -95.0 * a.cos())
            }),
        );
    }
    browser.wait_for("the last prediction", "return !inFlight && !pending", Duration::from_secs(20));
    let times = browser.run("return [latencies, moduleTimes]");
    let list = |v: &Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
    let (round_trips, module) = (list(&times[0]), list(&times[1]));
    let (rt50, rt95) = median_p95(round_trips.clone());
    let (m50, m95) = median_p95(module);
    println!("predictions while drawing: {} answered; round trip median {rt50:.1} ms, p95 {rt95:.1} ms; in the module median {m50:.1} ms, p95 {m95:.1} ms", round_trips.len());
}
