//! Integration tests of the `classify` example, in one test binary so that the example is
//! built once (see `common::classify_bin`).

mod checks;
mod cli;
mod common;
mod ipfix;
mod live;
mod reference;
mod replay;
mod threads;
