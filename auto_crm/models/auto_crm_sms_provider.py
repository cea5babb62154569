"""HTTP SMS gateways of the stores (issue 14).

A store's SMS (Odoo's ``sms.sms`` queue, drained by Odoo's cron ``sms.ir_cron_sms_scheduler_action``) go
through the store's active gateway, or a gateway of all stores, instead of Odoo's IAP; without one, IAP
sends them as before (``models/sms_sms.py``).

The protocol (JSON over HTTP), one message a request:

``POST <endpoint URL>`` with the headers ``Content-Type: application/json``, ``X-Auto-Crm-Key: <key id>``,
``X-Auto-Crm-Timestamp: <unix seconds>`` and ``X-Auto-Crm-Signature: <hex HMAC-SHA256 of the secret over
"<timestamp>." + the body's bytes>``. The body::

    {"key_id": "...", "ref": "<the sms.sms uuid: the same ref sent again is the same message>",
     "to": "+8613800138000", "sign_name": "某某4S店", "template_code": "SMS_123", "text": "...",
     "timestamp": 1764636000}

The gateway answers JSON ``{"code": "...", "message": "...", "id": "<its message id>"}``, where ``code`` is
``OK`` (accepted), ``INVALID_NUMBER`` (never retried), ``RATE_LIMITED`` or ``SERVER_ERROR`` (retried with
back-off, as are an HTTP 429 or 5xx answer and a timeout), or another code (an error, not retried). The
secret itself never travels, is never logged and is readable by administrators only.
"""

import hashlib
import hmac
import json
import time

import requests

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .input_limits import check_vals

#: What the gateway's answer codes mean: (outcome, failure type); outcome "retry" tries again later.
GATEWAY_CODES = {
    "OK": ("sent", False),
    "INVALID_NUMBER": ("error", "sms_number_format"),
    "RATE_LIMITED": ("retry", "sms_server"),
    "SERVER_ERROR": ("retry", "sms_server"),
    "AUTH_FAILED": ("error", "sms_acc"),
}

#: The plausible range of a gateway's numbers: a timeout of 1 s to 2 min, up to 20 tries, a first
#: back-off of up to a day, a cap of up to a million SMS a store and day (0 = no cap).
PROVIDER_RANGES = {
    "daily_cap": (0, 1_000_000),
    "timeout": (1, 120),
    "retry_max": (1, 20),
    "retry_delay": (1, 1440),
}
SECRET_GROUPS = "auto_crm.group_admin,base.group_system"
#: A delivery receipt signed longer ago than this (seconds), or that far in the future, is refused.
DLR_MAX_AGE = 300


class AutoCrmSmsProvider(models.Model):
    _name = "auto_crm.sms.provider"
    _description = "SMS Gateway"
    _inherit = ["mail.thread", "auto_crm.owned.mixin"]
    _order = "sequence, id"
    _check_company_auto = True
    #: Fields a person writes (auto_crm.owned.mixin): an administrator configures the whole gateway.
    _user_fields = {
        "name",
        "sequence",
        "company_id",
        "endpoint_url",
        "key_id",
        "secret",
        "sign_name",
        "template_code",
        "daily_cap",
        "timeout",
        "retry_max",
        "retry_delay",
        "active",
    }

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        string="Store",
        tracking=True,
        help="The store whose SMS go through this gateway; empty: every store without a gateway of its own.",
    )
    endpoint_url = fields.Char(
        string="Endpoint URL",
        required=True,
        tracking=True,
        help="The gateway's HTTPS address the messages are posted to.",
    )
    key_id = fields.Char(
        string="Access Key ID", tracking=True, help="The account or key id the gateway gave the store."
    )
    secret = fields.Char(
        string="Access Key Secret",
        groups=SECRET_GROUPS,
        copy=False,
        help="Signs every request (HMAC-SHA256); it is never sent, logged or shown in the history. Only "
        "administrators read it.",
    )
    sign_name = fields.Char(
        string="Signature",
        tracking=True,
        help="The SMS signature (签名) registered with the gateway, e.g. the store's name: Chinese gateways put it "
        "in front of every message.",
    )
    template_code = fields.Char(tracking=True, help="The gateway's approved template (模板) code the messages use.")
    daily_cap = fields.Integer(
        string="Daily Cap per Store",
        default=1000,
        tracking=True,
        help="SMS a store sends through the gateways in a day (the store's calendar day); beyond it the messages "
        "wait for the next day. 0: no cap.",
    )
    timeout = fields.Integer(
        string="Timeout (seconds)", default=10, help="How long an answer of the gateway is awaited."
    )
    retry_max = fields.Integer(
        string="Tries",
        default=4,
        help="Tries of a message the gateway could not take (rate limited, server error, timeout) before it fails.",
    )
    retry_delay = fields.Integer(
        string="First Retry After (minutes)",
        default=5,
        help="The wait before the second try; it doubles for every further try (5, 10, 20 minutes...).",
    )
    has_secret = fields.Boolean(compute="_compute_has_secret", string="Secret Set")

    _sql_constraints = [
        (
            "auto_crm_sms_provider_numbers",
            "CHECK(daily_cap >= 0 AND timeout BETWEEN 1 AND 120 AND retry_max BETWEEN 1 AND 20 "
            "AND retry_delay BETWEEN 1 AND 1440)",
            "Daily Cap per Store: 0 or more; Timeout: 1 to 120 seconds; Tries: 1 to 20; First Retry After: 1 to "
            "1440 minutes.",
        ),
    ]

    @api.depends_context("uid")
    def _compute_has_secret(self):
        self.flush_model(["secret"])
        ids = tuple(provider._origin.id for provider in self if provider._origin.id) or (0,)
        self.env.cr.execute(
            "SELECT id FROM auto_crm_sms_provider WHERE id IN %s AND secret IS NOT NULL AND secret <> ''", [ids]
        )
        with_secret = {row[0] for row in self.env.cr.fetchall()}
        for provider in self:
            provider.has_secret = provider._origin.id in with_secret

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, PROVIDER_RANGES)
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], PROVIDER_RANGES)
        return super().write(vals)

    @api.constrains("endpoint_url")
    def _check_endpoint_url(self):
        for provider in self:
            url = (provider.endpoint_url or "").strip()
            if not url.lower().startswith(("https://", "http://")) or len(url) > 2048:
                raise ValidationError(
                    _("Endpoint URL: %s is not a web address; enter one that starts with https://.", url[:80])
                )

    # ------------------------------------------------------------------ protocol
    @api.model
    def _auto_crm_find(self, companies):
        """{store id: its gateway}: the store's own active gateway first, else one of all stores."""
        providers = self.sudo().search([("company_id", "in", [False, *companies.ids])])
        found = {}
        for company in companies:
            own = providers.filtered(lambda p, c=company: p.company_id == c)
            shared = providers.filtered(lambda p: not p.company_id)
            if own or shared:
                found[company.id] = (own or shared)[0]
        return found

    def _auto_crm_request(self, sms, number):
        """(body bytes, headers) of the request that sends ``sms`` to ``number``, signed with the secret."""
        self.ensure_one()
        timestamp = int(time.time())
        body = json.dumps(
            {
                "key_id": self.key_id or "",
                "ref": sms.uuid,
                "to": number,
                "sign_name": self.sign_name or "",
                "template_code": self.template_code or "",
                "text": sms.body or "",
                "timestamp": timestamp,
            },
            ensure_ascii=False,
        ).encode()
        secret = (self.sudo().secret or "").encode()
        signature = hmac.new(secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Auto-Crm-Key": self.key_id or "",
            "X-Auto-Crm-Timestamp": str(timestamp),
            "X-Auto-Crm-Signature": signature,
        }
        return body, headers

    def _auto_crm_backoff_minutes(self, attempts):
        """Minutes before the next try after ``attempts`` failed tries: the first delay, doubled each time."""
        self.ensure_one()
        return self.retry_delay * 2 ** max(attempts - 1, 0)

    def _auto_crm_post(self, sms, number):
        """Post ``sms`` to the gateway: (outcome, failure type, gateway id, message). The outcome is
        "sent", "error" or "retry"; the failure type ``sms_server_timeout`` marks a timeout."""
        self.ensure_one()
        body, headers = self._auto_crm_request(sms, number)
        try:
            response = requests.post(self.endpoint_url, data=body, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            return "retry", "sms_server_timeout", False, _("no answer within %s seconds", self.timeout)
        except requests.RequestException as error:
            return "retry", "sms_server", False, _("gateway unreachable (%s)", type(error).__name__)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        code = str(answer.get("code") or "")
        message = str(answer.get("message") or code or response.status_code)[:200]
        if response.status_code == 429:
            code = "RATE_LIMITED"
        elif response.status_code >= 500:
            code = "SERVER_ERROR"
        elif response.status_code >= 400 and code not in GATEWAY_CODES:
            code = code or f"HTTP_{response.status_code}"
        outcome, failure_type = GATEWAY_CODES.get(code, ("error", "unknown"))
        ref = str(answer.get("id") or "")[:64] or False
        return outcome, failure_type, ref, message

    # ------------------------------------------------------------------ delivery receipts
    @api.model
    def _auto_crm_dlr_provider(self, key_id, timestamp, signature, raw):
        """The active gateway whose secret signed this delivery receipt (``controllers/auto_crm_sms_dlr.py``),
        or an empty recordset: wrong signature (compared in constant time), unknown key, or a timestamp more
        than DLR_MAX_AGE seconds away from now (a replayed old request)."""
        try:
            stamp = int(timestamp)
        except (TypeError, ValueError):
            return self.browse()
        if abs(time.time() - stamp) > DLR_MAX_AGE or not key_id or not signature:
            return self.browse()
        message = b"%d." % stamp + raw
        for provider in self.sudo().search([("key_id", "=", key_id)]):
            secret = (provider.secret or "").encode()
            expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
            if secret and hmac.compare_digest(expected, str(signature)):
                return provider
        return self.browse()
