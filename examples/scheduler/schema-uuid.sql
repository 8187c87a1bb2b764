-- schema-uuid.sql -- the demo scheduler's tables with UUID ids (`--schema uuid`), laid out as
-- the real Residency Scheduler's models are (SQLAlchemy + Alembic): people.id, blocks.id and
-- assignments.id are `uuid` with no database default (the application makes them), so a tool
-- that inserts rows must make them too; blocks.block_number is NOT NULL without a default;
-- people.email is unique (and may be NULL); blocks.day_type is NOT NULL with a default;
-- assignments.role is checked. `scope` is the demo's own addition, as in schema.sql: '' is
-- the live schedule, a posted case lives in its own scope inside a rolled-back transaction.
CREATE TABLE IF NOT EXISTS people (
    scope      text         NOT NULL DEFAULT '',
    id         uuid         NOT NULL,
    name       varchar(255) NOT NULL,
    type       varchar(50)  NOT NULL CHECK (type IN ('resident', 'faculty')),
    email      varchar(255) UNIQUE,
    pgy_level  integer      CHECK (pgy_level IS NULL OR pgy_level BETWEEN 1 AND 7),
    created_at timestamp    DEFAULT now(),
    PRIMARY KEY (scope, id)
);
CREATE TABLE IF NOT EXISTS blocks (
    scope        text       NOT NULL DEFAULT '',
    id           uuid       NOT NULL,
    date         date       NOT NULL,
    time_of_day  varchar(2) NOT NULL CHECK (time_of_day IN ('AM', 'PM')),
    block_number integer    NOT NULL,
    day_type     text       NOT NULL DEFAULT 'NORMAL',
    PRIMARY KEY (scope, id),
    UNIQUE (scope, date, time_of_day)
);
CREATE INDEX IF NOT EXISTS blocks_scope_date ON blocks (scope, date);
CREATE TABLE IF NOT EXISTS assignments (
    scope      text        NOT NULL DEFAULT '',
    id         uuid        NOT NULL,
    block_id   uuid        NOT NULL,
    person_id  uuid        NOT NULL,
    role       varchar(50) NOT NULL CHECK (role IN ('primary', 'supervising', 'backup')),
    created_at timestamp   DEFAULT now(),
    PRIMARY KEY (scope, id),
    UNIQUE (scope, block_id, person_id),
    FOREIGN KEY (scope, block_id) REFERENCES blocks (scope, id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (scope, person_id) REFERENCES people (scope, id) ON DELETE CASCADE
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX IF NOT EXISTS assignments_person ON assignments (scope, person_id);
