"""Reminders and follow-ups that reach the customer by themselves (issue 14): the callbacks of channel
e-mail and SMS are sent from templates by one hourly job, and those of channel letter are printed."""

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, email_normalize, format_date
from odoo.tools.sql import create_index

from .auto_crm_callback import OPEN_STATES
from .auto_crm_job_run import JobStep
from .auto_crm_service_visit import _wkhtmltopdf_patched_qt

#: The kind of reminder or follow-up of each rule trigger: one e-mail template per kind
#: (``auto_crm.mail_template_reminder_<kind>``). A callback made by hand (no rule) is a follow-up.
REMINDER_KINDS = {
    "maintenance_due": "maintenance",
    "service_due": "maintenance",
    "warranty_end": "warranty",
    "insurance_expiry": "insurance",
    "annual_inspection": "inspection",
    "birthday": "birthday",
    "no_visit": "winback",
    "at_risk": "winback",
    "service_delivered": "followup",
    "vehicle_delivered": "followup",
    "complaint_closed": "followup",
}
REMINDER_KIND_DEFAULT = "followup"
#: The channels the job sends by itself.
SENT_CHANNELS = ("email", "sms")
REMINDER_STATES = [("sent", "Sent"), ("skipped", "Skipped"), ("failed", "Failed")]
REMINDER_JOB = "callback_reminders"
LETTER_REPORT = "auto_crm.auto_crm_callback_report_letter"


class AutoCrmJobRun(models.Model):
    _inherit = "auto_crm.job.run"

    job = fields.Selection(selection_add=[(REMINDER_JOB, "Callback Reminders")], ondelete={REMINDER_JOB: "cascade"})


class AutoCrmCallback(models.Model):
    _inherit = "auto_crm.callback"

    # Stamps of the reminder job: written by the add-on only (auto_crm.owned.mixin), one per callback.
    reminder_state = fields.Selection(
        REMINDER_STATES,
        string="Message",
        readonly=True,
        copy=False,
        help="Callbacks of channel e-mail or SMS: whether the reminder job sent the message, skipped the "
        "customer (and why) or failed.",
    )
    reminder_date = fields.Datetime(string="Message Processed On", readonly=True, copy=False)
    reminder_note = fields.Char(string="Message Note", readonly=True, copy=False)
    # What the templates print, as fields: a template made of field paths only is rendered by Odoo's
    # fast, safe mode (a substitution, no QWeb compiled per e-mail; see mail_allowed_qweb_expressions).
    reminder_line = fields.Char(string="Reminder Text", compute="_compute_reminder_texts")
    reminder_signature = fields.Html(string="Store Signature", compute="_compute_reminder_texts", sanitize=False)

    def init(self):
        super().init()
        # The reminder job's due set: open e-mail and SMS callbacks not yet processed, by due day.
        create_index(
            self.env.cr,
            "auto_crm_callback_reminder_due_idx",
            self._table,
            ["date_due", "id"],
            where="reminder_date IS NULL AND channel IN ('email', 'sms') AND state IN ('todo', 'in_progress')",
        )

    # ------------------------------------------------------------------ texts
    @api.depends_context("lang")
    @api.depends("vehicle_id", "rule_id", "company_id")
    def _compute_reminder_texts(self):
        for callback in self:
            callback.reminder_line = callback._reminder_line()
            callback.reminder_signature = Markup("<br/>").join(callback._reminder_signature())

    def mail_allowed_qweb_expressions(self):
        # The expressions of the reminder templates (data/auto_crm_mail_templates.xml).
        return (
            *super().mail_allowed_qweb_expressions(),
            "object.company_id.name",
            "object.company_id.phone",
            "object.company_id.email_formatted",
            "object.partner_id.id",
            "object.partner_id.lang",
            "object.reminder_line",
            "object.reminder_signature",
        )

    def _reminder_kind(self):
        self.ensure_one()
        return REMINDER_KINDS.get(self.rule_id.trigger, REMINDER_KIND_DEFAULT)

    def _reminder_vehicle(self):
        """The car as the customer knows it: its plate, else its model, else nothing."""
        self.ensure_one()
        vehicle = self.vehicle_id
        return vehicle.plate or vehicle.model_id.display_name or ""

    def _reminder_line(self):
        """One sentence of what this callback is about, in the environment's language (the SMS and the
        letter)."""
        self.ensure_one()
        car = self._reminder_vehicle()
        kind = self._reminder_kind()
        if kind == "maintenance":
            if car:
                return _("Your car %s is due for its next service; book a visit at a time that suits you.", car)
            return _("Your car is due for its next service; book a visit at a time that suits you.")
        if kind == "warranty":
            if car:
                return _("The warranty of your car %s ends soon; have it checked before it does.", car)
            return _("The warranty of your car ends soon; have it checked before it does.")
        if kind == "insurance":
            if car:
                return _("The insurance of your car %s is due for renewal soon.", car)
            return _("The insurance of your car is due for renewal soon.")
        if kind == "inspection":
            if car:
                return _("The annual inspection of your car %s is coming up; we can take care of it.", car)
            return _("The annual inspection of your car is coming up; we can take care of it.")
        if kind == "birthday":
            return _("Happy birthday! All of us wish you a wonderful year.")
        if kind == "winback":
            return _("We have not seen you for a while; we would be glad to look after your car again.")
        return _("Thank you for your visit; we would like to hear how satisfied you are with our service.")

    def _reminder_signature(self):
        """The store's signature: name, phone, address (one line each, empty ones left out)."""
        self.ensure_one()
        store = self.company_id
        phone = _("Phone: %s", store.phone) if store.phone else ""
        return [line for line in (store.name, phone, store.partner_id.contact_address_inline) if line]

    # ------------------------------------------------------------------ the job
    @api.model
    def _cron_send_reminders(self):
        """Hourly: the e-mail and SMS callbacks due today (each store's day) and not yet messaged get
        their message queued (mail.mail, sms.sms: Odoo's own crons send them), or are skipped with the
        reason; each callback once, whoever runs at the same time."""
        step = JobStep(
            process=lambda ids: self._reminder_send(ids),
            units=self._reminder_due_ids,
            model="auto_crm.callback",
            on_failure=self._reminder_failed,
        )
        return self.env["auto_crm.job.run"]._run_job(REMINDER_JOB, step)

    @api.model
    def _reminder_due_ids(self):
        """The ids of the callbacks to message now, locked: a second transaction that reached them
        (its snapshot older than this one's stamps) waits, then fails to serialise and is retried."""
        by_day = {}
        for store in self.env["res.company"].sudo().search([]):
            by_day.setdefault(store._auto_crm_today(), []).append(store.id)
        if not by_day:
            return []
        stores = SQL(" OR ").join(
            SQL(
                "(company_id = ANY(%s) AND date_due <= %s AND (date_expiry IS NULL OR date_expiry >= %s))",
                ids,
                day,
                day,
            )
            for day, ids in by_day.items()
        )
        self.env.cr.execute(
            SQL(
                """SELECT id FROM auto_crm_callback
                    WHERE reminder_date IS NULL AND channel IN %s AND state IN %s AND (%s)
                 ORDER BY date_due, id
                      FOR UPDATE""",
                SENT_CHANNELS,
                OPEN_STATES,
                stores,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _reminder_blocker(self):
        """Why this callback's customer gets no message now (a sentence), or None."""
        self.ensure_one()
        partner = self.partner_id
        if partner.auto_do_not_disturb:
            return _("the customer asked not to be disturbed")
        if not partner.auto_callback_consent:
            return _("the customer has not agreed to callbacks")
        if self.channel == "email" and partner.auto_no_email:
            return _("the customer does not want e-mails")
        if self.channel == "sms" and partner.auto_no_sms:
            return _("the customer does not want text messages")
        if self.channel == "email" and not email_normalize(partner.email or ""):
            return _("the customer has no valid e-mail address")
        if self.channel == "email" and partner.is_blacklisted:
            return _("the customer's e-mail address is on the blacklist")
        if self.channel == "sms" and not self._reminder_number():
            return _("the customer has no mobile number")
        if self.channel == "sms" and partner.mobile_blacklisted:
            return _("the customer's mobile number is on the blacklist")
        return None

    def _reminder_number(self):
        """The customer's mobile in E.164 when phone_validation can tell, else as written."""
        mobile = self.partner_id.mobile
        if not mobile:
            return False
        return self.partner_id._phone_format(number=mobile, force_format="E164") or mobile

    @api.model
    def _reminder_send(self, ids):
        """Send (queue) the messages of a batch of callbacks: a constant number of queries per batch
        and per template (kind), whatever the batch's size."""
        callbacks = self.sudo().browse(ids).with_context(mail_notify_force_send=False)
        # Still due? (a callback closed or stamped since the due set was read is left alone)
        callbacks = callbacks.filtered(
            lambda c: not c.reminder_date and c.state in OPEN_STATES and c.channel in SENT_CHANNELS
        )
        stamps = {}  # id -> (state, note)
        notes = []  # (model, res_id, body): chatter notes
        mails = callbacks.browse()
        texts = {}
        for callback in callbacks:
            reason = callback._reminder_blocker()
            if reason:
                stamps[callback.id] = ("skipped", reason)
                text = _(
                    "Reminder by %(channel)s not sent: %(reason)s.",
                    channel=callback._reminder_channel_label(),
                    reason=reason,
                )
                notes.append((callback._name, callback.id, text))
            elif callback.channel == "email":
                mails |= callback
        sms_callbacks = callbacks.filtered(lambda c: c.channel == "sms" and c.id not in stamps)

        # E-mail: one template per kind, rendered in batch in each customer's language.
        by_kind = {}
        for callback in mails:
            by_kind.setdefault(callback._reminder_kind(), []).append(callback.id)
        for kind, kind_ids in by_kind.items():
            template = self.env.ref(f"auto_crm.mail_template_reminder_{kind}").sudo()
            queued = template.send_mail_batch(kind_ids)
            for mail in queued:
                texts[mail.res_id] = mail.subject or ""
        for callback in mails:
            stamps[callback.id] = ("sent", False)
            text = _(
                "Reminder e-mail queued: %(subject)s (%(callback)s).",
                subject=texts.get(callback.id, ""),
                callback=callback.name,
            )
            notes.append(("res.partner", callback.partner_id.id, text))

        # SMS: Odoo's queue (sms.sms, state outgoing), one message per callback, noted on the callback.
        if sms_callbacks:
            template = self.env.ref("auto_crm.sms_template_reminder").sudo()
            bodies = template._render_field("body", sms_callbacks.ids, compute_lang=True)
            numbers = {callback.id: callback._reminder_number() for callback in sms_callbacks}
            sms_notes = []
            for callback in sms_callbacks:
                text = _(
                    "SMS reminder queued to %(number)s: %(body)s", number=numbers[callback.id], body=bodies[callback.id]
                )
                sms_notes.append((callback._name, callback.id, text))
            messages = self._reminder_post(sms_notes)
            self.env["sms.sms"].sudo().create(
                [
                    {
                        "partner_id": callback.partner_id.id,
                        "number": numbers[callback.id],
                        "body": bodies[callback.id],
                        "state": "outgoing",
                        "mail_message_id": message.id,
                    }
                    for callback, message in zip(sms_callbacks, messages, strict=True)
                ]
            )
            for callback in sms_callbacks:
                stamps[callback.id] = ("sent", False)
                text = _(
                    "SMS reminder queued to %(number)s (%(callback)s).",
                    number=numbers[callback.id],
                    callback=callback.name,
                )
                notes.append(("res.partner", callback.partner_id.id, text))
        self._reminder_post(notes)
        self._reminder_stamp(stamps)
        return {}

    def _reminder_channel_label(self):
        return dict(self._fields["channel"]._description_selection(self.env)).get(self.channel, self.channel)

    @api.model
    def _reminder_post(self, notes):
        """Chatter notes in batch: ``[(model, res_id, text)]``; returns the messages in that order."""
        if not notes:
            return self.env["mail.message"]
        subtype = self.env.ref("mail.mt_note")
        author = self.env.ref("base.partner_root")
        email_from = author.email_formatted
        # What mail.message would work out one message at a time (reply-to, record name), in batch.
        by_model = {}
        for model, res_id, _text in notes:
            by_model.setdefault(model, set()).add(res_id)
        reply_to, names = {}, {}
        for model, ids in by_model.items():
            records = self.env[model].sudo().browse(list(ids))
            reply_to[model] = records._notify_get_reply_to(default=email_from)
            names[model] = {record.id: record.display_name for record in records}
        return (
            self.env["mail.message"]
            .sudo()
            .create(
                [
                    {
                        "model": model,
                        "res_id": res_id,
                        "message_type": "comment",
                        "subtype_id": subtype.id,
                        "author_id": author.id,
                        "email_from": email_from,
                        "reply_to": reply_to[model].get(res_id) or email_from,
                        "record_name": names[model].get(res_id),
                        "body": Markup("<p>%s</p>") % escape(text),
                    }
                    for model, res_id, text in notes
                ]
            )
        )

    @api.model
    def _reminder_stamp(self, stamps):
        """The job's stamp on the callbacks ``{id: (state, note)}``, in one statement."""
        if not stamps:
            return
        ids = list(stamps)
        self.env.cr.execute(
            SQL(
                """UPDATE auto_crm_callback callback
                      SET reminder_state = stamp.state, reminder_note = stamp.note, reminder_date = %s,
                          write_date = %s, write_uid = %s
                     FROM unnest(%s::int[], %s::varchar[], %s::varchar[]) AS stamp(id, state, note)
                    WHERE callback.id = stamp.id""",
                fields.Datetime.now(),
                fields.Datetime.now(),
                self.env.uid,
                ids,
                [stamps[i][0] for i in ids],
                [stamps[i][1] or None for i in ids],
            )
        )
        self.browse(ids).invalidate_recordset(["reminder_state", "reminder_note", "reminder_date", "write_date"])

    @api.model
    def _reminder_failed(self, unit, error):
        """A callback whose message could not be made (a broken template...): stamped failed with the
        error, and noted, so that the job does not try it every hour; it stays open for a person."""
        text = str(error.args[0] if error.args else error)[:500]
        self._reminder_stamp({unit: ("failed", text)})
        self._reminder_post([(self._name, unit, _("Reminder not sent, it failed: %s", text))])

    # ------------------------------------------------------------------ letters
    def action_print_letters(self):
        """The board's "Print Letters": one letter per customer for the selected callbacks of channel
        letter."""
        letters = self.filtered(lambda c: c.channel == "letter")
        if not letters:
            raise UserError(_("Print Letters: none of the selected callbacks has the channel Letter."))
        return self.env.ref(LETTER_REPORT).report_action(letters)

    def _letter_batches(self):
        """The letters to print, by store: ``[[letter, ...], ...]``, a letter per customer and store (a
        dict: partner, callbacks of channel letter it lists, language), in the order of the selection."""
        groups = {}
        for callback in self.filtered(lambda c: c.channel == "letter"):
            key = (callback.company_id, callback.partner_id)
            groups[key] = groups.get(key, self.browse()) | callback
        batches = {}
        for (store, partner), callbacks in groups.items():
            batches.setdefault(store, []).append(
                {"partner": partner, "callbacks": callbacks, "lang": partner.lang or "en_US"}
            )
        return list(batches.values())

    def _letter_greeting(self, partner):
        return _("Dear %s,", partner.name or "")

    def _letter_date(self):
        """Today in the store, as the letter's language writes a date."""
        self.ensure_one()
        return format_date(self.env, self.company_id._auto_crm_today())

    def _letter_letterhead_in_body(self):
        """As the visit's papers: Debian's wkhtmltopdf ignores the layout's header, so the letterhead
        is printed in the page."""
        return not _wkhtmltopdf_patched_qt()
