from psycopg2 import errors as pg_errors

from odoo import fields, models

#: What the gateway path does when it cannot take a slot of the store's daily cap.
CAP_REACHED, CAP_BUSY = "reached", "busy"


class AutoCrmSmsUsage(models.Model):
    """SMS a store sent through the gateways on one of its days: the counter of the daily cap.

    Every send takes its slot by one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE sms_count < cap`` on the
    (store, day) row: two senders of the same store update the same row, so under REPEATABLE READ the
    second waits for the first and, once the first has committed, fails to serialise instead of counting
    from a stale snapshot; it sends nothing and its SMS is tried again a minute later. Written by the
    add-on's code only."""

    _name = "auto_crm.sms.usage"
    _description = "SMS Sent per Store and Day"
    _inherit = ["auto_crm.owned.mixin"]
    _order = "day desc, company_id"
    _rec_name = "day"
    _user_fields = ()

    company_id = fields.Many2one("res.company", string="Store", required=True, readonly=True, ondelete="cascade")
    day = fields.Date(required=True, readonly=True, help="The store's calendar day (its time zone).")
    sms_count = fields.Integer(string="SMS Sent", readonly=True)

    _sql_constraints = [
        ("auto_crm_sms_usage_day_uniq", "UNIQUE(company_id, day)", "One counter per store and day."),
    ]

    def _auto_crm_take(self, company, day, cap):
        """Take one slot of ``company``'s daily ``cap`` (0: no cap) on ``day``: the new count, or
        ``CAP_REACHED`` when the cap is used up, or ``CAP_BUSY`` when a concurrent sender of the same store
        took a slot since this transaction began (nothing was counted: try again later)."""
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    """
                    INSERT INTO auto_crm_sms_usage
                        (company_id, day, sms_count, create_uid, write_uid, create_date, write_date)
                    VALUES (%(company)s, %(day)s, 1, %(uid)s, %(uid)s,
                            now() at time zone 'UTC', now() at time zone 'UTC')
                    ON CONFLICT (company_id, day) DO UPDATE
                       SET sms_count = auto_crm_sms_usage.sms_count + 1,
                           write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
                     WHERE %(cap)s = 0 OR auto_crm_sms_usage.sms_count < %(cap)s
                    RETURNING sms_count
                    """,
                    {"company": company.id, "day": day, "uid": self.env.uid, "cap": cap},
                    log_exceptions=False,
                )
                row = cr.fetchone()
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            return CAP_BUSY
        self.invalidate_model(["sms_count"])
        if cap and not row:
            return CAP_REACHED
        return row[0]

    def _auto_crm_give_back(self, company, day):
        """Give back the slot taken for a message the gateway refused (nothing was sent)."""
        self.env.cr.execute(
            "UPDATE auto_crm_sms_usage SET sms_count = sms_count - 1 "
            "WHERE company_id = %s AND day = %s AND sms_count > 0",
            [company.id, day],
        )
        self.invalidate_model(["sms_count"])
