// An AVX2 machine out of an AVX-512 one, for measuring: preloaded into a process, this makes
// the CPUID instruction report no AVX-512 (nor AMX, nor AVX-512 BF16/FP16) to the process and
// its threads, so that neurite, both GEMM crates, PyTorch, MKL and oneDNN all pick their AVX2
// code, on the same cores, caches and clock. `neurite bench --isa avx2` cannot do that: it
// limits neurite's own loops, not the libraries'. What it does not give is another core
// design (AVX2-only CPUs differ in ports, caches and clocks), so figures taken with it are
// labelled as such in BENCHMARKS.md.
//
// How: Linux's ARCH_SET_CPUID makes CPUID fault in this process (it needs the CPU's
// `cpuid_fault` flag, in /proc/cpuinfo); the fault handler runs the real instruction with
// faulting briefly off, clears the AVX-512 bits of leaf 7 and steps over the instruction.
// glibc picks its string functions before this library loads, so GLIBC_TUNABLES turns its
// AVX-512 variants off as well.
//
//   gcc -O2 -shared -fPIC -o /tmp/avx2_view.so bench/avx2_view.c
//   export LD_PRELOAD=/tmp/avx2_view.so
//   export GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512DQ,-AVX512BW,-AVX512VL,-AVX512CD
//   neurite bench        # prints "isa avx2 (this CPU: avx2)" and the crates' AVX2 kernels
//   python -c 'import torch; print(torch.backends.cpu.get_cpu_capability())'   # AVX2
//
// Not for tools that install their own SIGSEGV handler first (perf: run `perf record --
// env LD_PRELOAD=... command`).
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static long cpuid_allowed(unsigned long allowed) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, allowed); }

static void on_fault(int sig, siginfo_t *info, void *context) {
    (void)info;
    ucontext_t *uc = context;
    greg_t *r = uc->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *)r[REG_RIP];
    if (ip[0] != 0x0f || ip[1] != 0xa2) {
        // Not CPUID: a real fault, which repeats with the default action.
        signal(sig, SIG_DFL);
        return;
    }
    uint32_t leaf = (uint32_t)r[REG_RAX], sub = (uint32_t)r[REG_RCX], a, b, c, d;
    cpuid_allowed(1);
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
    cpuid_allowed(0);
    if (leaf == 7 && sub == 0) {
        // EBX: AVX512F, DQ, IFMA, PF, ER, CD, BW, VL.
        b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
        // ECX: AVX512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ.
        c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        // EDX: AVX512 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, AVX512-FP16, AMX-TILE, AMX-INT8.
        d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
    } else if (leaf == 7 && sub == 1) {
        a &= ~(1u << 5); // AVX512-BF16
    }
    r[REG_RAX] = a;
    r[REG_RBX] = b;
    r[REG_RCX] = c;
    r[REG_RDX] = d;
    r[REG_RIP] += 2;
}

__attribute__((constructor)) static void hide_avx512(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    if (cpuid_allowed(0) != 0) {
        perror("avx2_view: arch_prctl(ARCH_SET_CPUID) (no cpuid_fault on this CPU?)");
        exit(1);
    }
}
