"""Job state of 18.0.1.1.0 (after the update): the callback engine's run log (auto_crm.callback.run,
one row per rule and run) moves to the log of every scheduled job (auto_crm.job.run, one row per
run, with auto_crm.job.run.line, one per rule).

The rows are copied here, in SQL, while the old table is still there: the rows of one engine run
(same run_key) become one job run and its lines. The old table is dropped then (Odoo leaves the table
of a model the code no longer has), with the XML id of its record rule (the rule goes with its model);
Odoo removes the old model's other records (views, action, menu, access rights) at the end of the update."""


def _table_exists(cr, table):
    cr.execute("SELECT 1 FROM information_schema.tables WHERE table_name = %s", (table,))
    return bool(cr.fetchone())


def migrate(cr, version):
    if not version or not _table_exists(cr, "auto_crm_callback_run"):
        return
    _copy_runs(cr)
    cr.execute("DROP TABLE auto_crm_callback_run CASCADE")
    cr.execute(
        "DELETE FROM ir_rule WHERE id IN (SELECT res_id FROM ir_model_data WHERE module = 'auto_crm' "
        "AND model = 'ir.rule' AND name = 'auto_crm_callback_run_rule_company')"
    )
    cr.execute(
        "DELETE FROM ir_model_data WHERE module = 'auto_crm' AND model = 'ir.rule' "
        "AND name = 'auto_crm_callback_run_rule_company'"
    )


def _copy_runs(cr):
    cr.execute("ALTER TABLE auto_crm_job_run ADD COLUMN migrated_run_key varchar")
    cr.execute(
        """
        INSERT INTO auto_crm_job_run
               (job, state, date_start, date_end, duration, processed_count, failed_count, message,
                migrated_run_key, create_uid, create_date, write_uid, write_date)
        SELECT 'callback_engine',
               CASE WHEN bool_or(state = 'failed') THEN 'failed' ELSE 'done' END,
               min(date_start), max(date_start), sum(COALESCE(duration, 0)), count(*),
               count(*) FILTER (WHERE state = 'failed'), NULL,
               COALESCE(run_key, 'row-' || min(id)), min(create_uid), min(create_date), max(write_uid), max(write_date)
          FROM auto_crm_callback_run
         GROUP BY run_key, CASE WHEN run_key IS NULL THEN id END
        """
    )
    cr.execute(
        """
        INSERT INTO auto_crm_job_run_line
               (run_id, job, date_start, res_model, res_id, rule_id, company_id, state, created_count,
                skipped_dnd_count, skipped_consent_count, already_count, expired_count, cancelled_count,
                duration, message, create_uid, create_date, write_uid, write_date)
        SELECT run.id, 'callback_engine', run.date_start,
               CASE WHEN old.rule_id IS NOT NULL THEN 'auto_crm.callback.rule' END, old.rule_id, old.rule_id,
               old.company_id, old.state, COALESCE(old.created_count, 0), COALESCE(old.skipped_dnd_count, 0),
               COALESCE(old.skipped_consent_count, 0), 0, COALESCE(old.expired_count, 0),
               COALESCE(old.cancelled_count, 0), old.duration, old.message,
               old.create_uid, old.create_date, old.write_uid, old.write_date
          FROM auto_crm_callback_run old
          JOIN auto_crm_job_run run ON run.migrated_run_key = COALESCE(old.run_key, 'row-' || old.id)
         ORDER BY old.id
        """
    )
    cr.execute("ALTER TABLE auto_crm_job_run DROP COLUMN migrated_run_key")
