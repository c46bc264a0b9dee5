//! The embedded store: one SQLite file (`store.sqlite3`) in the local data folder.
//!
//! Used by `ltictl serve` and `ltictl --data-dir`, so the product runs with no AWS account.
//! SQLite (through `rusqlite`, with the library bundled) is used rather than a single-process
//! database because an operator runs `ltictl platform add` in one terminal while `ltictl serve`
//! runs in another: WAL mode and a busy timeout let both use the file at once.
//!
//! Each record is a JSON body next to the columns it is looked up by. Uniqueness rules are
//! primary keys, so "create" is one `INSERT` that fails on a duplicate, and the expiring-item
//! operations are single statements (`INSERT … ON CONFLICT … WHERE expired`,
//! `DELETE … RETURNING`), atomic without explicit transactions.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::adapters::store::{from_unix_millis, sort_attempts, sort_registrations, unix_millis};
use crate::domain::ids::{ClientId, ConsumerKey, ContextId, Issuer, ResourceLinkId, UserId};
use crate::domain::model::{
    Attempt, AttemptKey, Consumer, Context, PlatformScope, Registration, ResourceLink, User,
};
use crate::domain::record_key::scope_key;
use crate::ports::{
    ConsumerRegistry, Created, ExpiringItems, ItemKind, LaunchRecords, LiveItem, NewItem,
    PlatformRegistry, StoreError,
};

mod catalog;
mod lifecycle;
mod outbox;

/// The file name of the database inside the data folder.
pub const DATABASE_FILE: &str = "store.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS platforms (
    issuer TEXT NOT NULL, client_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (issuer, client_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumers (
    consumer_key TEXT NOT NULL PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
    scope TEXT NOT NULL, user_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (scope, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contexts (
    scope TEXT NOT NULL, context_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (scope, context_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resource_links (
    scope TEXT NOT NULL, resource_link_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (scope, resource_link_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts (
    scope TEXT NOT NULL, resource_link_id TEXT NOT NULL, user_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL, context_id TEXT, body TEXT NOT NULL,
    PRIMARY KEY (scope, resource_link_id, user_id, attempt_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS attempts_by_context_user
    ON attempts (scope, context_id, user_id, attempt_id);
CREATE TABLE IF NOT EXISTS items (
    kind TEXT NOT NULL, item_key TEXT NOT NULL, value TEXT NOT NULL, expires_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, item_key)) WITHOUT ROWID;
";

/// One statement: insert, or overwrite only an expired item.
const CREATE_IF_ABSENT: &str = "INSERT INTO items (kind, item_key, value, expires_ms)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (kind, item_key) DO UPDATE
     SET value = excluded.value, expires_ms = excluded.expires_ms
     WHERE items.expires_ms <= ?5";

/// The SQLite-backed store. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`. The folder is created owner-only,
    /// because it holds students' data.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        crate::adapters::keystore::file::create_private_dir(dir)?;
        let path = dir.join(DATABASE_FILE);
        let fail = |e: rusqlite::Error| {
            StoreError::unavailable(
                format!(
                    "cannot open the data store {}: check that the folder is writable",
                    path.display()
                ),
                e,
            )
        };
        let conn = Connection::open(&path).map_err(fail)?;
        // Owner-only before anything is written: SQLite gives the WAL and shared-memory files
        // the database file's permissions.
        crate::adapters::keystore::file::make_private(&path, 0o600)?;
        for companion in ["-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(companion);
            let companion = PathBuf::from(name);
            if companion.exists() {
                crate::adapters::keystore::file::make_private(&companion, 0o600)?;
            }
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        conn.execute_batch(outbox::SCHEMA).map_err(fail)?;
        conn.execute_batch(catalog::SCHEMA).map_err(fail)?;
        conn.execute_batch(lifecycle::SCHEMA).map_err(fail)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: Arc::new(path),
        })
    }

    /// Runs `work` on the connection, in place. A statement on a local SQLite file takes a few
    /// microseconds, less than handing it to a blocking thread costs (measured by the `verify`
    /// benchmark); a write lock held by another process is waited for up to the busy timeout.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError>,
    {
        let guard = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        work(&guard)
    }

    fn sql_error(&self) -> impl Fn(rusqlite::Error) -> StoreError + Send + Clone + 'static {
        let path = Arc::clone(&self.path);
        move |e| {
            StoreError::unavailable(
                format!("the data store {} could not be used", path.display()),
                e,
            )
        }
    }

    /// Runs one statement that must change exactly one row; a constraint violation becomes
    /// `AlreadyExists(what)` and zero rows `NotFound(what)`.
    async fn write_one(
        &self,
        what: String,
        sql: &'static str,
        args: Vec<Option<String>>,
    ) -> Result<(), StoreError> {
        let fail = self.sql_error();
        self.run(move |conn| {
            match conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(args.iter())))
            {
                Ok(1) => Ok(()),
                Ok(_) => Err(StoreError::NotFound(what)),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::AlreadyExists(what))
                }
                Err(e) => Err(fail(e)),
            }
        })
        .await
    }

    /// Reads the JSON bodies a query returns.
    async fn read_bodies<T: DeserializeOwned + Send + 'static>(
        &self,
        sql: &'static str,
        args: Vec<String>,
    ) -> Result<Vec<T>, StoreError> {
        let fail = self.sql_error();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(sql).map_err(&fail)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), |row| {
                    row.get::<_, String>(0)
                })
                .map_err(&fail)?;
            let mut out = Vec::new();
            for body in rows {
                out.push(decode(&body.map_err(&fail)?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn read_body<T: DeserializeOwned + Send + 'static>(
        &self,
        sql: &'static str,
        args: Vec<String>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.read_bodies(sql, args).await?.into_iter().next())
    }
}

/// Runs one statement through the connection's statement cache.
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// Reads one row through the connection's statement cache.
fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, row)
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn platform_label(issuer: &Issuer, client_id: &ClientId) -> String {
    format!("platform {issuer} with client id {client_id}")
}

#[async_trait]
impl PlatformRegistry for EmbeddedStore {
    async fn add_platform(&self, registration: &Registration) -> Result<(), StoreError> {
        let args = vec![
            Some(registration.issuer.to_string()),
            Some(registration.client_id.to_string()),
            Some(encode(registration)?),
        ];
        self.write_one(
            platform_label(&registration.issuer, &registration.client_id),
            "INSERT INTO platforms (issuer, client_id, body) VALUES (?1, ?2, ?3)",
            args,
        )
        .await
    }

    async fn update_platform(&self, registration: &Registration) -> Result<(), StoreError> {
        let args = vec![
            Some(registration.issuer.to_string()),
            Some(registration.client_id.to_string()),
            Some(encode(registration)?),
        ];
        self.write_one(
            platform_label(&registration.issuer, &registration.client_id),
            "UPDATE platforms SET body = ?3 WHERE issuer = ?1 AND client_id = ?2",
            args,
        )
        .await
    }

    async fn platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<Option<Registration>, StoreError> {
        self.read_body(
            "SELECT body FROM platforms WHERE issuer = ?1 AND client_id = ?2",
            vec![issuer.to_string(), client_id.to_string()],
        )
        .await
    }

    async fn platforms_of_issuer(&self, issuer: &Issuer) -> Result<Vec<Registration>, StoreError> {
        let mut list = self
            .read_bodies(
                "SELECT body FROM platforms WHERE issuer = ?1",
                vec![issuer.to_string()],
            )
            .await?;
        sort_registrations(&mut list);
        Ok(list)
    }

    async fn platforms(&self) -> Result<Vec<Registration>, StoreError> {
        let mut list = self
            .read_bodies("SELECT body FROM platforms", Vec::new())
            .await?;
        sort_registrations(&mut list);
        Ok(list)
    }

    async fn remove_platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<(), StoreError> {
        self.write_one(
            platform_label(issuer, client_id),
            "DELETE FROM platforms WHERE issuer = ?1 AND client_id = ?2",
            vec![Some(issuer.to_string()), Some(client_id.to_string())],
        )
        .await
    }
}

#[async_trait]
impl ConsumerRegistry for EmbeddedStore {
    async fn add_consumer(&self, consumer: &Consumer) -> Result<(), StoreError> {
        self.write_one(
            format!("consumer {}", consumer.key),
            "INSERT INTO consumers (consumer_key, body) VALUES (?1, ?2)",
            vec![Some(consumer.key.to_string()), Some(encode(consumer)?)],
        )
        .await
    }

    async fn consumer(&self, key: &ConsumerKey) -> Result<Option<Consumer>, StoreError> {
        self.read_body(
            "SELECT body FROM consumers WHERE consumer_key = ?1",
            vec![key.to_string()],
        )
        .await
    }

    async fn consumers(&self) -> Result<Vec<Consumer>, StoreError> {
        let mut list: Vec<Consumer> = self
            .read_bodies("SELECT body FROM consumers", Vec::new())
            .await?;
        list.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(list)
    }

    async fn remove_consumer(&self, key: &ConsumerKey) -> Result<(), StoreError> {
        self.write_one(
            format!("consumer {key}"),
            "DELETE FROM consumers WHERE consumer_key = ?1",
            vec![Some(key.to_string())],
        )
        .await
    }
}

#[async_trait]
impl LaunchRecords for EmbeddedStore {
    async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.write_one(
            format!("user {}", user.user_id),
            "INSERT OR REPLACE INTO users (scope, user_id, body) VALUES (?1, ?2, ?3)",
            vec![
                Some(scope_key(&user.scope)),
                Some(user.user_id.to_string()),
                Some(encode(user)?),
            ],
        )
        .await
    }

    async fn user(&self, scope: &PlatformScope, id: &UserId) -> Result<Option<User>, StoreError> {
        self.read_body(
            "SELECT body FROM users WHERE scope = ?1 AND user_id = ?2",
            vec![scope_key(scope), id.to_string()],
        )
        .await
    }

    async fn put_context(&self, context: &Context) -> Result<(), StoreError> {
        self.write_one(
            format!("context {}", context.context_id),
            "INSERT OR REPLACE INTO contexts (scope, context_id, body) VALUES (?1, ?2, ?3)",
            vec![
                Some(scope_key(&context.scope)),
                Some(context.context_id.to_string()),
                Some(encode(context)?),
            ],
        )
        .await
    }

    async fn context(
        &self,
        scope: &PlatformScope,
        id: &ContextId,
    ) -> Result<Option<Context>, StoreError> {
        self.read_body(
            "SELECT body FROM contexts WHERE scope = ?1 AND context_id = ?2",
            vec![scope_key(scope), id.to_string()],
        )
        .await
    }

    async fn put_resource_link(&self, link: &ResourceLink) -> Result<(), StoreError> {
        self.write_one(
            format!("resource link {}", link.resource_link_id),
            "INSERT OR REPLACE INTO resource_links (scope, resource_link_id, body)
             VALUES (?1, ?2, ?3)",
            vec![
                Some(scope_key(&link.scope)),
                Some(link.resource_link_id.to_string()),
                Some(encode(link)?),
            ],
        )
        .await
    }

    async fn resource_link(
        &self,
        scope: &PlatformScope,
        id: &ResourceLinkId,
    ) -> Result<Option<ResourceLink>, StoreError> {
        self.read_body(
            "SELECT body FROM resource_links WHERE scope = ?1 AND resource_link_id = ?2",
            vec![scope_key(scope), id.to_string()],
        )
        .await
    }

    async fn create_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        self.write_one(
            format!("attempt {}", attempt.key.attempt_id),
            "INSERT INTO attempts
             (scope, resource_link_id, user_id, attempt_id, context_id, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            attempt_args(attempt)?,
        )
        .await
    }

    async fn update_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        self.write_one(
            format!("attempt {}", attempt.key.attempt_id),
            "UPDATE attempts SET context_id = ?5, body = ?6
             WHERE scope = ?1 AND resource_link_id = ?2 AND user_id = ?3 AND attempt_id = ?4",
            attempt_args(attempt)?,
        )
        .await
    }

    async fn attempt(&self, key: &AttemptKey) -> Result<Option<Attempt>, StoreError> {
        self.read_body(
            "SELECT body FROM attempts
             WHERE scope = ?1 AND resource_link_id = ?2 AND user_id = ?3 AND attempt_id = ?4",
            vec![
                scope_key(&key.scope),
                key.resource_link_id.to_string(),
                key.user_id.to_string(),
                key.attempt_id.to_string(),
            ],
        )
        .await
    }

    async fn attempts_of_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let mut list = self
            .read_bodies(
                "SELECT body FROM attempts WHERE scope = ?1 AND resource_link_id = ?2",
                vec![scope_key(scope), link.to_string()],
            )
            .await?;
        sort_attempts(&mut list);
        Ok(list)
    }

    async fn attempts_of_user_on_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let mut list = self
            .read_bodies(
                "SELECT body FROM attempts
                 WHERE scope = ?1 AND resource_link_id = ?2 AND user_id = ?3",
                vec![scope_key(scope), link.to_string(), user.to_string()],
            )
            .await?;
        sort_attempts(&mut list);
        Ok(list)
    }

    async fn attempts_of_user_in_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let mut list = self
            .read_bodies(
                "SELECT body FROM attempts WHERE scope = ?1 AND context_id = ?2 AND user_id = ?3",
                vec![scope_key(scope), context.to_string(), user.to_string()],
            )
            .await?;
        sort_attempts(&mut list);
        Ok(list)
    }
}

fn attempt_args(attempt: &Attempt) -> Result<Vec<Option<String>>, StoreError> {
    Ok(vec![
        Some(scope_key(&attempt.key.scope)),
        Some(attempt.key.resource_link_id.to_string()),
        Some(attempt.key.user_id.to_string()),
        Some(attempt.key.attempt_id.to_string()),
        attempt.context_id.as_ref().map(ToString::to_string),
        Some(encode(attempt)?),
    ])
}

#[async_trait]
impl ExpiringItems for EmbeddedStore {
    async fn put_item(
        &self,
        kind: ItemKind,
        key: &str,
        value: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let fail = self.sql_error();
        let (key, value) = (key.to_owned(), value.to_owned());
        self.run(move |conn| {
            exec(
                conn,
                "INSERT OR REPLACE INTO items (kind, item_key, value, expires_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![kind.as_str(), key, value, unix_millis(expires_at)],
            )
            .map(drop)
            .map_err(fail)
        })
        .await
    }

    async fn item(
        &self,
        kind: ItemKind,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let fail = self.sql_error();
        let key = key.to_owned();
        self.run(move |conn| {
            one(
                conn,
                "SELECT value FROM items WHERE kind = ?1 AND item_key = ?2 AND expires_ms > ?3",
                params![kind.as_str(), key, unix_millis(now)],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)
        })
        .await
    }

    async fn create_if_absent(
        &self,
        kind: ItemKind,
        key: &str,
        value: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Created, StoreError> {
        let fail = self.sql_error();
        let (key, value) = (key.to_owned(), value.to_owned());
        self.run(move |conn| {
            let changed = exec(
                conn,
                CREATE_IF_ABSENT,
                params![
                    kind.as_str(),
                    key,
                    value,
                    unix_millis(expires_at),
                    unix_millis(now)
                ],
            )
            .map_err(fail)?;
            Ok(if changed == 1 {
                Created::Created
            } else {
                Created::AlreadyExists
            })
        })
        .await
    }

    async fn create_if_absent_and_remove(
        &self,
        create: NewItem<'_>,
        now: OffsetDateTime,
        remove: (ItemKind, &str),
    ) -> Result<Created, StoreError> {
        let fail = self.sql_error();
        self.run(move |conn| {
            let tx = conn.unchecked_transaction().map_err(&fail)?;
            let changed = exec(
                &tx,
                CREATE_IF_ABSENT,
                params![
                    create.kind.as_str(),
                    create.key,
                    create.value,
                    unix_millis(create.expires_at),
                    unix_millis(now)
                ],
            )
            .map_err(&fail)?;
            if changed != 1 {
                return Ok(Created::AlreadyExists);
            }
            exec(
                &tx,
                "DELETE FROM items WHERE kind = ?1 AND item_key = ?2",
                params![remove.0.as_str(), remove.1],
            )
            .map_err(&fail)?;
            tx.commit().map_err(&fail)?;
            Ok(Created::Created)
        })
        .await
    }

    async fn take_item(
        &self,
        kind: ItemKind,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let fail = self.sql_error();
        let key = key.to_owned();
        self.run(move |conn| {
            one(
                conn,
                "DELETE FROM items WHERE kind = ?1 AND item_key = ?2 AND expires_ms > ?3
                 RETURNING value",
                params![kind.as_str(), key, unix_millis(now)],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)
        })
        .await
    }

    async fn remove_item(&self, kind: ItemKind, key: &str) -> Result<(), StoreError> {
        let fail = self.sql_error();
        let key = key.to_owned();
        self.run(move |conn| {
            exec(
                conn,
                "DELETE FROM items WHERE kind = ?1 AND item_key = ?2",
                params![kind.as_str(), key],
            )
            .map(drop)
            .map_err(fail)
        })
        .await
    }

    async fn live_items(
        &self,
        kind: ItemKind,
        now: OffsetDateTime,
    ) -> Result<Vec<LiveItem>, StoreError> {
        let fail = self.sql_error();
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT item_key, value, expires_ms FROM items
                     WHERE kind = ?1 AND expires_ms > ?2 ORDER BY item_key",
                )
                .map_err(&fail)?;
            let rows = stmt
                .query_map(params![kind.as_str(), unix_millis(now)], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .map_err(&fail)?;
            let mut out = Vec::new();
            for row in rows {
                let (key, value, expires_ms) = row.map_err(&fail)?;
                out.push(LiveItem {
                    key,
                    value,
                    expires_at: from_unix_millis(expires_ms)?,
                });
            }
            Ok(out)
        })
        .await
    }
}
