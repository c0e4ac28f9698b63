//! `tailgrant schema`.

use super::{fail, Status};
use tailgrant::model::Dialect;

/// Prints the JSON Schema of the policy file as `dialect` reads it.
pub fn run(dialect: Dialect) -> Status {
    match serde_json::to_string_pretty(&tailgrant::tools::schema::policy_schema_in(dialect)) {
        Ok(s) => {
            outln!("{s}");
            Status::Clean
        }
        Err(e) => fail(&format!("cannot encode the schema: {e}")),
    }
}
