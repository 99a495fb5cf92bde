//! Training on its own thread with the GIL released, Ctrl-C turned into a clean stop, and
//! `fit`'s lines printed to Python's `sys.stdout`.

#[allow(unused_imports)]
use super::*;

/// What the training thread tells the waiting main thread.
pub(crate) enum Event<T> {
    /// The work is done.
    Done(T),
    /// The work just ran Python code (printed a line), which may have asked for a stop (a
    /// Ctrl-C pressed, or `_thread.interrupt_main()` called, by then): look now, then answer.
    Poke(mpsc::Sender<()>),
}

/// Runs `work` on its own thread with the GIL released, checking for Ctrl-C on this (the
/// main) thread, where Python's signal handlers run: ten times a second, and each time the
/// work calls the poke it is given (after running Python code), the work waiting for the
/// answer so that a stop asked for there is seen before the next step. On Ctrl-C, `stop`
/// is raised, the work finishes its current step, and the `KeyboardInterrupt` is raised.
pub(crate) fn run_interruptible<T: Send>(
    py: Python<'_>,
    stop: &StopSignal,
    work: impl FnOnce(&(dyn Fn() + Sync)) -> T + Send,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel::<Event<T>>();
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        let poke_tx = tx.clone();
        scope.spawn(move || {
            let poke = move || {
                let (ack, answered) = mpsc::channel();
                if poke_tx.send(Event::Poke(ack)).is_ok() {
                    let _ = answered.recv();
                }
            };
            let result = work(&poke);
            // The receiver outlives this thread: the send cannot fail.
            let _ = tx.send(Event::Done(result));
        });
        let mut interrupted: Option<PyErr> = None;
        let look = |interrupted: &mut Option<PyErr>| {
            if interrupted.is_none() {
                if let Err(e) = py.check_signals() {
                    stop.raise();
                    *interrupted = Some(e);
                }
            }
        };
        loop {
            let got = py.detach(|| match rx.lock() {
                Ok(rx) => rx.recv_timeout(Duration::from_millis(100)),
                Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
            });
            match got {
                Ok(Event::Done(value)) => return interrupted.map_or(Ok(value), Err),
                Ok(Event::Poke(ack)) => {
                    look(&mut interrupted);
                    let _ = ack.send(());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => look(&mut interrupted),
                // The work panicked: the scope re-raises its panic, which PyO3 turns into a
                // Python exception.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(interrupted.unwrap_or_else(|| PyRuntimeError::new_err("training thread failed")))
                }
            }
        }
    })
}

/// Writes to Python's `sys.stdout` (a notebook's output cell, not the process's descriptor 1).
pub(crate) fn print_py(text: &str) {
    Python::attach(|py| {
        if let Ok(out) = py.import("sys").and_then(|sys| sys.getattr("stdout")) {
            // Printing progress has nowhere to report its own failure.
            let _ = out.call_method1("write", (text,));
            let _ = out.call_method0("flush");
        }
    });
}

/// Keras' `verbose` for `fit`: 1 redraws a progress line about 20 times an epoch, then the
/// epoch's line; 2 prints the epoch's line only. The lines are the library's.
pub(crate) struct Printer<'a> {
    pub(crate) verbose: u8,
    pub(crate) epochs: usize,
    pub(crate) steps: usize,
    pub(crate) poke: &'a (dyn Fn() + Sync),
}

impl Callback for Printer<'_> {
    fn on_train_begin(&mut self, info: &FitInfo) {
        self.epochs = info.epochs;
        self.steps = info.steps_per_epoch;
    }

    fn on_batch_end(&mut self, batch: usize, logs: &BatchLogs) {
        let done = batch + 1;
        if self.verbose == 1 && (done.is_multiple_of((self.steps / 20).max(1)) || done == self.steps) {
            print_py(&format!("\r{}", progress_bar(done, self.steps, logs)));
            (self.poke)();
        }
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _params: &ParamStore) -> neurite::Result<Control> {
        let clear = if self.verbose == 1 { format!("\r{}\r", " ".repeat(100)) } else { String::new() };
        print_py(&format!("{clear}{}\n", epoch_line(logs, self.epochs, self.steps)));
        (self.poke)();
        Ok(Control::Continue)
    }
}
