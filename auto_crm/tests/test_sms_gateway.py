"""SMS through the stores' HTTP gateways (issue 14), against a real gateway: a small ``http.server`` on
127.0.0.1 that records what it receives and answers like a provider (success, rate limited, invalid
number, timeout). No patched method: Odoo's own SMS cron drains the queue and posts over HTTP."""

import datetime
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time
import traceback

from freezegun import freeze_time

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tests.common import TransactionCase
from odoo.tools import mute_logger

from .common import AutoCrmCase

SECRET = "s3cr3t-HMAC-key-0123456789"
#: The gateway sleeps past the client's timeout (Odoo's tests raise any timeout under 10 s to 10 s).
TIMEOUT_SLEEP = 11.0


class Gateway:
    """A provider's HTTP endpoint on 127.0.0.1: each request takes the next scripted answer ("ok",
    "rate", "invalid", "error", "timeout"; "ok" when none is left) and is recorded with whether its
    signature was right."""

    def __init__(self):
        self.received = []
        self.script = []
        self.lock = threading.Lock()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                timestamp = self.headers.get("X-Auto-Crm-Timestamp", "")
                expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
                with gateway.lock:
                    answer = gateway.script.pop(0) if gateway.script else "ok"
                    gateway.received.append(
                        {
                            "body": json.loads(raw),
                            "raw": raw,
                            "headers": dict(self.headers),
                            "signed": hmac.compare_digest(expected, self.headers.get("X-Auto-Crm-Signature", "")),
                            "answer": answer,
                        }
                    )
                    number = len(gateway.received)
                if answer == "timeout":
                    time.sleep(TIMEOUT_SLEEP)
                status, code = {
                    "ok": (200, "OK"),
                    "timeout": (200, "OK"),
                    "rate": (429, "RATE_LIMITED"),
                    "invalid": (200, "INVALID_NUMBER"),
                    "error": (200, "AUTH_FAILED"),
                }[answer]
                body = json.dumps({"code": code, "message": code.lower(), "id": f"GW-{number}"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout): nobody to answer
                    return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self, *script):
        with self.lock:
            self.received.clear()
            self.script[:] = list(script)


class SmsGatewayCase(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gateway = Gateway()
        cls.addClassCleanup(cls.gateway.stop)
        cls.company.partner_id.tz = "Asia/Shanghai"
        cls.company.country_id = cls.env.ref("base.cn")
        # no quiet hours but in the test that sets them: the tests run at any hour
        (cls.company | cls.other_company).write({"auto_crm_sms_quiet_start": 0.0, "auto_crm_sms_quiet_end": 0.0})
        cls.provider = cls.env["auto_crm.sms.provider"].create(
            {
                "name": "Test gateway",
                "company_id": cls.company.id,
                "endpoint_url": cls.gateway.url,
                "key_id": "key-42",
                "secret": SECRET,
                "sign_name": "天河汽车4S店",
                "template_code": "SMS_123",
                "daily_cap": 100,
                "timeout": 1,
                "retry_max": 4,
                "retry_delay": 5,
            }
        )
        cls.store_customer = cls.env["res.partner"].create(
            {"name": "短信客户", "auto_customer": True, "mobile": "13800138000", "company_id": cls.company.id}
        )
        cls.cron = cls.env.ref("sms.ir_cron_sms_scheduler_action")

    def setUp(self):
        super().setUp()
        self.gateway.reset()

    def queue(self, number="+8613800138000", partner=None, body="您好，您的爱车保养已完成。"):
        """A plain ``sms.sms`` for a customer of the store, as Odoo's composer or an sms.template queues it."""
        return self.env["sms.sms"].create(
            {"number": number, "body": body, "partner_id": (partner or self.store_customer).id}
        )

    def drain(self):
        """Odoo's own SMS cron, as the scheduler runs it."""
        self.cron.method_direct_trigger()

    def usage(self, company=None, day=None):
        company = company or self.company
        row = self.env["auto_crm.sms.usage"].search(
            [("company_id", "=", company.id), ("day", "=", day or company._auto_crm_today())]
        )
        return row.sms_count


@tagged("post_install", "-at_install")
class TestSmsGateway(SmsGatewayCase):
    def test_success_writes_the_state_and_the_gateway_id(self):
        sms = self.queue(number="138 0013 8000")
        self.assertEqual(sms.auto_crm_company_id, self.company, "the customer's store")
        self.drain()
        self.assertEqual(len(self.gateway.received), 1)
        request = self.gateway.received[0]
        self.assertTrue(request["signed"], "HMAC-SHA256 of the secret over the timestamp and the body")
        self.assertEqual(request["headers"]["X-Auto-Crm-Key"], "key-42")
        self.assertEqual(
            {key: request["body"][key] for key in ("to", "ref", "sign_name", "template_code", "text")},
            {
                "to": "+8613800138000",
                "ref": sms.uuid,
                "sign_name": "天河汽车4S店",
                "template_code": "SMS_123",
                "text": "您好，您的爱车保养已完成。",
            },
        )
        self.assertNotIn(SECRET.encode(), request["raw"])
        self.assertNotIn(SECRET, json.dumps(request["headers"]))
        # Odoo's "Sent" (its "Delivered" comes from a delivery report); sent SMS are garbage-collected
        self.assertRecordValues(
            sms,
            [
                {
                    "state": "pending",
                    "failure_type": False,
                    "auto_crm_provider_id": self.provider.id,
                    "auto_crm_provider_ref": "GW-1",
                    "auto_crm_attempts": 1,
                    "to_delete": True,
                }
            ],
        )
        self.assertEqual(self.usage(), 1)
        self.drain()
        self.assertEqual(len(self.gateway.received), 1, "sent once")

    def test_rate_limited_is_retried_with_back_off_then_sent(self):
        self.gateway.reset("rate", "rate", "ok")
        with freeze_time("2026-03-02 02:00:00") as frozen:
            sms = self.queue()
            self.drain()
            self.assertEqual(len(self.gateway.received), 1)
            self.assertEqual(sms.state, "outgoing", "stays in the queue")
            self.assertEqual(sms.auto_crm_next_try, datetime.datetime(2026, 3, 2, 2, 5))
            self.assertTrue(
                self.env["ir.cron.trigger"].search(
                    [("cron_id", "=", self.cron.id), ("call_at", "=", datetime.datetime(2026, 3, 2, 2, 5))]
                ),
                "Odoo's SMS cron is woken when the SMS is due again",
            )
            frozen.tick(datetime.timedelta(minutes=4))
            self.drain()
            self.assertEqual(len(self.gateway.received), 1, "not before its next try")
            frozen.tick(datetime.timedelta(minutes=1))
            self.drain()
            self.assertEqual(len(self.gateway.received), 2)
            self.assertEqual(sms.auto_crm_next_try, datetime.datetime(2026, 3, 2, 2, 15), "the delay doubles: 10 min")
            frozen.tick(datetime.timedelta(minutes=10))
            self.drain()
        self.assertEqual(len(self.gateway.received), 3)
        self.assertEqual([r["body"]["ref"] for r in self.gateway.received], [sms.uuid] * 3, "the same message")
        self.assertRecordValues(sms, [{"state": "pending", "auto_crm_attempts": 3, "auto_crm_provider_ref": "GW-3"}])
        self.assertEqual(self.usage(day=datetime.date(2026, 3, 2)), 1, "refused tries are not counted")

    def test_tries_run_out_then_error(self):
        self.provider.retry_max = 2
        self.gateway.reset("rate", "rate")
        with freeze_time("2026-03-02 02:00:00") as frozen:
            sms = self.queue()
            self.drain()
            frozen.tick(datetime.timedelta(minutes=5))
            self.drain()
            frozen.tick(datetime.timedelta(hours=1))
            self.drain()
        self.assertEqual(len(self.gateway.received), 2)
        self.assertRecordValues(sms, [{"state": "error", "failure_type": "sms_server", "auto_crm_attempts": 2}])
        # sent again by hand (Odoo's button): its tries start afresh
        sms.resend_failed()
        self.assertEqual(len(self.gateway.received), 3)
        self.assertRecordValues(sms, [{"state": "pending", "auto_crm_attempts": 1}])

    def test_invalid_number_is_not_retried(self):
        self.gateway.reset("invalid")
        sms = self.queue()
        self.drain()
        self.assertRecordValues(sms, [{"state": "error", "failure_type": "sms_number_format"}])
        with freeze_time(datetime.datetime.now() + datetime.timedelta(days=1)):
            self.drain()
        self.assertEqual(len(self.gateway.received), 1, "never retried")
        # a number that is not one at all does not reach the gateway
        bad = self.queue(number="12345")
        self.drain()
        self.assertRecordValues(bad, [{"state": "error", "failure_type": "sms_number_format"}])
        self.assertEqual(len(self.gateway.received), 1)
        # another refusal of the gateway (bad credentials): an error at once, not retried
        self.gateway.reset("error")
        refused = self.queue()
        self.drain()
        self.assertRecordValues(refused, [{"state": "error", "failure_type": "sms_acc"}])

    def test_timeout_is_retried(self):
        self.gateway.reset("timeout", "ok")
        with freeze_time("2026-03-02 02:00:00") as frozen:
            sms = self.queue()
            self.drain()
            self.assertEqual(sms.state, "outgoing")
            self.assertEqual(sms.auto_crm_attempts, 1)
            self.assertIn("no answer within", sms.auto_crm_note)
            self.assertEqual(self.usage(day=datetime.date(2026, 3, 2)), 1, "it may have been sent: it stays counted")
            frozen.tick(datetime.timedelta(minutes=6))
            self.drain()
        self.assertEqual(len(self.gateway.received), 2)
        self.assertEqual(self.gateway.received[1]["body"]["ref"], sms.uuid, "the gateway can recognise the repeat")
        self.assertEqual(sms.state, "pending")

    def test_daily_cap_waits_for_the_next_day(self):
        self.provider.daily_cap = 2
        with freeze_time("2026-03-02 10:00:00"):  # 18:00 in the store
            first, second, third = self.queue(), self.queue(), self.queue()
            self.drain()
            self.assertEqual(len(self.gateway.received), 2)
            self.assertEqual((first | second).mapped("state"), ["pending", "pending"])
            self.assertEqual(third.state, "outgoing", "not lost: waits")
            # the store's next day starts at 00:00 in Shanghai, 16:00 UTC
            self.assertEqual(third.auto_crm_next_try, datetime.datetime(2026, 3, 2, 16, 0))
            self.assertIn("Daily cap of 2", third.auto_crm_note)
            self.assertEqual(self.usage(day=datetime.date(2026, 3, 2)), 2)
        with freeze_time("2026-03-02 16:00:01"):
            self.drain()
        self.assertEqual(third.state, "pending")
        self.assertEqual(self.usage(day=datetime.date(2026, 3, 3)), 1)

    def test_quiet_hours_hold_till_morning(self):
        self.company.write({"auto_crm_sms_quiet_start": 21.0, "auto_crm_sms_quiet_end": 8.0})
        with freeze_time("2026-03-02 14:30:00"):  # 22:30 in the store
            sms = self.queue()
            self.drain()
            self.assertFalse(self.gateway.received, "nothing at night")
            self.assertEqual(sms.state, "outgoing")
            self.assertEqual(sms.auto_crm_next_try, datetime.datetime(2026, 3, 3, 0, 0), "08:00 the next morning")
            self.assertIn("Quiet hours", sms.auto_crm_note)
        with freeze_time("2026-03-02 23:59:00"):  # 07:59
            self.drain()
            self.assertFalse(self.gateway.received)
        with freeze_time("2026-03-03 00:00:00"):  # 08:00
            self.drain()
        self.assertEqual(len(self.gateway.received), 1)
        self.assertEqual(sms.state, "pending")
        # after midnight too (02:00 in the store): held till 08:00 the same morning
        with freeze_time("2026-03-03 18:00:00"):
            late = self.queue()
            self.drain()
            self.assertEqual(late.auto_crm_next_try, datetime.datetime(2026, 3, 4, 0, 0))

    def test_store_without_gateway_goes_through_iap(self):
        other = self.env["res.partner"].create(
            {"name": "他店客户", "auto_customer": True, "company_id": self.other_company.id}
        )
        sms = self.queue(partner=other)
        self.assertEqual(sms.auto_crm_company_id, self.other_company)
        with mute_logger("odoo.addons.sms.models.sms_sms"):
            self.drain()
        self.assertFalse(self.gateway.received, "not through the other store's gateway")
        # Odoo's IAP path (its servers are out of reach in tests): its own error, no gateway of ours
        self.assertRecordValues(sms, [{"state": "error", "failure_type": "sms_server", "auto_crm_provider_id": False}])

    def test_secret_is_for_administrators_only_and_never_logged(self):
        provider = self.provider.with_user(self.manager)
        self.assertEqual(provider.name, "Test gateway", "a store manager sees the gateway")
        with self.assertRaises(AccessError):
            _secret = provider.secret
        with self.assertRaises(AccessError):
            provider.read(["secret"])
        with self.assertRaises(AccessError):
            provider.write({"daily_cap": 5})
        self.assertEqual(self.provider.with_user(self.dealer_admin).secret, SECRET)
        self.assertTrue(provider.has_secret)
        # changed with tracking on: the history names other changes, never the secret
        admin_provider = self.provider.with_user(self.dealer_admin).with_context(tracking_disable=False)
        admin_provider.write({"secret": "new-" + SECRET, "daily_cap": 99})
        admin_provider.write({"secret": SECRET})
        self.env.flush_all()
        self.env.cr.precommit.run()  # the tracking messages are written as the transaction commits
        self.env.cr.execute(
            """SELECT count(*) FROM mail_tracking_value v JOIN mail_message m ON m.id = v.mail_message_id
                WHERE m.model = 'auto_crm.sms.provider' AND m.res_id = %s""",
            [self.provider.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 1, "the daily cap is tracked, the secret is not")
        self.env.cr.execute(
            """SELECT count(*) FROM mail_message m LEFT JOIN mail_tracking_value v ON v.mail_message_id = m.id
                WHERE m.body::text LIKE %(s)s OR v.old_value_char LIKE %(s)s OR v.new_value_char LIKE %(s)s""",
            {"s": f"%{SECRET}%"},
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.gateway.reset("rate", "ok")
        with self.assertLogs(level="DEBUG") as logs, freeze_time("2026-03-02 02:00:00") as frozen:
            sms = self.queue()
            self.drain()
            frozen.tick(datetime.timedelta(minutes=5))
            self.drain()
        self.assertEqual(sms.state, "pending")
        self.assertTrue(logs.output)
        self.assertFalse([line for line in logs.output if SECRET in line])

    def test_mobile_numbers_in_e164_or_refused(self):
        Partner = self.env["res.partner"].with_user(self.advisor)
        customer = Partner.create({"name": "号码客户", "auto_customer": True, "mobile": "138 0013 8001"})
        self.assertEqual(customer.mobile, "+8613800138001", "E.164 with the store's country (+86)")
        customer.write({"mobile": "+86 139-1015-2002", "phone": "020 8523 6688"})
        self.assertRecordValues(customer, [{"mobile": "+8613910152002", "phone": "+862085236688"}])
        with self.assertRaises(ValidationError) as refused:
            customer.write({"mobile": "1380013800"})
        self.assertEqual(str(refused.exception), "Mobile: 1380013800 is not a valid mobile number for China (+86).")
        with self.assertRaisesRegex(ValidationError, r"^Mobile: 020 8523 6688 is not a valid mobile number"):
            customer.write({"mobile": "020 8523 6688"})  # a landline is not a mobile
        with self.assertRaisesRegex(ValidationError, r"^Phone: 12 is not a valid phone number for China"):
            customer.write({"phone": "12"})
        with self.assertRaisesRegex(ValidationError, r"^Mobile: 1380013800 is not a valid mobile number"):
            Partner.create({"name": "错号客户", "auto_customer": True, "mobile": "1380013800"})
        self.assertEqual(customer.mobile, "+8613910152002", "unchanged")
        # the desk writes the customer's mobile from the visit: normalised there too
        visit = self.make_visit(partner_id=customer.id, vehicle_id=self.car_of(customer).id)
        with Form(visit.with_user(self.advisor)) as form:
            form.partner_mobile = "13700000006"
        self.assertEqual(customer.mobile, "+8613700000006")
        with self.assertRaisesRegex(ValidationError, r"^Mobile: 137000 is not a valid mobile number"):
            visit.with_user(self.advisor).write({"partner_mobile": "137000"})
        # a contact that is not a dealer customer (a supplier, a store) keeps its number as typed
        supplier = self.env["res.partner"].create({"name": "配件供应商", "phone": "020-1234"})
        self.assertEqual(supplier.phone, "020-1234")

    def car_of(self, partner):
        return self.env["auto_crm.vehicle"].create(
            {"vin": self.make_vin(9141), "model_id": self.car_model.id, "partner_id": partner.id}
        )

    def test_provider_numbers_refused_with_the_rule(self):
        with self.assertRaisesRegex(ValidationError, r"^Daily Cap per Store: -1 is out of range"):
            self.provider.write({"daily_cap": -1})
        with self.assertRaisesRegex(ValidationError, r"^Endpoint URL: ftp://x is not a web address"):
            self.provider.write({"endpoint_url": "ftp://x"})
        with self.assertRaisesRegex(ValidationError, r"^SMS Quiet Hours From: 24.5 is out of range"):
            self.company.write({"auto_crm_sms_quiet_start": 24.5})


@tagged("post_install", "-at_install")
class TestSmsCapConcurrency(TransactionCase):
    """Two senders of the same store at the same instant with one SMS left under the daily cap: two real
    transactions (threads with their own registry cursors) that have both seen the counter below the
    cap when a barrier releases them. Exactly one SMS reaches the gateway; the other waits in the queue
    (the cap reached, or the counter busy: tried again a minute later). Everything committed is deleted
    at the end."""

    ROUNDS = 5
    CAP = 3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gateway = Gateway()
        cls.addClassCleanup(cls.gateway.stop)
        cls.sms_ids = []
        with cls.registry.cursor() as cr:
            cr.transaction = api.Transaction(cls.registry)
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            company = env.company
            cls.quiet_hours = company.auto_crm_sms_quiet_start, company.auto_crm_sms_quiet_end
            company.write({"auto_crm_sms_quiet_start": 0.0, "auto_crm_sms_quiet_end": 0.0})
            provider = env["auto_crm.sms.provider"].create(
                {
                    "name": "Race gateway",
                    "company_id": company.id,
                    "endpoint_url": cls.gateway.url,
                    "secret": SECRET,
                    "daily_cap": cls.CAP,
                }
            )
            partner = env["res.partner"].create(
                {"name": "并发短信客户", "auto_customer": True, "company_id": company.id, "mobile": "13800138000"}
            )
            cls.company_id, cls.provider_id, cls.partner_id = company.id, provider.id, partner.id
            cls.day = company._auto_crm_today()
            cr.execute(
                "SELECT sms_count FROM auto_crm_sms_usage WHERE company_id = %s AND day = %s", [company.id, cls.day]
            )
            cls.usage_before = cr.fetchone()
        cls.addClassCleanup(cls._delete_created)

    @classmethod
    def _delete_created(cls):
        """Everything the test committed goes; the store's quiet hours and counter are as they were."""
        with cls.registry.cursor() as cr:
            cr.transaction = api.Transaction(cls.registry)
            cr.execute("DELETE FROM sms_sms WHERE id = ANY(%s)", [cls.sms_ids])
            cr.execute("DELETE FROM auto_crm_sms_provider WHERE id = %s", [cls.provider_id])
            cr.execute("DELETE FROM auto_crm_sms_usage WHERE company_id = %s AND day = %s", [cls.company_id, cls.day])
            if cls.usage_before:
                cr.execute(
                    "INSERT INTO auto_crm_sms_usage (company_id, day, sms_count) VALUES (%s, %s, %s)",
                    [cls.company_id, cls.day, cls.usage_before[0]],
                )
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            env["res.partner"].browse(cls.partner_id).unlink()
            start, end = cls.quiet_hours
            env["res.company"].browse(cls.company_id).write(
                {"auto_crm_sms_quiet_start": start, "auto_crm_sms_quiet_end": end}
            )

    def _round(self):
        """Two queued SMS and a counter one below the cap, committed."""
        with self.registry.cursor() as cr:
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].browse(self.company_id)
            day = company._auto_crm_today()
            self.assertEqual(day, self.day, "the store's day did not change during the test")
            cr.execute("DELETE FROM auto_crm_sms_usage WHERE company_id = %s AND day = %s", [self.company_id, day])
            cr.execute(
                "INSERT INTO auto_crm_sms_usage (company_id, day, sms_count) VALUES (%s, %s, %s)",
                [self.company_id, day, self.CAP - 1],
            )
            sms = env["sms.sms"].create(
                [{"number": "+8613800138000", "body": f"race {n}", "partner_id": self.partner_id} for n in range(2)]
            )
        self.sms_ids += sms.ids
        return sms.ids, day

    def _send(self, sms_id, barrier, outcome, delay):
        with self.registry.cursor() as cr:
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, {})
            # the snapshot: one SMS left under the cap
            cr.execute(
                "SELECT sms_count FROM auto_crm_sms_usage WHERE company_id = %s AND day = %s",
                [self.company_id, self.day],
            )
            outcome.append(cr.fetchone()[0])
            barrier.wait()
            if delay:
                threading.Event().wait(delay)
            env["sms.sms"].browse(sms_id).send(auto_commit=False)
            env.flush_all()
            # a real second transaction of the race, on its own cursor: it must commit
            cr.commit()  # pylint: disable=invalid-commit
            outcome.append("done")

    def test_two_senders_never_pass_the_cap_together(self):
        tally = {}
        for round_number in range(self.ROUNDS):
            self.gateway.reset()
            sms_ids, day = self._round()
            barrier = threading.Barrier(2, timeout=30)
            outcomes = ([], [])
            crashes = []
            delays = [(0, 0.1), (0.1, 0), (0, 0)][round_number % 3]

            # the defaults bind this round's own lists to the thread (not shared between rounds)
            def run(sms_id, outcome, delay, barrier=barrier, crashes=crashes):  # pylint: disable=dangerous-default-value
                try:
                    self._send(sms_id, barrier, outcome, delay)
                except BaseException as error:  # reported by the main thread
                    crashes.append(error)
                    barrier.abort()

            with mute_logger("odoo.sql_db"):
                threads = [
                    threading.Thread(target=run, args=args) for args in zip(sms_ids, outcomes, delays, strict=True)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
            if any(thread.is_alive() for thread in threads):
                frames = sys._current_frames()
                stacks = "\n".join("".join(traceback.format_stack(frames[t.ident])) for t in threads if t.is_alive())
                self.fail(f"a sender hung:\n{stacks}")
            self.assertFalse(crashes, f"a sender crashed: {crashes!r}")
            self.assertEqual([o[0] for o in outcomes], [self.CAP - 1] * 2, "both saw one SMS left: they raced")
            self.assertEqual(len(self.gateway.received), 1, f"round {round_number}: one SMS through the cap")
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT sms_count FROM auto_crm_sms_usage WHERE company_id = %s AND day = %s",
                    [self.company_id, self.day],
                )
                self.assertEqual(cr.fetchone()[0], self.CAP)
                cr.execute(
                    "SELECT state, auto_crm_next_try IS NOT NULL, auto_crm_note FROM sms_sms WHERE id = ANY(%s) "
                    "ORDER BY state",
                    [sms_ids],
                )
                (waiting_state, waits, note), (sent_state, _sent_waits, _note) = cr.fetchall()
            self.assertEqual((waiting_state, waits, sent_state), ("outgoing", True, "pending"))
            key = "cap reached" if "Daily cap" in note else "counter busy"
            tally[key] = tally.get(key, 0) + 1
        self.assertEqual(sum(tally.values()), self.ROUNDS, tally)
