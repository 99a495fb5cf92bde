//! 2 MB pages under a data set's bytes, where Linux gives them. Training reads a batch's
//! images from all over the data set (47 MB for MNIST): on 4 KB pages each image is a miss in
//! the translation cache and a page walk, which measured about as long as the miss for its
//! pixels themselves (BENCHMARKS.md, issue 25). Elsewhere, or where huge pages are turned
//! off, nothing changes but speed.

/// A buffer for `len` bytes, empty, whose whole 2 MB pages Linux is asked to back with huge
/// pages when they are first written (`MADV_HUGEPAGE`; advice for memory already written
/// would wait for the kernel's background thread). `None` where `len` bytes cannot be
/// allocated.
pub(crate) fn reserved(len: usize) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).ok()?;
    ask(bytes.as_ptr(), bytes.capacity());
    Some(bytes)
}

/// Asks for huge pages under the whole 2 MB pages of the `len` bytes from `start`, an
/// allocation of this process. Returns whether the kernel took the advice.
fn ask(start: *const u8, len: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let base = start as usize;
        let (first, end) = (base.next_multiple_of(HUGE_PAGE), base.saturating_add(len) / HUGE_PAGE * HUGE_PAGE);
        if first < end {
            // SAFETY: the range lies inside an allocation of this process; the advice changes
            // only which pages back it, never what it holds.
            return unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) } == 0;
        }
    }
    let _ = (start, len);
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reserved_buffer_is_empty_with_room_for_its_length() {
        let mut b = super::reserved(5 << 20).unwrap();
        assert!(b.is_empty() && b.capacity() >= 5 << 20);
        b.resize(5 << 20, 7);
        assert!(b.iter().all(|&v| v == 7));
        assert!(super::reserved(usize::MAX).is_none());
    }
}
