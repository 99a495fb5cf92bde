//! The engine's threads: a team of its own ([`super::team`]) with the `threads` feature, the
//! calling thread alone without it (WebAssembly in a browser). Every parallel loop of the engine goes
//! through these few functions, so that the rest is written once for both.

use crate::error::{Error, Result};

#[cfg(feature = "threads")]
pub(crate) use super::team::Meeting;
#[cfg(feature = "threads")]
use super::team::{self, Team};

/// The threads a model trains and predicts on (a cheap handle: clones share the threads).
#[derive(Clone)]
pub(crate) struct Pool {
    threads: usize,
    #[cfg(feature = "threads")]
    team: Option<std::sync::Arc<Team>>,
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
            let team = if threads > 1 {
                let team =
                    Team::new(threads).map_err(|e| Error::Value(format!("could not start {threads} threads: {e}")))?;
                Some(std::sync::Arc::new(team))
            } else {
                None
            };
            Ok(Pool { threads, team })
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

    /// Runs `f` on this thread as a member of the pool's team, so that the parallel loops
    /// inside it use the pool's threads.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        #[cfg(feature = "threads")]
        if let Some(team) = &self.team {
            return team.enter(f);
        }
        f()
    }
}

/// Whether parallel loops may spread: only on a model's threads (inside [`Pool::install`], or
/// on its helpers). A model of one thread has no helpers, and its loops stay on the calling
/// thread.
fn in_pool() -> bool {
    #[cfg(feature = "threads")]
    {
        team::in_team()
    }
    #[cfg(not(feature = "threads"))]
    {
        false
    }
}

/// `f(first + i, item)` for every item, halving the slice between `join`s; the error of the
/// lowest index wins.
fn halve<T: Send>(items: &mut [T], first: usize, f: &(impl Fn(usize, &mut T) -> Result<()> + Sync)) -> Result<()> {
    if items.len() <= 1 || !in_pool() {
        return items.iter_mut().enumerate().try_for_each(|(i, t)| f(first + i, t));
    }
    let mid = items.len() / 2;
    let (left, right) = items.split_at_mut(mid);
    let (a, b) = join(|| halve(left, first, f), || halve(right, first + mid, f));
    a.and(b)
}

/// `f(i, item)` for every item, in parallel when the build has threads (and there is more
/// than one item). The first error (by index) wins.
pub(crate) fn for_each<T: Send>(items: &mut [T], f: impl Fn(usize, &mut T) -> Result<()> + Sync + Send) -> Result<()> {
    halve(items, 0, &f)
}

/// `f(i, item, part)` for each item with the `i`-th part of `data` cut into parts of `len`
/// values (as many items as there are parts), in parallel when the build has threads.
pub(crate) fn for_each_with_parts_mut<T: Send, E: Send>(
    items: &mut [T],
    data: &mut [E],
    len: usize,
    f: impl Fn(usize, &mut T, &mut [E]) -> Result<()> + Sync + Send,
) -> Result<()> {
    halve_pairs(items, data, len.max(1), 0, &f)
}

/// `f(first + i, item, part)` for the items and their parts of `data`, halving both between
/// `join`s; the error of the lowest index wins.
fn halve_pairs<T: Send, E: Send>(
    items: &mut [T],
    data: &mut [E],
    len: usize,
    first: usize,
    f: &(impl Fn(usize, &mut T, &mut [E]) -> Result<()> + Sync),
) -> Result<()> {
    let n = items.len().min(data.len().div_ceil(len));
    if n <= 1 || !in_pool() {
        return items.iter_mut().zip(data.chunks_mut(len)).enumerate().try_for_each(|(i, (t, d))| f(first + i, t, d));
    }
    let mid = n / 2;
    let (li, ri) = items.split_at_mut(mid);
    let (ld, rd) = data.split_at_mut(mid * len);
    let (a, b) = join(|| halve_pairs(li, ld, len, first, f), || halve_pairs(ri, rd, len, first + mid, f));
    a.and(b)
}

/// Like [`for_each_with_parts_mut`], for data that is only read.
pub(crate) fn for_each_with_parts<T: Send, E: Sync>(
    items: &mut [T],
    data: &[E],
    len: usize,
    f: impl Fn(usize, &mut T, &[E]) -> Result<()> + Sync + Send,
) -> Result<()> {
    let len = len.max(1);
    let n = items.len().min(data.len().div_ceil(len));
    halve(&mut items[..n], 0, &|i, t| f(i, t, &data[i * len..((i + 1) * len).min(data.len())]))
}

/// `f(i, chunk)` for each chunk of `len` values of `data`, in parallel when the build has
/// threads. The first error (by index) wins.
pub(crate) fn for_each_chunk_mut<E: Send>(
    data: &mut [E],
    len: usize,
    f: impl Fn(usize, &mut [E]) -> Result<()> + Sync + Send,
) -> Result<()> {
    halve_chunks(data, len.max(1), 0, &f)
}

fn halve_chunks<E: Send>(
    data: &mut [E],
    len: usize,
    first: usize,
    f: &(impl Fn(usize, &mut [E]) -> Result<()> + Sync),
) -> Result<()> {
    let n = data.len().div_ceil(len);
    if n <= 1 || !in_pool() {
        return data.chunks_mut(len).enumerate().try_for_each(|(i, d)| f(first + i, d));
    }
    let mid = n / 2;
    let (left, right) = data.split_at_mut(mid * len);
    let (a, b) = join(|| halve_chunks(left, len, first, f), || halve_chunks(right, len, first + mid, f));
    a.and(b)
}

/// `a` here and `b` on another thread at the same time (`Some`), or neither (`None`) when
/// no thread of the pool is free: see [`team::join_at_once`].
#[cfg(feature = "threads")]
pub(crate) fn join_at_once<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> Option<(A, B)> {
    team::join_at_once(a, b)
}

/// Runs `a` and `b`, at the same time when the build has threads and an idle one is there.
pub(crate) fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(feature = "threads")]
    {
        team::join(a, b)
    }
    #[cfg(not(feature = "threads"))]
    {
        (a(), b())
    }
}
