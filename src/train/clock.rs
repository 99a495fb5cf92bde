//! Wall-clock time, where the platform has a clock that the standard library can read.
//! WebAssembly in a browser has none (`std::time::Instant::now` panics there), so timings
//! read 0 there; the page that runs the library measures time itself.

/// Measures the seconds since it was started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    started: std::time::Instant,
}

impl Stopwatch {
    /// Starts measuring.
    pub(crate) fn start() -> Stopwatch {
        Stopwatch {
            #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
            started: std::time::Instant::now(),
        }
    }

    /// Seconds since [`Stopwatch::start`] (0 without a clock).
    pub(crate) fn seconds(&self) -> f64 {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            self.started.elapsed().as_secs_f64()
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            0.0
        }
    }
}
