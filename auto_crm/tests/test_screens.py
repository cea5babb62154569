"""The boards: closed columns folded, default filters that show the work at hand, and the same
number of queries whatever the size of the history (10 records, then 6,000 more: more than a batch)."""

import datetime
import logging

from freezegun import freeze_time
from lxml import etree

from odoo.tests import tagged

from .callback_common import CallbackCase
from .screens_common import (
    CALLBACK_BOARD,
    COMPLAINT_BOARD,
    VISIT_BOARD,
    board_calls,
    my_calls_today_domain,
    on_board_domain,
    open_complaints_domain,
)

_logger = logging.getLogger(__name__)

NOW = "2025-06-10 04:00:00"  # 12:00 in Shanghai, the store's time zone (CallbackCase)
BULK = 6000
#: The boards' first load as the web client makes it (see screens_common.py), at 10 records. At
#: 6,000 more the same calls are made; Odoo's web_search_read adds one count per column whose first
#: page is full (it returned `limit` cards), so: + 5 open stages, + 2 open statuses.
#: The cards' own figures cost one query per column: the visit card's loyalty tier (the customer's
#: member card in the store, 22 -> 27 for 5 columns), the callback card's "1/3" and last outcome
#: (one query for the column's attempts, 14 -> 16 for 2 columns). The lateness progress bar is one
#: read_group, as the kanban_state bar was. (The callback board's cards belong to one customer each
#: since a customer has one open callback per store: each open column reads its own customers, one
#: query more than when every card was the same customer's: 16 -> 17.)
#: The cards' loyalty fields look the member up in the store's programme or its dealer group's (18.0.1.2.0):
#: the stores' company hierarchy, the programmes in one search and the member rules of the group: 27 -> 33,
#: the same at 10 and at 6,012 visits.
VISIT_BOARD_QUERIES = 33
CALLBACK_BOARD_QUERIES = 17


@tagged("post_install", "-at_install")
class TestScreens(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.visit_model = cls.env["auto_crm.service.visit"]
        # The demo data (when installed) has its own visits and callbacks: the boards here count
        # only this class's, so they start from a clean slate in the main store.
        for table in ("auto_crm_service_visit", "auto_crm_callback", "auto_crm_complaint"):
            cls.env.cr.execute(
                f"UPDATE {table} SET company_id = %s WHERE company_id = %s", (cls.other_company.id, cls.company.id)
            )
        cls.env.invalidate_all()

    # ------------------------------------------------------------------ data in bulk (SQL copies)
    def clone(self, record, count, **values):
        """``count`` SQL copies of ``record``'s row with ``values`` (SQL expressions of ``g``, the
        copy's number from 1) in place of its own; no ORM, no mail: a bulk load."""
        self.env.flush_all()
        table = record._table
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name != 'id'",
            (table,),
        )
        columns = [name for (name,) in self.env.cr.fetchall()]
        values = dict({"name": "name || '-' || id || '-' || g"}, **values)
        names = ", ".join(f'"{name}"' for name in columns)
        select = ", ".join(values.get(name, f'"{name}"') for name in columns)
        self.env.cr.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {select} FROM "{table}", generate_series(1, %s) g WHERE id = %s',
            (count, record.id),
        )
        self.env.cr.execute(f'ANALYZE "{table}"')
        self.env.invalidate_all()

    def bulk_partners(self, count):
        """``count`` customers inserted with SQL; returns the SQL expression of ``g`` (a clone's
        number, see ``clone``) that gives each clone its own."""
        self.env.cr.execute(
            """INSERT INTO res_partner (name, complete_name, active, type, auto_customer, create_date, write_date)
               SELECT '客户 ' || n, '客户 ' || n, TRUE, 'contact', TRUE, now(), now()
                 FROM generate_series(1, %s) n ORDER BY n
            RETURNING id""",
            (count,),
        )
        ids = sorted(row[0] for row in self.env.cr.fetchall())
        return f"(ARRAY{ids}::int[])[g]"

    def board(self, user, board, domain):
        self.env.flush_all()
        self.env.invalidate_all()
        model = self.env[board["model"]].with_user(user)
        return board_calls(model, board, domain)

    def counted(self, user, board, domain):
        """The board's calls and the number of queries they made."""
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        groups, cards = self.board(user, board, domain)
        return self.cr.sql_log_count - before, groups, cards

    # ------------------------------------------------------------------ the workshop board
    def make_board_visits(self):
        """10 visits: two in each open stage, one delivered yesterday, one delivered a month ago."""
        visits = self.env["auto_crm.service.visit"]
        for state in ("appointment", "reception", "repair", "inspection", "delivery"):
            for _index in range(2):
                visits |= self.make_visit(advisor_id=self.advisor.id)
                self.set_visit_dates(visits[-1:], state=state)
        now = datetime.datetime(2025, 6, 10, 4)
        recent = self.make_visit(advisor_id=self.advisor.id)
        old = self.make_visit(advisor_id=self.advisor.id)
        self.set_visit_dates(recent, state="followup", date_delivered=now - datetime.timedelta(days=1))
        self.set_visit_dates(old, state="followup", date_delivered=now - datetime.timedelta(days=30))
        return visits, recent, old

    def test_visit_board_folds_history_and_filters_the_work_at_hand(self):
        visits, recent, old = self.make_board_visits()
        with freeze_time(NOW):
            groups, cards = self.board(self.advisor, VISIT_BOARD, on_board_domain())
        by_state = {group["state"]: group for group in groups}
        self.assertTrue(by_state["followup"]["__fold"], "delivered visits: a folded column")
        self.assertNotIn("__fold", by_state["repair"], "open stages keep the kanban's default (open)")
        self.assertNotIn("followup", cards, "a folded column loads no card")
        self.assertEqual(by_state["followup"]["state_count"], 1, "only the visit delivered in the last 7 days")
        self.assertEqual(set(cards), {"appointment", "reception", "repair", "inspection", "delivery"})
        self.assertEqual(sum(len(page) for page in cards.values()), 10)
        advisor_visits = self.visit_model.with_user(self.advisor)
        with freeze_time(NOW):
            on_board = advisor_visits.search([("on_board", "=", True)])
            off_board = advisor_visits.search([("on_board", "=", False)])
        self.assertEqual(on_board, visits | recent)
        self.assertEqual(off_board, old)
        with freeze_time(NOW):
            self.assertEqual((visits | recent | old).mapped("on_board"), [True] * 11 + [False])
        # Eight days later the recent one has left the board, its history a filter away.
        with freeze_time("2025-06-17 04:00:00"):
            self.assertEqual(advisor_visits.search([("on_board", "=", True)]), visits)
            self.assertIn(recent, advisor_visits.search([("state", "=", "followup")]))

    def test_on_board_uses_the_stores_day(self):
        """Delivered 8 days ago at 23:30 Shanghai time (15:30 UTC) is before the store's cut-off,
        whatever the user's time zone."""
        visit = self.make_visit()
        self.set_visit_dates(visit, state="followup", date_delivered=datetime.datetime(2025, 6, 2, 15, 30))
        inside = self.make_visit()
        self.set_visit_dates(inside, state="followup", date_delivered=datetime.datetime(2025, 6, 2, 16, 30))
        self.advisor.tz = "America/New_York"
        with freeze_time(NOW):
            found = self.visit_model.with_user(self.advisor).search([("on_board", "=", True)])
        self.assertNotIn(visit, found)
        self.assertIn(inside, found)

    def test_visit_board_queries_do_not_grow(self):
        visits, recent, old = self.make_board_visits()
        with freeze_time(NOW):
            self.board(self.advisor, VISIT_BOARD, on_board_domain())  # warm the caches
            with self.assertQueryCount(VISIT_BOARD_QUERIES):
                small, _groups, _cards = self.counted(self.advisor, VISIT_BOARD, on_board_domain())
        # 6,000 more: 3,600 delivered long ago (the history), 600 delivered this week (folded),
        # 360 in each open stage (a full first page each).
        self.clone(old, 3600)
        self.clone(recent, 600)
        for visit in visits[::2]:
            self.clone(visit, 360)
        self.assertEqual(self.visit_model.search_count([("company_id", "=", self.company.id)]), 10 + 2 + BULK)
        with freeze_time(NOW):
            with self.assertQueryCount(VISIT_BOARD_QUERIES + 5):
                groups, cards = self.board(self.advisor, VISIT_BOARD, on_board_domain())
        # The same calls; the only extra queries are the web client's count of each full first
        # page (web_search_read counts a column when it returns `limit` cards: 5 open columns).
        self.assertEqual([len(page) for page in cards.values()], [40] * 5)
        self.assertEqual({group["state"]: group["state_count"] for group in groups}["followup"], 601)
        with freeze_time(NOW):
            big, _groups, _cards = self.counted(self.advisor, VISIT_BOARD, on_board_domain())
        self.assertEqual(big, small + 5)
        _logger.info("workshop board: %s queries at 10 visits, %s at %s", small, big, 12 + BULK)

    # ------------------------------------------------------------------ the agents' board
    def make_board_callbacks(self):
        """10 callbacks of the agent's team: 4 overdue (2 mine, 2 unassigned), 2 due today, 2 due
        next week, 2 done."""
        Callback = self.env["auto_crm.callback"]
        today = datetime.date(2025, 6, 10)
        common = {"team_id": self.team.id}
        # (one customer each: a customer has one open callback per store at a time, issue 12)
        partners = self.env["res.partner"].create(
            [{"name": f"回访客户 {index}", "auto_customer": True} for index in range(10)]
        )
        rows = [
            (today - datetime.timedelta(days=3), self.agent.id),
            (today - datetime.timedelta(days=2), self.agent.id),
            (today - datetime.timedelta(days=2), False),
            (today - datetime.timedelta(days=1), False),
            (today, self.agent.id),
            (today, False),
            (today + datetime.timedelta(days=7), self.agent.id),
            (today + datetime.timedelta(days=7), False),
            (today - datetime.timedelta(days=20), self.agent.id),
            (today - datetime.timedelta(days=20), self.agent.id),
        ]
        with freeze_time(NOW):
            callbacks = Callback.create(
                [
                    dict(common, name=f"Call {index}", date_due=due, user_id=user, partner_id=partners[index].id)
                    for index, (due, user) in enumerate(rows)
                ]
            )
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE auto_crm_callback SET state = 'done', date_done = now() WHERE id IN %s",
            (tuple(callbacks[-2:].ids),),
        )
        self.env.cr.execute("UPDATE auto_crm_callback SET state = 'in_progress' WHERE id = %s", (callbacks[1].id,))
        self.env.invalidate_all()
        return callbacks

    def test_callback_board_folds_closed_columns(self):
        callbacks = self.make_board_callbacks()
        with freeze_time(NOW):
            groups, cards = self.board(self.agent, CALLBACK_BOARD, my_calls_today_domain(self.agent.id))
        by_state = {group["state"]: group for group in groups}
        for state in ("done", "failed", "expired", "cancel"):
            self.assertTrue(by_state[state]["__fold"], state)
        self.assertEqual(set(cards), {"todo", "in_progress"})
        loaded = self.env["auto_crm.callback"].browse([row["id"] for page in cards.values() for row in page])
        self.assertEqual(loaded, callbacks[:6])

    def test_callback_board_queries_do_not_grow(self):
        callbacks = self.make_board_callbacks()
        domain = my_calls_today_domain(self.agent.id)
        with freeze_time(NOW):
            self.board(self.agent, CALLBACK_BOARD, domain)
            with self.assertQueryCount(CALLBACK_BOARD_QUERIES):
                small, _groups, _cards = self.counted(self.agent, CALLBACK_BOARD, domain)
        # 6,000 more: 3,000 done (history), 1,000 due next week, 1,000 overdue mine (to do),
        # 1,000 overdue in progress unassigned.
        self.clone(callbacks[-1], 3000)
        # (the open ones for customers of their own: one open callback per customer and store, issue 12)
        self.clone(callbacks[6], 1000, partner_id=self.bulk_partners(1000))
        self.clone(callbacks[0], 1000, partner_id=self.bulk_partners(1000))
        self.clone(callbacks[1], 1000, user_id="NULL", partner_id=self.bulk_partners(1000))
        self.assertEqual(self.env["auto_crm.callback"].search_count([("company_id", "=", self.company.id)]), 10 + BULK)
        with freeze_time(NOW):
            with self.assertQueryCount(CALLBACK_BOARD_QUERIES + 2):
                groups, cards = self.board(self.agent, CALLBACK_BOARD, domain)
        # Two open columns, each a full first page: the web client's count of each.
        self.assertEqual({state: len(page) for state, page in cards.items()}, {"todo": 40, "in_progress": 40})
        counts = {group["state"]: group["state_count"] for group in groups}
        self.assertEqual((counts["todo"], counts["in_progress"]), (5 + 1000, 1 + 1000))
        with freeze_time(NOW):
            big, _groups, _cards = self.counted(self.agent, CALLBACK_BOARD, domain)
        self.assertEqual(big, small + 2)
        _logger.info("callback board: %s queries at 10 callbacks, %s at %s", small, big, 10 + BULK)

    # ------------------------------------------------------------------ the complaint board
    def test_complaint_board_folds_closed_and_opens_on_open(self):
        action = self.env.ref("auto_crm.auto_crm_complaint_action")
        self.assertIn("search_default_open", action.context)
        complaint = self.env["auto_crm.complaint"].create({"subject": "Noise", "partner_id": self.customer.id})
        groups, cards = self.board(self.manager, COMPLAINT_BOARD, open_complaints_domain())
        by_state = {group["state"]: group for group in groups}
        self.assertTrue(by_state["closed"]["__fold"])
        self.assertIn(complaint.id, [row["id"] for row in cards["new"]])

    def test_default_filters_and_search_panels(self):
        """The boards open on the work at hand; no search panel counts or scans the table."""
        visit_action = self.env.ref("auto_crm.auto_crm_service_visit_action")
        self.assertIn("search_default_on_board", visit_action.context)
        for model in ("auto_crm.service.visit", "auto_crm.complaint", "auto_crm.vehicle"):
            arch = etree.fromstring(self.env[model].get_views([(False, "search")])["views"]["search"]["arch"])
            for field in arch.iterfind("searchpanel/field"):
                self.assertFalse(field.get("enable_counters"), model)
                self.assertEqual(field.get("expand"), "1", model)
        # A search panel field that expands its values reads none of the model's rows.
        self.env.flush_all()
        before = self.cr.sql_log_count
        self.env["auto_crm.service.visit"].with_user(self.advisor).search_panel_select_range(
            "visit_type", search_domain=on_board_domain(), expand=True
        )
        self.assertEqual(self.cr.sql_log_count, before)
