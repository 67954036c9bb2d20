import type { Knex } from 'knex';

/*
 * start-etl --skip-invalid takes a film whose document is invalid (or refused by the engine)
 * out of pending and records it here with the version it had; the capture triggers make it
 * pending again when it changes, and a later successful index removes the record.
 * Runs can now end 'interrupted' (SIGINT/SIGTERM) and count the films they rejected.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE content.film_work_rejected (
      film_work_id uuid PRIMARY KEY,
      version bigint NOT NULL,
      field text NOT NULL,
      rule text NOT NULL,
      reason text NOT NULL,
      rejected_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    ALTER TABLE content.etl_run DROP CONSTRAINT etl_run_outcome_check;
    ALTER TABLE content.etl_run ADD CONSTRAINT etl_run_outcome_check
      CHECK (outcome IN ('running', 'success', 'failed', 'interrupted'));
    ALTER TABLE content.etl_run ADD COLUMN rejected bigint NOT NULL DEFAULT 0;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE content.etl_run DROP COLUMN rejected;
    UPDATE content.etl_run SET outcome = 'failed' WHERE outcome = 'interrupted';
    ALTER TABLE content.etl_run DROP CONSTRAINT etl_run_outcome_check;
    ALTER TABLE content.etl_run ADD CONSTRAINT etl_run_outcome_check CHECK (outcome IN ('running', 'success', 'failed'));
    DROP TABLE content.film_work_rejected;
  `);
}
