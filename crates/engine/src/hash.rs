//! The engine's lookup tables hash with rustc-hash's Fx hasher: the keys are short (ConnIDs,
//! CallUUIDs, sequence numbers), hashed once or twice per event, and SipHash's DoS
//! protection buys nothing for a log the user already trusts. The tables are only looked up,
//! never iterated into output, so the hasher cannot make results order-dependent.

pub use rustc_hash::FxHashMap;
