//! A local stand-in of the Scenario API, with fault injection, for tests, benchmarks and
//! first tries without keys.
//!
//! Not built yet: issue 4 ("`kling-sandbox`") fills this crate.
