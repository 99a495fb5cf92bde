//! Which code runs the arithmetic on this machine: the instruction set found at run time, a
//! ceiling that a test or a benchmark may put below it, which GEMM crate each product goes to,
//! and the CPU's name. One binary is built for the baseline of its target and picks its
//! widest kernels when it starts, so the same file is at its best on an AVX2 machine and on
//! an AVX-512 one.
//!
//! neurite's own loops (activations, softmax and the fused losses, the optimisers, sums,
//! conversions) are compiled once per [`Isa`] by [`simd_kernel!`](crate::simd_kernel) and
//! dispatched on [`isa`]. The products go to `matrixmultiply` or `gemm` (see
//! [`super::matmul`]); both choose their own micro-kernels from the CPU's features (AVX-512,
//! AVX2 with FMA, or SSE), which the ceiling here does not reach. [`ProductKernel`] forces
//! every product onto one of the two crates, so that a test can compare the paths.
//!
//! ```
//! use neurite::kernels::dispatch::{self, Isa};
//! let isa = dispatch::isa();
//! assert!(isa <= dispatch::detected_isa());
//! println!("{} with {isa}", dispatch::cpu_model());
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};

/// An instruction-set level that neurite compiles its own loops for. Ordered: a machine that
/// runs one level runs every level below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// The target's baseline: SSE2 on x86-64, or whatever the target was built with
    /// (NEON on aarch64, SIMD128 on wasm32 when enabled at build time).
    Baseline,
    /// x86-64-v3: AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE (Haswell, Zen 1 and later).
    Avx2,
    /// x86-64-v4: AVX-512 F, BW, CD, DQ, VL on top of the above (Skylake-SP, Ice Lake, Zen 4).
    Avx512,
}

impl Isa {
    /// Every level, lowest first.
    pub const ALL: [Isa; 3] = [Isa::Baseline, Isa::Avx2, Isa::Avx512];

    /// The name used on the command line and in reports: `baseline`, `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Every level this machine runs, lowest first.
    pub fn supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|&i| i <= detected_isa()).collect()
    }

    fn from_code(code: u8) -> Isa {
        match code {
            3 => Isa::Avx512,
            2 => Isa::Avx2,
            _ => Isa::Baseline,
        }
    }

    fn code(self) -> u8 {
        match self {
            Isa::Baseline => 1,
            Isa::Avx2 => 2,
            Isa::Avx512 => 3,
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Isa {
    type Err = Error;

    fn from_str(s: &str) -> Result<Isa> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::Value(format!("unknown instruction set {s:?}: expected baseline, avx2 or avx512")))
    }
}

/// 0: not detected yet; otherwise [`Isa::code`].
static DETECTED: AtomicU8 = AtomicU8::new(0);
/// The ceiling set by [`limit_isa`]; [`Isa::Avx512`]'s code (no ceiling) until then.
static CEILING: AtomicU8 = AtomicU8::new(3);
/// [`ProductKernel`] as a number.
static PRODUCTS: AtomicU8 = AtomicU8::new(0);

/// The widest level this CPU (and its operating system) supports, detected once.
pub fn detected_isa() -> Isa {
    match DETECTED.load(Ordering::Relaxed) {
        0 => {
            let isa = detect();
            DETECTED.store(isa.code(), Ordering::Relaxed);
            isa
        }
        code => Isa::from_code(code),
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    use std::arch::is_x86_feature_detected as has;
    let v3 = has!("avx2")
        && has!("fma")
        && has!("bmi1")
        && has!("bmi2")
        && has!("f16c")
        && has!("lzcnt")
        && has!("movbe")
        && has!("popcnt")
        && has!("sse4.2");
    let v4 = v3 && has!("avx512f") && has!("avx512bw") && has!("avx512cd") && has!("avx512dq") && has!("avx512vl");
    if v4 {
        Isa::Avx512
    } else if v3 {
        Isa::Avx2
    } else {
        Isa::Baseline
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Isa {
    Isa::Baseline
}

/// The level neurite's own loops run at: the detected one, or the ceiling if lower.
#[inline]
pub fn isa() -> Isa {
    detected_isa().min(Isa::from_code(CEILING.load(Ordering::Relaxed)))
}

/// Runs neurite's own loops at no more than `ceiling` from now on, for the whole process
/// (`None` lifts it), and returns the level now in use. For tests and benchmarks that compare
/// the paths; on a machine that lacks a level, asking for it gives the widest it has.
///
/// The results do not depend on the level: these loops add in the same order and never
/// contract a multiply and an add into one rounding unless the source says `mul_add`.
pub fn limit_isa(ceiling: Option<Isa>) -> Isa {
    CEILING.store(ceiling.unwrap_or(Isa::Avx512).code(), Ordering::Relaxed);
    isa()
}

/// Which crate the products go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProductKernel {
    /// Each product to the crate that measured faster for its shape (the default; see
    /// [`super::matmul`]).
    #[default]
    Auto,
    /// Every product to `matrixmultiply`.
    Matrixmultiply,
    /// Every product to `gemm`.
    Gemm,
}

impl ProductKernel {
    /// Every choice, the default first.
    pub const ALL: [ProductKernel; 3] = [ProductKernel::Auto, ProductKernel::Matrixmultiply, ProductKernel::Gemm];

    /// The name used on the command line: `auto`, `matrixmultiply`, `gemm`.
    pub fn name(self) -> &'static str {
        match self {
            ProductKernel::Auto => "auto",
            ProductKernel::Matrixmultiply => "matrixmultiply",
            ProductKernel::Gemm => "gemm",
        }
    }
}

impl fmt::Display for ProductKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ProductKernel {
    type Err = Error;

    fn from_str(s: &str) -> Result<ProductKernel> {
        ProductKernel::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::Value(format!("unknown product kernel {s:?}: expected auto, matrixmultiply or gemm")))
    }
}

/// Sends every product of this process to `kernel` from now on.
pub fn set_product_kernel(kernel: ProductKernel) {
    let code = match kernel {
        ProductKernel::Auto => 0,
        ProductKernel::Matrixmultiply => 1,
        ProductKernel::Gemm => 2,
    };
    PRODUCTS.store(code, Ordering::Relaxed);
}

/// Where the products go now.
#[inline]
pub fn product_kernel() -> ProductKernel {
    match PRODUCTS.load(Ordering::Relaxed) {
        1 => ProductKernel::Matrixmultiply,
        2 => ProductKernel::Gemm,
        _ => ProductKernel::Auto,
    }
}

/// The GEMM crates' own choice of micro-kernel on this machine, as their sources choose it:
/// `matrixmultiply` takes AVX-512 F, else AVX2 with FMA, else AVX, else SSE2; `gemm` (with its
/// `x86-v4` feature, enabled here) takes AVX-512 F, else FMA, else scalar code.
pub fn product_kernels_in_use() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let mm = if has!("avx512f") {
            "avx512f"
        } else if has!("fma") && has!("avx2") {
            "avx2+fma"
        } else if has!("avx") {
            "avx"
        } else {
            "sse2"
        };
        let gemm = if has!("avx512f") {
            "avx512f"
        } else if has!("fma") {
            "fma"
        } else {
            "scalar"
        };
        format!("matrixmultiply:{mm} gemm:{gemm}")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        format!("matrixmultiply, gemm ({})", std::env::consts::ARCH)
    }
}

/// The CPU's name as it gives it (CPUID's brand string on x86-64, `/proc/cpuinfo` elsewhere on
/// Linux), or the architecture's name when it gives none.
pub fn cpu_model() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        // Leaves 0x80000002..4 are read only when leaf 0x80000000 says they exist.
        let brand = {
            use std::arch::x86_64::__cpuid;
            if __cpuid(0x8000_0000).eax >= 0x8000_0004 {
                let mut bytes = Vec::with_capacity(48);
                for leaf in 0x8000_0002u32..=0x8000_0004 {
                    let r = __cpuid(leaf);
                    for word in [r.eax, r.ebx, r.ecx, r.edx] {
                        bytes.extend_from_slice(&word.to_le_bytes());
                    }
                }
                let text = String::from_utf8_lossy(&bytes).trim_matches(char::from(0)).trim().to_string();
                Some(text).filter(|t| !t.is_empty())
            } else {
                None
            }
        };
        if let Some(brand) = brand {
            return brand;
        }
    }
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Defines a function whose body is compiled once per [`Isa`] and runs at [`isa`]'s level:
/// the widest the CPU has, or the ceiling of [`limit_isa`]. The body is written once, as
/// plain Rust; the compiler vectorises each copy for its instruction set.
///
/// Arguments are plain `name: Type` pairs; one list of generic parameters with one bound each
/// is allowed.
#[doc(hidden)]
#[macro_export]
macro_rules! simd_kernel {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$($gen:ident : $bound:path),+>)? ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$($gen: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body $(<$($gen: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,avx,fma,bmi1,bmi2,f16c,lzcnt,movbe,popcnt,sse4.2")]
                fn avx512 $(<$($gen: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
                    body $(::<$($gen),+>)? ($($arg),*)
                }
                #[target_feature(enable = "avx2,avx,fma,bmi1,bmi2,f16c,lzcnt,movbe,popcnt,sse4.2")]
                fn avx2 $(<$($gen: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
                    body $(::<$($gen),+>)? ($($arg),*)
                }
                match $crate::kernels::dispatch::isa() {
                    // SAFETY: `isa()` never exceeds the level detected on this CPU, which
                    // has every feature that level's copy was compiled with.
                    $crate::kernels::dispatch::Isa::Avx512 => unsafe { avx512 $(::<$($gen),+>)? ($($arg),*) },
                    // SAFETY: as above.
                    $crate::kernels::dispatch::Isa::Avx2 => unsafe { avx2 $(::<$($gen),+>)? ($($arg),*) },
                    $crate::kernels::dispatch::Isa::Baseline => body $(::<$($gen),+>)? ($($arg),*),
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                body $(::<$($gen),+>)? ($($arg),*)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_errors() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        }
        for k in ProductKernel::ALL {
            assert_eq!(k.name().parse::<ProductKernel>().unwrap(), k);
        }
        let err = "sse9".parse::<Isa>().unwrap_err().to_string();
        assert!(err.contains("sse9") && err.contains("avx2"), "{err}");
        assert!("blas".parse::<ProductKernel>().is_err());
    }

    #[test]
    fn the_baseline_is_always_supported_and_the_cpu_has_a_name() {
        assert_eq!(Isa::supported()[0], Isa::Baseline);
        assert!(Isa::supported().contains(&detected_isa()));
        assert!(!cpu_model().is_empty());
    }
}
