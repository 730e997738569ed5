//! Byte-exact compatibility with transactions made by near-api-js 7.2.0.

mod vectors;
