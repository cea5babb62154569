import sys
import threading
import traceback

from psycopg2 import errors

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase
from odoo.tools import SQL, mute_logger

ROUNDS = 6
CALLS = 10
SAMPLE = 5
SETUP_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "no_reset_password": True,
}
ORDERED, SERIALIZATION = "ordered", "serialization failure"


@tagged("post_install", "-at_install")
class TestCallbackAuditConcurrency(TransactionCase):
    """Two managers order an audit of the same agent's calls at the same instant: two threads, each with
    its own cursor from the registry and its own environment, both holding their snapshot (they have
    read the population) when a barrier releases them. Each draws 5 of the agent's 10 done calls with
    its own seed; the samples overlap in most rounds. No call is audited twice, and all 10 end up
    audited: an order that fails with a serialization failure is rolled back and run once more in a
    fresh transaction, as Odoo's RPC layer does (``odoo.service.model.retrying``), and then draws from
    the 5 calls left.

    Each round's agent and calls are created and committed in a cursor of their own; everything the
    class created is deleted at the end (done calls and their audits refuse unlink: SQL)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = {"users": [], "partners": [], "callbacks": []}
        cls.addClassCleanup(cls._delete_created)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            company = env.ref("base.main_company")
            common = {"company_id": company.id, "company_ids": [(6, 0, [company.id])]}
            managers = [
                new_test_user(env, f"crm_audit_manager{n}", groups="auto_crm.group_manager", name=f"M{n}", **common)
                for n in (1, 2)
            ]
            auditor = new_test_user(env, "crm_audit_auditor", groups="auto_crm.group_agent", name="Auditor", **common)
            cls.company_id = company.id
            cls.manager_ids = [user.id for user in managers]
            cls.auditor_id = auditor.id
        cls.created["users"] += [*cls.manager_ids, cls.auditor_id]

    @classmethod
    def _delete_created(cls):
        created = cls.created
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            callbacks = created["callbacks"]
            cr.execute(SQL("SELECT id FROM auto_crm_callback_audit WHERE callback_id = ANY(%s)", callbacks))
            audits = [row[0] for row in cr.fetchall()]
            for model, ids in (("auto_crm.callback.audit", audits), ("auto_crm.callback", callbacks)):
                cr.execute(SQL("DELETE FROM mail_message WHERE model = %s AND res_id = ANY(%s)", model, ids))
                cr.execute(SQL("DELETE FROM mail_followers WHERE res_model = %s AND res_id = ANY(%s)", model, ids))
            cr.execute(SQL("DELETE FROM auto_crm_callback_audit WHERE id = ANY(%s)", audits))
            cr.execute(SQL("DELETE FROM auto_crm_callback WHERE id = ANY(%s)", callbacks))
            users = env["res.users"].browse(created["users"]).exists()
            partners = env["res.partner"].browse(created["partners"]) | users.partner_id
            users.unlink()
            partners.exists().unlink()

    def _round_fixture(self, number):
        """A new agent with 10 calls done today, committed. Returns the agent's id and the calls' ids."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, SETUP_CONTEXT)
            agent = new_test_user(
                env,
                f"crm_audit_agent{number}",
                groups="auto_crm.group_agent",
                name=f"Agent {number}",
                company_id=self.company_id,
                company_ids=[(6, 0, [self.company_id])],
            )
            partner = env["res.partner"].create({"name": f"抽查客户 {number}", "auto_customer": True})
            Callback = env["auto_crm.callback"]
            calls = Callback.browse()
            for _index in range(CALLS):  # one open callback per customer at a time: made and done in turn
                call = Callback.create({"partner_id": partner.id, "user_id": agent.id, "company_id": self.company_id})
                call.action_done()
                calls |= call
            agent_id, partner_id, call_ids = agent.id, partner.id, calls.ids
        self.created["users"].append(agent_id)
        self.created["partners"].append(partner_id)
        self.created["callbacks"] += call_ids
        return agent_id, call_ids

    def _order(self, manager_id, agent_id, seed, barrier, outcome):
        """One manager's request, run as Odoo's RPC layer runs it: retried once after a serialization failure."""
        for attempt in range(2):
            try:
                with self.registry.cursor() as cr:
                    # The test runner holds the registries' lock while tests run: give the cursor its
                    # transaction on this registry, so that the environment needs no registry lookup.
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, manager_id, {})
                    today = fields.Date.context_today(env.user)
                    wizard = env["auto_crm.callback.audit.wizard"].create(
                        {
                            "company_id": self.company_id,
                            "date_from": fields.Date.subtract(today, days=1),
                            "date_to": fields.Date.add(today, days=1),
                            "agent_ids": [(6, 0, [agent_id])],
                            "sample_size": SAMPLE,
                            "auditor_id": self.auditor_id,
                            "seed": seed,
                        }
                    )
                    wizard._population()  # the snapshot is taken: both requests have read the calls
                    if attempt == 0:
                        barrier.wait()
                    wizard.action_order()
                    env.flush_all()
                    # a real second transaction of the race, on its own cursor: it must commit
                    cr.commit()  # pylint: disable=invalid-commit
                outcome.append(ORDERED)
                return
            except (errors.SerializationFailure, errors.DeadlockDetected):
                outcome.append(SERIALIZATION)

    @mute_logger("odoo.sql_db")
    def test_two_managers_never_audit_a_call_twice(self):
        overlaps = 0
        for number in range(ROUNDS):
            with self.subTest(round=number):
                agent_id, call_ids = self._round_fixture(number)
                barrier = threading.Barrier(2, timeout=30)
                outcomes = ([], [])
                crashes = []

                # the defaults bind this round's own lists to the thread (not shared between rounds)
                def run(index, outcome, agent_id=agent_id, barrier=barrier, crashes=crashes, number=number):  # pylint: disable=dangerous-default-value
                    try:
                        self._order(self.manager_ids[index], agent_id, 1000 * number + index + 1, barrier, outcome)
                    except BaseException:  # reported by the main thread
                        crashes.append(traceback.format_exc())
                        barrier.abort()

                threads = [threading.Thread(target=run, args=(index, outcomes[index])) for index in (0, 1)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
                if any(thread.is_alive() for thread in threads):
                    frames = sys._current_frames()
                    stacks = "\n".join(
                        "".join(traceback.format_stack(frames[t.ident])) for t in threads if t.is_alive()
                    )
                    self.fail(f"an order hung:\n{stacks}")
                self.assertFalse(crashes, crashes and crashes[0])
                self.assertEqual([outcome[-1] for outcome in outcomes], [ORDERED, ORDERED])
                overlaps += sum(SERIALIZATION in outcome for outcome in outcomes)
                with self.registry.cursor() as cr:
                    cr.execute(
                        SQL(
                            "SELECT callback_id FROM auto_crm_callback_audit WHERE callback_id = ANY(%s)",
                            call_ids,
                        )
                    )
                    audited = [row[0] for row in cr.fetchall()]
                self.assertEqual(len(audited), len(set(audited)), "a call audited twice")
                self.assertEqual(sorted(audited), sorted(call_ids))
        self.assertGreater(overlaps, 0, "no round drew overlapping samples: the race was not run")
