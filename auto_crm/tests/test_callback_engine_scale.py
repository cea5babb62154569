import datetime

from freezegun import freeze_time

from odoo.tests import tagged, warmup

from .callback_common import CallbackCase

#: The queries of one engine run of one rule, whatever the number of its sources (see
#: TestCallbackEngine.test_query_count_does_not_grow_with_sources).
RUN_QUERIES = 17


@tagged("post_install", "-at_install")
class TestCallbackEngineScale(CallbackCase):
    """The engine's cost follows what is due: a constant number of queries from 10 to 6,000 due
    sources, the right callbacks on sources bulk-loaded behind the planner's back, and the win-back
    rule reading only its event window."""

    def _analysed_rows(self, table):
        self.env.cr.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,))
        return self.env.cr.fetchone()[0]

    @warmup
    def test_query_budget_at_10_and_6000_due_sources(self):
        small = self.make_rule(name="Scale 10", assignment="round_robin", window_days=0)
        large = self.make_rule(name="Scale 6000", assignment="round_robin", window_days=0)
        self.bulk_delivered_visits(10, self.at("2025-03-01"))
        self.bulk_delivered_visits(6000, self.at("2025-03-02"), dnd_every=100)
        self.env.flush_all()
        self.env.invalidate_all()
        with freeze_time("2025-03-04 02:00:00"), self.assertQueryCount(RUN_QUERIES):
            small._run_engine()
        self.env.invalidate_all()
        with freeze_time("2025-03-05 02:00:00"), self.assertQueryCount(RUN_QUERIES):
            run = large._run_engine()
        self.assertEqual((run.created_count, run.skipped_dnd_count), (5940, 60))
        # The second run (nothing new) costs the same number of queries.
        self.env.invalidate_all()
        with freeze_time("2025-03-05 05:00:00"), self.assertQueryCount(RUN_QUERIES):
            again = large._run_engine()
        self.assertEqual((again.created_count, again.already_count), (0, 5940))
        self.assertEqual(len(self.callbacks(small)), 10)
        self.assertEqual(len(self.callbacks(large)), 5940)

    def test_bulk_loaded_sources_without_analyze(self):
        """Visits inserted with SQL and never analysed (a data migration): the run refreshes the
        planner's statistics first and creates exactly the callbacks due, once."""
        rule = self.make_rule(name="Bulk", assignment="round_robin", delay_days=3, window_days=2)
        # Statistics as of now: an ANALYZE is not undone by a test's rollback, so an earlier test's
        # engine run may have left the table's figures at what its own rows made them.
        self.env.flush_all()
        self.env.cr.execute("ANALYZE auto_crm_service_visit")
        due = self.bulk_delivered_visits(3000, self.at("2025-03-01"), dnd_every=50)
        late = self.bulk_delivered_visits(500, self.at("2025-02-20"))
        early = self.bulk_delivered_visits(500, self.at("2025-03-03"))
        before = self._analysed_rows("auto_crm_service_visit")
        with freeze_time("2025-03-04 02:00:00"):
            run = rule._run_engine()
        self.assertGreaterEqual(
            self._analysed_rows("auto_crm_service_visit"), before + 4000, "the run analysed the loaded visits"
        )
        self.assertEqual(run.state, "done")
        self.assertEqual((run.created_count, run.skipped_dnd_count, run.already_count), (2940, 60, 0))
        callbacks = self.callbacks(rule)
        self.assertEqual(len(callbacks), 2940)
        self.assertEqual(set(callbacks.visit_id.ids) <= set(due), True)
        self.assertFalse(set(callbacks.visit_id.ids) & set(late + early))
        self.assertEqual(set(callbacks.mapped(lambda c: str(c.date_due))), {"2025-03-04"})
        self.assertEqual(set(callbacks.mapped(lambda c: str(c.date_expiry))), {"2025-03-06"})
        self.assertEqual(callbacks.partner_id, callbacks.visit_id.partner_id)
        self.assertFalse(callbacks.partner_id.filtered("auto_do_not_disturb"))
        by_agent = [len(callbacks.filtered(lambda c, a=agent: c.user_id == a)) for agent in self.team.member_ids]
        self.assertEqual(by_agent, [1470, 1470], "the round-robin deals them evenly")
        # More sources loaded later in the window: the next run adds only them.
        more = self.bulk_delivered_visits(700, self.at("2025-03-02"))
        with freeze_time("2025-03-05 02:00:00"):
            run = rule._run_engine()
        self.assertEqual((run.created_count, run.already_count), (700, 2940))
        self.assertEqual(set(self.callbacks(rule).visit_id.ids) - set(callbacks.visit_id.ids), set(more))
        with freeze_time("2025-03-05 03:00:00"):
            self.assertEqual(rule._run_engine().created_count, 0)

    def test_refresh_statistics_only_when_stale(self):
        Engine = self.env["auto_crm.callback.engine"]
        Engine._refresh_statistics()  # whatever the tests before left
        analysed = self._analysed_rows("auto_crm_service_visit")
        self.bulk_delivered_visits(20, self.at("2025-03-01"))
        Engine._refresh_statistics()
        self.assertEqual(self._analysed_rows("auto_crm_service_visit"), analysed, "20 rows: nothing to do")
        self.bulk_delivered_visits(2000, self.at("2025-03-01"))
        Engine._refresh_statistics()
        self.assertGreaterEqual(self._analysed_rows("auto_crm_service_visit"), analysed + 2020)

    def test_win_back_reads_the_event_window_like_the_whole_history(self):
        """The win-back rule starts from the visits received in its event window; it finds exactly
        the customers whose LAST visit (any store's rule: its store's) fell in the window."""
        rule = self.make_rule(trigger="no_visit", inactivity_days=180, delay_days=0, window_days=14)
        store_rule = self.make_rule(
            name="Win-back store one",
            trigger="no_visit",
            inactivity_days=180,
            delay_days=0,
            window_days=14,
            company_id=self.company.id,
        )
        # 2025-03-05 - 180 days = 2024-09-06: last visits received from 2024-08-23 to 2024-09-06 are due.
        lapsed = self.bulk_delivered_visits(300, self.at("2024-09-01"))
        edge_in = self.bulk_delivered_visits(20, self.at("2024-08-23"))
        edge_out = self.bulk_delivered_visits(20, self.at("2024-08-22"))
        came_back = self.bulk_delivered_visits(100, self.at("2024-09-02"))
        old = self.bulk_delivered_visits(200, self.at("2023-01-10"))
        # Those who came back: a later visit (received, or at least received the same day with a
        # higher id); one came back but cancelled (still lapsed); one has an appointment booked.
        self.env.cr.execute(
            """INSERT INTO auto_crm_service_visit (name, company_id, partner_id, vehicle_id, state, visit_type,
                                                   mileage_in, date_appointment, date_reception, date_delivered,
                                                   create_date, write_date, create_uid, write_uid)
               SELECT 'BACK/' || v.id, v.company_id, v.partner_id, v.vehicle_id,
                      CASE WHEN v.id = %(cancelled)s THEN 'cancel' WHEN v.id = %(booked)s THEN 'appointment'
                           ELSE 'followup' END,
                      'maintenance', 20000, v.date_reception + interval '3 hours',
                      CASE WHEN v.id = %(booked)s THEN NULL ELSE v.date_reception + interval '3 hours' END,
                      CASE WHEN v.id = %(booked)s THEN NULL ELSE v.date_reception + interval '4 hours' END,
                      now(), now(), 1, 1
                 FROM auto_crm_service_visit v WHERE v.id IN %(ids)s""",
            {"ids": tuple(came_back), "cancelled": came_back[0], "booked": came_back[1]},
        )
        # The reference: the formulation over every visit of every customer (DISTINCT ON).
        self.env.cr.execute(
            """SELECT last.id FROM (
                   SELECT DISTINCT ON (visit.partner_id) visit.id, visit.partner_id,
                          (visit.date_reception AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai')::date AS day
                     FROM auto_crm_service_visit visit
                    WHERE visit.state != 'cancel' AND visit.date_reception IS NOT NULL
                    ORDER BY visit.partner_id, visit.date_reception DESC, visit.id DESC) last
                WHERE last.day BETWEEN '2024-08-23' AND '2024-09-06'
                  AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit booked
                                   WHERE booked.partner_id = last.partner_id AND booked.state = 'appointment')"""
        )
        expected = {row[0] for row in self.env.cr.fetchall()}
        self.assertEqual(expected & set(lapsed + edge_in), set(lapsed + edge_in))
        self.assertIn(came_back[0], expected, "a cancelled return does not count")
        self.assertFalse(expected & set(edge_out + old + came_back[1:]))
        with freeze_time("2025-03-05 02:00:00"):
            run = rule._run_engine()
            self.close_calls(self.callbacks(rule))  # (one open call per customer, issue 12)
            store_run = store_rule._run_engine()
        self.assertEqual(set(self.callbacks(rule).visit_id.ids), expected)
        self.assertEqual(run.created_count, len(expected))
        self.assertEqual(set(self.callbacks(store_rule).visit_id.ids), expected, "every visit is store one's")
        self.assertEqual(store_run.created_count, len(expected))
        with freeze_time("2025-03-06 02:00:00"):
            self.assertEqual(rule._run_engine().created_count, 0, "the window moved on: no new last visit")
        self.assertEqual(
            str(self.callbacks(rule).filtered(lambda c: c.visit_id.id == lapsed[0]).date_due),
            str(datetime.date(2024, 9, 1) + datetime.timedelta(days=180)),
        )

    def test_maintenance_reads_the_cars_serviced_in_the_last_months(self):
        """A months rule reads only the cars delivered since its window less N months; the source is
        still the car's last delivered visit, and a car last serviced before that is not due."""
        rule = self.make_rule(
            trigger="maintenance_due", maintenance_months=6, maintenance_km=5000, delay_days=0, window_days=10
        )
        recent = self.make_delivered_visits(1, self.at("2024-09-03"), mileage_in=10000)
        older = self.make_visit(partner_id=recent.partner_id.id, vehicle_id=recent.vehicle_id.id, mileage_in=5000)
        self.set_visit_dates(
            older, state="followup", date_reception=self.at("2023-03-01"), date_delivered=self.at("2023-03-01")
        )
        forgotten = self.make_delivered_visits(1, self.at("2023-01-10"), mileage_in=10000)
        with freeze_time("2025-03-03 02:00:00"):
            run = rule._run_engine()
        self.assertEqual(run.created_count, 1)
        self.assertEqual(self.callbacks(rule).visit_id, recent, "the car's last visit, not the older one")
        self.assertNotIn(forgotten.vehicle_id, self.callbacks(rule).vehicle_id)
