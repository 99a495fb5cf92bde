//! The engine's threads: the calling thread and `threads - 1` helpers that wait for work by
//! spinning for a while (then sleeping), so that each of a training step's two parallel parts
//! starts within a fraction of a microsecond. A step of the notes' model takes about 35 us;
//! rayon's idle threads yield and sleep between its parts, and waking them measured a seventh
//! of the step (BENCHMARKS.md, issue 25).
//!
//! The one primitive is [`Team::join`]: it hands its second closure to an idle helper (any
//! thread of the team may, so joins nest) or, when none is idle, runs both itself. Which
//! thread runs what never changes a result: the engine's parts are fixed by the thread count.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long an idle helper spins before it sleeps: longer than the gaps between a step's parts
/// and between steps, short enough not to hold a core after a fit.
const SPIN: Duration = Duration::from_micros(300);

/// How long a thread waiting for its helper spins before it yields its core between checks.
const WAIT_SPIN: Duration = Duration::from_micros(100);

const IDLE: u8 = 0;
const CLAIMED: u8 = 1;

thread_local! {
    /// The team this thread belongs to (a helper), or runs a fit on (`Team::enter`).
    static CURRENT: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// Work handed to a helper: a closure on the stack of the thread that waits for it.
#[derive(Clone, Copy)]
struct Job {
    data: *const (),
    execute: unsafe fn(*const ()),
}

/// A value on cache lines of its own (128 bytes: the line and its prefetched neighbour).
#[repr(align(128))]
struct OwnLines<T>(T);

/// What the thread that hands a job out writes and the helper reads.
struct Post {
    posted: AtomicU64,
    job: UnsafeCell<Option<Job>>,
}

/// What the helper writes and the thread waiting for it reads.
struct Reply {
    done: AtomicU64,
    sleeping: AtomicBool,
}

/// One helper's mailbox. Its three parts are on lines of their own, each written by one side:
/// the claim by the threads that hand work out (one, with two threads: it stays in that core's
/// cache), the post by the claimant, the reply by the helper. Sharing one line, the claim's
/// compare-and-swap and the post's store each waited for the line to come back from the
/// helper, which reads it while it waits.
struct Slot {
    state: OwnLines<AtomicU8>,
    post: OwnLines<Post>,
    reply: OwnLines<Reply>,
    thread: OnceLock<Thread>,
}

// SAFETY: `job` is written only by the thread that claimed the slot (state CLAIMED, before
// `posted` is raised) and read only by the helper after it sees `posted` raised; the
// release/acquire pairs on `posted` and `done` order those accesses.
unsafe impl Sync for Slot {}
// SAFETY: a job's pointer is only followed under the protocol above, by the one helper.
unsafe impl Send for Slot {}

struct Shared {
    slots: Vec<Slot>,
    stop: AtomicBool,
}

/// The helpers of a pool (the calling thread is the team's other member).
pub(crate) struct Team {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl Team {
    /// A team of `threads` threads: `threads - 1` helpers are started.
    pub(crate) fn new(threads: usize) -> std::io::Result<Team> {
        let helpers = threads.saturating_sub(1);
        let slots = (0..helpers)
            .map(|_| Slot {
                state: OwnLines(AtomicU8::new(IDLE)),
                post: OwnLines(Post { posted: AtomicU64::new(0), job: UnsafeCell::new(None) }),
                reply: OwnLines(Reply { done: AtomicU64::new(0), sleeping: AtomicBool::new(false) }),
                thread: OnceLock::new(),
            })
            .collect();
        let shared = Arc::new(Shared { slots, stop: AtomicBool::new(false) });
        let mut team = Team { shared: shared.clone(), handles: Vec::with_capacity(helpers) };
        for h in 0..helpers {
            let shared = shared.clone();
            let handle = thread::Builder::new().name(format!("neurite-{}", h + 1)).spawn(move || helper(&shared, h))?;
            // The helper's handle, for waking it, before any job can be posted to it.
            let _ = team.shared.slots[h].thread.set(handle.thread().clone());
            team.handles.push(handle);
        }
        Ok(team)
    }

    /// Runs `f` on this thread as a member of the team, so that the joins inside it may
    /// use the helpers.
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(*const Shared);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.replace(Arc::as_ptr(&self.shared))));
        f()
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for slot in &self.shared.slots {
            if let Some(t) = slot.thread.get() {
                t.unpark();
            }
        }
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Whether this thread may hand work to a team's helpers.
pub(crate) fn in_team() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// A helper's life: wait for a job (spinning, then sleeping), run it, say it is done.
fn helper(shared: &Arc<Shared>, h: usize) {
    CURRENT.with(|c| c.set(Arc::as_ptr(shared)));
    let (post, reply) = (&shared.slots[h].post.0, &shared.slots[h].reply.0);
    let mut seen = 0;
    loop {
        // The clock is read only once the wait is long (a read costs about 20 ns).
        let mut start = None;
        let mut spins = 0u32;
        let posted = loop {
            let posted = post.posted.load(Ordering::Acquire);
            if posted != seen {
                break posted;
            }
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) || start.get_or_insert_with(Instant::now).elapsed() < SPIN {
                std::hint::spin_loop();
                continue;
            }
            // Sleep. The poster reads this flag after a fence that follows its raising of
            // `posted`; with the fence here (a sequentially consistent store and load), either
            // it sees the flag and wakes the thread, or the check below sees its post.
            reply.sleeping.store(true, Ordering::SeqCst);
            if post.posted.load(Ordering::SeqCst) == seen && !shared.stop.load(Ordering::SeqCst) {
                thread::park_timeout(Duration::from_millis(100));
            }
            reply.sleeping.store(false, Ordering::SeqCst);
        };
        seen = posted;
        // SAFETY: the job was written before `posted` was raised (see `Slot`).
        if let Some(job) = unsafe { *post.job.get() } {
            // SAFETY: `data` points at the `Pending` of the waiting thread, which does not
            // return before `done` is raised; `execute` catches panics.
            unsafe { (job.execute)(job.data) };
        }
        reply.done.store(seen, Ordering::Release);
    }
}

/// A closure handed to a helper, and its result.
struct Pending<F, R> {
    f: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<thread::Result<R>>>,
}

/// Runs the closure of the `Pending<F, R>` at `data` and keeps its result (or its panic).
unsafe fn execute<F: FnOnce() -> R, R>(data: *const ()) {
    let pending = &*(data as *const Pending<F, R>);
    if let Some(f) = (*pending.f.get()).take() {
        *pending.result.get() = Some(catch_unwind(AssertUnwindSafe(f)));
    }
}

/// Runs `a` and `b`, `b` on an idle helper of this thread's team when there is one; a panic
/// in either is raised here once both are finished.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let shared = CURRENT.with(Cell::get);
    // SAFETY: a non-null CURRENT points at the `Shared` of a live team: a helper's own (kept
    // by its `Arc`), or the one `enter` set, whose `Team` outlives the call to `enter`.
    let Some(shared) = (unsafe { shared.as_ref() }) else {
        return (a(), b());
    };
    match claim(shared) {
        Some(slot) => run_with(slot, a, b),
        None => (a(), b()),
    }
}

/// Runs `a` here and `b` on an idle helper of this thread's team at the same time, or
/// neither (`None`) when this thread has no idle helper: for closures that wait for each
/// other (see [`Meeting`]), which one thread running both in turn would never finish.
pub(crate) fn join_at_once<A, B, RA, RB>(a: A, b: B) -> Option<(RA, RB)>
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    // SAFETY: as in `join`.
    let shared = unsafe { CURRENT.with(Cell::get).as_ref() }?;
    claim(shared).map(|slot| run_with(slot, a, b))
}

/// An idle helper's slot, claimed for one job.
fn claim(shared: &Shared) -> Option<&Slot> {
    shared
        .slots
        .iter()
        .find(|s| s.state.0.compare_exchange(IDLE, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_ok())
}

/// Posts `b` to the helper of the claimed `slot`, runs `a`, waits for `b` and frees the slot.
fn run_with<A, B, RA, RB>(slot: &Slot, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let (post, reply) = (&slot.post.0, &slot.reply.0);
    let pending = Pending { f: UnsafeCell::new(Some(b)), result: UnsafeCell::new(None) };
    // SAFETY: this thread claimed the slot; the helper reads the job only after `posted` rises.
    unsafe {
        *post.job.get() = Some(Job { data: &pending as *const Pending<B, RB> as *const (), execute: execute::<B, RB> });
    }
    let generation = post.posted.load(Ordering::Relaxed) + 1;
    // A plain store: this thread goes on to `a` while the line travels to the helper.
    post.posted.store(generation, Ordering::Release);
    let wake = || {
        if let Some(t) = slot.thread.get() {
            t.unpark();
        }
    };
    // A helper asleep for a while is woken at once (this read may see an old value: the
    // check after `a` settles it).
    if reply.sleeping.load(Ordering::Relaxed) {
        wake();
    }
    let ra = catch_unwind(AssertUnwindSafe(a));
    // The fence pairs with the helper's before it sleeps (see `helper`): a helper that went to
    // sleep without seeing the post is seen asleep here.
    std::sync::atomic::fence(Ordering::SeqCst);
    if reply.sleeping.load(Ordering::Relaxed) && reply.done.load(Ordering::Acquire) != generation {
        wake();
    }
    wait_for(|| (reply.done.load(Ordering::Acquire) == generation).then_some(()));
    slot.state.0.store(IDLE, Ordering::Release);
    // SAFETY: the helper finished with `pending` (`done` was raised after it wrote `result`).
    let rb = unsafe { (*pending.result.get()).take() };
    match (ra, rb) {
        (Ok(ra), Some(Ok(rb))) => (ra, rb),
        (Err(panic), _) => resume_unwind(panic),
        (_, Some(Err(panic))) => resume_unwind(panic),
        (_, None) => resume_unwind(Box::new("a helper thread lost its job") as Box<dyn Any + Send>),
    }
}

/// Spins until `ready` gives a value, yielding the core between checks once the wait is
/// longer than [`WAIT_SPIN`] (the clock read only every 64 checks).
fn wait_for<T>(mut ready: impl FnMut() -> Option<T>) -> T {
    let mut start = None;
    let mut spins = 0u32;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && start.get_or_insert_with(Instant::now).elapsed() > WAIT_SPIN {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Where the two closures of a [`join_at_once`] wait for each other once: each side
/// [`Meeting::arrive`]s when its first phase is done, and goes on only once the other has
/// arrived too. A side that returns or panics before arriving counts as failed (its
/// [`Arrival`] says so when dropped), so that the other stops instead of waiting for ever.
pub(crate) struct Meeting {
    sides: [OwnLines<AtomicU8>; 2],
}

const ON_THE_WAY: u8 = 0;
const ARRIVED: u8 = 1;
const FAILED: u8 = 2;

/// One side's promise to arrive at a [`Meeting`] (see there).
pub(crate) struct Arrival<'a> {
    meeting: &'a Meeting,
    side: usize,
    arrived: bool,
}

impl Meeting {
    pub(crate) fn new() -> Meeting {
        Meeting { sides: [OwnLines(AtomicU8::new(ON_THE_WAY)), OwnLines(AtomicU8::new(ON_THE_WAY))] }
    }

    /// Side `side` (0 or 1) sets out.
    pub(crate) fn set_out(&self, side: usize) -> Arrival<'_> {
        Arrival { meeting: self, side: side.min(1), arrived: false }
    }
}

impl Arrival<'_> {
    /// This side's first phase is done (its writes are seen by the other side once it goes
    /// on); waits for the other side. Returns whether the other side arrived too (false: it
    /// failed, and this side should stop).
    pub(crate) fn arrive(&mut self) -> bool {
        self.arrived = true;
        self.meeting.sides[self.side].0.store(ARRIVED, Ordering::Release);
        let other = &self.meeting.sides[1 - self.side].0;
        wait_for(|| match other.load(Ordering::Acquire) {
            ARRIVED => Some(true),
            FAILED => Some(false),
            _ => None,
        })
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if !self.arrived {
            self.meeting.sides[self.side].0.store(FAILED, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sum of `values` by halving with `join`, as the engine's loops split their work.
    fn sum(values: &[u64]) -> u64 {
        if values.len() <= 2 {
            return values.iter().sum();
        }
        let (a, b) = values.split_at(values.len() / 2);
        let (x, y) = join(|| sum(a), || sum(b));
        x + y
    }

    #[test]
    fn joins_nest_and_give_every_result() {
        let values: Vec<u64> = (0..1000).collect();
        for threads in [1, 2, 4, 7] {
            let team = Team::new(threads).unwrap();
            for _ in 0..50 {
                assert_eq!(team.enter(|| sum(&values)), 499_500, "{threads} threads");
            }
        }
        // Outside a team, join runs both on the calling thread.
        assert!(!in_team());
        assert_eq!(sum(&values), 499_500);
    }

    #[test]
    fn a_panic_on_a_helper_reaches_the_caller_and_the_team_goes_on() {
        let team = Team::new(2).unwrap();
        let caught = catch_unwind(AssertUnwindSafe(|| team.enter(|| join(|| 1, || -> u32 { panic!("in b") }))));
        let message = caught.unwrap_err();
        assert_eq!(message.downcast_ref::<&str>(), Some(&"in b"));
        assert!(!in_team(), "enter restores the thread's team after a panic");
        assert_eq!(team.enter(|| join(|| 2, || 3)), (2, 3));
    }

    #[test]
    fn closures_at_once_meet_or_stop_when_the_other_fails() {
        let team = Team::new(2).unwrap();
        for _ in 0..100 {
            let meeting = Meeting::new();
            let both = team.enter(|| join_at_once(|| meeting.set_out(0).arrive(), || meeting.set_out(1).arrive()));
            assert_eq!(both, Some((true, true)));
            // A side that gives up before arriving stops the other instead of holding it.
            let meeting = Meeting::new();
            let one = team.enter(|| {
                join_at_once(
                    || meeting.set_out(0).arrive(),
                    || -> Option<bool> {
                        let _arrival = meeting.set_out(1);
                        None
                    },
                )
            });
            assert_eq!(one, Some((false, None)));
        }
        // A panic before arriving: the other side stops, the panic reaches the caller.
        let meeting = Meeting::new();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            team.enter(|| {
                join_at_once(
                    || meeting.set_out(0).arrive(),
                    || -> bool {
                        let _arrival = meeting.set_out(1);
                        panic!("before arriving")
                    },
                )
            })
        }));
        assert!(caught.is_err());
        // Without an idle helper nothing runs.
        let ran = std::sync::atomic::AtomicBool::new(false);
        assert!(join_at_once(|| ran.store(true, Ordering::SeqCst), || ()).is_none(), "outside a team");
        let nested = team.enter(|| join(|| join_at_once(|| ran.store(true, Ordering::SeqCst), || ()).is_none(), || ()));
        assert!(nested.0, "the only helper is busy");
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[test]
    fn a_sleeping_helper_wakes_for_work() {
        let team = Team::new(2).unwrap();
        thread::sleep(SPIN * 4);
        let on_helper = team.enter(|| join(|| thread::current().id(), || thread::current().id()));
        assert_ne!(on_helper.0, on_helper.1, "the second closure ran on the helper");
    }
}
