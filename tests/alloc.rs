//! The regression guard for the training step's speed that does not depend on the clock:
//! once its buffers exist, neurite's own code allocates nothing in a training step. The GEMM
//! crates' packing buffers (one per call, recycled at once by the allocator) are counted
//! apart and bounded by the number of GEMM calls.
//!
//! Counted with a global allocator, which sees every thread of the process. So this test
//! runs without the test harness (`harness = false` in Cargo.toml): the harness's own threads
//! allocate at moments of their choosing (it made the count flaky on a busy machine), and
//! without it the only threads are this one and the model's pool.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use neurite::nn::{Activation, Dense, Loss};
use neurite::optim::Optimizer;
use neurite::train::{FitOptions, Sequential, TensorExamples, Verbosity};
use neurite::{Rng, Tensor};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static GEMM_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's allocations outside the GEMM crates (the threads of pools dropped by
    /// earlier models may still be exiting, and allocate as they do).
    static THIS_THREAD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count() {
    if neurite::kernels::matmul::inside_gemm() {
        GEMM_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    } else {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// side effect only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::SeqCst)
}

fn model(threads: usize) -> Sequential {
    let mut m = Sequential::with_seed(1);
    m.set_threads(threads).unwrap();
    m.add(Dense::new(50).activation(Activation::Sigmoid).input_shape(64)).unwrap();
    m.add(Dense::new(10).activation(Activation::Softmax)).unwrap();
    m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    m
}

fn examples(n: usize) -> TensorExamples {
    let mut rng = Rng::new(3);
    let x = Tensor::rand(&[n, 64], &mut rng);
    let y = Tensor::from_vec((0..n).map(|i| (i % 10) as f32).collect(), &[n]).unwrap();
    TensorExamples::new(&x, &y, Some(10)).unwrap()
}

fn main() {
    training_steps_allocate_nothing_once_warm();
    println!("test training_steps_allocate_nothing_once_warm ... ok");
}

fn training_steps_allocate_nothing_once_warm() {
    // One thread, one batch at a time: after a warm-up step, 500 steps allocate nothing.
    let data = examples(640);
    let mut m = model(1);
    let batch: Vec<u32> = (0..32).collect();
    m.train_on_batch(&data, &batch).unwrap();
    let before = allocations();
    let gemm_before = GEMM_ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..500 {
        m.train_on_batch(&data, &batch).unwrap();
    }
    assert_eq!(allocations() - before, 0, "allocations in 500 single-thread training steps");
    // Five GEMMs a step: two forward, one input gradient, two weight gradients.
    let gemm = GEMM_ALLOCATIONS.load(Ordering::SeqCst) - gemm_before;
    assert!(gemm <= 5 * 500, "{gemm} allocations inside the GEMM kernel in 500 steps");

    // The whole fit loop on two threads: two epochs of 200 steps and two epochs of 400 steps
    // must allocate the same (per-fit and per-epoch bookkeeping only, nothing per step).
    let opts = FitOptions::default().epochs(2).batch_size(32).verbose(Verbosity::Silent);
    let count = |n: usize| {
        let data = examples(n);
        let mut m = model(2);
        m.fit_with(&data, None, &opts, &mut []).unwrap(); // warm: pool, buffers
        let before = allocations();
        m.fit_with(&data, None, &opts, &mut []).unwrap();
        allocations() - before
    };
    let (short, long) = (count(6400), count(12800));
    assert!(long <= short, "2 epochs of 200 steps allocated {short} times, of 400 steps {long} times");

    // A convnet (convolution, max pooling, dropout) on 8x8 images: its parts of a batch are
    // fixed groups of rows, each with its buffers, allocated once. (One thread: on two, the
    // thread pool's job queue takes a new block now and then, as in the fits above.)
    let config = neurite::train::ModelConfig::parse_layers(
        &[8, 8, 1],
        "conv:6:3:relu,maxpool:2,conv:4:2:relu:same,flatten,dropout:0.2,dense:10:softmax",
        neurite::nn::Initializer::GlorotUniform,
    )
    .unwrap();
    let mut m = Sequential::from_config(&config, 0).unwrap();
    m.set_threads(1).unwrap();
    m.compile(Optimizer::adam(), Loss::SparseCategoricalCrossentropy, &[]).unwrap();
    let mut rng = Rng::new(4);
    let x = Tensor::rand(&[640, 8, 8, 1], &mut rng);
    let y = Tensor::from_vec((0..640).map(|i| (i % 10) as f32).collect(), &[640]).unwrap();
    let images = TensorExamples::new(&x, &y, Some(10)).unwrap();
    let batch: Vec<u32> = (0..64).collect();
    m.train_on_batch(&images, &batch).unwrap();
    let before = THIS_THREAD.with(|c| c.get());
    for _ in 0..100 {
        m.train_on_batch(&images, &batch).unwrap();
    }
    let after = THIS_THREAD.with(|c| c.get());
    assert_eq!(after - before, 0, "allocations in 100 training steps of a convnet");
}
