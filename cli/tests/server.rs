//! The playground's server as a hostile neighbour sees it, without a browser: it answers only
//! requests for its own host and port (no DNS rebinding), holds a bounded number of threads
//! whatever the number of idle connections, drops a client that sends nothing within its
//! deadline, and serves an icon at `/favicon.ico`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server, killed when the test ends, passing or not.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `neurite playground --port 0`: the system picks the port and the server prints it,
/// so no port is chosen here and released before the server binds it.
fn server() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurite"))
        .args(["playground", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start neurite playground");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{line:?}"));
    let port = address.trim_start_matches("http://127.0.0.1:").trim_end_matches('/').parse().unwrap();
    Server { child, port }
}

/// Sends `request` and returns the whole answer (the server closes each connection).
fn ask(port: u16, request: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    answer
}

fn status(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer).lines().next().unwrap_or("").to_string()
}

fn get(port: u16, path: &str, host: Option<&str>) -> Vec<u8> {
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    ask(port, &format!("GET {path} HTTP/1.1\r\n{host}\r\n"))
}

/// The threads of process `pid` (Linux).
fn threads(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok())
}

#[test]
fn only_requests_for_its_own_host_and_port_are_answered() {
    let server = server();
    let port = server.port;
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("LocalHost:{port}")] {
        assert_eq!(status(&get(port, "/", Some(&host))), "HTTP/1.1 200 OK", "Host: {host}");
    }
    let strangers = [
        Some("attacker.example".to_string()),
        Some(format!("attacker.example:{port}")),
        Some(format!("127.0.0.1:{}", port.wrapping_add(1))),
        Some("127.0.0.1".to_string()),
        None,
    ];
    for host in strangers {
        let answer = get(port, "/index.html", host.as_deref());
        assert_eq!(status(&answer), "HTTP/1.1 421 Misdirected Request", "Host: {host:?}");
        assert!(!String::from_utf8_lossy(&answer).contains("<html"), "the page leaked to Host {host:?}");
    }
}

#[test]
fn the_icon_is_served() {
    let server = server();
    let host = format!("127.0.0.1:{}", server.port);
    let answer = get(server.port, "/favicon.ico", Some(&host));
    let text = String::from_utf8_lossy(&answer);
    assert_eq!(status(&answer), "HTTP/1.1 200 OK");
    assert!(text.contains("Content-Type: image/x-icon"), "{text}");
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let icon = &answer[at..];
    // An ICO with one 16x16 32-bit image: its directory and its bitmap's size.
    assert_eq!(&icon[..6], &[0, 0, 1, 0, 1, 0]);
    assert_eq!((icon[6], icon[7]), (16, 16));
    assert_eq!(icon.len(), 22 + 40 + 16 * 16 * 4 + 16 * 4);
}

#[test]
fn idle_connections_hold_a_bounded_number_of_threads_and_are_dropped_at_their_deadline() {
    let server = server();
    let (port, pid) = (server.port, server.child.id());
    let host = format!("127.0.0.1:{port}");
    let before = threads(pid);
    // Many connections that send half a request and wait: each used to hold a thread.
    // (120: three times what the workers and the queue hold, and within the listen backlog,
    // so that connecting never waits for SYN retries on a loaded machine.)
    let idle: Vec<TcpStream> = (0..120)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    if let (Some(before), Some(now)) = (before, threads(pid)) {
        assert!(now <= before + 2, "{before} threads before the idle connections, {now} with them");
    }
    // Those beyond the workers and the queue are told at once that the server is busy.
    // (Within 5 s for them all: on a loaded machine a few connections are accepted late, and
    // may find room in the queue by then; waiting for each would only make the test slow.)
    let mut busy = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    for mut s in idle.iter().skip(60) {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        s.set_read_timeout(Some(left)).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        busy += usize::from(status(&answer) == "HTTP/1.1 503 Service Unavailable");
    }
    assert!(busy >= 50, "{busy} of the last 60 idle connections were told the server is busy");
    // The idle ones that reached a worker are dropped at the head's deadline (10 s), and the
    // server answers again.
    let started = Instant::now();
    let mut first = &idle[0];
    first.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut rest = Vec::new();
    let _ = first.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(15), "an idle client held a worker {:?}", started.elapsed());
    // The clients that wait in the queue go away: the server is free at once.
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if status(&get(port, "/", Some(&host))) == "HTTP/1.1 200 OK" {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not answer again once the idle clients left");
        std::thread::sleep(Duration::from_millis(200));
    }
}
