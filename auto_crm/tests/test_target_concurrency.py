import threading
import traceback

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase
from odoo.tools import SQL, mute_logger

ROUNDS = 6
SETUP_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "no_reset_password": True,
}
SAVED, REFUSED = "saved", "refused"


@tagged("post_install", "-at_install")
class TestTargetConcurrency(TransactionCase):
    """Two managers save the store's target of the same month at the same instant: two threads, each
    with its own cursor from the registry and its own environment, released together by a barrier after
    both took their snapshot (neither sees the other's row). Exactly one save wins, the other is told
    the month already has targets (the unique index on store, month and COALESCE(advisor, 0) decides),
    in every round. The threads see committed data only: the managers are committed in a cursor of
    their own and everything is deleted at the end."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created_users = []
        cls.addClassCleanup(cls._delete_created)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            company = env.ref("base.main_company")
            common = {"company_id": company.id, "company_ids": [(6, 0, [company.id])]}
            users = [
                new_test_user(env, f"crm_target_race_{n}", groups="auto_crm.group_manager", **common) for n in (1, 2)
            ]
            cls.company_id = company.id
            cls.user_ids = users[0].id, users[1].id
            # far from any real month: no demo or test target is there
            cls.months = [fields.Date.to_date(f"2041-{m:02d}-01") for m in range(1, ROUNDS + 1)]
            env["auto_crm.target"].search([("company_id", "=", company.id), ("month", "in", cls.months)]).unlink()
        cls.created_users += list(cls.user_ids)

    @classmethod
    def _delete_created(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            targets = env["auto_crm.target"].search([("company_id", "=", cls.company_id), ("month", "in", cls.months)])
            cr.execute(
                SQL("DELETE FROM mail_message WHERE model = 'auto_crm.target' AND res_id = ANY(%s)", targets.ids)
            )
            cr.execute(
                SQL("DELETE FROM mail_followers WHERE res_model = 'auto_crm.target' AND res_id = ANY(%s)", targets.ids)
            )
            targets.unlink()
            users = env["res.users"].browse(cls.created_users).exists()
            partners = users.partner_id
            users.unlink()
            partners.exists().unlink()

    def _save(self, uid, month, visits, barrier, outcome):
        """One request as the RPC layer runs it: a cursor, an environment, the save, commit."""
        try:
            with self.registry.cursor() as cr:
                cr.transaction = api.Transaction(self.registry)
                env = api.Environment(cr, uid, {})
                # the snapshot: the manager's screen read the month's targets (none) before saving
                env["auto_crm.target"].search_count([("company_id", "=", self.company_id), ("month", "=", month)])
                barrier.wait()
                try:
                    env["auto_crm.target"].create(
                        {"company_id": self.company_id, "month": month, "target_visits": visits}
                    )
                    # a real second transaction of the race, on its own cursor: it must commit
                    cr.commit()  # pylint: disable=invalid-commit
                    outcome.append((SAVED, visits))
                except ValidationError as error:
                    cr.rollback()
                    outcome.append((REFUSED, str(error)))
        except Exception:  # reported by the main thread
            outcome.append(("crash", traceback.format_exc()))
            barrier.abort()

    def test_one_save_wins(self):
        for round_number, month in enumerate(self.months):
            barrier = threading.Barrier(2, timeout=30)
            outcomes = ([], [])
            threads = [
                threading.Thread(target=self._save, args=(uid, month, 100 + n, barrier, outcomes[n]))
                for n, uid in enumerate(self.user_ids)
            ]
            with mute_logger("odoo.sql_db"):
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
            results = sorted(outcome[0] for outcome in outcomes if outcome)
            self.assertEqual(len(results), 2, f"round {round_number}: {outcomes}")
            self.assertEqual([kind for kind, _detail in results], [REFUSED, SAVED], f"round {round_number}: {outcomes}")
            refusal = next(detail for kind, detail in results if kind == REFUSED)
            self.assertIn("already has targets", refusal)
            with self.registry.cursor() as cr:
                cr.execute(
                    SQL(
                        "SELECT target_visits FROM auto_crm_target WHERE company_id = %s AND month = %s",
                        self.company_id,
                        month,
                    )
                )
                rows = cr.fetchall()
            winner = next(detail for kind, detail in results if kind == SAVED)
            self.assertEqual(rows, [(winner,)], f"round {round_number}")
