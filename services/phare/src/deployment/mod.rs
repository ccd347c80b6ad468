//! pHARe deployments (category `phare_deployment`): per school, or per circonscription
//! for the resource team of primary schools, and per school year.
//!
//! - [`decider`]: the aggregate (state, commands, rules), pure;
//! - [`http`]: the routes, their request and answer shapes, and who may use them.

pub mod decider;
pub mod http;

pub use decider::{Deployment, DeploymentCommand, DeploymentState, deployment_id};
