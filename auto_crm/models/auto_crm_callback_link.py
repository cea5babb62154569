"""A questionnaire the customer answers on their phone (issue 14).

A callback with a questionnaire can be sent to its customer as a link (e-mail or SMS, by the customer's
preferred channel). The link's token is random and sent once: the database keeps only its HMAC, keyed by
the database secret, so that nothing stored opens the page. One link is valid per callback at a time (a
new one replaces the last), until it expires (the store's setting) or is answered; the answers land on
the callback through the agent's own "Done" path. An unanswered link falls back to a phone call after
the store's number of days (a daily job).
"""

import datetime
import hashlib
import hmac
import secrets

from markupsafe import Markup

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_datetime
from odoo.tools.sql import create_index

from .auto_crm_callback import OPEN_STATES
from .auto_crm_job_run import JobStep
from .input_limits import check_vals

LINK_STATES = [
    ("sent", "Sent"),
    ("answered", "Answered"),
    ("replaced", "Replaced by a newer link"),
    ("withdrawn", "Withdrawn (back to a phone call)"),
]
LINK_CHANNELS = [("email", "E-mail"), ("sms", "SMS")]
#: Why a token opens no questionnaire (the public page words each politely).
INVALID, ANSWERED, EXPIRED, CLOSED = "invalid", "answered", "expired", "closed"
#: The public page's address; the token follows.
SURVEY_ROUTE = "/auto_crm/survey/"


class AutoCrmCallbackLink(models.Model):
    _name = "auto_crm.callback.link"
    _description = "Questionnaire Link"
    #: Fields a person writes (auto_crm.owned.mixin): none, the add-on makes and closes every link.
    _user_fields = ()
    _inherit = ["auto_crm.owned.mixin"]
    _order = "date_sent desc, id desc"
    _check_company_auto = True

    callback_id = fields.Many2one("auto_crm.callback", required=True, readonly=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="callback_id.company_id", store=True, index=True, string="Store")
    partner_id = fields.Many2one(related="callback_id.partner_id", string="Customer")
    token_hash = fields.Char(
        string="Token Signature",
        size=64,
        required=True,
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="HMAC-SHA256 of the token sent, keyed by the database secret: the token itself is never stored.",
    )
    channel = fields.Selection(LINK_CHANNELS, required=True, readonly=True)
    sent_to = fields.Char(readonly=True, help="The e-mail address or mobile number the link went to.")
    user_id = fields.Many2one("res.users", string="Sent By", readonly=True)
    date_sent = fields.Datetime(string="Sent On", required=True, readonly=True, default=fields.Datetime.now)
    date_expiry = fields.Datetime(string="Expires On", required=True, readonly=True)
    date_answered = fields.Datetime(string="Answered On", readonly=True, copy=False)
    state = fields.Selection(LINK_STATES, string="Status", required=True, default="sent", readonly=True, copy=False)
    is_expired = fields.Boolean(compute="_compute_is_expired", string="Expired")

    _sql_constraints = [
        ("auto_crm_callback_link_token_uniq", "unique(token_hash)", "A questionnaire link's token is unique."),
    ]

    def init(self):
        # One valid link per callback; the fallback job reads the valid links by their day.
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS auto_crm_callback_link_one_sent_idx
                   ON auto_crm_callback_link (callback_id) WHERE state = 'sent'"""
        )
        create_index(
            self.env.cr, "auto_crm_callback_link_sent_date_idx", self._table, ["date_sent"], where="state = 'sent'"
        )

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals])
        return super().write(vals)

    @api.depends("date_expiry", "state")
    def _compute_is_expired(self):
        now = fields.Datetime.now()
        for link in self:
            link.is_expired = link.state == "sent" and bool(link.date_expiry) and link.date_expiry <= now

    @api.depends("callback_id", "date_sent")
    def _compute_display_name(self):
        for link in self:
            link.display_name = _(
                "%(callback)s (%(channel)s)",
                callback=link.callback_id.display_name or "",
                channel=dict(self._fields["channel"]._description_selection(self.env)).get(link.channel, ""),
            )

    # ------------------------------------------------------------------ tokens
    @api.model
    def _token_hash(self, token):
        """The HMAC-SHA256 of ``token`` keyed by the database secret, in hexadecimal (64 characters)."""
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        if not secret:
            raise UserError(_("Token Signature: the database has no secret (database.secret) to sign links with."))
        return hmac.new(secret.encode(), (token or "").encode(), hashlib.sha256).hexdigest()

    @api.model
    def _find_token(self, token):
        """``(link, reason)``: the link this token opens (a superuser record) and None, or an empty
        recordset and why it opens nothing (forged, answered, expired, closed)."""
        Link = self.sudo().with_context(active_test=False)
        if not token or len(token) > 200:
            return Link.browse(), INVALID
        digest = self._token_hash(token)
        link = Link.search([("token_hash", "=", digest)], limit=1)
        # the index found it; the comparison of the signatures is made in constant time all the same
        if not link or not hmac.compare_digest(link.token_hash, digest):
            return Link.browse(), INVALID
        if link.state == "answered":
            return link, ANSWERED
        if link.state != "sent" or link.callback_id.state not in OPEN_STATES:
            return link, CLOSED
        if link.date_expiry <= fields.Datetime.now():
            return link, EXPIRED
        return link, None

    # ------------------------------------------------------------------ sending
    @api.model
    def _send_for(self, callbacks):
        """Make a new link for each callback and send it to its customer (e-mail or SMS by the
        customer's preferred channel, e-mail when none), logged in the callback's chatter; the
        callback waits for the online answer. The callers checked the user's rights; the checks
        of the callback and its customer are here. Returns the links."""
        links = self.browse()
        for callback in callbacks:
            callback._check_link_sendable()
            channel, address = self._channel_for(callback.partner_id)
            token = secrets.token_urlsafe(32)
            store = callback.company_id
            now = fields.Datetime.now()
            # the last link of the callback stops opening the questionnaire: one valid link at a time
            last = self.sudo().search([("callback_id", "=", callback.id), ("state", "=", "sent")])
            last.write({"state": "replaced"})
            last.flush_recordset(["state"])
            link = self.sudo().create(
                {
                    "callback_id": callback.id,
                    "token_hash": self._token_hash(token),
                    "channel": channel,
                    "sent_to": address,
                    "user_id": self.env.user.id,
                    "date_sent": now,
                    "date_expiry": now + datetime.timedelta(days=store.callback_link_expiry_days),
                }
            )
            url = f"{callback.get_base_url()}{SURVEY_ROUTE}{token}"
            if channel == "sms":
                link._queue_sms(url)
            else:
                link._queue_mail(url)
            callback._owned_write({"link_waiting": True, "channel": channel})
            channels = dict(self._fields["channel"]._description_selection(self.env))
            callback.message_post(
                body=_(
                    "Questionnaire link sent by %(channel)s to %(address)s; it expires on %(expiry)s. "
                    "Without an answer in %(days)s days the callback goes back to a phone call.",
                    channel=channels[channel],
                    address=address,
                    expiry=format_datetime(self.env, link.date_expiry, tz=store._auto_crm_tz_name(), dt_format="short"),
                    days=store.callback_link_fallback_days,
                ),
                subtype_xmlid="mail.mt_note",
            )
            links |= link
        return links

    @api.model
    def _channel_for(self, partner):
        """``(channel, address)``: SMS when the customer prefers it and has a mobile, else e-mail when
        they have an address, else SMS to a mobile - never a channel the customer turned down (issue 14);
        a sentence when none is left."""
        mobile = "" if partner.auto_no_sms else partner.mobile or ""
        email = "" if partner.auto_no_email else partner.email or ""
        if partner.auto_preferred_channel == "sms" and mobile:
            return "sms", mobile
        if email:
            return "email", email
        if mobile:
            return "sms", mobile
        raise UserError(
            _(
                "Customer: %s has neither an e-mail address nor a mobile number they accept messages on; the "
                "questionnaire link cannot be sent.",
                partner.display_name,
            )
        )

    def _queue_mail(self, url):
        """The link by e-mail, in the customer's language, through Odoo's mail queue. The message is
        deleted once sent (the token is in it); the chatter keeps a note without the token."""
        self.ensure_one()
        template = self.env.ref("auto_crm.mail_template_callback_link").sudo()
        template.with_context(auto_crm_survey_url=url, auto_crm_link_expiry=self._expiry_text()).send_mail(
            self.callback_id.id,
            force_send=False,
            # not attached to the callback: the chatter never shows the message that holds the token
            email_values={"model": False, "res_id": False},
            email_layout_xmlid="mail.mail_notification_light",
        )

    def _queue_sms(self, url):
        """The link by SMS, in the customer's language, through Odoo's SMS queue (``sms.sms``, sent by
        its own cron, deleted once sent)."""
        self.ensure_one()
        callback = self.callback_id
        template = self.env.ref("auto_crm.sms_template_callback_link").sudo()
        body = template.with_context(auto_crm_survey_url=url, auto_crm_link_expiry=self._expiry_text())._render_field(
            "body", callback.ids, compute_lang=True
        )[callback.id]
        self.env["sms.sms"].sudo().create(
            {"number": self.sent_to, "body": body, "partner_id": callback.partner_id.id, "state": "outgoing"}
        )

    def _expiry_text(self):
        """The expiry in the customer's language and the store's time zone."""
        self.ensure_one()
        lang = self.callback_id.partner_id.lang or self.env.lang
        return format_datetime(
            self.env(context=dict(self.env.context, lang=lang)),
            self.date_expiry,
            tz=self.company_id._auto_crm_tz_name(),
            dt_format="short",
        )

    # ------------------------------------------------------------------ the customer's answer
    @api.model
    def _answer_online(self, token, scores, comments=None):
        """The customer's answers through the public page: ``scores`` ``{question id: '1'..'5'}``,
        ``comments`` ``{question id: text}``. Returns ``(callback, None)`` when the answers landed,
        ``(None, reason)`` when the token opens nothing (and nothing is written). Exactly once: the
        link is claimed by one UPDATE before anything is written; a concurrent second answer waits
        for it and then finds the link answered (or fails to serialise and is retried as a whole by
        the request, and then finds it answered). A missing or invalid score raises a
        ValidationError naming the question (nothing written)."""
        link, reason = self._find_token(token)
        if reason:
            return None, reason
        env = self.env(user=SUPERUSER_ID, su=True)
        link = link.with_env(env).with_company(link.company_id)
        callback = link.callback_id
        lang = callback.partner_id.lang or env.lang
        callback = callback.with_context(lang=lang)
        questions = callback.questionnaire_id.with_context(lang=lang).question_ids.filtered("active")
        comments = comments or {}
        valid = {"1", "2", "3", "4", "5"}
        for question in questions:
            score = scores.get(question.id)
            if score and str(score) not in valid:
                raise ValidationError(_("%s: choose a score from 1 to 5.", question.name))
            if question.required and not score:
                raise ValidationError(_("%s: please choose a score, it is required.", question.name))
        env.flush_all()
        now = fields.Datetime.now()
        env.cr.execute(
            """UPDATE auto_crm_callback_link
                  SET state = 'answered', date_answered = %(now)s, write_date = %(now)s, write_uid = %(uid)s
                WHERE id = %(id)s AND state = 'sent' AND date_expiry > %(now)s
            RETURNING id""",
            {"now": now, "uid": SUPERUSER_ID, "id": link.id},
        )
        if not env.cr.fetchone():
            link.invalidate_recordset()
            return None, ANSWERED if link.state == "answered" else EXPIRED
        link.invalidate_recordset(["state", "date_answered", "write_date", "write_uid"])
        callback._ensure_answers()
        for answer in callback.answer_ids.filtered(lambda a: a.question_id in questions):
            vals = {}
            if scores.get(answer.question_id.id):
                vals["score"] = str(scores[answer.question_id.id])
            comment = (comments.get(answer.question_id.id) or "").strip()
            if comment:
                vals["comment"] = comment[:500]
            if vals:
                answer.write(vals)
        callback._owned_write({"link_waiting": False})
        callback.message_post(
            body=_("The customer answered the questionnaire online."),
            author_id=callback.partner_id.id,
            subtype_xmlid="mail.mt_note",
        )
        # the agent's own "Done": the answered attempt, the index, a complaint on a low score
        callback.action_done()
        return callback.with_env(self.env), None

    # ------------------------------------------------------------------ fallback to the phone
    @api.model
    def _cron_fallback(self, batch_size=500):
        """Daily: the callbacks whose link went unanswered for the store's number of days go back to
        the phone queue (channel phone, no longer waiting, the link withdrawn, a chatter note).
        Set-based, through the job runner; a second run (or a concurrent one) finds nothing left.
        Returns the number of callbacks put back."""
        run = self.env["auto_crm.job.run"]._run_job(
            "callback_link_fallback",
            JobStep(
                units=self._fallback_ids,
                process=self._fall_back,
                model="auto_crm.callback",
                batch_size=batch_size,
            ),
        )
        return run.processed_count

    @api.model
    def _fallback_ids(self):
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT callback.id
                 FROM auto_crm_callback_link link
                 JOIN auto_crm_callback callback ON callback.id = link.callback_id
                 JOIN res_company store ON store.id = callback.company_id
                WHERE link.state = 'sent' AND callback.link_waiting
                  AND link.date_sent <= %s - make_interval(days => store.callback_link_fallback_days)
             ORDER BY callback.id""",
            [fields.Datetime.now()],
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _fall_back(self, callback_ids):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """UPDATE auto_crm_callback
                      SET link_waiting = false,
                          channel = CASE WHEN state IN ('todo', 'in_progress') THEN 'phone' ELSE channel END,
                          write_uid = %(uid)s, write_date = now() at time zone 'UTC'
                    WHERE id IN %(ids)s AND link_waiting
                RETURNING id, state IN ('todo', 'in_progress')""",
                uid=self.env.uid,
                ids=tuple(callback_ids),
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            return {}
        ids = [row[0] for row in rows]
        self.env.cr.execute(
            SQL(
                """UPDATE auto_crm_callback_link
                      SET state = 'withdrawn', write_uid = %(uid)s, write_date = now() at time zone 'UTC'
                    WHERE callback_id IN %(ids)s AND state = 'sent'""",
                uid=self.env.uid,
                ids=tuple(ids),
            )
        )
        Callback = self.env["auto_crm.callback"]
        Callback.invalidate_model(["link_waiting", "channel", "write_uid", "write_date"])
        self.invalidate_model(["state", "write_uid", "write_date"])
        reopened = Callback.browse([row[0] for row in rows if row[1]])
        body = Markup("<p>%s</p>") % _(
            "The customer did not answer the questionnaire link: the callback is back in the phone queue."
        )
        if reopened:
            reopened._message_log_batch(bodies=dict.fromkeys(reopened.ids, body))
        return {}


class AutoCrmCallback(models.Model):
    """The callback's side of the questionnaire links: the "waiting for an online answer" flag, the
    links, and the button that sends one."""

    _inherit = "auto_crm.callback"

    link_waiting = fields.Boolean(
        string="Waiting for Online Answer",
        readonly=True,
        copy=False,
        help="A questionnaire link was sent to the customer and is not answered yet.",
    )
    link_ids = fields.One2many("auto_crm.callback.link", "callback_id", string="Questionnaire Links")

    def _check_link_sendable(self):
        """Refuse a link for a callback that cannot be answered online, with a sentence."""
        for callback in self:
            if callback.state not in OPEN_STATES:
                raise UserError(_("Status: %s is closed; no questionnaire link can be sent.", callback.name))
            if not callback.questionnaire_id:
                raise UserError(_("Questionnaire: %s has no questionnaire to answer online.", callback.name))
            partner = callback.partner_id.sudo()
            partner._auto_crm_check_callable()
            if not partner.auto_callback_consent:
                raise UserError(
                    _("Customer: %s has not agreed to be contacted; no questionnaire link is sent.", partner.name)
                )

    def action_send_link(self):
        """Send the customer a link to answer the questionnaire on their phone (agents and managers)."""
        if not self.env.user.has_group("auto_crm.group_agent"):
            raise AccessError(_("Questionnaire Links: only agents and managers send questionnaire links."))
        self.check_access("write")
        self.env["auto_crm.callback.link"]._send_for(self)
        return True
