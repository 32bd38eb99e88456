//! Where nDPI's memory comes from: libc's `malloc` (nDPI's default), or Rust's global allocator
//! through nDPI's allocation hooks ([`use_rust_allocator`]).
//!
//! nDPI's hooks are process-wide C globals that nDPI reads at every allocation. A pointer must
//! go back to the allocator it came from, so the hooks may only change while nDPI holds no
//! memory at all: before the first [`Detector`](crate::Detector) or
//! [`GlobalContext`](crate::GlobalContext) is made. The first of those settles the choice for
//! the life of the process; [`use_rust_allocator`] afterwards is an error, never a change.

use std::alloc::Layout;
use std::ffi::c_void;
use std::sync::{Mutex, PoisonError};

use crate::{sys, Error};

/// The allocator nDPI uses, once settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdpiAllocator {
    /// libc's `malloc` and `free`, nDPI's default.
    Libc,
    /// Rust's global allocator (`#[global_allocator]`, the system's by default), through
    /// nDPI's hooks: [`use_rust_allocator`].
    Rust,
}

/// `None` until settled: by [`use_rust_allocator`], or by the first module or global context
/// (then libc). The lock also orders the hooks' installation before any nDPI allocation of
/// another thread: every module is made after [`settle`] took it.
static CHOICE: Mutex<Option<NdpiAllocator>> = Mutex::new(None);

/// Makes nDPI allocate through Rust's global allocator from now on: its detection modules,
/// flows, automata and caches then come from the same allocator as the Rust side (mimalloc,
/// jemalloc or the system's, whatever the program's `#[global_allocator]` is). Call it first
/// thing in `main`, before the first [`Detector`](crate::Detector) or
/// [`GlobalContext`](crate::GlobalContext) is made.
///
/// Calling it again is harmless. Calling it after nDPI started allocating (a module or global
/// context was made, even if it is gone since) returns [`Error::AllocatorSettled`] and changes
/// nothing: memory nDPI got from libc must go back to libc. What a program makes through
/// [`sys`](crate::sys) directly is not seen here: make nothing there before this call.
///
/// Each allocation carries a 16-byte header with its size, since nDPI's `free` hook gets none
/// and Rust's allocator needs it. nDPI 4.2 copies the DN of each `trusted_issuer_dn` rule of a
/// protocols file with libc's `strdup` and frees it with its own `ndpi_free`; with this
/// allocator such a module is not handed back to nDPI when dropped (its memory is left, rather
/// than freed by the wrong allocator). nDPI 4.10 has no such mix.
///
/// ```
/// fn main() -> Result<(), ndpi::Error> {
///     ndpi::use_rust_allocator()?;
///     let detector = ndpi::Detector::new()?;
///     assert_eq!(ndpi::ndpi_allocator(), Some(ndpi::NdpiAllocator::Rust));
///     # drop(detector);
///     Ok(())
/// }
/// ```
pub fn use_rust_allocator() -> Result<(), Error> {
    let mut choice = CHOICE.lock().unwrap_or_else(PoisonError::into_inner);
    match *choice {
        Some(NdpiAllocator::Rust) => Ok(()),
        Some(NdpiAllocator::Libc) => Err(Error::AllocatorSettled),
        None => {
            // SAFETY: nDPI holds no memory yet (no module or global context was made: those
            // settle the choice first, under this lock, which we hold), so no pointer can go
            // back to an allocator other than its own. Every later nDPI allocation of any
            // thread comes after this lock is released (`settle`), so sees the hooks. The
            // functions match nDPI's prototypes.
            unsafe {
                sys::set_ndpi_malloc(Some(rust_malloc));
                sys::set_ndpi_free(Some(rust_free));
                sys::set_ndpi_flow_malloc(Some(rust_malloc));
                sys::set_ndpi_flow_free(Some(rust_flow_free));
            }
            *choice = Some(NdpiAllocator::Rust);
            Ok(())
        }
    }
}

/// The allocator nDPI uses; `None` while nothing settled it yet.
pub fn ndpi_allocator() -> Option<NdpiAllocator> {
    *CHOICE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Settles the choice (libc unless [`use_rust_allocator`] came first) before nDPI allocates:
/// called before a module or a global context is made.
pub(crate) fn settle() -> NdpiAllocator {
    let mut choice = CHOICE.lock().unwrap_or_else(PoisonError::into_inner);
    *choice.get_or_insert(NdpiAllocator::Libc)
}

/// The header before each block: its size, keeping the block aligned as `malloc`'s are.
const HEADER: usize = 16;
/// `malloc`'s alignment on the platforms nDPI runs on (`alignof(max_align_t)`).
const ALIGN: usize = 16;

/// nDPI's `malloc` hook: a block of Rust's global allocator, after a header with its size.
unsafe extern "C" fn rust_malloc(size: usize) -> *mut c_void {
    let Some(layout) = size
        .checked_add(HEADER)
        .and_then(|total| Layout::from_size_align(total, ALIGN).ok())
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout's size is at least HEADER, never 0.
    let base = unsafe { std::alloc::alloc(layout) };
    if base.is_null() {
        return base.cast();
    }
    // SAFETY: the block holds at least HEADER bytes, aligned to ALIGN (enough for a usize);
    // the caller's part starts after the header, still aligned to ALIGN.
    unsafe {
        base.cast::<usize>().write(layout.size());
        base.add(HEADER).cast()
    }
}

/// nDPI's `free` hook: gives a block of [`rust_malloc`] back.
unsafe extern "C" fn rust_free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` came from rust_malloc (nDPI frees what it allocated through the hooks, and
    // the hooks were installed before it allocated anything): the header before it holds the
    // size of the layout the block was allocated with.
    unsafe {
        let base = ptr.cast::<u8>().sub(HEADER);
        let size = base.cast::<usize>().read();
        std::alloc::dealloc(base, Layout::from_size_align_unchecked(size, ALIGN));
    }
}

/// nDPI's flow `free` hook, for `ndpi_flow_free`: what nDPI does without one (its
/// `ndpi_free_flow`: the flow's own allocations, then the struct, both through `ndpi_free`).
unsafe extern "C" fn rust_flow_free(ptr: *mut c_void) {
    // SAFETY: nDPI passes a flow it allocated with ndpi_flow_malloc, i.e. rust_malloc, which
    // ndpi_free_flow frees with ndpi_free, i.e. rust_free.
    unsafe { sys::ndpi_free_flow(ptr.cast()) }
}
