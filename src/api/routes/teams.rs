//! `GET /api/0/organizations/{org}/teams/`: the organization's teams (one, of its slug, which owns its
//! projects), for Grafana's "teams" variable.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::error::ApiResult;
use crate::api::json::organization::team_detail;
use crate::api::ApiState;
use crate::domain::accounts::Scope;
use crate::store::{organizations, projects};

pub async fn organization_teams(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    access.require(Scope::OrgRead)?;
    let members = organizations::count_members(&state.db, access.organization.id).await?;
    let mut listed = Vec::new();
    for team in organizations::list_teams(&state.db, access.organization.id).await? {
        let owned = projects::list_team_projects(&state.db, team.id).await?;
        listed.push(team_detail(&team, members, &owned));
    }
    Ok(Json(Value::Array(listed)))
}
