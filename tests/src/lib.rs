//! The workspace's test binary (one binary links faster than many on two cores).
//!
//! - `codegen`: the generator's output for every schema, its refusals, and freshness.
//! - `wire`: the JSON that requests put on the wire and the validation users see.
//! - `agreement`: the generated types and `validate()` accept exactly what an
//!   independent JSON Schema validator accepts.
//! - `import`: `cargo xtask import-model`, rule by rule, and the round trip from a
//!   model's API description back to a schema that accepts the same requests.
//! - `sandbox`: every endpoint and every fault of `kling-sandbox`, over real HTTP.
//! - `board`: `JobBoard`, many jobs waited for with one job-list request per tick.
//! - `client`: `kling-client` against the sandbox, through every fault it can inject:
//!   the outcome, and that nothing was lost (no second paid job, no half file).
//! - `messages`: the error messages users read, for a table of server answers.
//! - `stand_in`: servers for answers the sandbox cannot give (a rewriting proxy in
//!   front of a sandbox, raw canned answers).
//!
//! The fixture models under `fixtures/schemas/` are generated into
//! `src/fixtures/generated/` by `cargo xtask codegen` and compiled here.

#[rustfmt::skip]
pub mod fixtures {
    //! Generated code of the fixture schemas (`cargo xtask codegen`).
    pub mod generated;
}

#[cfg(test)]
mod agreement;
#[cfg(test)]
mod board;
#[cfg(test)]
mod client;
#[cfg(test)]
mod codegen;
#[cfg(test)]
mod import;
#[cfg(test)]
mod messages;
#[cfg(test)]
mod sandbox;
#[cfg(test)]
mod schema_diff;
#[cfg(test)]
mod stand_in;
#[cfg(test)]
mod support;
#[cfg(test)]
mod wire;
