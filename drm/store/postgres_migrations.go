package store

// pgOvercommit is the SQLSTATE the capacity trigger raises when a session
// row would over-commit its node at some instant of its window.
const pgOvercommit = "IGC01"

// pgHolding is the SQL array of the states that hold capacity; a test
// checks it against HoldingStates.
const pgHolding = `ARRAY['queued','scheduled','starting','running','ending']`

// pgHoldingV1 is pgHolding as migration 1 knew it (before queued held its
// window); released migrations never change.
const pgHoldingV1 = `ARRAY['scheduled','starting','running','ending']`

// pgMigrations is the PostgreSQL schema history, oldest first, in the same
// scheme as the SQLite one: version n is pgMigrations[n-1], recorded in
// schema_migrations. Never edit a released entry: append a new one.
var pgMigrations = []string{
	// 1: users, keys, tokens, nodes, node capacity, sessions.
	`CREATE TABLE users (
		name          TEXT PRIMARY KEY,
		password_hash TEXT NOT NULL,
		class         TEXT NOT NULL,
		admin         BOOLEAN NOT NULL DEFAULT false,
		created       BIGINT NOT NULL
	);
	CREATE TABLE ssh_keys (
		id        BIGSERIAL PRIMARY KEY,
		user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
		key       TEXT NOT NULL,
		UNIQUE (user_name, key)
	);
	CREATE TABLE tokens (
		hash      TEXT PRIMARY KEY,
		user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
		created   BIGINT NOT NULL,
		expires   BIGINT NOT NULL
	);
	CREATE TABLE nodes (
		name      TEXT PRIMARY KEY,
		info      TEXT NOT NULL,
		last_seen BIGINT NOT NULL,
		ssh_host  TEXT NOT NULL DEFAULT '',
		ssh_port  INTEGER NOT NULL DEFAULT 0
	);
	-- What the database itself lets sessions hold on a node. UpsertNode
	-- writes it from the node's static info; Reserve adds the candidate's
	-- capacity for a node the database does not know yet.
	CREATE TABLE node_capacity (
		node      TEXT PRIMARY KEY,
		cores     INTEGER NOT NULL,
		memory_mb INTEGER NOT NULL
	);
	CREATE TABLE sessions (
		id        TEXT PRIMARY KEY,
		user_name TEXT NOT NULL,
		class     TEXT NOT NULL,
		state     TEXT NOT NULL,
		reason    TEXT NOT NULL DEFAULT '',
		node      TEXT NOT NULL DEFAULT '',
		account   TEXT NOT NULL DEFAULT '',
		start_at  BIGINT NOT NULL,
		end_at    BIGINT NOT NULL,
		template  TEXT NOT NULL,
		connect   TEXT NOT NULL DEFAULT '{}',
		usage     TEXT NOT NULL DEFAULT '{}',
		cores     INTEGER NOT NULL,
		memory_mb INTEGER NOT NULL,
		created   BIGINT NOT NULL,
		updated   BIGINT NOT NULL
	);
	CREATE INDEX sessions_node_state ON sessions (node, state, start_at, end_at);
	CREATE INDEX sessions_user ON sessions (user_name, created);
	CREATE INDEX sessions_state ON sessions (state);

	-- Capacity protection in the database: a session row that holds
	-- capacity is refused when, at any instant of its window, it and the
	-- other holders on its node need more cores or memory than the node
	-- has. The node's capacity row is locked first, so checks on one node
	-- run one at a time whatever client writes the row.
	CREATE FUNCTION sessions_capacity_check() RETURNS trigger
	LANGUAGE plpgsql AS $$
	DECLARE
		v_cap node_capacity%ROWTYPE;
		v_at  BIGINT;
		v_cores  BIGINT;
		v_memory BIGINT;
	BEGIN
		IF NEW.node = '' OR NOT (NEW.state = ANY(` + pgHoldingV1 + `)) THEN
			RETURN NEW;
		END IF;
		IF TG_OP = 'UPDATE' AND OLD.state = ANY(` + pgHoldingV1 + `) AND OLD.node = NEW.node
			AND OLD.start_at <= NEW.start_at AND OLD.end_at >= NEW.end_at
			AND OLD.cores >= NEW.cores AND OLD.memory_mb >= NEW.memory_mb THEN
			RETURN NEW; -- holds no more than it already did
		END IF;
		SELECT * INTO v_cap FROM node_capacity WHERE node = NEW.node FOR UPDATE;
		IF NOT FOUND THEN
			RETURN NEW; -- capacity unknown to the database
		END IF;
		SELECT p.at, COALESCE(SUM(s.cores), 0), COALESCE(SUM(s.memory_mb), 0)
		INTO v_at, v_cores, v_memory
		FROM (SELECT NEW.start_at AS at
		      UNION
		      SELECT o.start_at FROM sessions o
		      WHERE o.node = NEW.node AND o.state = ANY(` + pgHoldingV1 + `) AND o.id <> NEW.id
		        AND o.start_at > NEW.start_at AND o.start_at < NEW.end_at) p
		LEFT JOIN sessions s ON s.node = NEW.node AND s.state = ANY(` + pgHoldingV1 + `)
		     AND s.id <> NEW.id AND s.start_at <= p.at AND s.end_at > p.at
		GROUP BY p.at
		HAVING COALESCE(SUM(s.cores), 0) + NEW.cores > v_cap.cores
		    OR COALESCE(SUM(s.memory_mb), 0) + NEW.memory_mb > v_cap.memory_mb
		ORDER BY p.at
		LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '` + pgOvercommit + `',
				MESSAGE = format('node %s over-committed: session %s needs %s cores and %s MB beside %s cores and %s MB held, capacity %s cores and %s MB',
					NEW.node, NEW.id, NEW.cores, NEW.memory_mb, v_cores, v_memory, v_cap.cores, v_cap.memory_mb),
				DETAIL = 'at ' || v_at;
		END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER sessions_capacity BEFORE INSERT OR UPDATE ON sessions
		FOR EACH ROW EXECUTE FUNCTION sessions_capacity_check();`,
	// 2: every resource admission counts (CPU %, bandwidth, session
	// slots) on sessions and node capacity; queued sessions hold their
	// window; the decision trace; application profiles; the trigger
	// redefined over all of it.
	`ALTER TABLE sessions ADD COLUMN cpu_percent INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sessions ADD COLUMN bandwidth_kbps INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE sessions ADD COLUMN trace TEXT NOT NULL DEFAULT '';
	CREATE INDEX sessions_class_state ON sessions (class, state, start_at);
	-- cpu_percent 0 means cores × 100; bandwidth_kbps and slots 0 mean unlimited.
	ALTER TABLE node_capacity ADD COLUMN cpu_percent INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE node_capacity ADD COLUMN bandwidth_kbps INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE node_capacity ADD COLUMN slots INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE profiles (
		app            TEXT PRIMARY KEY,
		cpu_percent    DOUBLE PRECISION NOT NULL,
		bandwidth_kbps DOUBLE PRECISION NOT NULL,
		samples        INTEGER NOT NULL DEFAULT 0,
		updated        BIGINT NOT NULL
	);
	CREATE OR REPLACE FUNCTION sessions_capacity_check() RETURNS trigger
	LANGUAGE plpgsql AS $$
	DECLARE
		v_cap node_capacity%ROWTYPE;
		v_cpu_cap BIGINT;
		v_at  BIGINT;
		v_cores BIGINT; v_memory BIGINT; v_cpu BIGINT; v_bw BIGINT; v_n BIGINT;
	BEGIN
		IF NEW.node = '' OR NOT (NEW.state = ANY(` + pgHolding + `)) THEN
			RETURN NEW;
		END IF;
		IF TG_OP = 'UPDATE' AND OLD.state = ANY(` + pgHolding + `) AND OLD.node = NEW.node
			AND OLD.start_at <= NEW.start_at AND OLD.end_at >= NEW.end_at
			AND OLD.cores >= NEW.cores AND OLD.memory_mb >= NEW.memory_mb
			AND OLD.cpu_percent >= NEW.cpu_percent AND OLD.bandwidth_kbps >= NEW.bandwidth_kbps THEN
			RETURN NEW; -- holds no more than it already did
		END IF;
		SELECT * INTO v_cap FROM node_capacity WHERE node = NEW.node FOR UPDATE;
		IF NOT FOUND THEN
			RETURN NEW; -- capacity unknown to the database
		END IF;
		v_cpu_cap := CASE WHEN v_cap.cpu_percent > 0 THEN v_cap.cpu_percent ELSE v_cap.cores * 100 END;
		SELECT p.at, COALESCE(SUM(s.cores), 0), COALESCE(SUM(s.memory_mb), 0), COALESCE(SUM(s.cpu_percent), 0),
		       COALESCE(SUM(s.bandwidth_kbps), 0), COUNT(s.id)
		INTO v_at, v_cores, v_memory, v_cpu, v_bw, v_n
		FROM (SELECT NEW.start_at AS at
		      UNION
		      SELECT o.start_at FROM sessions o
		      WHERE o.node = NEW.node AND o.state = ANY(` + pgHolding + `) AND o.id <> NEW.id
		        AND o.start_at > NEW.start_at AND o.start_at < NEW.end_at) p
		LEFT JOIN sessions s ON s.node = NEW.node AND s.state = ANY(` + pgHolding + `)
		     AND s.id <> NEW.id AND s.start_at <= p.at AND s.end_at > p.at
		GROUP BY p.at
		HAVING COALESCE(SUM(s.cores), 0) + NEW.cores > v_cap.cores
		    OR COALESCE(SUM(s.memory_mb), 0) + NEW.memory_mb > v_cap.memory_mb
		    OR COALESCE(SUM(s.cpu_percent), 0) + NEW.cpu_percent > v_cpu_cap
		    OR (v_cap.bandwidth_kbps > 0 AND COALESCE(SUM(s.bandwidth_kbps), 0) + NEW.bandwidth_kbps > v_cap.bandwidth_kbps)
		    OR (v_cap.slots > 0 AND COUNT(s.id) + 1 > v_cap.slots)
		ORDER BY p.at
		LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '` + pgOvercommit + `',
				MESSAGE = format('node %s over-committed: session %s needs %s cores, %s MB, %s%% CPU, %s kbps beside %s cores, %s MB, %s%% CPU, %s kbps and %s sessions held, capacity %s cores, %s MB, %s%% CPU, %s kbps, %s slots',
					NEW.node, NEW.id, NEW.cores, NEW.memory_mb, NEW.cpu_percent, NEW.bandwidth_kbps,
					v_cores, v_memory, v_cpu, v_bw, v_n,
					v_cap.cores, v_cap.memory_mb, v_cpu_cap, v_cap.bandwidth_kbps, v_cap.slots),
				DETAIL = 'at ' || v_at;
		END IF;
		RETURN NEW;
	END $$;`,
	// the scheduler's per-decision history read (as SQLite's migration 3)
	`CREATE INDEX sessions_user_state ON sessions (user_name, state, start_at);`,
	// 4: fewer indexes per booking (as SQLite's migration 4).
	`DROP INDEX sessions_user;
	DROP INDEX sessions_state;
	DROP INDEX sessions_class_state;
	CREATE INDEX sessions_state_class ON sessions (state, class, start_at);`,
	// 5: every write of a session records the writing transaction's id
	// (chg), so the scheduler's copy of the book reads only what changed
	// (BookChanges): a read's cursor is its snapshot's xmin, every
	// transaction below it had ended when the read began.
	`ALTER TABLE sessions ADD COLUMN chg BIGINT NOT NULL DEFAULT 0;
	CREATE INDEX sessions_chg ON sessions (chg);
	CREATE FUNCTION sessions_chg() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		NEW.chg := pg_current_xact_id()::text::bigint;
		RETURN NEW;
	END $$;
	CREATE TRIGGER sessions_chg BEFORE INSERT OR UPDATE ON sessions
		FOR EACH ROW EXECUTE FUNCTION sessions_chg();`,
}
