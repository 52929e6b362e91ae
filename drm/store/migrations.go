package store

// migrations is the schema history, oldest first. Version n is
// migrations[n-1]; a database records the versions it has applied in
// schema_migrations. Never edit a released entry: append a new one.
var migrations = []string{
	// 1: users, keys, tokens, nodes, sessions.
	`CREATE TABLE users (
		name          TEXT PRIMARY KEY,
		password_hash TEXT NOT NULL,
		class         TEXT NOT NULL,
		admin         INTEGER NOT NULL DEFAULT 0,
		created       INTEGER NOT NULL
	);
	CREATE TABLE ssh_keys (
		id   INTEGER PRIMARY KEY AUTOINCREMENT,
		user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
		key  TEXT NOT NULL,
		UNIQUE (user, key)
	);
	CREATE TABLE tokens (
		hash    TEXT PRIMARY KEY,
		user    TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
		created INTEGER NOT NULL,
		expires INTEGER NOT NULL
	);
	CREATE TABLE nodes (
		name      TEXT PRIMARY KEY,
		info      TEXT NOT NULL,
		last_seen INTEGER NOT NULL,
		ssh_host  TEXT NOT NULL DEFAULT '',
		ssh_port  INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE sessions (
		id        TEXT PRIMARY KEY,
		user      TEXT NOT NULL,
		class     TEXT NOT NULL,
		state     TEXT NOT NULL,
		reason    TEXT NOT NULL DEFAULT '',
		node      TEXT NOT NULL DEFAULT '',
		account   TEXT NOT NULL DEFAULT '',
		start_at  INTEGER NOT NULL,
		end_at    INTEGER NOT NULL,
		template  TEXT NOT NULL,
		connect   TEXT NOT NULL DEFAULT '{}',
		usage     TEXT NOT NULL DEFAULT '{}',
		cores     INTEGER NOT NULL,
		memory_mb INTEGER NOT NULL,
		created   INTEGER NOT NULL,
		updated   INTEGER NOT NULL
	);
	CREATE INDEX sessions_node_state ON sessions (node, state, start_at, end_at);
	CREATE INDEX sessions_user ON sessions (user, created);
	CREATE INDEX sessions_state ON sessions (state);`,
	// 2: estimated CPU and bandwidth per session, the decision trace,
	// application profiles.
	`ALTER TABLE sessions ADD COLUMN cpu_percent INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sessions ADD COLUMN bandwidth_kbps INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sessions ADD COLUMN trace TEXT NOT NULL DEFAULT '';
	CREATE INDEX sessions_class_state ON sessions (class, state, start_at);
	CREATE TABLE profiles (
		app            TEXT PRIMARY KEY,
		cpu_percent    REAL NOT NULL,
		bandwidth_kbps REAL NOT NULL,
		samples        INTEGER NOT NULL DEFAULT 0,
		updated        INTEGER NOT NULL
	);`,
	// 3: the scheduler reads each requester's history (sessions that ran,
	// latest first) on every decision: one index seek per state.
	`CREATE INDEX sessions_user_state ON sessions (user, state, start_at);`,
	// 4: fewer indexes for every booking to write. sessions_user is a
	// prefix-duplicate of sessions_user_state (every query naming a user
	// seeks that one); sessions_state and sessions_class_state merge into
	// one index leading with the state, which serves the state-only reads
	// (the dispatcher's due sessions, the per-state counts) through its
	// prefix and the class quota's count (state IN holding, class =, start_at <)
	// through all three columns.
	`DROP INDEX sessions_user;
	DROP INDEX sessions_state;
	DROP INDEX sessions_class_state;
	CREATE INDEX sessions_state_class ON sessions (state, class, start_at);`,
	// 5: every write of a session numbers it (seq, one more than the
	// highest): SQLite's single writer commits them in that order, so the
	// scheduler's copy of the book reads only what changed since its last
	// read (BookChanges).
	`ALTER TABLE sessions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
	UPDATE sessions SET seq = rowid;
	CREATE INDEX sessions_seq ON sessions (seq);`,
}
