//! The statements that write an entry: as it comes (a login, a key
//! pasted), or fenced by the renewal lease this process holds (see
//! [`super::lease`]).

use std::sync::Arc;

use tokio_postgres::types::{ToSql, Type};

use super::Fence;

/// The columns of one write.
#[derive(Clone, Copy)]
pub(super) struct Columns<'a> {
    pub ns: &'a str,
    pub provider: &'a str,
    pub kind: &'a str,
    pub expires: Option<i64>,
    pub plugin: Option<&'a str>,
    pub public: &'a str,
    pub sealed: &'a [u8],
}

impl Columns<'_> {
    fn params(&self) -> [(&(dyn ToSql + Sync), Type); 7] {
        [
            (&self.ns, Type::TEXT),
            (&self.provider, Type::TEXT),
            (&self.kind, Type::TEXT),
            (&self.expires, Type::INT8),
            (&self.plugin, Type::TEXT),
            (&self.public, Type::TEXT),
            (&self.sealed, Type::BYTEA),
        ]
    }

    /// Writes whatever is there (a login, a logout's opposite); returns
    /// whether there was an entry.
    pub async fn upsert(
        self,
        client: Arc<tokio_postgres::Client>,
    ) -> Result<bool, tokio_postgres::Error> {
        let row = client
            .query_typed_one(
                "INSERT INTO authhost_credentials AS c
                   (namespace, provider, kind, expires, plugin, public, sealed)
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7)
                 ON CONFLICT (namespace, provider) DO UPDATE SET
                   kind = EXCLUDED.kind, expires = EXCLUDED.expires, plugin = EXCLUDED.plugin,
                   public = EXCLUDED.public, sealed = EXCLUDED.sealed,
                   version = c.version + 1, updated_at = now()
                 RETURNING (xmax <> 0)",
                &self.params(),
            )
            .await?;
        Ok(row.get(0))
    }

    /// Writes only while `fence`'s lease is held and the entry is still the
    /// version read under it; returns the new version, `None` when the
    /// write was refused.
    pub async fn fenced(
        self,
        client: Arc<tokio_postgres::Client>,
        fence: &Fence,
    ) -> Result<Option<i64>, tokio_postgres::Error> {
        let mut params: Vec<(&(dyn ToSql + Sync), Type)> = self.params().to_vec();
        params.push((&fence.holder, Type::TEXT));
        params.push((&fence.version, Type::INT8));
        let lease_held = "EXISTS (SELECT 1 FROM authhost_leases l
               WHERE l.namespace = $1 AND l.provider = $2 AND l.holder = $8 AND l.expires_at > now())";
        let sql = if fence.version.is_some() {
            format!(
                "UPDATE authhost_credentials SET
                   kind = $3, expires = $4, plugin = $5, public = $6::text::jsonb, sealed = $7,
                   version = version + 1, updated_at = now()
                 WHERE namespace = $1 AND provider = $2 AND version = $9 AND {lease_held}
                 RETURNING version"
            )
        } else {
            format!(
                "INSERT INTO authhost_credentials (namespace, provider, kind, expires, plugin, public, sealed)
                 SELECT $1, $2, $3, $4, $5, $6::text::jsonb, $7 WHERE $9::int8 IS NULL AND {lease_held}
                 ON CONFLICT (namespace, provider) DO NOTHING
                 RETURNING version"
            )
        };
        let rows = client.query_typed(&sql, &params).await?;
        Ok(rows.first().map(|row| row.get(0)))
    }
}
