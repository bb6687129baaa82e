//! authhost's tables, created and versioned by authhost itself: the table
//! `authhost_schema` holds the version the database is at, each version
//! one step in [`STEPS`]. A new connection checks the version (one
//! query); a database at an older version is brought up to date under an
//! advisory lock held for one transaction (so concurrent first users do
//! not race, and a session pooler does no harm); one at a newer version
//! than this build knows is refused.
//!
//! Version 1:
//! - `authhost_namespaces`: per namespace, a value sealed with the store
//!   key, so a wrong key is found before anything is read or written;
//! - `authhost_credentials`: one row per (namespace, provider): what is
//!   not secret (kind, expiry, plugin, the entry with its secret fields
//!   blanked), the sealed entry, a version that every write increments
//!   (the fence of [`super::lease`]), and when it was written;
//! - `authhost_leases`: one row per (namespace, provider) that was ever
//!   renewed: the holder, its epoch, until when (the database's clock),
//!   and the last failure recorded for the processes that waited.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::connection::Target;
use crate::Error;

/// The statements that bring the schema from version N-1 to N, N = index + 1.
const STEPS: &[&str] = &["
CREATE TABLE authhost_namespaces (
    namespace text PRIMARY KEY,
    key_check bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE authhost_credentials (
    namespace text NOT NULL,
    provider text NOT NULL,
    kind text NOT NULL,
    expires bigint,
    plugin text,
    public jsonb NOT NULL,
    sealed bytea NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, provider)
);
CREATE TABLE authhost_leases (
    namespace text NOT NULL,
    provider text NOT NULL,
    holder text,
    epoch bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    failed_at timestamptz,
    failure_login boolean,
    failure_message text,
    PRIMARY KEY (namespace, provider)
);
"];

/// The schema version this build knows.
pub(super) const VERSION: i32 = STEPS.len() as i32;

/// The advisory lock key under which the schema is changed ("authhost").
const MIGRATION_LOCK: i64 = 0x6175_7468_686f_7374;

/// Checks the schema of the database `client` is connected to, bringing
/// it up to [`VERSION`] when it is older.
pub(super) async fn ensure(client: &mut Client, target: &Target) -> Result<(), Error> {
    match current(client).await {
        Ok(Some(version)) if version == VERSION => return Ok(()),
        Ok(Some(version)) if version > VERSION => return Err(too_new(target, version)),
        Ok(_) => {}
        Err(error) if error.code() == Some(&SqlState::UNDEFINED_TABLE) => {}
        Err(error) => return Err(target.failed("cannot read the schema version", &error)),
    }
    let failed = |error: tokio_postgres::Error| target.failed("cannot create the schema", &error);
    let tx = client.transaction().await.map_err(failed)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(failed)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS authhost_schema (version integer NOT NULL)")
        .await
        .map_err(failed)?;
    let row = tx
        .query_opt("SELECT max(version) FROM authhost_schema", &[])
        .await
        .map_err(failed)?;
    let at: i32 = row.and_then(|r| r.get::<_, Option<i32>>(0)).unwrap_or(0);
    if at > VERSION {
        return Err(too_new(target, at));
    }
    for (index, step) in STEPS.iter().enumerate().skip(at as usize) {
        tx.batch_execute(step).await.map_err(failed)?;
        let version = index as i32 + 1;
        tx.execute("DELETE FROM authhost_schema", &[])
            .await
            .map_err(failed)?;
        tx.execute(
            "INSERT INTO authhost_schema (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(failed)?;
        tracing::debug!(store = target.described(), version, "schema brought up");
    }
    tx.commit().await.map_err(failed)
}

/// The version the database is at; `None` for an empty version table.
async fn current(client: &Client) -> Result<Option<i32>, tokio_postgres::Error> {
    let row = client
        .query_typed_opt("SELECT max(version) FROM authhost_schema", &[])
        .await?;
    Ok(row.and_then(|r| r.get::<_, Option<i32>>(0)))
}

fn too_new(target: &Target, version: i32) -> Error {
    target.unavailable(format!(
        "its schema is at version {version}, newer than this authhost knows ({VERSION}): a newer authhost changed it; upgrade authhost on this machine"
    ))
}
