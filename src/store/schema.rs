//! Versioned schema. `PRAGMA user_version` holds the version; each migration runs once, inside
//! the transaction that bumps it, so two hooks starting at once cannot both apply it.

/// Migrations in order; index + 1 is the version they bring the database to.
pub const MIGRATIONS: &[&str] = &[
    // 1: sessions, the outbox of events, and small key/value state.
    r#"
    CREATE TABLE sessions (
        session_id            TEXT PRIMARY KEY,
        project_name          TEXT,
        working_directory     TEXT,
        git_branch            TEXT,
        transcript_path       TEXT,
        model                 TEXT,
        start_type            TEXT,
        end_reason            TEXT,
        started_at            INTEGER,
        ended_at              INTEGER,
        prompt_count          INTEGER NOT NULL DEFAULT 0,
        message_count         INTEGER NOT NULL DEFAULT 0,
        tool_call_count       INTEGER NOT NULL DEFAULT 0,
        input_tokens          INTEGER NOT NULL DEFAULT 0,
        output_tokens         INTEGER NOT NULL DEFAULT 0,
        cache_creation_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens     INTEGER NOT NULL DEFAULT 0,
        cost_usd              REAL,
        updated_at            INTEGER NOT NULL
    );
    CREATE INDEX sessions_by_start ON sessions(started_at);

    CREATE TABLE outbox (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id     TEXT NOT NULL UNIQUE,
        session_id   TEXT NOT NULL,
        event_type   TEXT NOT NULL,
        timestamp    INTEGER NOT NULL,
        payload      TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'parked')),
        attempts     INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        last_error   TEXT
    );
    CREATE INDEX outbox_by_state ON outbox(state, seq);
    CREATE INDEX outbox_by_session ON outbox(session_id, seq);

    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 2: each hook's own wall time, so `status` can show what the plugin costs.
    r#"
    CREATE TABLE hook_timings (
        at     INTEGER NOT NULL,
        hook   TEXT NOT NULL,
        micros INTEGER NOT NULL
    );
    CREATE INDEX hook_timings_by_at ON hook_timings(at);
    "#,
    // 3: where each session's transcript was read up to (cursors + accounting state, JSON), and
    //    the models a session used (JSON array), both from the transcript engine.
    r#"
    CREATE TABLE transcript_state (
        session_id TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN models TEXT;
    "#,
];
