-- schema.sql -- tables of the demo scheduler (scheduler-api init-db applies this; idempotent).
-- `scope` tags rows: '' is the live schedule; POST /api/v1/schedule/validate stores a posted
-- case under its own random scope inside a transaction it rolls back. Ids are text (UUIDs
-- in the seed data); assignments.id and people.id default to a fresh UUID. The foreign keys
-- are checked at commit (a posted case, rolled back, costs no per-row checks).
CREATE TABLE IF NOT EXISTS people (
    scope     text    NOT NULL DEFAULT '',
    id        text    NOT NULL DEFAULT gen_random_uuid()::text,
    name      text    NOT NULL DEFAULT '',
    type      text    NOT NULL CHECK (type IN ('resident', 'faculty')),
    pgy_level integer CHECK (pgy_level BETWEEN 1 AND 7),
    PRIMARY KEY (scope, id)
);
CREATE TABLE IF NOT EXISTS blocks (
    scope       text NOT NULL DEFAULT '',
    id          text NOT NULL,
    date        date NOT NULL,
    time_of_day text NOT NULL CHECK (time_of_day IN ('AM', 'PM')),
    PRIMARY KEY (scope, id)
);
CREATE INDEX IF NOT EXISTS blocks_scope_date ON blocks (scope, date);
CREATE TABLE IF NOT EXISTS assignments (
    scope     text NOT NULL DEFAULT '',
    id        text NOT NULL DEFAULT gen_random_uuid()::text,
    block_id  text NOT NULL,
    person_id text NOT NULL,
    role      text NOT NULL DEFAULT 'primary',
    PRIMARY KEY (scope, id),
    UNIQUE (scope, block_id, person_id),
    FOREIGN KEY (scope, block_id) REFERENCES blocks (scope, id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (scope, person_id) REFERENCES people (scope, id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX IF NOT EXISTS assignments_person ON assignments (scope, person_id);
