//! `tailgrant schema`.

use super::{fail, Status};

/// Prints the JSON Schema of the policy file.
pub fn run() -> Status {
    match serde_json::to_string_pretty(&tailgrant::tools::schema::policy_schema()) {
        Ok(s) => {
            outln!("{s}");
            Status::Clean
        }
        Err(e) => fail(&format!("cannot encode the schema: {e}")),
    }
}
