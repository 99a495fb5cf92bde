//! `neurite playground`: serves the web page of `web/` (drawing, every layer's answer,
//! training in a Web Worker) and the library compiled to WebAssembly, all embedded in this
//! binary, on 127.0.0.1. A few static files need no web framework: std's TcpListener, one
//! thread per connection, GET and HEAD only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

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

/// Runs `neurite playground` until the process is stopped.
pub(crate) fn run(args: &PlaygroundArgs) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", args.port)).map_err(|e| {
        Error::Io(format!("cannot listen on 127.0.0.1:{}: {e} (choose another with --port N, or 0 for any)", args.port))
    })?;
    let address = listener.local_addr().map_err(|e| Error::Io(format!("the server's address: {e}")))?;
    let bytes: usize = FILES.iter().map(|f| f.2.len()).sum();
    println!(
        "neurite playground: http://{address}/  ({} files, {:.1} MB; Ctrl-C stops it)",
        FILES.len(),
        bytes as f64 / 1e6
    );
    std::io::stdout().flush().map_err(|e| Error::Io(format!("stdout: {e}")))?;
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || {
                    // A client that goes away mid-answer is not the server's problem.
                    let _ = serve(stream);
                });
            }
            Err(e) => eprintln!("warning: a connection failed: {e}"),
        }
    }
    Ok(())
}

/// Answers one request on `stream`.
fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.by_ref().take(MAX_HEAD as u64).read_line(&mut request)?;
    // The headers are read and ignored (nothing depends on them).
    let mut seen = request.len();
    loop {
        let mut line = String::new();
        let n = reader.by_ref().take((MAX_HEAD - seen.min(MAX_HEAD)) as u64).read_line(&mut line)?;
        seen += n;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split(['?', '#']).next().unwrap_or("");
    let path = if path == "/" { "/index.html" } else { path };
    let (status, kind, body): (&str, &str, &[u8]) = match (method, FILES.iter().find(|f| f.0 == path)) {
        ("GET" | "HEAD", Some(&(_, kind, body))) => ("200 OK", kind, body),
        ("GET" | "HEAD", None) => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n"),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", b"only GET and HEAD\n"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body)?;
    }
    stream.flush()
}
