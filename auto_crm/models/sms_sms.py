"""Odoo's SMS queue through the stores' HTTP gateways (issue 14).

Odoo's cron ``sms.ir_cron_sms_scheduler_action`` drains ``sms.sms`` (``_process_queue`` → ``send`` →
``_send``). Here ``_send`` takes the SMS of a store that has an active gateway (``auto_crm.sms.provider``)
and posts them to it, one request a message; the others go to Odoo's IAP as before. For every SMS of a
store, whatever its gateway: nothing is sent during the store's quiet hours (held till they end). For a
gateway: the store's daily cap (the SMS waits for the store's next day), retries with back-off of what the
gateway could not take (the SMS stays in the queue, not before its next try), and an invalid number fails at
once, never retried. The cron is triggered at the time a held SMS becomes due.
"""

import datetime
import logging
import threading

import phonenumbers
import pytz
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.phone_validation.tools import phone_validation

from .auto_crm_sms_usage import CAP_BUSY, CAP_REACHED
from .input_limits import check_vals

_logger = logging.getLogger(__name__)

#: The add-on's fields of sms.sms whose values are checked at create and write (input_limits).
INPUT_CHECKED = {"auto_crm_provider_ref"}
#: A concurrent sender of the same store held the daily counter: try again this many minutes later.
BUSY_RETRY_MINUTES = 1
#: The statuses of a gateway's delivery receipt (CMPP / SMPP words, as Chinese gateways report them): the
#: SMS state they mean and, for a failure, the provider error Odoo's sms.tracker knows (IAP's words).
DELIVERY_FAILURES = {"sms_expired", "sms_not_delivered", "sms_rejected", "sms_invalid_destination", "sms_not_allowed"}
DLR_STATUSES = {
    "DELIVRD": ("sent", False),
    "DELIVERED": ("sent", False),
    "SUCCESS": ("sent", False),
    "UNDELIV": ("error", "not_delivered"),
    "UNDELIVERED": ("error", "not_delivered"),
    "FAILED": ("error", "not_delivered"),
    "DELETED": ("error", "not_delivered"),
    "EXPIRED": ("error", "expired"),
    "REJECTD": ("error", "rejected"),
    "REJECTED": ("error", "rejected"),
    "BLACKLIST": ("error", "not_allowed"),
    "INVALID_NUMBER": ("error", "invalid_destination"),
}


class SmsSms(models.Model):
    _inherit = "sms.sms"

    auto_crm_company_id = fields.Many2one(
        "res.company",
        string="Store",
        readonly=True,
        index="btree_not_null",
        help="The store the SMS is sent for (the customer's store, else the sender's): its gateway, daily cap "
        "and quiet hours apply.",
    )
    auto_crm_provider_id = fields.Many2one("auto_crm.sms.provider", string="SMS Gateway", readonly=True)
    auto_crm_provider_ref = fields.Char(
        string="Gateway Message ID", size=64, readonly=True, copy=False, index="btree_not_null"
    )
    auto_crm_attempts = fields.Integer(string="Gateway Tries", readonly=True, copy=False)
    auto_crm_next_try = fields.Datetime(
        string="Not Before", readonly=True, copy=False, help="The SMS waits in the queue until then."
    )
    auto_crm_note = fields.Char(string="Gateway Note", readonly=True, copy=False, help="Why the SMS waits or failed.")
    # What a gateway's delivery receipt may say went wrong (the failure types of Odoo's sms.tracker).
    failure_type = fields.Selection(
        selection_add=[
            ("sms_expired", "Expired"),
            ("sms_not_delivered", "Not Delivered"),
            ("sms_rejected", "Rejected"),
            ("sms_invalid_destination", "Invalid Destination"),
            ("sms_not_allowed", "Not Allowed"),
        ]
    )

    @api.model_create_multi
    def create(self, vals_list):
        check_vals(self, vals_list, names=INPUT_CHECKED)
        partner_ids = {vals["partner_id"] for vals in vals_list if vals.get("partner_id")}
        stores = {}
        if partner_ids:
            self.env.cr.execute("SELECT id, company_id FROM res_partner WHERE id IN %s", [tuple(partner_ids)])
            stores = dict(self.env.cr.fetchall())
        for vals in vals_list:
            if not vals.get("auto_crm_company_id"):
                vals["auto_crm_company_id"] = stores.get(vals.get("partner_id")) or self.env.company.id
        return super().create(vals_list)

    def write(self, vals):
        check_vals(self, [vals], names=INPUT_CHECKED)
        return super().write(vals)

    def resend_failed(self):
        """A failed SMS sent again by hand starts its gateway tries afresh."""
        failed = self.filtered(lambda sms: sms.state == "error")
        failed.sudo().write({"auto_crm_attempts": 0, "auto_crm_next_try": False})
        return super().resend_failed()

    # ------------------------------------------------------------------ queue
    @api.model
    def _process_queue(self, ids=None):
        """Odoo's queue runner, oldest first, leaving out the SMS that wait (quiet hours, the daily cap, a
        back-off): they would fill its batch of 10,000 while the due ones wait. Commits after each SMS
        sent through a gateway (outside tests), so a crash never sends one twice."""
        domain = [
            ("state", "=", "outgoing"),
            ("to_delete", "!=", True),
            "|",
            ("auto_crm_next_try", "=", False),
            ("auto_crm_next_try", "<=", fields.Datetime.now()),
        ]
        filtered_ids = self.search(domain, limit=10000, order="id").ids
        ids = sorted(set(filtered_ids) & set(ids)) if ids else filtered_ids
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        try:
            return (
                self.browse(ids)
                .with_context(auto_crm_sms_commit=auto_commit)
                .send(unlink_failed=False, unlink_sent=True, auto_commit=auto_commit, raise_exception=False)
            )
        except Exception:
            _logger.exception("Failed processing SMS queue")
        return None

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        now = fields.Datetime.now()
        todo = self.filtered(lambda sms: not sms.auto_crm_next_try or sms.auto_crm_next_try <= now)
        # read once, before the commits of the loop empty the cache: the store of each SMS and, per store,
        # what the loop needs (its country for the numbers, its time zone for its day, its name)
        stores = {sms.id: sms._auto_crm_store() for sms in todo}
        todo = todo._auto_crm_hold_quiet_hours(now, stores)
        providers = self.env["auto_crm.sms.provider"]._auto_crm_find(
            self.env["res.company"].union(*(stores[sms.id] for sms in todo))
        )
        by_gateway = todo.filtered(lambda sms: stores[sms.id].id in providers)
        iap = todo - by_gateway
        result = None
        if iap:
            result = super(SmsSms, iap)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        places = {
            store.id: (store.sudo().country_id.code or "CN", store._auto_crm_tz_name(), store.name)
            for store in {stores[sms.id] for sms in by_gateway}
        }
        messages = by_gateway.mail_message_id
        for sms in by_gateway:
            store = stores[sms.id]
            sms._auto_crm_send_through(providers[store.id], store, places[store.id], unlink_failed, unlink_sent)
            if self.env.context.get("auto_crm_sms_commit"):
                # the queue's auto_commit, as Odoo's own SMS queue commits after each batch it sends
                self.env.cr.commit()  # pylint: disable=invalid-commit
        messages._notify_message_notification_update()
        return result

    def _auto_crm_store(self):
        """The store of this SMS: its own, else its customer's, else the current one (an SMS queued by
        SQL or by code that did not say)."""
        self.ensure_one()
        return self.auto_crm_company_id or self.partner_id.company_id or self.env.company

    def _auto_crm_hold(self, until, note):
        """Leave these SMS in the queue until ``until`` (UTC) and wake Odoo's SMS cron then."""
        self.sudo().write({"auto_crm_next_try": until, "auto_crm_note": note})
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=until)

    # ------------------------------------------------------------------ quiet hours
    def _auto_crm_hold_quiet_hours(self, now, stores):
        """Hold the SMS of the stores in their quiet hours till the hours end; return the others.
        ``stores``: {SMS id: its store}."""
        held = self.browse()
        for store, sms_list in self.grouped(lambda s: stores[s.id]).items():
            end = store._auto_crm_sms_quiet_end(now) if store else None
            if end:
                sms_list._auto_crm_hold(
                    end, _("Quiet hours of %(store)s: held until %(time)s.", store=store.name, time=end)
                )
                held |= sms_list
        return self - held

    # ------------------------------------------------------------------ one SMS through a gateway
    def _auto_crm_claim(self):
        """Lock this SMS for sending: False when another sender has it (or sent it) already."""
        self.flush_recordset(["state"])  # set back to outgoing just before (Odoo's resend)
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT id FROM sms_sms WHERE id = %s AND state = 'outgoing' FOR UPDATE NOWAIT",
                    [self.id],
                    log_exceptions=False,
                )
                return bool(self.env.cr.fetchone())
        except (pg_errors.LockNotAvailable, pg_errors.SerializationFailure):
            return False  # a lock held or a concurrent update: the other sender owns it

    def _auto_crm_send_through(self, provider, store, place, unlink_failed, unlink_sent):
        """Send this SMS through ``provider`` for ``store``; ``place``: the store's (country code, time
        zone, name)."""
        self.ensure_one()
        country_code, tz_name, store_name = place
        # this SMS alone: the commit after each SMS empties the cache, and prefetching the whole batch
        # again for every SMS would read the batch once per SMS
        sms = self.sudo().with_context(sms_skip_msg_notification=True).with_prefetch(self._ids)
        if not sms._auto_crm_claim():
            return
        number = sms._auto_crm_e164(country_code)
        if not number:
            sms._auto_crm_finish("error", "sms_number_format", unlink_failed, note=_("Not a valid number."))
            return
        now = fields.Datetime.now()
        day = pytz.utc.localize(now).astimezone(pytz.timezone(tz_name)).date()
        Usage = self.env["auto_crm.sms.usage"].sudo()
        taken = Usage._auto_crm_take(store, day, provider.daily_cap)
        if taken == CAP_REACHED:
            sms._auto_crm_hold(
                store._auto_crm_day_start(day + datetime.timedelta(days=1)),
                _(
                    "Daily cap of %(cap)s SMS of %(store)s reached: waits for the next day.",
                    cap=provider.daily_cap,
                    store=store_name,
                ),
            )
            return
        if taken == CAP_BUSY:
            sms._auto_crm_hold(
                now + datetime.timedelta(minutes=BUSY_RETRY_MINUTES),
                _("Another sender of %s was counting the daily cap: tried again shortly.", store_name),
            )
            return
        outcome, failure_type, ref, message = provider._auto_crm_post(sms, number)
        _logger.info("SMS %s through gateway %s: %s %s", sms.id, provider.id, outcome, failure_type or "")
        attempts = sms.auto_crm_attempts + 1
        sms.write({"auto_crm_provider_id": provider.id, "auto_crm_attempts": attempts})
        if outcome != "sent" and failure_type != "sms_server_timeout":
            # refused: nothing was sent (after a timeout the gateway may have sent it: it stays counted)
            Usage._auto_crm_give_back(store, day)
        if outcome == "sent":
            sms._auto_crm_finish("pending", False, unlink_sent, ref=ref, note=message)
        elif outcome == "retry" and attempts < provider.retry_max:
            minutes = provider._auto_crm_backoff_minutes(attempts)
            sms._auto_crm_hold(
                now + datetime.timedelta(minutes=minutes),
                _(
                    "Try %(attempt)s of %(tries)s failed (%(reason)s): next try in %(minutes)s minutes.",
                    attempt=attempts,
                    tries=provider.retry_max,
                    reason=message,
                    minutes=minutes,
                ),
            )
        else:
            if failure_type == "sms_server_timeout":
                failure_type = "sms_server"
            sms._auto_crm_finish("error", failure_type or "unknown", unlink_failed, note=message)

    def _auto_crm_finish(self, state, failure_type, unlink, ref=False, note=False):
        """Write the gateway's outcome, as Odoo's IAP path does (state, failure type, trackers)."""
        vals = {"state": state, "failure_type": failure_type, "auto_crm_next_try": False, "auto_crm_note": note}
        if ref:
            vals["auto_crm_provider_ref"] = ref
        if unlink:
            vals["to_delete"] = True
        self.sms_tracker_id._action_update_from_sms_state(state, failure_type=failure_type)
        self.write(vals)

    def _auto_crm_e164(self, country_code):
        """The number in E.164 (``country_code``: the store's country, for a number without its own), or
        False when it is not valid."""
        try:
            parsed = phone_validation.phone_parse(self.number or "", country_code)
        except UserError:
            return False
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    # ------------------------------------------------------------------ delivery receipts
    @api.model
    def _auto_crm_delivery(self, provider, reports):
        """Write back the delivery receipts ``reports`` (``[{"id", "status", "err_code", "reason"}]``) of
        ``provider``, as Odoo's IAP status webhook does: delivered SMS go ``sent`` ("Delivered"), the others
        ``error`` with the failure type; their trackers update the notifications. A failure is noted on the
        callback the SMS was sent for, with the reason. An SMS already delivered or failed by a receipt is
        left as it is (a report sent twice changes nothing). Returns the counts and the unknown ids."""
        refs = {str(report.get("id") or "")[:64] for report in reports} - {""}
        found = self.sudo().search(
            [("auto_crm_provider_id", "=", provider.id), ("auto_crm_provider_ref", "in", list(refs))]
        )
        by_ref = {sms.auto_crm_provider_ref: sms for sms in found}
        result = {"updated": 0, "unchanged": 0, "unknown": []}
        notes, stamps = [], {}
        for report in reports:
            ref = str(report.get("id") or "")[:64]
            sms = by_ref.get(ref)
            status = str(report.get("status") or "").strip().upper()
            if not sms:
                result["unknown"].append(ref)
                continue
            state, provider_error = DLR_STATUSES.get(status, (None, None))
            final = sms.state == "sent" or (sms.state == "error" and sms.failure_type in DELIVERY_FAILURES)
            if not state or final or sms.state not in ("pending", "process", "outgoing"):
                result["unchanged"] += 1
                continue
            reason = str(report.get("reason") or report.get("err_code") or status)[:200]
            if state == "sent":
                sms.write({"state": "sent", "failure_type": False, "auto_crm_note": False})
                sms.sms_tracker_id._action_update_from_sms_state("sent")
            else:
                failure_type = f"sms_{provider_error}"
                note = _("Not delivered (%(status)s): %(reason)s", status=status, reason=reason)
                sms.write({"state": "error", "failure_type": failure_type, "auto_crm_note": note[:200]})
                sms.sms_tracker_id._action_update_from_provider_error(provider_error)
                message = sms.mail_message_id
                if message.model == "auto_crm.callback" and message.res_id:
                    text = _(
                        "SMS to %(number)s not delivered (%(status)s): %(reason)s.",
                        number=sms.number,
                        status=status,
                        reason=reason,
                    )
                    notes.append(("auto_crm.callback", message.res_id, text))
                    stamps[message.res_id] = ("failed", note[:200])
            result["updated"] += 1
        Callback = self.env["auto_crm.callback"].sudo()
        Callback._reminder_post(notes)
        Callback._reminder_stamp(stamps)
        _logger.info(
            "SMS delivery receipts of gateway %s: %s updated, %s unchanged, %s unknown",
            provider.id,
            result["updated"],
            result["unchanged"],
            len(result["unknown"]),
        )
        return result
