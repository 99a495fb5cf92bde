//! `neurite playground`: serves the web page of `web/` (drawing, every layer's answer,
//! training in a Web Worker) and the library compiled to WebAssembly, all embedded in this
//! binary, on 127.0.0.1.
//!
//! A few static files need no web framework: std's TcpListener, GET and HEAD only, and the
//! bounds a server on a shared machine needs, all here in a hundred lines:
//! - only requests whose `Host` is the server's own address (`127.0.0.1:PORT` or
//!   `localhost:PORT`) are answered, so that a page of another site whose name is made to
//!   resolve to 127.0.0.1 (DNS rebinding) cannot read the playground through the browser;
//! - [`WORKERS`] threads answer, and at most [`QUEUE`] more connections wait for one; beyond
//!   that a connection gets `503` at once, so idle sockets cannot pile up threads;
//! - reading a request head and writing an answer each have a deadline ([`READ_DEADLINE`],
//!   [`WRITE_DEADLINE`]), whatever the client's pace;
//! - `/favicon.ico` is a small generated icon, so that the browser logs no 404.
//!
//! A small HTTP crate (tiny_http 0.12) was considered and not taken: it would add five crates
//! (tiny_http, ascii, chunked_transfer, httpdate, log) and still leave the host check, the
//! connection cap and the total deadlines to be written here, since its task pool starts a
//! new thread whenever all of its threads are busy and its timeouts are per read; what it
//! would replace is the twenty lines that read a request line and its headers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Args;

use neurite::error::{Error, Result};

/// Flags of `neurite playground`.
#[derive(Debug, Clone, Args)]
pub(crate) struct PlaygroundArgs {
    /// Port on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8321)]
    pub(crate) port: u16,
}

/// Every file of the page: its path, its content type and its bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("/index.html", "text/html; charset=utf-8", include_bytes!("../../web/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_bytes!("../../web/app.js")),
    ("/worker.js", "text/javascript; charset=utf-8", include_bytes!("../../web/worker.js")),
    ("/style.css", "text/css; charset=utf-8", include_bytes!("../../web/style.css")),
    ("/neurite.wasm", "application/wasm", include_bytes!(concat!(env!("OUT_DIR"), "/neurite.wasm"))),
    ("/data/README.md", "text/markdown; charset=utf-8", include_bytes!("../../web/data/README.md")),
    // The models the page opens on, trained on all of MNIST (web/models/README.md says how).
    ("/models/README.md", "text/markdown; charset=utf-8", include_bytes!("../../web/models/README.md")),
    ("/models/mlp.safetensors", "application/octet-stream", include_bytes!("../../web/models/mlp.safetensors")),
    ("/models/convnet.safetensors", "application/octet-stream", include_bytes!("../../web/models/convnet.safetensors")),
    // gzip'd IDX files, served as they are (no Content-Encoding: the page reads the gzip).
    (
        "/data/train-images-idx3-ubyte.gz",
        "application/gzip",
        include_bytes!("../../web/data/train-images-idx3-ubyte.gz"),
    ),
    (
        "/data/train-labels-idx1-ubyte.gz",
        "application/gzip",
        include_bytes!("../../web/data/train-labels-idx1-ubyte.gz"),
    ),
    ("/data/t10k-images-idx3-ubyte.gz", "application/gzip", include_bytes!("../../web/data/t10k-images-idx3-ubyte.gz")),
    ("/data/t10k-labels-idx1-ubyte.gz", "application/gzip", include_bytes!("../../web/data/t10k-labels-idx1-ubyte.gz")),
];

/// The longest request head read (request line and headers).
const MAX_HEAD: usize = 16 * 1024;
/// Threads that answer requests (a page loads about ten files at once).
pub(crate) const WORKERS: usize = 8;
/// Connections that may wait for a worker; more get `503 Service Unavailable`.
pub(crate) const QUEUE: usize = 32;
/// The time a client has to send its whole request head.
const READ_DEADLINE: Duration = Duration::from_secs(10);
/// The time a client has to take a whole answer (the WebAssembly is the largest, a few MB).
const WRITE_DEADLINE: Duration = Duration::from_secs(60);
/// Bytes written at a time, between checks of the deadline.
const WRITE_CHUNK: usize = 64 * 1024;

/// Runs `neurite playground` until the process is stopped.
pub(crate) fn run(args: &PlaygroundArgs) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", args.port)).map_err(|e| {
        Error::Io(format!("cannot listen on 127.0.0.1:{}: {e} (choose another with --port N, or 0 for any)", args.port))
    })?;
    let address = listener.local_addr().map_err(|e| Error::Io(format!("the server's address: {e}")))?;
    let (queue, waiting) = sync_channel::<TcpStream>(QUEUE);
    let waiting = Arc::new(Mutex::new(waiting));
    for _ in 0..WORKERS {
        let waiting = Arc::clone(&waiting);
        std::thread::spawn(move || work(&waiting, address));
    }
    let bytes: usize = FILES.iter().map(|f| f.2.len()).sum();
    println!(
        "neurite playground: http://{address}/  ({} files, {:.1} MB; Ctrl-C stops it)",
        FILES.len(),
        bytes as f64 / 1e6
    );
    std::io::stdout().flush().map_err(|e| Error::Io(format!("stdout: {e}")))?;
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => match queue.try_send(stream) {
                Ok(()) => {}
                Err(TrySendError::Full(stream)) => busy(stream),
                Err(TrySendError::Disconnected(_)) => {
                    return Err(Error::Io("the playground's workers stopped".into()));
                }
            },
            Err(e) => eprintln!("warning: a connection failed: {e}"),
        }
    }
    Ok(())
}

/// A worker: answers the connections of the queue, one at a time.
fn work(waiting: &Mutex<Receiver<TcpStream>>, address: SocketAddr) {
    loop {
        // The lock is held only while waiting for the next connection, not while answering.
        let next = match waiting.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(stream) = next else { return };
        // A client that goes away mid-answer, or is too slow, is not the server's problem.
        let _ = serve(stream, address);
    }
}

/// Answers a connection that finds every worker busy and the queue full: `503` with a short
/// write timeout, on the accepting thread, then closed.
fn busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 29\r\n\
          Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections; retry\r\n",
    );
}

/// Whether `host` (a `Host` header's value) names this server: `127.0.0.1:PORT` or
/// `localhost:PORT`, the port included (a browser always sends it for a port other than 80).
pub(crate) fn own_host(host: &str, address: SocketAddr) -> bool {
    let port = address.port();
    let host = host.trim().to_ascii_lowercase();
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

/// The icon of `/favicon.ico`: a 16x16 ICO (one 32-bit bitmap), a light disc (a neuron) on
/// the page's dark blue, made once.
fn favicon() -> &'static [u8] {
    static ICON: OnceLock<Vec<u8>> = OnceLock::new();
    ICON.get_or_init(|| {
        const SIDE: u32 = 16;
        let pixels = (SIDE * SIDE * 4) as usize;
        let mask = (SIDE * 4) as usize; // 1 bit a pixel, rows padded to 4 bytes: all opaque
        let image = 40 + pixels + mask;
        let mut ico = Vec::with_capacity(22 + image);
        // ICONDIR: reserved, type 1 (icon), one image.
        ico.extend([0, 0, 1, 0, 1, 0]);
        // ICONDIRENTRY: width, height, colours, reserved, planes, bits, size, offset.
        ico.extend([SIDE as u8, SIDE as u8, 0, 0, 1, 0, 32, 0]);
        ico.extend((image as u32).to_le_bytes());
        ico.extend(22u32.to_le_bytes());
        // BITMAPINFOHEADER: the height counts the colour rows and the mask's.
        ico.extend(40u32.to_le_bytes());
        ico.extend(SIDE.to_le_bytes());
        ico.extend((2 * SIDE).to_le_bytes());
        ico.extend(1u16.to_le_bytes());
        ico.extend(32u16.to_le_bytes());
        ico.extend([0u8; 24]);
        // Rows bottom-up, pixels as blue, green, red, alpha.
        for y in (0..SIDE).rev() {
            for x in 0..SIDE {
                let (dx, dy) = (x as f32 - 7.5, y as f32 - 7.5);
                let inside = dx * dx + dy * dy <= 30.0;
                ico.extend(if inside { [0xf0, 0xe8, 0xe0, 0xff] } else { [0x40, 0x25, 0x1a, 0xff] });
            }
        }
        ico.extend(std::iter::repeat_n(0u8, mask));
        ico
    })
}

/// Answers one request on `stream`, within the deadlines, for this server's own host only.
fn serve(mut stream: TcpStream, address: SocketAddr) -> std::io::Result<()> {
    let started = Instant::now();
    let left = |deadline: Duration| deadline.checked_sub(started.elapsed()).filter(|d| !d.is_zero());
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline passed");
    stream.set_read_timeout(Some(READ_DEADLINE))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.by_ref().take(MAX_HEAD as u64).read_line(&mut request)?;
    let mut host = None;
    let mut seen = request.len();
    loop {
        // Each read waits at most what is left of the head's deadline.
        stream.set_read_timeout(Some(left(READ_DEADLINE).ok_or_else(timed_out)?))?;
        let mut line = String::new();
        let n = reader.by_ref().take((MAX_HEAD - seen.min(MAX_HEAD)) as u64).read_line(&mut line)?;
        seen += n;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("host") {
                host = Some(value.trim().to_string());
            }
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split(['?', '#']).next().unwrap_or("");
    let path = if path == "/" { "/index.html" } else { path };
    let file = match path {
        "/favicon.ico" => Some(("image/x-icon", favicon())),
        _ => FILES.iter().find(|f| f.0 == path).map(|f| (f.1, f.2)),
    };
    let misdirected = format!("this server answers only http://{address}/ and http://localhost:{}/\n", address.port());
    let (status, kind, body): (&str, &str, &[u8]) = match (method, file) {
        _ if !host.as_deref().is_some_and(|h| own_host(h, address)) => {
            ("421 Misdirected Request", "text/plain; charset=utf-8", misdirected.as_bytes())
        }
        ("GET" | "HEAD", Some((kind, body))) => ("200 OK", kind, body),
        ("GET" | "HEAD", None) => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n"),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", b"only GET and HEAD\n"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let body = if method == "HEAD" { &[][..] } else { body };
    // The answer in pieces, each write waiting at most what is left of the deadline.
    for piece in std::iter::once(head.as_bytes()).chain(body.chunks(WRITE_CHUNK)) {
        stream.set_write_timeout(Some(left(WRITE_DEADLINE).ok_or_else(timed_out)?))?;
        stream.write_all(piece)?;
    }
    stream.flush()
}
