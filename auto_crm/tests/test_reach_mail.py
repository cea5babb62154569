"""Reminders by e-mail and SMS (issue 14): the hourly job queues one message per callback of channel e-mail
or SMS due today, from the templates, in the customer's language, signed by the store; a customer who
must not or cannot be reached is skipped with the reason on the callback; one bad record never stops the
run; each callback is messaged once, whoever runs at the same time; constant queries per batch."""

import itertools
import logging
import sys
import threading
import traceback

from freezegun import freeze_time
from psycopg2 import errors

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged
from odoo.tests.common import TransactionCase, warmup
from odoo.tools import SQL, mute_logger

from .callback_common import CallbackCase

_logger = logging.getLogger(__name__)

#: 10:00 in Shanghai (the store's day is 2025-03-04).
NOW = "2025-03-04 02:00:00"
TODAY = "2025-03-04"


@tagged("post_install", "-at_install")
class TestReachMail(CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {"name": "粤顺4S店 Reach Store", "phone": "+86 20 8888 0000", "email": "service@yueshun.example.com"}
        )
        cls.company.partner_id.write({"street": "天河路 100 号", "city": "广州"})
        cls.maintenance = cls.make_rule(name="Maintenance reminder", trigger="maintenance_due", active=False)
        cls.birthday = cls.make_rule(name="Birthday wishes", trigger="birthday", active=False)
        cls.numbers = itertools.count(1)
        cls.cron = cls.env.ref("auto_crm.auto_crm_callback_reminder_cron")

    def make_customer(self, lang="en_US", **vals):
        number = next(self.numbers)
        values = {
            "name": f"Reach Customer {number}",
            "auto_customer": True,
            "auto_callback_consent": True,
            "email": f"reach{number}@example.com",
            "mobile": f"+86 139 2000 {number:04d}",
            "lang": lang,
        }
        values.update(vals)
        return self.env["res.partner"].create(values)

    def callback(self, partner, channel="email", rule=None, **vals):
        """A callback due today, made by the maintenance rule (or ``rule``; ``False``: made by hand)."""
        values = {
            "partner_id": partner.id,
            "channel": channel,
            "date_due": TODAY,
            "rule_id": (self.maintenance if rule is None else rule or self.env["auto_crm.callback.rule"]).id,
        }
        values.update(vals)
        return self.env["auto_crm.callback"].create(values)

    def run_job(self, now=NOW):
        with freeze_time(now):
            return self.env["auto_crm.callback"]._cron_send_reminders()

    def mails(self, callbacks):
        return self.env["mail.mail"].search([("model", "=", "auto_crm.callback"), ("res_id", "in", callbacks.ids)])

    def notes(self, record):
        return self.env["mail.message"].search([("model", "=", record._name), ("res_id", "=", record.id)], order="id")

    def chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])

    # ------------------------------------------------------------------ e-mail
    def test_email_queued_once_in_the_customers_language_with_the_store_signature(self):
        self.chinese()
        english = self.callback(self.make_customer())
        chinese = self.callback(self.make_customer(lang="zh_CN"))
        run = self.run_job()
        self.assertEqual((run.job, run.state, run.processed_count), ("callback_reminders", "done", 2))
        mail = self.mails(english)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, english.partner_id)
        self.assertEqual(mail.state, "outgoing", "queued: Odoo's mail queue sends it")
        self.assertEqual(mail.subject, "粤顺4S店 Reach Store: your car is due for its next service")
        for expected in (
            "Dear Reach Customer",
            "is due for its next service",
            "粤顺4S店 Reach Store",
            "+86 20 8888 0000",
            "天河路 100 号",
        ):
            with self.subTest(expected=expected):
                self.assertIn(expected, str(mail.body_html))
        mail_zh = self.mails(chinese)
        self.assertEqual(mail_zh.subject, "粤顺4S店 Reach Store：您的爱车该做下一次保养了")
        self.assertIn("尊敬的", str(mail_zh.body_html))
        self.assertIn("电话", str(mail_zh.body_html))
        self.assertNotIn("Dear", str(mail_zh.body_html))
        # The stamp, and the message in the callback's and the customer's chatter.
        for callback in english | chinese:
            self.assertEqual(callback.reminder_state, "sent")
            self.assertTrue(callback.reminder_date)
            self.assertIn(self.mails(callback).mail_message_id, self.notes(callback))
            self.assertIn("Reminder e-mail queued", self.notes(callback.partner_id)[-1:].body or "")
        # The next hour: nothing more.
        run = self.run_job("2025-03-04 03:00:00")
        self.assertEqual(run.processed_count, 0)
        self.assertEqual(len(self.mails(english | chinese)), 2)

    def test_one_template_per_kind(self):
        templates = self.env["mail.template"].search([("model", "=", "auto_crm.callback")])
        xmlids = set(templates.get_external_id().values())
        for kind in ("maintenance", "warranty", "insurance", "inspection", "birthday", "winback", "followup"):
            self.assertIn(f"auto_crm.mail_template_reminder_{kind}", xmlids)
        birthday = self.callback(self.make_customer(), rule=self.birthday)
        by_hand = self.callback(self.make_customer(), rule=False)
        self.run_job()
        self.assertEqual(self.mails(birthday).subject, "Happy birthday from 粤顺4S店 Reach Store")
        self.assertEqual(self.mails(by_hand).subject, "粤顺4S店 Reach Store: how was your visit?")

    def test_not_due_or_not_sent_channels_are_left_alone(self):
        partner = self.make_customer()
        later = self.callback(partner, date_due="2025-03-05")
        phone = self.callback(self.make_customer(), channel="phone")
        letter = self.callback(self.make_customer(), channel="letter")
        expired = self.callback(self.make_customer(), date_due="2025-03-01", date_expiry="2025-03-03")
        closed = self.callback(self.make_customer())
        closed.write({"state": "cancel", "close_reason": "other"})
        overdue = self.callback(self.make_customer(), date_due="2025-03-02")
        self.run_job()
        self.assertFalse(self.mails(later | phone | letter | expired | closed))
        self.assertEqual(set((later | phone | letter | expired | closed).mapped("reminder_state")), {False})
        self.assertEqual(overdue.reminder_state, "sent", "an overdue reminder still goes")
        # The store's day: at 23:30 UTC on the 4th it is already the 5th in Shanghai.
        self.run_job("2025-03-04 23:30:00")
        self.assertEqual(later.reminder_state, "sent")

    def test_skipped_customers_and_why(self):
        no_consent = self.callback(self.make_customer(), rule=False)
        no_consent.partner_id.auto_callback_consent = False  # a callback made by hand stays open
        no_email = self.callback(self.make_customer(email=False))
        bad_email = self.callback(self.make_customer(email="not an address"))
        no_mobile = self.callback(self.make_customer(mobile=False), channel="sms")
        dnd = self.callback(self.make_customer())
        # Opted out of mailings altogether (Odoo's e-mail and phone blacklists).
        email_opt_out = self.callback(self.make_customer(email="opted.out@example.com"))
        self.env["mail.blacklist"].sudo()._add("opted.out@example.com")
        sms_opt_out = self.callback(self.make_customer(mobile="+86 139 2000 0999"), channel="sms")
        self.env["phone.blacklist"].sudo()._add(["+8613920000999"])
        # Turned down one channel on their profile after the call was made (issue 14).
        no_emails = self.callback(self.make_customer(email="no.mails@example.com"))
        no_emails.partner_id.auto_no_email = True
        no_texts = self.callback(self.make_customer(mobile="+86 139 2000 0998"), channel="sms")
        no_texts.partner_id.auto_no_sms = True
        # Do-not-disturb set behind the ORM's back (an SQL import): the job still checks it.
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE res_partner SET auto_do_not_disturb = TRUE WHERE id = %s", dnd.partner_id.id))
        self.env.invalidate_all()
        run = self.run_job()
        self.assertEqual(run.state, "done")
        expected = {
            no_consent: "the customer has not agreed to callbacks",
            no_email: "the customer has no valid e-mail address",
            bad_email: "the customer has no valid e-mail address",
            no_mobile: "the customer has no mobile number",
            dnd: "the customer asked not to be disturbed",
            email_opt_out: "the customer's e-mail address is on the blacklist",
            sms_opt_out: "the customer's mobile number is on the blacklist",
            no_emails: "the customer does not want e-mails",
            no_texts: "the customer does not want text messages",
        }
        callbacks = no_consent | no_email | bad_email | no_mobile | dnd | email_opt_out | sms_opt_out
        callbacks |= no_emails | no_texts
        self.assertFalse(self.mails(callbacks))
        self.assertFalse(self.env["sms.sms"].search([("partner_id", "in", callbacks.partner_id.ids)]))
        for callback, reason in expected.items():
            with self.subTest(reason=reason):
                self.assertEqual((callback.reminder_state, callback.reminder_note), ("skipped", reason))
                self.assertIn(f"not sent: {reason}.", self.notes(callback)[-1].body)
                self.assertIn(callback.state, ("todo", "in_progress"), "the callback stays open for a person")

    # ------------------------------------------------------------------ SMS
    def test_sms_queued_in_odoos_queue(self):
        self.chinese()
        english = self.callback(self.make_customer(mobile="139 2000 0101"), channel="sms")
        chinese = self.callback(self.make_customer(lang="zh_CN"), channel="sms", rule=self.birthday)
        self.run_job()
        sms = self.env["sms.sms"].search([("partner_id", "=", english.partner_id.id)])
        self.assertEqual(len(sms), 1)
        self.assertEqual((sms.state, sms.number), ("outgoing", "+8613920000101"))
        self.assertEqual(
            sms.body,
            "粤顺4S店 Reach Store: Dear " + english.partner_id.name + ", Your car is due for its next service; book "
            "a visit at a time that suits you. Phone: +86 20 8888 0000",
        )
        self.assertEqual(sms.mail_message_id, self.notes(english)[-1])
        self.assertIn("SMS reminder queued to +8613920000101", sms.mail_message_id.body)
        sms_zh = self.env["sms.sms"].search([("partner_id", "=", chinese.partner_id.id)])
        self.assertTrue(sms_zh.body.startswith("【粤顺4S店 Reach Store】"), sms_zh.body)
        self.assertIn("生日快乐", sms_zh.body)
        self.assertEqual((english.reminder_state, chinese.reminder_state), ("sent", "sent"))
        self.assertIn("SMS reminder queued", self.notes(chinese.partner_id)[-1].body)
        self.run_job("2025-03-04 03:00:00")
        partners = (english | chinese).partner_id
        self.assertEqual(self.env["sms.sms"].search_count([("partner_id", "in", partners.ids)]), 2, "once each")

    # ------------------------------------------------------------------ failures and cost
    def test_one_bad_record_never_stops_the_run(self):
        # An administrator breaks the birthday template: its callbacks fail, the others are sent.
        self.env.ref(
            "auto_crm.mail_template_reminder_birthday"
        ).body_html = '<p t-out="object.no_such_field_anywhere"/>'
        good = self.callback(self.make_customer()) | self.callback(self.make_customer(), channel="sms")
        bad = self.callback(self.make_customer(), rule=self.birthday)
        with mute_logger("odoo.addons.auto_crm.models.auto_crm_job_run", "odoo.addons.mail.models.mail_render_mixin"):
            run = self.run_job()
        self.assertEqual((run.state, run.processed_count, run.failed_count), ("failed", 3, 1))
        self.assertEqual(run.line_ids.filtered(lambda line: line.state == "failed").res_id, bad.id)
        self.assertEqual(good.mapped("reminder_state"), ["sent", "sent"])
        self.assertEqual(bad.reminder_state, "failed")
        self.assertIn("Reminder not sent, it failed", self.notes(bad)[-1].body)
        self.assertFalse(self.mails(bad))
        # Not tried again every hour: a person looks at it.
        self.assertEqual(self.run_job("2025-03-04 03:00:00").processed_count, 0)

    def _batch(self, size):
        customers = self.env["res.partner"].create(
            [
                {
                    "name": f"Batch {size} Customer {index}",
                    "auto_customer": True,
                    "auto_callback_consent": True,
                    "email": f"batch{size}.{index}@example.com",
                    "mobile": f"+86 137 {size:02d}00 {index:04d}",
                }
                for index in range(size)
            ]
        )
        return self.env["auto_crm.callback"].create(
            [
                {
                    "partner_id": partner.id,
                    "channel": "email" if index % 2 else "sms",
                    "date_due": TODAY,
                    "rule_id": self.maintenance.id,
                }
                for index, partner in enumerate(customers)
            ]
        )

    @warmup
    def test_constant_queries_per_batch(self):
        """The same number of queries for 4 and for 40 callbacks (half e-mail, half SMS)."""
        self.env["auto_crm.callback"].search([("channel", "in", ("email", "sms"))]).write(
            {"state": "cancel", "close_reason": "other"}
        )
        counts = []
        for size in (4, 40):
            callbacks = self._batch(size)
            self.env.flush_all()
            self.env.invalidate_all()
            with freeze_time(NOW):
                start = self.cr.sql_log_count
                with self.assertQueryCount(__system__=QUERIES):
                    self.env["auto_crm.callback"]._cron_send_reminders()
                counts.append(self.cr.sql_log_count - start)
            self.assertEqual(set(callbacks.mapped("reminder_state")), {"sent"})
            callbacks.write({"state": "cancel", "close_reason": "other"})
        _logger.info("reminder job queries: 4 callbacks %s, 40 callbacks %s", *counts)


#: The day of the race: long past, so that only the race's callbacks are due.
RACE_DAY = "2020-01-06"
RACE_NOW = "2020-01-06 02:00:00"

#: The query budget of one run of the reminder job (one batch), whatever its size.
QUERIES = 39  # (39 through the ORM before the job was set-based; now the same for 4 and for 40 callbacks)


@tagged("post_install", "-at_install")
class TestReachMailConcurrency(TransactionCase):
    """Two runs of the reminder job at the same instant (two real transactions, threads with their own
    registry cursors, both holding their snapshot when a barrier releases them): each callback gets its
    message once. A run that fails to serialise is rolled back and run again in a fresh transaction, as
    Odoo's cron does the next time. Everything committed is deleted at the end."""

    ROUNDS = 6
    CONTEXT = {"tracking_disable": True, "mail_create_nolog": True, "mail_create_nosubscribe": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner_ids, cls.callback_ids = [], []
        cls.addClassCleanup(cls._delete_created)

    @classmethod
    def _delete_created(cls):
        with cls.registry.cursor() as cr:
            cr.execute(SQL("DELETE FROM sms_sms WHERE partner_id = ANY(%s)", cls.partner_ids))
            cr.execute(
                SQL(
                    "DELETE FROM mail_message WHERE (model = 'auto_crm.callback' AND res_id = ANY(%s))"
                    " OR (model = 'res.partner' AND res_id = ANY(%s))",
                    cls.callback_ids,
                    cls.partner_ids,
                )
            )
            cr.execute(SQL("DELETE FROM auto_crm_callback WHERE id = ANY(%s)", cls.callback_ids))
            cr.execute("DELETE FROM auto_crm_job_run WHERE job = 'callback_reminders' AND date_start < '2021-01-01'")
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            env["res.partner"].browse(cls.partner_ids).unlink()

    def _callbacks(self, round_number):
        """Four consenting customers, two by e-mail and two by SMS, due today. Committed."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"并发提醒客户 {round_number}-{index}",
                        "auto_customer": True,
                        "auto_callback_consent": True,
                        "email": f"race{round_number}.{index}@example.com",
                        "mobile": f"+86 136 {round_number:04d} {index:04d}",
                    }
                    for index in range(4)
                ]
            )
            callbacks = env["auto_crm.callback"].create(
                [
                    {"partner_id": partner.id, "channel": ("email", "sms")[index % 2], "date_due": RACE_DAY}
                    for index, partner in enumerate(partners)
                ]
            )
        self.partner_ids += partners.ids
        self.callback_ids += callbacks.ids
        return callbacks.ids

    def _run(self, barrier, outcome, delay):
        for attempt in range(2):
            with self.registry.cursor() as cr:
                cr.transaction = api.Transaction(self.registry)
                env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
                try:
                    # The snapshot: nothing messaged yet.
                    seen = env["auto_crm.callback"].search_count(
                        [("id", "in", self.current), ("reminder_date", "=", False)]
                    )
                    if not attempt:
                        outcome.append(seen)
                        barrier.wait()
                        if delay:
                            # (the other run has committed: this one takes the job's lock, its snapshot older)
                            threading.Event().wait(delay)
                    run = env["auto_crm.callback"]._cron_send_reminders()
                    result = (run.state, run.processed_count)
                    env.flush_all()
                    # a real second transaction of the race, on its own cursor: it must commit
                    cr.commit()  # pylint: disable=invalid-commit
                except errors.SerializationFailure:
                    cr.rollback()
                    outcome.append("serialization failure")
                    continue
                outcome.append(result)
                return

    def _counts(self, ids):
        with self.registry.cursor() as cr:
            cr.execute(
                SQL(
                    """SELECT (SELECT count(*) FROM mail_mail mm JOIN mail_message m ON m.id = mm.mail_message_id
                                WHERE m.model = 'auto_crm.callback' AND m.res_id = ANY(%s)),
                              (SELECT count(*) FROM sms_sms s JOIN auto_crm_callback c ON c.partner_id = s.partner_id
                                WHERE c.id = ANY(%s)),
                              (SELECT count(*) FROM auto_crm_callback
                                WHERE id = ANY(%s) AND reminder_state = 'sent')""",
                    ids,
                    ids,
                    ids,
                )
            )
            return cr.fetchone()

    def test_two_runs_message_each_callback_once(self):
        tally = {}
        for round_number in range(self.ROUNDS):
            self.current = self._callbacks(round_number)
            barrier = threading.Barrier(2, timeout=30)
            outcomes, crashes = ([], []), []

            delays = [(0, 0), (0, 1.5), (1.5, 0)][round_number % 3]

            # the defaults bind this round's own barrier and list to the thread (not shared between rounds)
            def run(outcome, delay, barrier=barrier, crashes=crashes):  # pylint: disable=dangerous-default-value
                try:
                    self._run(barrier, outcome, delay)
                except BaseException as error:  # reported by the main thread
                    crashes.append(error)
                    barrier.abort()

            # (a day long past: no other callback of the database is due then; freezegun leaves threading alone)
            with mute_logger("odoo.sql_db", "odoo.addons.auto_crm.models.auto_crm_job_run"), freeze_time(RACE_NOW):
                threads = [
                    threading.Thread(target=run, args=(outcome, delay))
                    for outcome, delay in zip(outcomes, delays, strict=True)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
            if any(thread.is_alive() for thread in threads):
                frames = sys._current_frames()
                stacks = "\n".join("".join(traceback.format_stack(frames[t.ident])) for t in threads if t.is_alive())
                self.fail(f"a run hung:\n{stacks}")
            self.assertFalse(crashes, f"a run crashed: {crashes!r}")
            for outcome in outcomes:
                self.assertEqual(outcome[0], 4, "both runs saw the four callbacks unmessaged: they really raced")
            self.assertEqual(self._counts(self.current), (2, 2, 4), f"each callback once: {outcomes}")
            key = tuple(sorted(str(outcome[1:]) for outcome in outcomes))
            tally[key] = tally.get(key, 0) + 1
        _logger.info("reminder job race, %s rounds: %s", self.ROUNDS, tally)
