//! Rust forms of nDPI's function-like protocol-bitmask macros (`ndpi_define.h`), which bindgen
//! cannot translate.

use crate::{ndpi_ndpi_mask, NDPI_NUM_BITS_MASK, NDPI_PROTOCOL_BITMASK};

/// Bits per bitmask word (`NDPI_BITS`).
const WORD_BITS: u32 = ndpi_ndpi_mask::BITS;

fn word_and_bit(protocol: u32) -> (usize, ndpi_ndpi_mask) {
    let n = protocol & NDPI_NUM_BITS_MASK;
    ((n / WORD_BITS) as usize, 1 << (n % WORD_BITS))
}

/// `NDPI_BITMASK_SET_ALL`: every protocol enabled.
pub fn bitmask_set_all(mask: &mut NDPI_PROTOCOL_BITMASK) {
    mask.fds_bits.fill(ndpi_ndpi_mask::MAX);
}

/// `NDPI_BITMASK_RESET`: no protocol enabled.
pub fn bitmask_reset(mask: &mut NDPI_PROTOCOL_BITMASK) {
    mask.fds_bits.fill(0);
}

/// `NDPI_ADD_PROTOCOL_TO_BITMASK`.
pub fn bitmask_add(mask: &mut NDPI_PROTOCOL_BITMASK, protocol: u32) {
    let (word, bit) = word_and_bit(protocol);
    mask.fds_bits[word] |= bit;
}

/// `NDPI_DEL_PROTOCOL_FROM_BITMASK`.
pub fn bitmask_del(mask: &mut NDPI_PROTOCOL_BITMASK, protocol: u32) {
    let (word, bit) = word_and_bit(protocol);
    mask.fds_bits[word] &= !bit;
}

/// `NDPI_COMPARE_PROTOCOL_TO_BITMASK`: whether `protocol` is enabled.
pub fn bitmask_contains(mask: &NDPI_PROTOCOL_BITMASK, protocol: u32) -> bool {
    let (word, bit) = word_and_bit(protocol);
    mask.fds_bits[word] & bit != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_del_contains_round_trip() {
        let mut mask = NDPI_PROTOCOL_BITMASK::default();
        assert!(!bitmask_contains(&mask, 7));
        bitmask_add(&mut mask, 7);
        bitmask_add(&mut mask, 188);
        assert!(bitmask_contains(&mask, 7) && bitmask_contains(&mask, 188));
        assert!(!bitmask_contains(&mask, 8) && !bitmask_contains(&mask, 187));
        assert_eq!(
            mask.fds_bits[0],
            1 << 7,
            "protocol 7 is bit 7 of word 0, as NDPI_SET puts it"
        );
        bitmask_del(&mut mask, 7);
        assert!(!bitmask_contains(&mask, 7) && bitmask_contains(&mask, 188));
        bitmask_set_all(&mut mask);
        assert!(mask.fds_bits.iter().all(|w| *w == u32::MAX));
        bitmask_reset(&mut mask);
        assert!(mask.fds_bits.iter().all(|w| *w == 0));
    }
}
