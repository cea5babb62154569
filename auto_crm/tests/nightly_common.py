from odoo.tools import SQL


class NightlyBulkMixin:
    """Many customers at once for the nightly jobs' query budgets, inserted in SQL (one statement,
    whatever the number) the way the ORM would store them: customers without a store, a car each,
    every third customer with one delivered visit paid in cash, and each a member of the programme
    (no tier yet)."""

    BULK_AMOUNT = 2500
    BULK_DAYS_AGO = 60

    def bulk_customers(self, count, program):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH partners AS (
                    INSERT INTO res_partner (name, complete_name, auto_customer, active, mobile, type,
                                             create_uid, create_date, write_uid, write_date)
                    SELECT 'Bulk ' || n, 'Bulk ' || n, TRUE, TRUE, '139' || lpad(n::text, 8, '0'), 'contact',
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM generate_series(1, %(count)s) n
                 RETURNING id
                ),
                vehicles AS (
                    INSERT INTO auto_crm_vehicle (vin, partner_id, company_id, active, create_uid, create_date,
                                                  write_uid, write_date)
                    SELECT 'LBULK' || lpad(id::text, 12, '0'), id, %(company)s, TRUE, %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM partners
                 RETURNING id, partner_id
                ),
                visits AS (
                    INSERT INTO auto_crm_service_visit (name, company_id, partner_id, vehicle_id, state, visit_type,
                                                        date_appointment, date_reception, date_delivered,
                                                        amount_total, amount_paid, payment_method,
                                                        create_uid, create_date, write_uid, write_date)
                    SELECT 'BULK-' || id, %(company)s, partner_id, id, 'followup', 'maintenance',
                           %(delivered)s, %(delivered)s, %(delivered)s, %(amount)s, %(amount)s, 'cash',
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM vehicles
                     WHERE mod(partner_id, 3) = 0
                 RETURNING id
                ),
                members AS (
                    INSERT INTO auto_crm_loyalty_member (partner_id, program_id, company_id, card_number,
                                                         points_balance, active, date_joined,
                                                         create_uid, create_date, write_uid, write_date)
                    SELECT id, %(program)s, %(company)s, 'BULK' || lpad(id::text, 10, '0'), 0, TRUE, %(now)s,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM partners
                 RETURNING partner_id
                )
                SELECT ARRAY(SELECT id FROM partners ORDER BY id), (SELECT COUNT(*) FROM visits),
                       (SELECT COUNT(*) FROM members)
                """,
                count=count,
                company=program.company_id.id,
                program=program.id,
                amount=self.BULK_AMOUNT,
                uid=self.env.uid,
                now=SQL("NOW() AT TIME ZONE 'UTC'"),
                delivered=SQL("NOW() AT TIME ZONE 'UTC' - make_interval(days => %s)", self.BULK_DAYS_AGO),
            )
        )
        partner_ids, _visits, _members = self.env.cr.fetchone()
        self.env.invalidate_all()
        return partner_ids

    def count_queries(self, budget, job):
        """Run ``job`` within ``assertQueryCount(budget)`` and return how many queries it made. Every
        run starts from an empty cache, as a cron's does."""
        self.env.flush_all()
        self.env.invalidate_all()
        self.env.cr.flush()
        start = self.env.cr.sql_log_count
        with self.assertQueryCount(budget):
            job()
        self.env.flush_all()
        return self.env.cr.sql_log_count - start
