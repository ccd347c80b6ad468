//! People in the lists: accounts, a session's registrants, a deployment's team and
//! coordinator, a contest entry's responsible adult.
//!
//! The tables hold personal fields as the events carry them, sealed with their person's
//! key (`rm_people`: whose, the ciphertexts); they are unsealed when a list is read, so an
//! erasure (the key shredded) holds in the read model at once, with nothing to rewrite:
//! an erased person reads « donnée effacée ». Each person shown is a nominative read,
//! logged in the vault's read log (except a caller reading themself).

use async_graphql::{Context, Error, SimpleObject};
use pharos_access::Actor;
use pharos_events::Role;
use pharos_events::contest::EntryEvent;
use pharos_events::phare::{DeploymentEvent, StaffPerson, TeamFunction};
use pharos_events::training::{Registrant, SessionEvent};
use pharos_events::user::UserEvent;
use pharos_eventstore::ProjectionError;
use pharos_privacy::{PersonId, Personal, Sealed};
use uuid::Uuid;

use crate::batch::{Batch, Value};
use crate::graphql::{internal, state};
use crate::projector::{ident, school_department};
use crate::tables::Generation;

/// The read model's name in the read log.
const PURPOSE: &str = "read-model";

/// What a row of `rm_people` is: the kinds of `kind`.
pub mod kind {
    pub const ACCOUNT: &str = "account";
    pub const REGISTRANT: &str = "registrant";
    pub const MEMBER: &str = "member";
    pub const COORDINATOR: &str = "coordinator";
    pub const RESPONSIBLE: &str = "responsible";
}

const UPSERT_PERSON: &str = "INSERT INTO rm_people (kind, subject, owner, person_id, display_name, \
     email, detail) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, subject) DO UPDATE \
     SET owner = excluded.owner, person_id = excluded.person_id, \
     display_name = excluded.display_name, email = excluded.email, detail = excluded.detail";

/// One person of a record, sealed.
struct Row<'a> {
    kind: &'static str,
    subject: String,
    owner: &'a str,
    display_name: &'a Sealed,
    email: &'a Sealed,
    detail: Option<String>,
}

async fn upsert(b: &mut Batch<'_, '_>, row: Row<'_>) -> Result<(), ProjectionError> {
    b.upsert(
        UPSERT_PERSON,
        vec![
            row.kind.into(),
            row.subject.into(),
            row.owner.into(),
            row.display_name.person.0.to_string().into(),
            (&row.display_name.sealed).into(),
            (&row.email.sealed).into(),
            Value::Text(row.detail),
        ],
    )
    .await
}

/// An account: its person, and what lists of accounts filter on (`rm_accounts`).
pub(crate) async fn user_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: &UserEvent,
) -> Result<(), ProjectionError> {
    match event {
        UserEvent::UserCreated {
            email,
            display_name,
            role,
            scope,
            ..
        } => {
            upsert(
                b,
                Row {
                    kind: kind::ACCOUNT,
                    subject: key.to_owned(),
                    owner: key,
                    display_name,
                    email,
                    detail: None,
                },
            )
            .await?;
            account_role(b, key, *role, scope.as_deref()).await?;
        }
        UserEvent::UserRoleChanged { role, scope } => {
            account_role(b, key, *role, scope.as_deref()).await?;
        }
        UserEvent::UserDeactivated { .. } => {
            b.execute(
                "UPDATE rm_accounts SET active = FALSE WHERE id = $1",
                vec![key.into()],
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// An account's role and scope, and the department it belongs to: a referent's own, a
/// school account's school's (as the lists know it when the account is created or
/// changed: schools are imported before their accounts).
async fn account_role(
    b: &mut Batch<'_, '_>,
    id: &str,
    role: Role,
    scope: Option<&str>,
) -> Result<(), ProjectionError> {
    let department = match (role, scope) {
        (Role::DepartmentReferent, Some(code)) => Some(code.to_owned()),
        (Role::School, Some(uai)) => school_department(b, uai).await?,
        _ => None,
    };
    // Not the upsert of a whole row: `active` stays as it is on a role change.
    b.execute(
        "INSERT INTO rm_accounts (id, role, scope, department, active) \
         VALUES ($1, $2, $3, $4, TRUE) ON CONFLICT (id) DO UPDATE SET role = excluded.role, \
         scope = excluded.scope, department = excluded.department",
        vec![
            id.into(),
            role.as_str().into(),
            Value::Text(scope.map(str::to_owned)),
            Value::Text(department),
        ],
    )
    .await
}

/// A session's registrants (their function as the detail).
pub(crate) async fn session_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: &SessionEvent,
) -> Result<(), ProjectionError> {
    if let SessionEvent::RegistrationConfirmed {
        registration_id,
        registrant,
        ..
    }
    | SessionEvent::RegistrationWaitlisted {
        registration_id,
        registrant,
        ..
    } = event
    {
        let Registrant {
            display_name,
            email,
            function,
            ..
        } = registrant;
        upsert(
            b,
            Row {
                kind: kind::REGISTRANT,
                subject: registration_id.to_string(),
                owner: key,
                display_name,
                email,
                detail: Some(function.clone()),
            },
        )
        .await?;
    }
    Ok(())
}

/// A deployment's team members (their function as the detail) and coordinator.
pub(crate) async fn deployment_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: &DeploymentEvent,
) -> Result<(), ProjectionError> {
    let function = |function: &TeamFunction, label: &Option<String>| {
        label.clone().unwrap_or_else(|| ident(function))
    };
    match event {
        DeploymentEvent::TeamMemberAdded(member) => {
            let StaffPerson {
                display_name,
                email,
            } = &member.person;
            upsert(
                b,
                Row {
                    kind: kind::MEMBER,
                    subject: member.member_id.to_string(),
                    owner: key,
                    display_name,
                    email,
                    detail: Some(function(&member.function, &member.function_label)),
                },
            )
            .await?;
        }
        DeploymentEvent::TeamMemberUpdated { member_id, details } => {
            b.execute(
                "UPDATE rm_people SET detail = $3 WHERE kind = $1 AND subject = $2",
                vec![
                    kind::MEMBER.into(),
                    member_id.to_string().into(),
                    function(&details.function, &details.function_label).into(),
                ],
            )
            .await?;
        }
        DeploymentEvent::TeamMemberRemoved { member_id } => {
            b.execute(
                "DELETE FROM rm_people WHERE kind = $1 AND subject = $2",
                vec![kind::MEMBER.into(), member_id.to_string().into()],
            )
            .await?;
        }
        DeploymentEvent::CoordinatorNamed { person, .. } => {
            upsert(
                b,
                Row {
                    kind: kind::COORDINATOR,
                    subject: key.to_owned(),
                    owner: key,
                    display_name: &person.display_name,
                    email: &person.email,
                    detail: None,
                },
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// A contest entry's responsible adult.
pub(crate) async fn entry_event(
    b: &mut Batch<'_, '_>,
    key: &str,
    event: &EntryEvent,
) -> Result<(), ProjectionError> {
    if let EntryEvent::EntryCreated { responsible, .. }
    | EntryEvent::ResponsibleChanged { responsible } = event
    {
        upsert(
            b,
            Row {
                kind: kind::RESPONSIBLE,
                subject: key.to_owned(),
                owner: key,
                display_name: &responsible.display_name,
                email: &responsible.email,
                detail: None,
            },
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Reading.

/// A person as a list shows them.
#[derive(SimpleObject, Clone, Debug)]
pub struct Person {
    /// L'identifiant de la personne.
    pub id: String,
    /// Son nom, ou « donnée effacée ».
    pub display_name: String,
    /// Son adresse électronique, ou « donnée effacée ».
    pub email: String,
    /// Ses données ont été effacées (droit à l'effacement ou durée de conservation
    /// écoulée).
    pub erased: bool,
}

/// The sealed columns of an `rm_people` row, as a query selects them
/// (`person_id, display_name, email`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedPerson {
    pub person_id: String,
    pub display_name: String,
    pub email: String,
}

/// Unseals `rows` with one vault lookup: each row's person (erased: « donnée effacée »;
/// a row naming no one reads as erased too), and the people shown other than `reader`
/// (their reads are to be logged).
async fn open_rows(
    vault: &pharos_privacy::Vault,
    rows: &[SealedPerson],
    reader: Uuid,
) -> Result<(Vec<Person>, Vec<PersonId>), pharos_privacy::PrivacyError> {
    let parsed: Vec<Option<(Sealed, Sealed)>> = rows
        .iter()
        .map(|p| {
            let person = PersonId(Uuid::parse_str(&p.person_id).ok()?);
            Some((
                Sealed {
                    person,
                    sealed: p.display_name.clone(),
                },
                Sealed {
                    person,
                    sealed: p.email.clone(),
                },
            ))
        })
        .collect();
    let sealed: Vec<&Sealed> = parsed
        .iter()
        .flatten()
        .flat_map(|(name, email)| [name, email])
        .collect();
    let mut values = if sealed.is_empty() {
        Vec::new().into_iter()
    } else {
        vault.unseal_all(&sealed).await?.into_iter()
    };
    let mut shown = Vec::new();
    let people = rows
        .iter()
        .zip(&parsed)
        .map(|(row, parsed)| {
            let (name, email) = match parsed {
                Some(_) => (
                    values.next().unwrap_or(Personal::Erased),
                    values.next().unwrap_or(Personal::Erased),
                ),
                None => (Personal::Erased, Personal::Erased),
            };
            let erased = matches!(name, Personal::Erased);
            if let (false, Some((sealed, _))) = (erased, parsed) {
                shown.push(sealed.person);
            }
            Person {
                id: row.person_id.clone(),
                display_name: name.to_string(),
                email: email.to_string(),
                erased,
            }
        })
        .collect();
    shown.sort_by_key(|p| p.0);
    shown.dedup();
    // Reading oneself is no one else's data.
    shown.retain(|p| p.0 != reader);
    Ok((people, shown))
}

/// Unseals `people` for the caller in the context, and logs a nominative read of each
/// one shown (one statement), through `what` (the GraphQL field).
pub(crate) async fn unseal(
    ctx: &Context<'_>,
    what: &str,
    people: &[SealedPerson],
) -> Result<Vec<Person>, Error> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let state = state(ctx)?;
    let actor = ctx.data::<Actor>()?;
    let (found, shown) = open_rows(&state.vault, people, actor.user_id)
        .await
        .map_err(internal)?;
    state
        .vault
        .log_reads(
            &actor.metadata(crate::NAME),
            &shown,
            &format!("POST /graphql {what}"),
            PURPOSE,
        )
        .await
        .map_err(internal)?;
    Ok(found)
}

/// Un compte de la plateforme.
#[derive(SimpleObject, Clone, Debug, sqlx::FromRow)]
#[graphql(complex)]
pub struct Account {
    id: String,
    /// `admin`, `pole_manager`, `department_referent`, `school`, `juror` ou `trainer`.
    role: String,
    /// Son périmètre : un département, un UAI ; absent pour un rôle académique.
    scope: Option<String>,
    /// Le département du compte (celui du référent, celui de l'établissement).
    department: Option<String>,
    /// Peut se connecter (désactivé sinon).
    active: bool,
}

#[async_graphql::ComplexObject]
impl Account {
    /// Le rôle, en français.
    async fn role_label(&self) -> String {
        Role::parse(&self.role).map_or_else(|_| self.role.clone(), |r| r.label().to_owned())
    }
    /// Son titulaire : nom et adresse, ou « donnée effacée » (lecture nominative
    /// consignée).
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>, Error> {
        one(ctx, kind::ACCOUNT, &self.id).await
    }
}

/// The accounts the caller sees: all for the pole and administrators, those of their
/// departments for a referent (referents and schools), a school's own; by role, then id.
pub(crate) async fn accounts(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    role: Option<String>,
    department: Option<String>,
    include_inactive: bool,
) -> Result<crate::graphql::Page<Account>, Error> {
    let seen = crate::graphql::visibility(ctx)?;
    let mut filter = crate::sql::Filter::default();
    if !seen.all {
        filter.any_of(&[("department", &seen.departments), ("scope", &seen.schools)]);
    }
    filter.eq("role", role);
    filter.eq("department", department);
    if !include_inactive {
        filter.raw("active = TRUE");
    }
    crate::graphql::connection(
        crate::graphql::tables(ctx)?,
        "id, role, scope, department, active",
        "rm_accounts",
        &filter,
        "role, id",
        crate::graphql::page(first, after)?,
        |a: Account| a,
    )
    .await
}

/// Une personne inscrite à une session.
#[derive(SimpleObject, Clone, Debug)]
pub struct SessionRegistrant {
    registration_id: String,
    /// `confirmed`, `waitlisted` ou `withdrawn`.
    status: String,
    /// Son établissement, s'il est connu.
    school_uai: Option<String>,
    /// Sa fonction (« CPE », « professeure de SVT »).
    function: String,
    /// La personne (lecture nominative consignée).
    person: Person,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct RegistrantRow {
    subject: String,
    detail: Option<String>,
    status: String,
    school_uai: Option<String>,
    #[sqlx(flatten)]
    sealed: SealedPerson,
}

/// A session's registrants: all of them for the pole and the referents of the
/// session's department, a school's own staff for a school; by status then
/// registration.
pub(crate) async fn registrants(
    ctx: &Context<'_>,
    session_id: &str,
    department: Option<&str>,
) -> Result<Vec<SessionRegistrant>, Error> {
    let seen = crate::graphql::visibility(ctx)?;
    let (state, g) = crate::graphql::tables(ctx)?;
    let mut filter = crate::sql::Filter::default();
    filter.eq("p.owner", Some(session_id.to_owned()));
    filter.eq("p.kind", Some(kind::REGISTRANT.to_owned()));
    let whole = seen.all || department.is_some_and(|d| seen.departments.iter().any(|s| s == d));
    if !whole {
        filter.any_of(&[("r.school_uai", &seen.schools)]);
    }
    let found: Vec<RegistrantRow> = crate::sql::rows(
        &state.app.store.db(),
        g,
        &format!(
            "SELECT p.subject, p.detail, r.status, r.school_uai, p.person_id, p.display_name, \
             p.email FROM rm_people p JOIN rm_registrations r ON r.id = p.subject{} \
             ORDER BY r.status, p.subject",
            filter.sql()
        ),
        &filter.binds,
    )
    .await
    .map_err(internal)?;
    let sealed: Vec<SealedPerson> = found.iter().map(|r| r.sealed.clone()).collect();
    let people = unseal(ctx, "session.registrants", &sealed).await?;
    Ok(found
        .into_iter()
        .zip(people)
        .map(|(row, person)| SessionRegistrant {
            registration_id: row.subject,
            status: row.status,
            school_uai: row.school_uai,
            function: row.detail.unwrap_or_default(),
            person,
        })
        .collect())
}

/// Un membre de l'équipe ressource d'un déploiement.
#[derive(SimpleObject, Clone, Debug)]
pub struct TeamMember {
    member_id: String,
    /// Sa fonction (`enseignant`, `cpe`… ou le libellé d'une autre fonction).
    function: String,
    /// Déclaré formé.
    trained: bool,
    /// Formé à la méthode de la préoccupation partagée.
    mpp_trained: bool,
    /// La personne (lecture nominative consignée).
    person: Person,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct MemberRow {
    subject: String,
    detail: Option<String>,
    trained: Option<bool>,
    mpp_trained: Option<bool>,
    #[sqlx(flatten)]
    sealed: SealedPerson,
}

/// A deployment's team (whoever sees the deployment sees its team, as its page does).
pub(crate) async fn team(ctx: &Context<'_>, deployment_id: &str) -> Result<Vec<TeamMember>, Error> {
    let (state, g) = crate::graphql::tables(ctx)?;
    let found: Vec<MemberRow> = crate::sql::rows(
        &state.app.store.db(),
        g,
        "SELECT p.subject, p.detail, t.trained, t.mpp_trained, p.person_id, p.display_name, \
         p.email FROM rm_people p LEFT JOIN rm_team_members t ON t.id = p.subject \
         WHERE p.owner = $1 AND p.kind = 'member' ORDER BY p.subject",
        &[deployment_id.to_owned()],
    )
    .await
    .map_err(internal)?;
    let sealed: Vec<SealedPerson> = found.iter().map(|r| r.sealed.clone()).collect();
    let people = unseal(ctx, "deployment.team", &sealed).await?;
    Ok(found
        .into_iter()
        .zip(people)
        .map(|(row, person)| TeamMember {
            member_id: row.subject,
            function: row.detail.unwrap_or_default(),
            trained: row.trained.unwrap_or(false),
            mpp_trained: row.mpp_trained.unwrap_or(false),
            person,
        })
        .collect())
}

/// The one person of `kind` attached to `owner` (a deployment's coordinator, an entry's
/// responsible adult), if any: batched over the page ([`PeopleLoader`]).
pub(crate) async fn one(
    ctx: &Context<'_>,
    kind: &'static str,
    owner: &str,
) -> Result<Option<Person>, Error> {
    ctx.data::<async_graphql::dataloader::DataLoader<PeopleLoader>>()?
        .load_one(OneOf {
            kind,
            owner: owner.to_owned(),
        })
        .await
        .map_err(internal)
}

/// A person by id, batched over the page ([`PeopleLoader`]).
pub(crate) async fn by_id(ctx: &Context<'_>, id: &str) -> Result<Person, Error> {
    let found = ctx
        .data::<async_graphql::dataloader::DataLoader<PeopleLoader>>()?
        .load_one(ById(id.to_owned()))
        .await
        .map_err(internal)?;
    Ok(found.unwrap_or_else(|| Person {
        id: id.to_owned(),
        display_name: pharos_privacy::ERASED_LABEL.to_owned(),
        email: pharos_privacy::ERASED_LABEL.to_owned(),
        erased: true,
    }))
}

/// A person by id (a reminder's recipient: any row naming them holds their sealed
/// fields, one key opens them all).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ById(pub String);

/// The one person of a kind attached to a record (a deployment's coordinator, an
/// entry's responsible adult).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OneOf {
    pub kind: &'static str,
    pub owner: String,
}

/// People of a page in one query, one unsealing and one read-log statement, whatever
/// the number of rows asking (a page of reminders, of entries). Built per request, with
/// its caller (a loader cannot read the request's context).
pub struct PeopleLoader {
    db: pharos_eventstore::Db,
    generation: Generation,
    vault: std::sync::Arc<pharos_privacy::Vault>,
    reader: pharos_eventstore::Metadata,
    reader_id: Uuid,
}

impl PeopleLoader {
    pub fn for_request(
        state: &pharos_access::TargetState,
        actor: &Actor,
        generation: Generation,
    ) -> async_graphql::dataloader::DataLoader<Self> {
        async_graphql::dataloader::DataLoader::new(
            Self {
                db: state.app.store.db(),
                generation,
                vault: state.vault.clone(),
                reader: actor.metadata(crate::NAME),
                reader_id: actor.user_id,
            },
            tokio::spawn,
        )
        .max_batch_size(500)
    }

    /// Unseals rows and logs the reads of those shown, through `what`.
    async fn open(
        &self,
        what: &str,
        rows: &[SealedPerson],
    ) -> Result<Vec<Person>, std::sync::Arc<pharos_privacy::PrivacyError>> {
        let (people, shown) = open_rows(&self.vault, rows, self.reader_id)
            .await
            .map_err(std::sync::Arc::new)?;
        self.vault
            .log_reads(
                &self.reader,
                &shown,
                &format!("POST /graphql {what}"),
                PURPOSE,
            )
            .await
            .map_err(std::sync::Arc::new)?;
        Ok(people)
    }
}

#[derive(sqlx::FromRow)]
struct KeyedRow {
    key: String,
    #[sqlx(flatten)]
    sealed: SealedPerson,
}

fn database(e: sqlx::Error) -> std::sync::Arc<pharos_privacy::PrivacyError> {
    std::sync::Arc::new(pharos_privacy::PrivacyError::Database(e))
}

impl async_graphql::dataloader::Loader<ById> for PeopleLoader {
    type Value = Person;
    type Error = std::sync::Arc<pharos_privacy::PrivacyError>;

    async fn load(
        &self,
        keys: &[ById],
    ) -> Result<std::collections::HashMap<ById, Person>, Self::Error> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let mut filter = crate::sql::Filter::default();
        filter.any_of(&[("person_id", &ids)]);
        // One row per person (any of theirs: one key opens them all).
        let found: Vec<KeyedRow> = crate::sql::rows(
            &self.db,
            self.generation,
            &format!(
                "SELECT person_id AS key, person_id, MIN(display_name) AS display_name, \
                 MIN(email) AS email FROM rm_people{} GROUP BY person_id",
                filter.sql()
            ),
            &filter.binds,
        )
        .await
        .map_err(database)?;
        let mut by_id: std::collections::HashMap<String, SealedPerson> =
            found.into_iter().map(|r| (r.key, r.sealed)).collect();
        // Someone no row names reads as erased (nothing is known of them here).
        let rows: Vec<SealedPerson> = ids
            .iter()
            .map(|id| {
                by_id.remove(id).unwrap_or(SealedPerson {
                    person_id: String::new(),
                    display_name: String::new(),
                    email: String::new(),
                })
            })
            .collect();
        let people = self.open("reminders.recipient", &rows).await?;
        Ok(keys
            .iter()
            .cloned()
            .zip(people)
            .map(|(key, mut person)| {
                person.id.clone_from(&key.0);
                (key, person)
            })
            .collect())
    }
}

impl async_graphql::dataloader::Loader<OneOf> for PeopleLoader {
    type Value = Person;
    type Error = std::sync::Arc<pharos_privacy::PrivacyError>;

    async fn load(
        &self,
        keys: &[OneOf],
    ) -> Result<std::collections::HashMap<OneOf, Person>, Self::Error> {
        let mut found = std::collections::HashMap::new();
        let mut kinds: Vec<&'static str> = keys.iter().map(|k| k.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            let owners: Vec<String> = keys
                .iter()
                .filter(|k| k.kind == kind)
                .map(|k| k.owner.clone())
                .collect();
            let mut filter = crate::sql::Filter::default();
            filter.eq("kind", Some(kind.to_owned()));
            filter.any_of(&[("owner", &owners)]);
            let rows: Vec<KeyedRow> = crate::sql::rows(
                &self.db,
                self.generation,
                &format!(
                    "SELECT owner AS key, person_id, display_name, email FROM rm_people{}",
                    filter.sql()
                ),
                &filter.binds,
            )
            .await
            .map_err(database)?;
            let sealed: Vec<SealedPerson> = rows.iter().map(|r| r.sealed.clone()).collect();
            let what = match kind {
                kind::ACCOUNT => "users.person",
                kind::COORDINATOR => "deployments.coordinatorPerson",
                kind::RESPONSIBLE => "entries.responsible",
                other => other,
            };
            let people = self.open(what, &sealed).await?;
            for (row, person) in rows.into_iter().zip(people) {
                found.insert(
                    OneOf {
                        kind,
                        owner: row.key,
                    },
                    person,
                );
            }
        }
        Ok(found)
    }
}
