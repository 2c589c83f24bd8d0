//! Small helpers every stage may use; they know nothing of appliances, rules or evidence.

pub mod bytes;
pub mod glob;
pub(crate) mod os;
pub mod version;
