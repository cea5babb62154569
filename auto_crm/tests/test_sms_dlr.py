"""Delivery receipts of the HTTP SMS gateways (issue 14), over real HTTP: the gateway on 127.0.0.1 takes
the SMS (Odoo's own SMS cron posts them), then reports what became of them to ``/auto_crm/sms/dlr`` of the
test server, signed with its secret. Delivered, undelivered with the reason on the callback, bad signature,
stale timestamp, unknown message id, and a report sent twice."""

import hashlib
import hmac
import json
import time

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .test_sms_gateway import SECRET, SmsGatewayCase

DLR = "/auto_crm/sms/dlr"


@tagged("post_install", "-at_install")
class TestSmsDlr(SmsGatewayCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "回执客户",
                "auto_customer": True,
                "auto_callback_consent": True,
                "mobile": "13800138001",
                "company_id": cls.company.id,
            }
        )

    def report(self, body, secret=SECRET, key="key-42", timestamp=None):
        """POST ``body`` (a dict: JSON) to the receipt endpoint as the gateway signs it."""
        raw = json.dumps(body).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Auto-Crm-Key": key,
            "X-Auto-Crm-Timestamp": stamp,
            "X-Auto-Crm-Signature": signature,
        }
        with mute_logger("odoo.addons.auto_crm.controllers.auto_crm_sms_dlr"):
            response = self.url_open(DLR, data=raw, headers=headers)
        self.env.invalidate_all()
        return response

    def sent(self):
        """An SMS the gateway took: (sms, its gateway id)."""
        sms = self.queue(partner=self.customer, number="+8613800138001")
        self.drain()
        self.assertEqual(sms.state, "pending")
        return sms, sms.auto_crm_provider_ref

    def snapshot(self, sms):
        return sms.read(["state", "failure_type", "auto_crm_note", "to_delete"])

    def test_delivered(self):
        sms, ref = self.sent()
        response = self.report({"reports": [{"id": ref, "status": "DELIVRD"}]})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"code": "OK", "updated": 1, "unchanged": 0, "unknown": []})
        self.assertRecordValues(sms, [{"state": "sent", "failure_type": False}])  # Odoo's "Delivered"

    def test_undelivered_with_the_reason_on_the_callback(self):
        callback = self.env["auto_crm.callback"].create(
            {"partner_id": self.customer.id, "channel": "sms", "date_due": self.company._auto_crm_today()}
        )
        self.env["auto_crm.callback"]._cron_send_reminders()
        self.assertEqual(callback.reminder_state, "sent")
        sms = self.env["sms.sms"].search([("partner_id", "=", self.customer.id)])
        self.assertEqual(sms.mail_message_id.res_id, callback.id)
        self.drain()
        self.assertEqual(sms.state, "pending")
        # A single report (not a list), as some gateways post them.
        response = self.report({"id": sms.auto_crm_provider_ref, "status": "UNDELIV", "reason": "用户关机"})
        self.assertEqual(response.status_code, 200)
        self.assertRecordValues(sms, [{"state": "error", "failure_type": "sms_not_delivered"}])
        self.assertIn("用户关机", sms.auto_crm_note)
        self.assertEqual(callback.reminder_state, "failed")
        self.assertIn("用户关机", callback.reminder_note)
        last = self.env["mail.message"].search(
            [("model", "=", "auto_crm.callback"), ("res_id", "=", callback.id)], order="id desc", limit=1
        )
        self.assertIn("not delivered (UNDELIV): 用户关机", last.body)

    def test_expired_updates_odoos_notification(self):
        """An SMS sent from the chatter has a notification and a tracker: they follow, as with Odoo's IAP."""
        message = self.customer._message_sms("您的爱车已保养完毕。", partner_ids=self.customer.ids)
        notification = message.notification_ids
        self.assertEqual(notification.notification_type, "sms")
        sms = self.env["sms.sms"].search([("mail_message_id", "=", message.id)])
        self.drain()
        self.assertEqual((sms.state, notification.notification_status), ("pending", "pending"))
        response = self.report({"reports": [{"id": sms.auto_crm_provider_ref, "status": "EXPIRED"}]})
        self.assertEqual(response.status_code, 200)
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_expired"))
        self.assertEqual((notification.notification_status, notification.failure_type), ("exception", "sms_expired"))

    def test_bad_signature_writes_nothing(self):
        sms, ref = self.sent()
        before = self.snapshot(sms)
        for kwargs in ({"secret": "not-the-secret"}, {"key": "another-key"}, {"timestamp": int(time.time()) - 3600}):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                response = self.report({"reports": [{"id": ref, "status": "DELIVRD"}]}, **kwargs)
                self.assertEqual(response.status_code, 403)
                self.assertEqual(self.snapshot(sms), before)
        # A body changed after signing: refused as well.
        raw = json.dumps({"reports": [{"id": ref, "status": "DELIVRD"}]}).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        forged = raw.replace(b"DELIVRD", b"UNDELIV")
        with mute_logger("odoo.addons.auto_crm.controllers.auto_crm_sms_dlr"):
            response = self.url_open(
                DLR,
                data=forged,
                headers={"X-Auto-Crm-Key": "key-42", "X-Auto-Crm-Timestamp": stamp, "X-Auto-Crm-Signature": signature},
            )
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.snapshot(sms), before)

    def test_unknown_message_id_writes_nothing(self):
        sms, _ref = self.sent()
        before = self.snapshot(sms)
        messages = self.env["mail.message"].search_count([])
        response = self.report({"reports": [{"id": "GW-NOT-OURS", "status": "UNDELIV", "reason": "x"}]})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["unknown"], ["GW-NOT-OURS"])
        self.assertEqual(self.snapshot(sms), before)
        self.assertEqual(self.env["mail.message"].search_count([]), messages)

    def test_replay_is_idempotent(self):
        callback = self.env["auto_crm.callback"].create(
            {"partner_id": self.customer.id, "channel": "sms", "date_due": self.company._auto_crm_today()}
        )
        self.env["auto_crm.callback"]._cron_send_reminders()
        self.drain()
        sms = self.env["sms.sms"].search([("partner_id", "=", self.customer.id)])
        body = {"reports": [{"id": sms.auto_crm_provider_ref, "status": "REJECTD", "err_code": "MK:0012"}]}
        self.assertEqual(self.report(body).json()["updated"], 1)
        notes = self.env["mail.message"].search_count(
            [("model", "=", "auto_crm.callback"), ("res_id", "=", callback.id)]
        )
        after = self.snapshot(sms)
        # The same request again (within the five minutes), then a late contradicting report: nothing changes.
        self.assertEqual(self.report(body).json(), {"code": "OK", "updated": 0, "unchanged": 1, "unknown": []})
        late = {"reports": [{"id": sms.auto_crm_provider_ref, "status": "DELIVRD"}]}
        self.assertEqual(self.report(late).json()["unchanged"], 1)
        self.assertEqual(self.snapshot(sms), after)
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_rejected"))
        self.assertEqual(
            self.env["mail.message"].search_count([("model", "=", "auto_crm.callback"), ("res_id", "=", callback.id)]),
            notes,
        )

    def test_malformed_body_is_refused(self):
        response = self.report(["not", "reports"])
        self.assertEqual(response.status_code, 400)
        response = self.url_open(DLR, data=b"{}", headers={"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 403, "unsigned")
