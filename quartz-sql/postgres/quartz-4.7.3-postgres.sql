-- Orchestrator: Quartz.NET 4.7.3 job-store schema for PostgreSQL (11 or newer).
--
-- For databases where the application account may not run DDL: a DBA runs this once, then starts the
-- server with Orchestrator:Database:ProvisionSchema = false, and Quartz only validates what is here.
--
--   psql "host=… dbname=orchestrator user=dba" -v ON_ERROR_STOP=1 -f quartz-4.7.3-postgres.sql
--   GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO orchestrator;
--
-- Safe to run again: it only creates what is missing and never drops or alters anything, so running it
-- by mistake against a live database cannot remove a schedule. Table prefix: qrtz_ (the default of
-- Orchestrator:Database:TablePrefix). Times are stored as .NET ticks (bigint), as Quartz writes them.
-- This file does not upgrade an older Quartz schema: it matches 4.7.3 and nothing else.

BEGIN;

-- Two DBAs (or a DBA and a deploy pipeline) running this at once would race on CREATE ... IF NOT EXISTS;
-- a transaction-scoped advisory lock makes the second wait and then find everything in place.
SELECT pg_advisory_xact_lock(hashtext('orchestrator.quartz-sql'));

-- Jobs: one row per schedule (job class, flags, serialized JobDataMap).
CREATE TABLE IF NOT EXISTS qrtz_job_details (
    sched_name          text    NOT NULL,
    job_name            text    NOT NULL,
    job_group           text    NOT NULL,
    description         text,
    job_class_name      text    NOT NULL,
    is_durable          boolean NOT NULL,
    is_nonconcurrent    boolean NOT NULL,
    is_update_data      boolean NOT NULL,
    requests_recovery   boolean NOT NULL,
    job_data            bytea,
    PRIMARY KEY (sched_name, job_name, job_group)
);

-- Triggers: the common part of every trigger type, including the 4.x columns
-- (execution groups, retry policy, overlap policy, per-trigger misfire threshold, pause metadata).
CREATE TABLE IF NOT EXISTS qrtz_triggers (
    sched_name               text     NOT NULL,
    trigger_name             text     NOT NULL,
    trigger_group            text     NOT NULL,
    job_name                 text     NOT NULL,
    job_group                text     NOT NULL,
    description              text,
    next_fire_time           bigint,
    prev_fire_time           bigint,
    priority                 integer,
    trigger_state            text     NOT NULL,
    trigger_type             text     NOT NULL,
    start_time               bigint   NOT NULL,
    end_time                 bigint,
    calendar_name            text,
    misfire_instr            smallint,
    misfire_orig_fire_time   bigint,
    execution_group          varchar(200),
    preferred_node           varchar(200),
    preferred_node_auto      boolean  NOT NULL DEFAULT false,
    retry_policy             varchar(250),
    retry_attempt            integer,
    continues_trigger_name   text,
    continues_trigger_group  text,
    continuation_condition   integer,
    overlap_policy           integer,
    pause_reason             varchar(250),
    paused_by                varchar(200),
    paused_at                bigint,
    misfire_threshold        bigint,
    fixed_delay              boolean,
    job_data                 bytea,
    PRIMARY KEY (sched_name, trigger_name, trigger_group),
    FOREIGN KEY (sched_name, job_name, job_group) REFERENCES qrtz_job_details (sched_name, job_name, job_group)
);

-- Type-specific trigger data; each row goes with its trigger.
CREATE TABLE IF NOT EXISTS qrtz_simple_triggers (
    sched_name       text   NOT NULL,
    trigger_name     text   NOT NULL,
    trigger_group    text   NOT NULL,
    repeat_count     bigint NOT NULL,
    repeat_interval  bigint NOT NULL,
    times_triggered  bigint NOT NULL,
    PRIMARY KEY (sched_name, trigger_name, trigger_group),
    FOREIGN KEY (sched_name, trigger_name, trigger_group)
        REFERENCES qrtz_triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS qrtz_cron_triggers (
    sched_name       text NOT NULL,
    trigger_name     text NOT NULL,
    trigger_group    text NOT NULL,
    cron_expression  text NOT NULL,
    time_zone_id     text,
    PRIMARY KEY (sched_name, trigger_name, trigger_group),
    FOREIGN KEY (sched_name, trigger_name, trigger_group)
        REFERENCES qrtz_triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

-- Calendar-interval and daily-time-interval triggers keep their settings in these generic columns.
CREATE TABLE IF NOT EXISTS qrtz_simprop_triggers (
    sched_name     text NOT NULL,
    trigger_name   text NOT NULL,
    trigger_group  text NOT NULL,
    str_prop_1     text,
    str_prop_2     text,
    str_prop_3     text,
    int_prop_1     integer,
    int_prop_2     integer,
    long_prop_1    bigint,
    long_prop_2    bigint,
    dec_prop_1     numeric,
    dec_prop_2     numeric,
    bool_prop_1    boolean,
    bool_prop_2    boolean,
    time_zone_id   text,
    PRIMARY KEY (sched_name, trigger_name, trigger_group),
    FOREIGN KEY (sched_name, trigger_name, trigger_group)
        REFERENCES qrtz_triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS qrtz_blob_triggers (
    sched_name     text NOT NULL,
    trigger_name   text NOT NULL,
    trigger_group  text NOT NULL,
    blob_data      bytea,
    PRIMARY KEY (sched_name, trigger_name, trigger_group),
    FOREIGN KEY (sched_name, trigger_name, trigger_group)
        REFERENCES qrtz_triggers (sched_name, trigger_name, trigger_group) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS qrtz_calendars (
    sched_name     text  NOT NULL,
    calendar_name  text  NOT NULL,
    calendar       bytea NOT NULL,
    PRIMARY KEY (sched_name, calendar_name)
);

CREATE TABLE IF NOT EXISTS qrtz_paused_trigger_grps (
    sched_name     text NOT NULL,
    trigger_group  text NOT NULL,
    pause_reason   varchar(250),
    paused_by      varchar(200),
    paused_at      bigint,
    PRIMARY KEY (sched_name, trigger_group)
);

CREATE TABLE IF NOT EXISTS qrtz_paused_job_grps (
    sched_name    text NOT NULL,
    job_group     text NOT NULL,
    pause_reason  varchar(250),
    paused_by     varchar(200),
    paused_at     bigint,
    PRIMARY KEY (sched_name, job_group)
);

-- Firings in progress: what a recovering node reads to re-run the work of a node that died.
CREATE TABLE IF NOT EXISTS qrtz_fired_triggers (
    sched_name                text    NOT NULL,
    entry_id                  text    NOT NULL,
    trigger_name              text    NOT NULL,
    trigger_group             text    NOT NULL,
    instance_name             text    NOT NULL,
    fired_time                bigint  NOT NULL,
    sched_time                bigint  NOT NULL,
    priority                  integer NOT NULL,
    state                     text    NOT NULL,
    job_name                  text,
    job_group                 text,
    is_nonconcurrent          boolean NOT NULL,
    requests_recovery         boolean,
    execution_group           varchar(200),
    progress                  integer,
    progress_message          varchar(250),
    interrupt_requested_time  bigint,
    PRIMARY KEY (sched_name, entry_id)
);

-- Cluster membership: one row per live node, stamped at every check-in.
CREATE TABLE IF NOT EXISTS qrtz_scheduler_state (
    sched_name         text   NOT NULL,
    instance_name      text   NOT NULL,
    last_checkin_time  bigint NOT NULL,
    checkin_interval   bigint NOT NULL,
    quartz_version     varchar(20),
    PRIMARY KEY (sched_name, instance_name)
);

-- Row locks that serialize trigger acquisition and recovery across the cluster.
CREATE TABLE IF NOT EXISTS qrtz_locks (
    sched_name  text NOT NULL,
    lock_name   text NOT NULL,
    PRIMARY KEY (sched_name, lock_name)
);

-- Execution history shared by the cluster (UseExecutionHistory): executions, misfires, per-job status.
CREATE TABLE IF NOT EXISTS qrtz_execution_history (
    sched_name           text    NOT NULL,
    entry_id             text    NOT NULL,
    instance_name        text    NOT NULL,
    job_name             text    NOT NULL,
    job_group            text    NOT NULL,
    trigger_name         text    NOT NULL,
    trigger_group        text    NOT NULL,
    fired_time           bigint  NOT NULL,
    run_time             bigint  NOT NULL,
    succeeded            boolean NOT NULL,
    error_message        text,
    retry_attempt        integer NOT NULL DEFAULT 0,
    retry_scheduled      boolean NOT NULL DEFAULT false,
    execution_log        text,
    result               integer,
    summary              text,
    metrics              text,
    manual               boolean,
    fire_instance_id     text,
    job_input            text,
    job_input_too_large  boolean,
    PRIMARY KEY (sched_name, entry_id)
);

CREATE TABLE IF NOT EXISTS qrtz_misfire_history (
    sched_name     text   NOT NULL,
    entry_id       text   NOT NULL,
    instance_name  text   NOT NULL,
    trigger_name   text   NOT NULL,
    trigger_group  text   NOT NULL,
    job_name       text,
    job_group      text,
    misfire_time   bigint NOT NULL,
    sched_time     bigint,
    reason         integer,
    PRIMARY KEY (sched_name, entry_id)
);

CREATE TABLE IF NOT EXISTS qrtz_job_status (
    sched_name            text    NOT NULL,
    job_group             text    NOT NULL,
    job_name              text    NOT NULL,
    first_fired_time      bigint  NOT NULL,
    last_fired_time       bigint  NOT NULL,
    last_result           integer NOT NULL,
    last_run_time         bigint  NOT NULL,
    last_instance_name    text    NOT NULL,
    last_entry_id         text,
    last_summary          text,
    last_success_time     bigint,
    last_failure_time     bigint,
    last_failure_message  text,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    run_count             bigint  NOT NULL DEFAULT 0,
    failure_count         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (sched_name, job_group, job_name)
);

-- Indexes for the queries Quartz runs on every acquisition round and recovery pass.
CREATE INDEX IF NOT EXISTS idx_qrtz_triggers_next_fire  ON qrtz_triggers (sched_name, trigger_state, next_fire_time, priority DESC, misfire_instr);
CREATE INDEX IF NOT EXISTS idx_qrtz_triggers_job        ON qrtz_triggers (sched_name, job_name, job_group);
CREATE INDEX IF NOT EXISTS idx_qrtz_triggers_group      ON qrtz_triggers (sched_name, trigger_group, trigger_name);
CREATE INDEX IF NOT EXISTS idx_qrtz_triggers_calendar   ON qrtz_triggers (sched_name, calendar_name);
CREATE INDEX IF NOT EXISTS idx_qrtz_jobs_group          ON qrtz_job_details (sched_name, job_group, job_name);
CREATE INDEX IF NOT EXISTS idx_qrtz_fired_instance      ON qrtz_fired_triggers (sched_name, instance_name, requests_recovery);
CREATE INDEX IF NOT EXISTS idx_qrtz_fired_job           ON qrtz_fired_triggers (sched_name, job_name, job_group);
CREATE INDEX IF NOT EXISTS idx_qrtz_fired_trigger       ON qrtz_fired_triggers (sched_name, trigger_name, trigger_group);
CREATE INDEX IF NOT EXISTS idx_qrtz_history_fired       ON qrtz_execution_history (sched_name, fired_time);
CREATE INDEX IF NOT EXISTS idx_qrtz_history_job         ON qrtz_execution_history (sched_name, job_group, job_name, fired_time);
CREATE INDEX IF NOT EXISTS idx_qrtz_history_trigger     ON qrtz_execution_history (sched_name, trigger_group, trigger_name, fired_time);
CREATE INDEX IF NOT EXISTS idx_qrtz_history_instance    ON qrtz_execution_history (sched_name, instance_name);
CREATE INDEX IF NOT EXISTS idx_qrtz_history_fire_inst   ON qrtz_execution_history (sched_name, fire_instance_id);
CREATE INDEX IF NOT EXISTS idx_qrtz_misfires_time       ON qrtz_misfire_history (sched_name, misfire_time);
CREATE INDEX IF NOT EXISTS idx_qrtz_misfires_instance   ON qrtz_misfire_history (sched_name, instance_name);

COMMIT;
