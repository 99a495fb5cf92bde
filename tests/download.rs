//! Downloading MNIST against a small HTTP server on 127.0.0.1 that serves the real files
//! (from `../shared/data/mnist`), a corrupted copy, a truncated response, a stall, and next to a
//! port that refuses connections: the download goes round the mirrors, keeps only files with
//! the published checksum, and leaves nothing partial behind.

#![cfg(feature = "download")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use neurite::data::mnist::{self, DatasetName, DownloadOptions};

/// Serves `dir`'s files under `/good/`, `/corrupt/` (one byte changed), `/truncated/` (half
/// of what Content-Length promises) and `/stall/` (headers, then silence), until the test
/// ends.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || answer(stream, &dir));
        }
    });
    address
}

fn answer(mut stream: TcpStream, dir: &Path) {
    let mut request = String::new();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    reader.read_line(&mut request).unwrap();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (kind, file) = path.trim_start_matches('/').split_once('/').unwrap_or(("", ""));
    let Ok(mut body) = std::fs::read(dir.join(file)) else {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(head.as_bytes());
    match kind {
        "corrupt" => {
            let middle = body.len() / 2;
            body[middle] ^= 1;
            let _ = stream.write_all(&body);
        }
        "truncated" => {
            let _ = stream.write_all(&body[..body.len() / 2]);
        }
        "stall" => std::thread::sleep(Duration::from_secs(30)),
        _ => {
            let _ = stream.write_all(&body);
        }
    }
}

/// An address where nothing listens.
fn refused() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    address
}

fn options(mirrors: Vec<String>, retries: usize) -> DownloadOptions {
    DownloadOptions {
        mirrors,
        retries,
        // Short, so that the test is quick: a stall is 300 ms of silence whatever the load.
        backoff: Duration::from_millis(10),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_millis(300),
        progress: false,
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn the_download_goes_past_refusals_stalls_and_bad_copies_to_a_good_mirror() {
    let server = serve(common::mnist_dir());
    let dest = common::temp_dir("download-good");
    let mirrors = ["refused", "stall", "corrupt", "truncated", "good"]
        .iter()
        .map(|k| if *k == "refused" { refused() } else { format!("{server}/{k}/") })
        .collect();
    mnist::download_with(DatasetName::Mnist, &dest, &options(mirrors, 0)).unwrap();
    assert_eq!(
        files(&dest),
        [
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    mnist::verify_mnist_content(&dest).unwrap();
    let (train, test) = mnist::load_mnist_dir(&dest, DatasetName::Mnist).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
}

#[test]
#[cfg_attr(not(mnist), ignore = "needs MNIST in $NEURITE_DATA or ../shared/data/mnist")]
fn when_every_mirror_fails_every_round_it_says_why_and_leaves_nothing() {
    let server = serve(common::mnist_dir());
    let dest = common::temp_dir("download-bad");
    let mirrors = vec![format!("{server}/corrupt/"), format!("{server}/truncated/"), refused()];
    let err = mnist::download_with(DatasetName::Mnist, &dest, &options(mirrors, 2)).unwrap_err().to_string();
    assert!(err.contains("could not download train-images-idx3-ubyte.gz after 3 rounds over 3 mirrors"), "{err}");
    assert!(err.contains("/corrupt/train-images-idx3-ubyte.gz: md5"), "{err}");
    assert!(err.contains("expected f68b3c2dcbeaaa9fbdd348bbdeb94873"), "{err}");
    assert!(err.contains("/truncated/train-images-idx3-ubyte.gz: "), "{err}");
    assert!(files(&dest).is_empty(), "left behind: {:?}", files(&dest));
}
