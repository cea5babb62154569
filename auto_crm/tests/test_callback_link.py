"""The questionnaire link (issue 14): sent by e-mail or SMS, a signed, expiring, single-use token; the
answers land on the callback as an agent's would; expired, reused and forged links write nothing; an
unanswered link falls back to a phone call; two concurrent answers of one link give one answer."""

import datetime
import hashlib
import hmac
import itertools
import logging
import re
import secrets
import sys
import threading
import traceback

from freezegun import freeze_time
from lxml import etree
from psycopg2 import errors

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import TransactionCase
from odoo.tools import SQL, mute_logger
from odoo.tools.safe_eval import safe_eval

from .callback_common import CallbackCase

_logger = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"/auto_crm/survey/([A-Za-z0-9_\-]+)")


class LinkCaseMixin:
    """Helpers shared by the link tests: a callback ready to be sent, the token read from the message
    actually queued (the only place it exists), and a snapshot of everything an answer would write."""

    def make_link_callback(self, env=None, **partner_vals):
        env = env or self.env
        partner = env["res.partner"].create(
            dict(
                {
                    "name": "问卷客户 Link Customer",
                    "auto_customer": True,
                    "auto_callback_consent": True,
                    "email": "link.customer@example.com",
                    "mobile": "+86 138 0013 8000",
                    "lang": "en_US",
                },
                **partner_vals,
            )
        )
        return env["auto_crm.callback"].create(
            {
                "partner_id": partner.id,
                "questionnaire_id": self.questionnaire.id,
                "user_id": self.agent.id,
                "channel": "phone",
            }
        )

    def queued_token(self, callback):
        """The token of the newest link of the callback, read from the queued e-mail or SMS."""
        link = callback.link_ids.sorted("id")[-1:]
        if link.channel == "sms":
            sms = (
                self.env["sms.sms"]
                .sudo()
                .search([("partner_id", "=", callback.partner_id.id)], order="id desc", limit=1)
            )
            body = sms.body
        else:
            mail = (
                self.env["mail.mail"]
                .sudo()
                .search([("recipient_ids", "in", callback.partner_id.ids)], order="id desc", limit=1)
            )
            body = mail.body_html
        match = TOKEN_RE.search(body or "")
        self.assertTrue(match, f"the link is in the queued message: {body!r}")
        return match.group(1)

    def snapshot(self, callback):
        callback.invalidate_recordset()
        callback = callback.sudo()
        return {
            "state": callback.state,
            "overall_score": callback.overall_score,
            "csi": callback.csi,
            "date_done": callback.date_done,
            "link_waiting": callback.link_waiting,
            "answers": sorted((a.question_id.id, a.score, a.comment) for a in callback.answer_ids),
            "attempts": callback.attempt_ids.ids,
            "complaints": callback.complaint_ids.ids,
            "messages": callback.message_ids.ids,
            "links": sorted((link.id, link.state, link.date_answered) for link in callback.link_ids),
        }

    def scores_by_step(self, callback, **by_step):
        return {q.id: by_step[q.step] for q in callback.questionnaire_id.question_ids if q.step in by_step}


@tagged("post_install", "-at_install")
class TestCallbackLink(LinkCaseMixin, CallbackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.callback_link_expiry_days = 7
        cls.company.callback_link_fallback_days = 3
        cls.Link = cls.env["auto_crm.callback.link"]

    # ------------------------------------------------------------------ sending
    def test_send_by_email_stores_only_the_signature(self):
        callback = self.make_link_callback()
        callback.with_user(self.agent).action_send_link()
        link = callback.link_ids
        self.assertEqual(len(link), 1)
        self.assertEqual((link.channel, link.state, link.sent_to), ("email", "sent", "link.customer@example.com"))
        self.assertEqual(link.user_id, self.agent)
        self.assertEqual(link.date_expiry - link.date_sent, datetime.timedelta(days=7))
        token = self.queued_token(callback)
        self.assertGreaterEqual(len(token), 40)
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        self.assertEqual(link.sudo().token_hash, expected)
        # the database holds no usable token: not in the link's row, not in the chatter
        self.env.flush_all()
        self.env.cr.execute("SELECT row_to_json(l)::text FROM auto_crm_callback_link l WHERE id = %s", [link.id])
        self.assertNotIn(token, self.env.cr.fetchone()[0])
        self.assertFalse(any(token in (m.body or "") for m in callback.message_ids))
        self.assertIn("Questionnaire link sent by E-mail", callback.message_ids[0].body)
        mail = self.env["mail.mail"].sudo().search([("recipient_ids", "in", callback.partner_id.ids)])
        self.assertEqual(len(mail), 1)
        self.assertIn(token, mail.body_html, "only the queued e-mail holds the token, until it is sent")
        self.assertFalse(mail.model, "the queued e-mail is not in the callback's chatter")
        self.assertEqual(mail.recipient_ids, callback.partner_id)
        self.assertTrue(mail.auto_delete, "the e-mail (and the token in it) is deleted once sent")
        self.assertIn(self.company.name, mail.body_html)
        self.assertTrue(callback.link_waiting)
        self.assertEqual(callback.channel, "email")
        # the board finds it
        waiting = self.env["auto_crm.callback"].search(
            [("link_waiting", "=", True), ("state", "in", ("todo", "in_progress")), ("id", "=", callback.id)]
        )
        self.assertEqual(waiting, callback)

    def test_the_board_filters_and_badges_the_waiting_calls(self):
        waiting = self.make_link_callback()
        waiting.action_send_link()
        other = self.make_link_callback(name="电话回访客户")
        views = self.env["auto_crm.callback"].with_user(self.agent).get_views([(False, "kanban"), (False, "search")])
        self.assertIn("o_auto_crm_callback_link_waiting", views["views"]["kanban"]["arch"])
        search = etree.fromstring(views["views"]["search"]["arch"])
        [node] = search.xpath("//filter[@name='link_waiting']")
        domain = safe_eval(node.get("domain"))
        Callback = self.env["auto_crm.callback"].with_user(self.agent)
        found = Callback.search([*domain, ("id", "in", (waiting | other).ids)])
        self.assertEqual(found, waiting)

    def test_send_by_sms_when_preferred(self):
        callback = self.make_link_callback(auto_preferred_channel="sms")
        callback.with_user(self.manager).action_send_link()
        link = callback.link_ids
        self.assertEqual(link.channel, "sms")
        sms = self.env["sms.sms"].sudo().search([("partner_id", "=", callback.partner_id.id)])
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.state, "outgoing", "queued for Odoo's SMS cron")
        self.assertEqual(sms.number, link.sent_to)
        self.assertIn(self.company.name, sms.body)
        token = self.queued_token(callback)
        self.assertEqual(self.Link._find_token(token), (link.sudo(), None))
        self.assertEqual(callback.channel, "sms")

    def test_email_when_no_preference_and_sms_without_address(self):
        callback = self.make_link_callback(auto_preferred_channel=False)
        callback.action_send_link()
        self.assertEqual(callback.link_ids.channel, "email")
        other = self.make_link_callback(name="无邮箱客户", email=False, auto_preferred_channel="email")
        other.action_send_link()
        self.assertEqual(other.link_ids.channel, "sms")
        nobody = self.make_link_callback(name="无联系方式客户", email=False, mobile=False)
        with self.assertRaisesRegex(UserError, "neither an e-mail address nor a mobile number"):
            nobody.action_send_link()
        self.assertFalse(nobody.link_ids)

    def test_never_on_a_channel_the_customer_turned_down(self):
        no_texts = self.make_link_callback(name="不收短信客户", auto_preferred_channel="sms", auto_no_sms=True)
        no_texts.action_send_link()
        self.assertEqual(no_texts.link_ids.channel, "email")
        no_mails = self.make_link_callback(name="不收邮件客户", auto_no_email=True)
        no_mails.action_send_link()
        self.assertEqual(no_mails.link_ids.channel, "sms")
        neither = self.make_link_callback(name="都不收客户", auto_no_email=True, auto_no_sms=True)
        with self.assertRaisesRegex(UserError, "nor a mobile number they accept messages on"):
            neither.action_send_link()
        self.assertFalse(neither.link_ids)

    def test_chinese_customer_gets_chinese_messages(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])
        callback = self.make_link_callback(lang="zh_CN")
        callback.action_send_link()
        mail = self.env["mail.mail"].sudo().search([("recipient_ids", "in", callback.partner_id.ids)])
        self.assertIn("问卷", mail.body_html)
        self.assertIn("您", mail.subject)
        sms_callback = self.make_link_callback(name="短信客户", lang="zh_CN", auto_preferred_channel="sms")
        sms_callback.action_send_link()
        sms = self.env["sms.sms"].sudo().search([("partner_id", "=", sms_callback.partner_id.id)])
        self.assertIn("问卷", sms.body)

    def test_send_refused_with_a_sentence(self):
        no_questionnaire = self.make_link_callback()
        no_questionnaire.questionnaire_id = False
        with self.assertRaisesRegex(UserError, "Questionnaire: .* no questionnaire"):
            no_questionnaire.action_send_link()
        no_consent = self.make_link_callback(name="未同意客户", auto_callback_consent=False)
        with self.assertRaisesRegex(UserError, "has not agreed to be contacted"):
            no_consent.action_send_link()
        closed = self.make_link_callback(name="已取消客户")
        closed.write({"state": "cancel", "close_reason": "other"})
        with self.assertRaisesRegex(UserError, "is closed"):
            closed.action_send_link()
        with self.assertRaises(AccessError):
            self.make_link_callback(name="普通用户客户").with_user(self.group_user).action_send_link()
        self.assertFalse((no_questionnaire | no_consent | closed).link_ids)

    def test_do_not_disturb_refused(self):
        callback = self.make_link_callback(name="勿扰客户")
        # do-not-disturb cancels the open callbacks; a callback made before is refused all the same
        self.env.cr.execute("UPDATE res_partner SET auto_do_not_disturb = TRUE WHERE id = %s", [callback.partner_id.id])
        callback.partner_id.invalidate_recordset()
        with self.assertRaisesRegex(UserError, "asked not to be disturbed"):
            callback.action_send_link()

    def test_nobody_writes_a_link_or_the_waiting_flag(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        link = callback.link_ids
        # (AccessError is a UserError)
        for user in (self.agent, self.manager, self.dealer_admin):
            with self.assertRaises(UserError):
                link.with_user(user).write({"state": "answered"})
            with self.assertRaises(UserError):
                callback.with_user(user).write({"link_waiting": False})
            with self.assertRaises(UserError):
                self.Link.with_user(user).create({"callback_id": callback.id, "channel": "sms"})
        # the token's signature is not even readable by the store's users
        with self.assertRaises(AccessError):
            link.with_user(self.manager).read(["token_hash"])
        self.assertTrue(link.with_user(self.agent).read(["state", "date_expiry"]))

    def test_a_new_link_replaces_the_last(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        first = self.queued_token(callback)
        callback.action_send_link()
        second = self.queued_token(callback)
        self.assertEqual(sorted(callback.link_ids.mapped("state")), ["replaced", "sent"])
        before = self.snapshot(callback)
        self.assertEqual(
            self.Link._answer_online(first, self.scores_by_step(callback, greeting="5", overall="5")), (None, "closed")
        )
        self.assertEqual(self.snapshot(callback), before)
        answered, reason = self.Link._answer_online(second, self.scores_by_step(callback, greeting="5", overall="5"))
        self.assertIsNone(reason)
        self.assertEqual(answered, callback)

    # ------------------------------------------------------------------ answers
    def test_answers_land_as_an_agents_would(self):
        online = self.make_link_callback()
        online.action_send_link()
        token = self.queued_token(online)
        scores = self.scores_by_step(online, greeting="5", cleanliness="3", overall="4")
        comments = {q.id: "很干净" for q in online.questionnaire_id.question_ids if q.step == "cleanliness"}
        callback, reason = self.Link._answer_online(token, scores, comments)
        self.assertIsNone(reason)
        self.assertEqual(callback, online)
        online.invalidate_recordset()
        self.assertEqual(online.state, "done")
        self.assertEqual(online.overall_score, 4)
        self.assertTrue(online.date_done)
        self.assertFalse(online.link_waiting)
        self.assertEqual(online.link_ids.state, "answered")
        self.assertTrue(online.link_ids.date_answered)
        self.assertEqual(online.attempt_ids.outcome, "answered")
        self.assertEqual(online.attempt_ids.channel, "email")
        self.assertEqual(
            sorted((a.step, a.score, a.comment or "") for a in online.answer_ids),
            [("cleanliness", "3", "很干净"), ("greeting", "5", ""), ("overall", "4", "")],
        )
        self.assertFalse(online.complaint_ids, "4 of 5 opens no complaint")
        # the same answers given to an agent: the same index
        by_phone = self.make_link_callback(name="电话客户")
        by_phone.with_user(self.agent).action_start()
        for answer in by_phone.answer_ids:
            answer.with_user(self.agent).score = {"greeting": "5", "cleanliness": "3", "overall": "4"}[answer.step]
        by_phone.with_user(self.agent).action_done()
        self.assertTrue(by_phone.csi_hierarchy_id)
        self.assertEqual(online.csi_hierarchy_id, by_phone.csi_hierarchy_id)
        self.assertAlmostEqual(online.csi, by_phone.csi, places=1)
        self.assertIn("answered the questionnaire online", " ".join(online.message_ids.mapped("body")))

    def test_a_low_score_opens_a_complaint(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        self.Link._answer_online(token, self.scores_by_step(callback, greeting="2", overall="1"))
        callback.invalidate_recordset()
        self.assertEqual(callback.state, "done")
        self.assertEqual(callback.overall_score, 1)
        self.assertEqual(len(callback.complaint_ids), 1)
        self.assertIn("rated us 1 out of 5", callback.complaint_ids.subject)
        self.assertEqual(callback.complaint_ids.partner_id, callback.partner_id)

    def test_missing_required_answer_writes_nothing(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        before = self.snapshot(callback)
        with self.assertRaisesRegex(ValidationError, "Overall\\?: please choose a score"):
            self.Link._answer_online(token, self.scores_by_step(callback, greeting="5"))
        with self.assertRaisesRegex(ValidationError, "choose a score from 1 to 5"):
            self.Link._answer_online(token, self.scores_by_step(callback, greeting="9", overall="5"))
        self.assertEqual(self.snapshot(callback), before)
        self.assertEqual(self.Link._find_token(token)[1], None, "the link still works")

    def test_reuse_writes_nothing(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        self.Link._answer_online(token, self.scores_by_step(callback, greeting="5", overall="5"))
        before = self.snapshot(callback)
        self.assertEqual(before["state"], "done")
        result = self.Link._answer_online(token, self.scores_by_step(callback, greeting="1", overall="1"))
        self.assertEqual(result, (None, "answered"))
        self.assertEqual(self.snapshot(callback), before)

    def test_expired_link_writes_nothing(self):
        with freeze_time("2026-03-01 02:00:00"):
            callback = self.make_link_callback()
            callback.action_send_link()
            token = self.queued_token(callback)
        with freeze_time("2026-03-08 01:59:00"):
            self.assertEqual(self.Link._find_token(token)[1], None, "valid for 7 days")
        before = self.snapshot(callback)
        with freeze_time("2026-03-08 02:00:01"):
            result = self.Link._answer_online(token, self.scores_by_step(callback, greeting="5", overall="5"))
        self.assertEqual(result, (None, "expired"))
        self.assertEqual(self.snapshot(callback), before)

    def test_forged_tokens_write_nothing(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        before = self.snapshot(callback)
        scores = self.scores_by_step(callback, greeting="5", overall="5")
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
        link = callback.link_ids.sudo()
        for forged in (secrets.token_urlsafe(32), tampered, "", "x" * 5000, link.token_hash):
            with self.subTest(forged=forged[:20]):
                self.assertEqual(self.Link._answer_online(forged, scores), (None, "invalid"))
        self.assertEqual(self.snapshot(callback), before)

    def test_a_closed_callback_takes_no_answer(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        callback.with_user(self.agent).write({"state": "failed", "close_reason": "refused"})
        before = self.snapshot(callback)
        self.assertEqual(
            self.Link._answer_online(token, self.scores_by_step(callback, greeting="5", overall="5")), (None, "closed")
        )
        self.assertEqual(self.snapshot(callback), before)

    # ------------------------------------------------------------------ fallback to the phone
    def test_unanswered_link_falls_back_to_a_phone_call(self):
        with freeze_time("2026-03-01 02:00:00"):
            callback = self.make_link_callback()
            callback.action_send_link()
            token = self.queued_token(callback)
            answered = self.make_link_callback(name="已回答客户")
            answered.action_send_link()
            self.Link._answer_online(
                self.queued_token(answered), self.scores_by_step(answered, greeting="5", overall="5")
            )
        with freeze_time("2026-03-04 01:59:00"):
            self.assertEqual(self.Link._cron_fallback(), 0, "not before the store's 3 days")
        self.assertTrue(callback.link_waiting)
        messages = len(callback.message_ids)
        with freeze_time("2026-03-04 02:00:00"):
            self.assertEqual(self.Link._cron_fallback(), 1)
        callback.invalidate_recordset()
        self.assertEqual((callback.state, callback.channel, callback.link_waiting), ("todo", "phone", False))
        self.assertEqual(callback.link_ids.state, "withdrawn")
        self.assertEqual(len(callback.message_ids), messages + 1)
        self.assertIn("back in the phone queue", callback.message_ids[0].body)
        self.assertEqual(answered.link_ids.state, "answered")
        run = self.env["auto_crm.job.run"].search([("job", "=", "callback_link_fallback")], limit=1)
        self.assertEqual((run.state, run.processed_count), ("done", 1))
        # twice: nothing more
        with freeze_time("2026-03-05 02:00:00"):
            self.assertEqual(self.Link._cron_fallback(), 0)
        self.assertEqual(len(callback.message_ids), messages + 1)
        # the withdrawn link opens nothing any more (an agent calls)
        with freeze_time("2026-03-05 02:00:00"):
            self.assertEqual(self.Link._find_token(token)[1], "closed")

    def test_fallback_by_the_cron_and_the_stores_days(self):
        self.company.callback_link_fallback_days = 1
        with freeze_time("2026-03-01 02:00:00"):
            callback = self.make_link_callback()
            callback.action_send_link()
        with freeze_time("2026-03-02 02:00:01"):
            self.env.ref("auto_crm.auto_crm_callback_link_cron").method_direct_trigger()
        callback.invalidate_recordset()
        self.assertEqual((callback.channel, callback.link_waiting), ("phone", False))

    def test_settings_range(self):
        with self.assertRaisesRegex(ValidationError, "Questionnaire Link Valid"):
            self.env["res.company"].create({"name": "Store A", "callback_link_expiry_days": 0})
        with self.assertRaisesRegex(ValidationError, "Back to a Phone Call After"):
            self.env["res.company"].create({"name": "Store B", "callback_link_fallback_days": 1000})


@tagged("post_install", "-at_install")
class TestCallbackLinkHttp(LinkCaseMixin, HttpCase):
    """The public page through the real server: no login, the token in the address, the CSRF token of
    the form on the POST."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_create_nolog=True))
        cls.env["auto_crm.callback.rule"].search([]).active = False
        cls.agent = new_test_user(cls.env, "link_http_agent", groups="auto_crm.group_agent", name="Link Agent")
        cls.questionnaire = cls.env["auto_crm.questionnaire"].create(
            {
                "name": "Online questionnaire",
                "question_ids": [
                    (0, 0, {"sequence": 1, "name": "Were you greeted promptly?", "step": "greeting", "required": True}),
                    (
                        0,
                        0,
                        {"sequence": 2, "name": "How satisfied are you overall?", "step": "overall", "required": True},
                    ),
                ],
            }
        )

    def csrf_of(self, response):
        match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        self.assertTrue(match, "the form carries a CSRF token")
        return match.group(1)

    def test_answer_through_the_page(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        page = self.url_open(f"/auto_crm/survey/{token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Were you greeted promptly?", page.text)
        self.assertIn("Very satisfied", page.text)
        self.assertIn('name="viewport"', page.text)
        greeting, overall = callback.questionnaire_id.question_ids.sorted("sequence")
        data = {
            "csrf_token": self.csrf_of(page),
            f"score_{greeting.id}": "5",
            f"score_{overall.id}": "2",
            f"comment_{overall.id}": "等太久了",
        }
        # without the form's CSRF token: refused, nothing written
        before = self.snapshot(callback)
        with mute_logger("odoo.http"):  # (Odoo's warning of the refused form)
            refused = self.url_open(f"/auto_crm/survey/{token}", data=dict(data, csrf_token="forged"))
        self.assertEqual(refused.status_code, 400)
        self.assertEqual(self.snapshot(callback), before)
        done = self.url_open(f"/auto_crm/survey/{token}", data=data)
        self.assertEqual(done.status_code, 200)
        self.assertIn("Thank you!", done.text)
        callback.invalidate_recordset()
        self.assertEqual(callback.state, "done")
        self.assertEqual(callback.overall_score, 2)
        self.assertEqual(len(callback.complaint_ids), 1, "2 of 5 opens a complaint")
        self.assertIn("等太久了", callback.complaint_ids.description)
        # again: the polite page, nothing written
        before = self.snapshot(callback)
        again = self.url_open(f"/auto_crm/survey/{token}")
        self.assertIn("we already have your answers", again.text)
        posted = self.url_open(f"/auto_crm/survey/{token}", data=dict(data, **{f"score_{overall.id}": "5"}))
        self.assertIn("we already have your answers", posted.text)
        self.assertEqual(self.snapshot(callback), before)

    def test_missing_answer_shows_the_form_again(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        page = self.url_open(f"/auto_crm/survey/{token}")
        greeting = callback.questionnaire_id.question_ids.sorted("sequence")[0]
        before = self.snapshot(callback)
        response = self.url_open(
            f"/auto_crm/survey/{token}", data={"csrf_token": self.csrf_of(page), f"score_{greeting.id}": "4"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("How satisfied are you overall?: please choose a score", response.text)
        self.assertRegex(response.text, rf'id="score_{greeting.id}_4"[^>]*checked', "the customer's choice is kept")
        self.assertEqual(self.snapshot(callback), before)

    def test_forged_and_expired_links_are_polite(self):
        callback = self.make_link_callback()
        callback.action_send_link()
        token = self.queued_token(callback)
        page = self.url_open(f"/auto_crm/survey/{token}")
        csrf = self.csrf_of(page)
        before = self.snapshot(callback)
        forged = self.url_open(f"/auto_crm/survey/{secrets.token_urlsafe(32)}")
        self.assertEqual(forged.status_code, 404)
        self.assertIn("This link is not valid", forged.text)
        greeting, overall = callback.questionnaire_id.question_ids.sorted("sequence")
        posted = self.url_open(
            f"/auto_crm/survey/{token[:-2]}xy",
            data={"csrf_token": csrf, f"score_{greeting.id}": "1", f"score_{overall.id}": "1"},
        )
        self.assertIn("This link is not valid", posted.text)
        # expired: the link's day passed (moved in the database, the server's clock is real)
        self.env.cr.execute(
            "UPDATE auto_crm_callback_link SET date_expiry = now() at time zone 'UTC' - interval '1 minute' "
            "WHERE callback_id = %s",
            [callback.id],
        )
        callback.link_ids.invalidate_recordset()
        expired = self.url_open(f"/auto_crm/survey/{token}")
        self.assertIn("This link has expired", expired.text)
        posted = self.url_open(
            f"/auto_crm/survey/{token}",
            data={"csrf_token": csrf, f"score_{greeting.id}": "1", f"score_{overall.id}": "1"},
        )
        self.assertIn("This link has expired", posted.text)
        self.assertEqual(self.snapshot(callback), before)

    def test_page_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"].search([("name", "=", "auto_crm")])._update_translations(["zh_CN"])
        callback = self.make_link_callback(lang="zh_CN")
        callback.action_send_link()
        token = self.queued_token(callback)
        page = self.url_open(f"/auto_crm/survey/{token}")
        self.assertIn('lang="zh-CN"', page.text)
        self.assertIn("完全满意", page.text)
        self.assertIn("提交", page.text)


@tagged("post_install", "-at_install")
class TestCallbackLinkConcurrency(TransactionCase):
    """Two answers of the same link at the same instant (a customer tapping "send" twice, two devices):
    two real transactions (threads with their own registry cursors), both having seen the link valid
    when a barrier releases them into the model method the page calls. A transaction that fails to
    serialise is rolled back and run once more, as Odoo's HTTP layer does. Exactly one answer lands:
    the callback is done once, with one attempt, one set of scores; the other side gets "answered".
    Everything committed is deleted at the end."""

    ROUNDS = 4
    # (notifications queued, not sent at commit: the test's registry is busy)
    CONTEXT = {
        "tracking_disable": True,
        "mail_create_nolog": True,
        "mail_create_nosubscribe": True,
        "mail_notify_force_send": False,
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = {"partners": [], "questionnaire": []}
        cls.addClassCleanup(cls._delete_created)
        cls.numbers = itertools.count(1)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            questionnaire = env["auto_crm.questionnaire"].create(
                {
                    "name": "Race link questionnaire",
                    "question_ids": [
                        (0, 0, {"name": "Greeted?", "step": "greeting", "required": True}),
                        (0, 0, {"name": "Overall?", "step": "overall", "required": True}),
                    ],
                }
            )
            cls.questionnaire_id = questionnaire.id
        cls.created["questionnaire"].append(cls.questionnaire_id)

    @classmethod
    def _delete_created(cls):
        created = cls.created
        with cls.registry.cursor() as cr:
            cr.execute(SQL("SELECT id FROM auto_crm_callback WHERE partner_id = ANY(%s)", created["partners"]))
            callback_ids = [row[0] for row in cr.fetchall()]
            cr.execute(SQL("DELETE FROM auto_crm_complaint WHERE callback_id = ANY(%s)", callback_ids))
            cr.execute(SQL("DELETE FROM auto_crm_callback WHERE id = ANY(%s)", callback_ids))
            cr.execute(
                SQL(
                    """DELETE FROM mail_message WHERE id IN (
                           SELECT mail.mail_message_id FROM mail_mail mail
                             JOIN mail_mail_res_partner_rel rel ON rel.mail_mail_id = mail.id
                            WHERE rel.res_partner_id = ANY(%s))""",
                    created["partners"],
                )
            )
            cr.execute(
                SQL("DELETE FROM mail_message WHERE model = 'auto_crm.callback' AND res_id = ANY(%s)", callback_ids)
            )
            env = api.Environment(cr, SUPERUSER_ID, cls.CONTEXT)
            env["auto_crm.questionnaire"].browse(created["questionnaire"]).unlink()
            env["res.partner"].browse(created["partners"]).unlink()

    def _sent_callback(self):
        """A consenting customer's callback with a link sent by e-mail; returns (callback id, token). Committed."""
        number = next(self.numbers)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
            partner = env["res.partner"].create(
                {
                    "name": f"并发问卷客户 {number}",
                    "auto_customer": True,
                    "auto_callback_consent": True,
                    "email": f"race{number}@example.com",
                }
            )
            self.created["partners"].append(partner.id)
            callback = env["auto_crm.callback"].create(
                {"partner_id": partner.id, "questionnaire_id": self.questionnaire_id}
            )
            env["auto_crm.callback.link"]._send_for(callback)
            env.flush_all()
            mail = env["mail.mail"].search([("recipient_ids", "in", partner.ids)])
            token = TOKEN_RE.search(mail.body_html).group(1)
            questions = {q.step: q.id for q in callback.questionnaire_id.question_ids}
        return callback.id, token, questions

    def _request(self, token, scores, barrier, outcome):
        for attempt in range(2):
            with self.registry.cursor() as cr:
                cr.transaction = api.Transaction(self.registry)
                env = api.Environment(cr, SUPERUSER_ID, self.CONTEXT)
                try:
                    # the snapshot: the link is valid
                    seen = env["auto_crm.callback.link"]._find_token(token)[1]
                    if not attempt:
                        outcome.append(seen)
                        barrier.wait()
                    callback, reason = env["auto_crm.callback.link"]._answer_online(token, scores)
                    env.flush_all()
                    # a real second transaction of the race, on its own cursor: it must commit
                    cr.commit()  # pylint: disable=invalid-commit
                except errors.SerializationFailure:
                    cr.rollback()
                    outcome.append("serialization failure")
                    continue
                outcome.append(("answered", callback.id) if callback else reason)
                return

    def _race(self, token, scores_pair):
        barrier = threading.Barrier(2, timeout=30)
        outcomes = ([], [])
        crashes = []

        def run(scores, outcome):
            try:
                self._request(token, scores, barrier, outcome)
            except BaseException as error:  # reported by the main thread
                crashes.append(error)
                barrier.abort()

        with mute_logger("odoo.sql_db"):
            threads = [
                threading.Thread(target=run, args=(scores, outcome))
                for scores, outcome in zip(scores_pair, outcomes, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        if any(thread.is_alive() for thread in threads):
            frames = sys._current_frames()
            stacks = "\n".join("".join(traceback.format_stack(frames[t.ident])) for t in threads if t.is_alive())
            self.fail(f"a request hung:\n{stacks}")
        self.assertFalse(crashes, f"a request crashed: {crashes!r}")
        for outcome in outcomes:
            self.assertIsNone(outcome[0], "both requests saw the link valid: they really raced")
        return [outcome[1:] for outcome in outcomes]

    def test_two_answers_of_one_link_give_one(self):
        tally = {}
        for _round in range(self.ROUNDS):
            callback_id, token, questions = self._sent_callback()
            low = {questions["greeting"]: "1", questions["overall"]: "1"}
            high = {questions["greeting"]: "5", questions["overall"]: "5"}
            first, second = self._race(token, (low, high))
            results = [first[-1], second[-1]]
            winners = [r for r in results if isinstance(r, tuple)]
            self.assertEqual(len(winners), 1, f"exactly one answer lands: {first} / {second}")
            self.assertIn("answered", results, f"the other is told it was answered: {first} / {second}")
            with self.registry.cursor() as cr:
                cr.execute(
                    """SELECT c.state, c.overall_score,
                              (SELECT count(*) FROM auto_crm_callback_attempt a WHERE a.callback_id = c.id),
                              (SELECT count(*) FROM auto_crm_callback_link l
                                WHERE l.callback_id = c.id AND l.state = 'answered'),
                              (SELECT count(*) FROM auto_crm_complaint k WHERE k.callback_id = c.id),
                              (SELECT array_agg(DISTINCT a.score) FROM auto_crm_callback_answer a
                                WHERE a.callback_id = c.id)
                         FROM auto_crm_callback c WHERE c.id = %s""",
                    [callback_id],
                )
                state, overall, attempts, answered_links, complaints, scores = cr.fetchone()
            self.assertEqual((state, attempts, answered_links), ("done", 1, 1))
            self.assertEqual(len(scores), 1, f"one set of scores, not a mix: {scores}")
            self.assertEqual(complaints, 1 if overall == 1 else 0)
            key = "low won" if overall == 1 else "high won"
            key += ", loser waited then serialised" if "serialization failure" in first + second else ""
            tally[key] = tally.get(key, 0) + 1
        self.assertEqual(sum(tally.values()), self.ROUNDS)
        _logger.info("questionnaire link race, %s rounds: %s", self.ROUNDS, tally)
