//! The async client for Kling video generation on the Scenario API.
//!
//! Not built yet: issue 5 ("`kling-client`: submit, wait, download, upload") fills this
//! crate. Until then, build requests with `kling-types` and send them with any HTTP stack.
