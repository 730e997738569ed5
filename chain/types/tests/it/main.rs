//! Byte-exact compatibility with transactions made by near-api-js 7.2.0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

mod fuzz_decode;
mod vectors;
