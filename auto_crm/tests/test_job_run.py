import faulthandler
import logging
import sys
import threading

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tests.common import TransactionCase
from odoo.tools import mute_logger

from ..models.auto_crm_job_run import JobStep, job_lock_key
from .common import AutoCrmCase

JOB_LOGGER = "odoo.addons.auto_crm.models.auto_crm_job_run"

#: Each scheduled job: its code and how its cron starts it.
CRONS = {
    "callback_engine": lambda env: env["auto_crm.callback.engine"]._cron_run(),
    "complaint_escalation": lambda env: env["auto_crm.complaint"]._cron_escalate_sla(),
    "corrective_action_overdue": lambda env: env["auto_crm.corrective.action"]._cron_remind_overdue(),
    "partner_segments": lambda env: env["res.partner"]._cron_auto_crm_segments(),
    "loyalty_nightly": lambda env: env["auto_crm.loyalty.member"]._cron_loyalty_nightly(),
}


@tagged("post_install", "-at_install")
class TestJobRun(AutoCrmCase):
    """The batch runner every scheduled job uses (auto_crm.job.run._run_job)."""

    def setUp(self):
        super().setUp()
        self.Run = self.env["auto_crm.job.run"]
        self.partners = self.env["res.partner"].create([{"name": f"Unit {i}"} for i in range(5)])

    def test_a_bad_unit_is_recorded_and_the_rest_of_its_batch_runs(self):
        bad = self.partners[2]
        done = []

        def process(batch):
            if bad.id in batch:
                raise ValueError("no phone number")
            done.extend(batch)

        with self.assertLogs(JOB_LOGGER, level="WARNING") as logs:
            run = self.Run._run_job(
                "partner_segments", JobStep(units=self.partners.ids, process=process, model="res.partner", batch_size=3)
            )
        self.assertEqual(sorted(done), sorted((self.partners - bad).ids), "its batch retried one by one")
        self.assertEqual((run.state, run.processed_count, run.failed_count), ("failed", 5, 1))
        self.assertTrue(run.date_end)
        line = run.line_ids
        self.assertEqual(
            (line.state, line.res_model, line.res_id, line.res_name), ("failed", "res.partner", bad.id, bad.name)
        )
        self.assertIn("no phone number", line.message)
        self.assertIn("no phone number", logs.output[0])

    def test_failure_hook_runs_after_the_unit_rolled_back(self):
        bad = self.partners[0]
        noted = []

        def process(batch):
            self.env["res.partner"].browse(batch).write({"comment": "touched"})
            raise ValueError("always")

        with mute_logger(JOB_LOGGER):
            run = self.Run._run_job(
                "partner_segments",
                JobStep(units=bad.ids, process=process, model="res.partner", on_failure=lambda u, e: noted.append(u)),
            )
        self.assertEqual(noted, bad.ids)
        bad.invalidate_recordset(["comment"])
        self.assertFalse(bad.comment, "the unit's work was rolled back")
        self.assertEqual(run.state, "failed")

    def test_clean_run_is_done(self):
        run = self.Run._run_job("partner_segments", JobStep(units=lambda: self.partners.ids, process=lambda b: None))
        self.assertEqual((run.state, run.processed_count, run.failed_count), ("done", 5, 0))
        self.assertFalse(run.line_ids)

    def test_job_held_by_another_transaction_is_skipped(self):
        called = []
        with self.registry.cursor() as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", job_lock_key("partner_segments"))
            with self.assertNoLogs(level="ERROR"), self.assertLogs(JOB_LOGGER, level=logging.INFO) as logs:
                run = self.Run._run_job(
                    "partner_segments", JobStep(units=lambda: called.append(1) or [], process=lambda b: None)
                )
            other.rollback()
        self.assertEqual(run.state, "skipped")
        self.assertFalse(called, "nothing is looked at while another run works")
        self.assertIn("skipped", logs.output[0])
        self.assertEqual(self.Run._run_job("partner_segments", JobStep(process=lambda b: None)).state, "done")

    def test_engine_run_by_hand_while_the_nightly_run_works(self):
        Engine = self.env["auto_crm.callback.engine"].with_user(self.dealer_admin)
        with self.registry.cursor() as other:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", job_lock_key("callback_engine"))
            with self.assertLogs(JOB_LOGGER, level=logging.INFO):
                notification = Engine.action_run_now()
            other.rollback()
        self.assertIn("in progress", notification["params"]["message"])
        self.assertEqual(self.Run.search([("job", "=", "callback_engine")], limit=1).state, "skipped")
        notification = Engine.action_run_now()
        self.assertEqual(notification["params"]["type"], "success")
        self.assertEqual(self.Run.search([("job", "=", "callback_engine")], limit=1).state, "done")

    def test_managers_read_the_log_agents_do_not(self):
        run = self.Run._run_job("partner_segments", JobStep(units=self.partners.ids, process=lambda b: None))
        self.assertEqual(run.with_user(self.manager).read(["state"])[0]["state"], "done")
        self.assertEqual(run.with_user(self.dealer_admin).read(["state"])[0]["state"], "done")
        for user in (self.agent, self.advisor):
            with self.assertRaises(AccessError):
                run.with_user(user).read(["state"])
        menu = self.env.ref("auto_crm.auto_crm_job_run_menu")
        self.assertIn(self.env.ref("auto_crm.group_manager"), menu.groups_id)


@tagged("post_install", "-at_install")
class TestJobRunConcurrency(TransactionCase):
    """Two runs of each scheduled job at the same time, each in its own transaction: one works, the
    other is skipped cleanly. The test's own transaction writes nothing (it would hold row locks the
    threads wait on); the threads work on the demo data and roll back."""

    ROUNDS = 3

    def _race(self, job):
        barrier_start = threading.Barrier(2, timeout=60)
        barrier_end = threading.Barrier(2, timeout=120)
        outcomes, errors = [], []

        def worker():
            try:
                with self.registry.cursor() as cr:
                    # The registry is given, not looked up: the lookup waits on the registry lock, which
                    # the test runner holds.
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    try:
                        barrier_start.wait()
                        CRONS[job](env)
                        run = env["auto_crm.job.run"].search([("job", "=", job)], limit=1)
                        outcomes.append((run.state, run.failed_count))
                    finally:
                        barrier_end.wait()  # neither transaction ends before the other has tried
                        cr.rollback()
            except Exception as error:  # reported in the main thread
                errors.append(error)
                barrier_start.abort()
                barrier_end.abort()

        threads = [threading.Thread(target=worker) for _i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        if any(thread.is_alive() for thread in threads):  # say where they hang
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            self.fail("a run did not end")
        self.assertFalse(errors)
        return sorted(outcomes)

    def _assert_one_done_one_skipped(self, job):
        before = self.env["auto_crm.job.run"].search_count([("job", "=", job)])
        for round_ in range(self.ROUNDS):
            with self.subTest(job=job, round=round_):
                with self.assertNoLogs(level="ERROR"), self.assertLogs(JOB_LOGGER, level=logging.INFO) as logs:
                    outcomes = self._race(job)
                self.assertEqual(outcomes, [("done", 0), ("skipped", 0)])
                self.assertTrue(any(f"Job {job} skipped" in line for line in logs.output))
        self.assertEqual(self.env["auto_crm.job.run"].search_count([("job", "=", job)]), before, "both rolled back")

    def test_callback_engine(self):
        self._assert_one_done_one_skipped("callback_engine")

    def test_complaint_escalation(self):
        self._assert_one_done_one_skipped("complaint_escalation")

    def test_corrective_action_overdue(self):
        self._assert_one_done_one_skipped("corrective_action_overdue")

    def test_partner_segments(self):
        self._assert_one_done_one_skipped("partner_segments")

    def test_loyalty_nightly(self):
        self._assert_one_done_one_skipped("loyalty_nightly")
