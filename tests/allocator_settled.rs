//! `use_rust_allocator` after nDPI started allocating is refused, and changes nothing: nDPI
//! keeps the allocator its memory came from. (Alone in its test binary: the choice is
//! process-wide.)

use ndpi::{Detector, Error, NdpiAllocator};

#[test]
fn the_allocator_cannot_change_once_ndpi_allocated() {
    assert_eq!(ndpi::ndpi_allocator(), None, "nothing settled it yet");
    let detector = Detector::new().unwrap();
    assert_eq!(ndpi::ndpi_allocator(), Some(NdpiAllocator::Libc));
    let late = ndpi::use_rust_allocator().unwrap_err();
    assert!(matches!(late, Error::AllocatorSettled), "{late:?}");
    assert!(
        late.to_string().contains("before the first detector"),
        "{late}"
    );
    // Still refused once the module is gone: memory of it may remain (nDPI's process-wide
    // statics), and belongs to libc.
    drop(detector);
    assert!(ndpi::use_rust_allocator().is_err());
    assert_eq!(ndpi::ndpi_allocator(), Some(NdpiAllocator::Libc));
    // nDPI goes on working with libc's allocator.
    let again = Detector::new().unwrap();
    assert!(again.protocol_count() > 100);
}
