//! The engine's threads: a rayon pool of its own with the `threads` feature, the calling
//! thread alone without it (WebAssembly in a browser). Every parallel loop of the engine goes
//! through these few functions, so that the rest is written once for both.

use crate::error::{Error, Result};

#[cfg(feature = "threads")]
use rayon::prelude::*;

/// The threads a model trains and predicts on (a cheap handle: clones share the threads).
#[derive(Clone)]
pub(crate) struct Pool {
    threads: usize,
    #[cfg(feature = "threads")]
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

/// How many threads a new model uses: the cores this process may use (1 when the system
/// cannot tell, or without the `threads` feature).
pub(crate) fn available_threads() -> usize {
    if cfg!(feature = "threads") {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        1
    }
}

impl Pool {
    /// A pool of `threads` threads (1: everything on the calling thread).
    pub(crate) fn new(threads: usize) -> Result<Pool> {
        let threads = threads.max(1);
        #[cfg(feature = "threads")]
        {
            let pool = if threads > 1 {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("neurite-{i}"))
                    .build()
                    .map_err(|e| Error::Value(format!("could not start {threads} threads: {e}")))?;
                Some(std::sync::Arc::new(pool))
            } else {
                None
            };
            Ok(Pool { threads, pool })
        }
        #[cfg(not(feature = "threads"))]
        {
            if threads > 1 {
                return Err(Error::Value(format!(
                    "{threads} threads asked for, but this build of neurite has no threads (its `threads` feature is off): use 1"
                )));
            }
            Ok(Pool { threads })
        }
    }

    /// Number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on the pool's threads, so that the parallel loops inside it do not enter the
    /// pool anew each time.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        #[cfg(feature = "threads")]
        if let Some(pool) = &self.pool {
            return pool.install(f);
        }
        f()
    }
}

/// Whether parallel loops may spread: only on the threads of a model's pool (inside
/// [`Pool::install`]). A model of one thread has no pool, and its loops stay on the calling
/// thread rather than go to rayon's global pool.
#[cfg(feature = "threads")]
fn in_pool() -> bool {
    rayon::current_thread_index().is_some()
}

/// `f(i, item)` for every item, in parallel when the build has threads (and there is more
/// than one item). The first error wins.
pub(crate) fn for_each<T: Send>(items: &mut [T], f: impl Fn(usize, &mut T) -> Result<()> + Sync + Send) -> Result<()> {
    #[cfg(feature = "threads")]
    if items.len() > 1 && in_pool() {
        return items.par_iter_mut().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    items.iter_mut().enumerate().try_for_each(|(i, t)| f(i, t))
}

/// `f(i, item, part)` for each item with the `i`-th part of `data` cut into parts of `len`
/// values (as many items as there are parts), in parallel when the build has threads.
pub(crate) fn for_each_with_parts_mut<T: Send, E: Send>(
    items: &mut [T],
    data: &mut [E],
    len: usize,
    f: impl Fn(usize, &mut T, &mut [E]) -> Result<()> + Sync + Send,
) -> Result<()> {
    let len = len.max(1);
    #[cfg(feature = "threads")]
    if items.len() > 1 && data.len() > len && in_pool() {
        return items.par_iter_mut().zip(data.par_chunks_mut(len)).enumerate().map(|(i, (t, d))| f(i, t, d)).collect();
    }
    items.iter_mut().zip(data.chunks_mut(len)).enumerate().try_for_each(|(i, (t, d))| f(i, t, d))
}

/// Like [`for_each_with_parts_mut`], for data that is only read.
pub(crate) fn for_each_with_parts<T: Send, E: Sync>(
    items: &mut [T],
    data: &[E],
    len: usize,
    f: impl Fn(usize, &mut T, &[E]) -> Result<()> + Sync + Send,
) -> Result<()> {
    let len = len.max(1);
    #[cfg(feature = "threads")]
    if items.len() > 1 && data.len() > len && in_pool() {
        return items.par_iter_mut().zip(data.par_chunks(len)).enumerate().map(|(i, (t, d))| f(i, t, d)).collect();
    }
    items.iter_mut().zip(data.chunks(len)).enumerate().try_for_each(|(i, (t, d))| f(i, t, d))
}

/// `f(i, chunk)` for each chunk of `len` values of `data`, in parallel when the build has
/// threads (rayon balances the chunks between them). The first error wins.
pub(crate) fn for_each_chunk_mut<E: Send>(
    data: &mut [E],
    len: usize,
    f: impl Fn(usize, &mut [E]) -> Result<()> + Sync + Send,
) -> Result<()> {
    let len = len.max(1);
    #[cfg(feature = "threads")]
    if data.len() > len && in_pool() {
        return data.par_chunks_mut(len).enumerate().map(|(i, d)| f(i, d)).collect();
    }
    data.chunks_mut(len).enumerate().try_for_each(|(i, d)| f(i, d))
}

/// Runs `a` and `b`, at the same time when the build has threads.
pub(crate) fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(feature = "threads")]
    if in_pool() {
        return rayon::join(a, b);
    }
    (a(), b())
}
