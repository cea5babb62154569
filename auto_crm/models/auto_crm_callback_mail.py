"""Reminders and follow-ups that reach the customer by themselves (issue 14): the callbacks of channel
e-mail and SMS are sent from templates by one hourly job, and those of channel letter are printed."""

import re
import uuid
from functools import reduce

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, email_normalize, format_date, html_normalize, html_sanitize
from odoo.tools.mail import generate_tracking_message_id
from odoo.tools.rendering_tools import parse_inline_template
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
#: Callbacks a batch of the reminder job takes (each batch in a savepoint; a failed one is retried one by one).
REMINDER_BATCH = 5000
LETTER_REPORT = "auto_crm.auto_crm_callback_report_letter"
#: A ``t-out`` of a field path, as Odoo's regex mode of mail templates finds it (mail.render.mixin).
QWEB_OUT = re.compile(
    r"""<(\w+)[\s|\n]+t-out=[\s|\n]*(\'|\")((\w|\.)+)(\2)[\s|\n]*((\/>)|(>[\s|\n]*([^<>]*?))[\s|\n]*<\/\1>)""",
    flags=re.DOTALL,
)
#: The placeholder of a callback's own value in a template rendered once for many callbacks.
SLOT = "AutoCrmSlot%dX"
SLOT_RE = re.compile(r"AutoCrmSlot(\d+)X")
#: {(database, table): {column: SQL type}}: the types of the columns the reminder job inserts into.
COLUMN_TYPES = {}
#: A number phone_validation gives back as it is in E.164.
E164 = re.compile(r"\+[1-9]\d{6,14}")


def _text_escape(text):
    """Text as an HTML serialiser writes it in an element (what mail.message's sanitiser gives back)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Slots:
    """The placeholders of one rendering of a template: the values that are each callback's own (its
    customer's name, its reminder line...), by field path and default."""

    def __init__(self):
        self.paths = []
        self.index = {}

    def token(self, path, default, html=False):
        key = (path, default or "")
        if key not in self.index:
            self.index[key] = len(self.paths)
            self.paths.append(key)
        return SLOT % self.index[key]

    def values(self, record):
        out = []
        for path, default in self.paths:
            try:
                value = reduce(lambda rec, name: rec[name], path, record) or default
            except KeyError:
                value = default
            out.append(value)
        return out

    def fill(self, compiled, record, values=None, mode="text"):
        """``compiled`` with the values of ``record``: as text, escaped HTML, or HTML as sanitised."""
        compiled = str(compiled)
        if not self.paths or "AutoCrmSlot" not in compiled:
            return compiled
        values = self.values(record) if values is None else values
        if mode == "html":
            texts = [escape(value or "") for value in values]
        elif mode == "sanitized":
            texts = [
                html_sanitize(value) if isinstance(value, Markup) else _text_escape(value or "") for value in values
            ]
        else:
            texts = [str(value) for value in values]
        return SLOT_RE.sub(lambda match: texts[int(match.group(1))], compiled)


class AutoCrmJobRun(models.Model):
    _inherit = "auto_crm.job.run"

    job = fields.Selection(selection_add=[(REMINDER_JOB, "Callback Reminders")], ondelete={REMINDER_JOB: "cascade"})


class AutoCrmCallback(models.Model):
    # the callback's reminders by e-mail and SMS, kept beside the job that sends them (ARCHITECTURE.md)
    _inherit = "auto_crm.callback"  # pylint: disable=consider-merging-classes-inherited

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
        res = super().init()
        # The reminder job's due set: open e-mail and SMS callbacks not yet processed, by due day.
        create_index(
            self.env.cr,
            "auto_crm_callback_reminder_due_idx",
            self._table,
            ["date_due", "id"],
            where="reminder_date IS NULL AND channel IN ('email', 'sms') AND state IN ('todo', 'in_progress')",
        )
        return res

    # ------------------------------------------------------------------ texts
    @api.depends_context("lang")
    @api.depends("vehicle_id", "rule_id", "company_id")
    def _compute_reminder_texts(self):
        # the same sentence for every callback of a kind about the same car, the same signature per store
        lines, signatures = {}, {}
        for callback in self:
            line = (callback.rule_id.trigger, callback._reminder_vehicle())
            if line not in lines:
                lines[line] = callback._reminder_line()
            if callback.company_id not in signatures:
                signatures[callback.company_id] = Markup("<br/>").join(callback._reminder_signature())
            callback.reminder_line = lines[line]
            callback.reminder_signature = signatures[callback.company_id]

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
            # a batch costs the same queries whatever its size: large batches, few round trips
            batch_size=REMINDER_BATCH,
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
        return self._reminder_checks()[0][self.id]

    def _reminder_checks(self):
        """({callback id: why its customer gets no message now (a sentence), or None}, {callback id: the
        customer's mobile as _reminder_numbers gives it}) for the whole set in two queries: what the customer
        asked (do not disturb, consent, per-channel opt-outs) and Odoo's e-mail and phone blacklists, read
        from the database (a flag set by an SQL import counts too)."""
        if not self:
            return {}, {}
        self.env["res.partner"].flush_model()
        self.env["auto_crm.callback"].flush_model(["partner_id", "channel"])
        self.env.cr.execute(
            SQL(
                """SELECT c.id, c.channel, p.auto_do_not_disturb, p.auto_callback_consent, p.auto_no_email,
                          p.auto_no_sms, p.email, p.mobile,
                          EXISTS(SELECT 1 FROM mail_blacklist b WHERE b.active AND b.email = p.email_normalized)
                     FROM auto_crm_callback c
                     JOIN res_partner p ON p.id = c.partner_id
                    WHERE c.id = ANY(%s)""",
                list(self.ids),
            )
        )
        rows = self.env.cr.fetchall()
        numbers = self._reminder_numbers({row[0]: row[7] for row in rows})
        self.env.cr.execute(
            SQL(
                "SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)",
                [number for number in numbers.values() if number],
            )
        )
        blacklisted = {row[0] for row in self.env.cr.fetchall()}
        result = {}
        for callback_id, channel, dnd, consent, no_email, no_sms, email, _mobile, email_blacklisted in rows:
            reason = None
            if dnd:
                reason = _("the customer asked not to be disturbed")
            elif not consent:
                reason = _("the customer has not agreed to callbacks")
            elif channel == "email" and no_email:
                reason = _("the customer does not want e-mails")
            elif channel == "sms" and no_sms:
                reason = _("the customer does not want text messages")
            elif channel == "email" and not email_normalize(email or ""):
                reason = _("the customer has no valid e-mail address")
            elif channel == "email" and email_blacklisted:
                reason = _("the customer's e-mail address is on the blacklist")
            elif channel == "sms" and not numbers[callback_id]:
                reason = _("the customer has no mobile number")
            elif channel == "sms" and numbers[callback_id] in blacklisted:
                reason = _("the customer's mobile number is on the blacklist")
            result[callback_id] = reason
        return result, numbers

    def _reminder_number(self):
        """The customer's mobile in E.164 when phone_validation can tell, else as written."""
        self.ensure_one()
        return self._reminder_numbers()[self.id]

    def _reminder_numbers(self, mobiles=None):
        """{callback id: its customer's mobile in E.164 when phone_validation can tell, else as written}. A
        mobile already in E.164 (the add-on stores them so) is given back as it is, as phone_validation
        would. ``mobiles``: {callback id: the customer's mobile} when already read."""
        numbers = {}
        for callback in self:
            mobile = mobiles[callback.id] if mobiles is not None else callback.partner_id.mobile
            if not mobile or E164.fullmatch(mobile):
                numbers[callback.id] = mobile or False
            else:
                numbers[callback.id] = callback.partner_id._phone_format(number=mobile, force_format="E164") or mobile
        return numbers

    @api.model
    def _reminder_send(self, ids):
        """Send (queue) the messages of a batch of callbacks, set-based: each template is rendered once per
        (template, language, store) with a placeholder where a callback's own value goes, the placeholders
        are filled in per callback in Python, and the queue rows (mail.message, mail.mail and its recipient,
        sms.sms, the chatter notes) are inserted in a few multi-row statements. A constant number of queries
        per batch and per template, whatever the batch's size. A template an administrator changed beyond
        field paths (QWeb code, attachments, a layout...) is sent through the ORM, as Odoo does."""
        self.env.flush_all()
        callbacks = self.sudo().browse(ids).with_context(mail_notify_force_send=False)
        # Still due? (a callback closed or stamped since the due set was read is left alone)
        callbacks = callbacks.filtered(
            lambda c: not c.reminder_date and c.state in OPEN_STATES and c.channel in SENT_CHANNELS
        )
        stamps = {}  # id -> (state, note)
        notes = []  # (model, res_id, text): chatter notes
        skipped_text = _("Reminder by %(channel)s not sent: %(reason)s.")
        mails, sms_callbacks = [], []
        blockers, numbers = callbacks._reminder_checks()
        for callback in callbacks:
            reason = blockers[callback.id]
            if reason:
                stamps[callback.id] = ("skipped", reason)
                text = skipped_text % {"channel": callback._reminder_channel_label(), "reason": reason}
                notes.append((callback._name, callback.id, text))
            elif callback.channel == "email":
                mails.append(callback)
            else:
                sms_callbacks.append(callback)

        # E-mail: one template per kind, in each customer's language, signed by the store.
        mail_text = _("Reminder e-mail queued: %(subject)s (%(callback)s).")
        by_kind = {}
        for callback in mails:
            by_kind.setdefault(callback._reminder_kind(), []).append(callback.id)
        for kind, kind_ids in by_kind.items():
            template = self.env.ref(f"auto_crm.mail_template_reminder_{kind}").sudo()
            subjects = self._reminder_queue_mails(template, callbacks.browse(kind_ids))
            for callback in callbacks.browse(kind_ids):
                stamps[callback.id] = ("sent", False)
                text = mail_text % {"subject": subjects.get(callback.id) or "", "callback": callback.name}
                notes.append(("res.partner", callback.partner_id.id, text))

        # SMS: Odoo's queue (sms.sms, state outgoing), one message per callback, hung on a note on the callback.
        if sms_callbacks:
            sms_callbacks = callbacks.browse([callback.id for callback in sms_callbacks])
            template = self.env.ref("auto_crm.sms_template_reminder").sudo()
            bodies = self._reminder_render_sms(template, sms_callbacks)
            queued_text = _("SMS reminder queued to %(number)s: %(body)s")
            messages = self._reminder_post(
                [
                    (
                        callback._name,
                        callback.id,
                        queued_text % {"number": numbers[callback.id], "body": bodies[callback.id]},
                    )
                    for callback in sms_callbacks
                ]
            )
            now = self.env.cr.now()
            self._reminder_insert(
                "sms_sms",
                (
                    "partner_id",
                    "auto_crm_company_id",
                    "number",
                    "body",
                    "state",
                    "mail_message_id",
                    "uuid",
                    "to_delete",
                    "create_uid",
                    "create_date",
                    "write_uid",
                    "write_date",
                ),
                [
                    (
                        callback.partner_id.id,
                        callback.partner_id.company_id.id or self.env.company.id,
                        numbers[callback.id],
                        bodies[callback.id],
                        "outgoing",
                        message_id,
                        uuid.uuid4().hex,
                        False,
                        self.env.uid,
                        now,
                        self.env.uid,
                        now,
                    )
                    for callback, message_id in zip(sms_callbacks, messages, strict=True)
                ],
            )
            sms_text = _("SMS reminder queued to %(number)s (%(callback)s).")
            for callback in sms_callbacks:
                stamps[callback.id] = ("sent", False)
                text = sms_text % {"number": numbers[callback.id], "callback": callback.name}
                notes.append(("res.partner", callback.partner_id.id, text))
        self._reminder_post(notes)
        self._reminder_stamp(stamps)
        # The rows were written behind the ORM's back: what it holds of them is stale.
        self.env.invalidate_all()
        return {}

    # ------------------------------------------------------------------ set-based rendering
    @api.model
    def _reminder_fast(self, template, fields_qweb, fields_inline, langs):
        """Whether ``template`` renders by substitution alone in each of ``langs`` (field paths only, nothing
        Odoo's mail.template adds by itself): what _reminder_compile handles."""
        if template._name == "mail.template" and (
            template.attachment_ids
            or template.report_template_ids
            or template.email_layout_xmlid
            or template.scheduled_date
            or template.email_to
            or template.email_cc
            or template.mail_server_id
        ):
            return False
        for lang in langs:
            localized = template.with_context(lang=lang) if lang else template
            if any(localized._has_unsafe_expression_template_qweb(localized[f], self._name) for f in fields_qweb):
                return False
            if any(
                localized._has_unsafe_expression_template_inline_template(localized[f], self._name)
                for f in fields_inline
            ):
                return False
        return True

    @api.model
    def _reminder_langs(self, template, callbacks):
        """{callback id: the language its template renders in (False: the environment's)}."""
        parsed = parse_inline_template(str(template.lang or ""))
        return {callback.id: self._reminder_eval_inline(parsed, callback) or False for callback in callbacks}

    @api.model
    def _reminder_eval_inline(self, parsed, record, slots=None):
        """An inline template (``{{ object.x.y }}``) rendered on ``record`` as Odoo's regex mode does; with
        ``slots``, the values that are not the store's become placeholders."""
        out = []
        for string, expression, default in parsed:
            out.append(string)
            if expression:
                out.append(str(self._reminder_value(expression, default, record, slots)))
        return "".join(out)

    @api.model
    def _reminder_value(self, expression, default, record, slots=None, html=False):
        if not self.env["ir.qweb"]._is_expression_allowed(expression, self._name):
            raise SyntaxError(f"Invalid expression for the regex mode {expression!r}")
        path = tuple(expression.split(".")[1:])
        if slots is not None and not (path[:1] == ("company_id",) or path == ("reminder_signature",)):
            return slots.token(path, default, html)
        try:
            value = reduce(lambda rec, name: rec[name], path, record) or default
        except KeyError:
            value = default
        return escape(value or "") if html else value

    @api.model
    def _reminder_compile_qweb(self, source, record, slots):
        """A QWeb template of field paths rendered on ``record`` as Odoo's regex mode does, the callback's
        own values left as placeholders."""
        source = html_normalize(f"<div>{source}</div>")

        def replace(match):
            tag, expression, default = match.group(1), match.group(3), match.group(9)
            value = self._reminder_value(expression, default, record, slots, html=True)
            return value if tag.lower() == "t" else f"<{tag}>{value}</{tag}>"

        return QWEB_OUT.sub(replace, source)

    @api.model
    def _reminder_groups(self, template, callbacks):
        """The callbacks by (language, store): ``{(lang, company id): callbacks in that language}``."""
        langs = self._reminder_langs(template, callbacks)
        groups = {}
        for callback in callbacks:
            groups.setdefault((langs[callback.id], callback.company_id.id), []).append(callback.id)
        return {
            (lang, store): callbacks.browse(group_ids).with_context(lang=lang or self.env.lang)
            for (lang, store), group_ids in groups.items()
        }

    @api.model
    def _reminder_render_sms(self, template, callbacks):
        """{callback id: its SMS text}, the template rendered once per language and store."""
        groups = self._reminder_groups(template, callbacks)
        if not self._reminder_fast(template, (), ("body",), {lang for lang, _store in groups}):
            return template._render_field("body", callbacks.ids, compute_lang=True)
        bodies = {}
        for (lang, _store), group in groups.items():
            localized = template.with_context(lang=lang) if lang else template
            slots = _Slots()
            compiled = self._reminder_eval_inline(parse_inline_template(str(localized.body or "")), group[0], slots)
            for callback in group:
                bodies[callback.id] = slots.fill(compiled, callback)
        return bodies

    @api.model
    def _reminder_queue_mails(self, template, callbacks):
        """Queue the e-mails of ``template`` to ``callbacks`` (mail.message in the callback's chatter,
        mail.mail and its recipient); returns {callback id: subject}."""
        groups = self._reminder_groups(template, callbacks)
        inline = ("subject", "email_from", "reply_to", "partner_to")
        if not self._reminder_fast(template, ("body_html",), inline, {lang for lang, _store in groups}):
            queued = template.send_mail_batch(callbacks.ids)
            return {mail.res_id: mail.subject for mail in queued}
        Message = self.env["mail.message"]
        author = self.env.user.partner_id.id
        default_from = None
        rows, recipients = [], {}
        now, date = self.env.cr.now(), fields.Datetime.now()
        for (lang, _store), group in groups.items():
            localized = template.with_context(lang=lang) if lang else template
            slots = _Slots()
            compiled = {
                name: self._reminder_eval_inline(parse_inline_template(str(localized[name] or "")), group[0], slots)
                for name in inline
            }
            body_html = self._reminder_compile_qweb(localized.body_html or "", group[0], slots)
            body_html = localized._replace_local_links(body_html, group[0].get_base_url())
            # mail.message sanitises its body: once for the group, the placeholders go through unharmed
            body = Message._fields["body"].convert_to_column(body_html, Message) or ""
            names = dict(zip(group.ids, (callback.display_name for callback in group), strict=True))
            for callback in group:
                values = slots.values(callback)
                email_from = slots.fill(compiled["email_from"], callback, values)
                if not email_from:
                    if default_from is None:
                        default_from = self.env["mail.thread"]._message_compute_author(
                            None, email_from=None, raise_on_email=False
                        )[1]
                    email_from = default_from
                recipients[callback.id] = [
                    int(pid)
                    for pid in slots.fill(compiled["partner_to"], callback, values).split(",")
                    if pid.strip().isdigit()
                ]
                rows.append(
                    (
                        self._name,
                        callback.id,
                        "email_outgoing",
                        slots.fill(compiled["subject"], callback, values),
                        slots.fill(body, callback, values, mode="sanitized"),
                        email_from,
                        slots.fill(compiled["reply_to"], callback, values) or email_from,
                        names[callback.id],
                        generate_tracking_message_id("message-notify"),
                        date,
                        self.env.uid,
                        now,
                        self.env.uid,
                        now,
                        slots.fill(body_html, callback, values, mode="html"),
                    )
                )
        messages = self._reminder_insert(
            "mail_message",
            (
                "model",
                "res_id",
                "message_type",
                "subject",
                "body",
                "email_from",
                "reply_to",
                "record_name",
                "message_id",
                "date",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
                "author_id",
                "email_add_signature",
            ),
            [(*row[:-1], author, True) for row in rows],
            returning=("id", "res_id"),
        )
        message_of = {res_id: message_id for message_id, res_id in messages}
        queued = self._reminder_insert(
            "mail_mail",
            (
                "mail_message_id",
                "body_html",
                "state",
                "auto_delete",
                "email_to",
                "email_cc",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
            ),
            [
                (
                    message_of[row[1]],
                    row[-1],
                    "outgoing",
                    template.auto_delete,
                    "",
                    "",
                    self.env.uid,
                    now,
                    self.env.uid,
                    now,
                )
                for row in rows
            ],
            returning=("id", "mail_message_id"),
        )
        res_of = {message_id: res_id for res_id, message_id in message_of.items()}
        self._reminder_insert(
            "mail_mail_res_partner_rel",
            ("mail_mail_id", "res_partner_id"),
            [(mail_id, partner) for mail_id, message_id in queued for partner in recipients[res_of[message_id]]],
        )
        return {row[1]: row[3] for row in rows}

    @api.model
    def _reminder_insert(self, table, columns, rows, returning=()):
        """INSERT of many rows in one statement, a typed array per column (``unnest``); returns the
        ``returning`` columns of the rows."""
        if not rows:
            return []
        types = self._reminder_column_types(table)
        self.env.cr.execute(
            SQL(
                "INSERT INTO %s (%s) SELECT * FROM unnest(%s)%s",
                SQL.identifier(table),
                SQL(", ").join(SQL.identifier(column) for column in columns),
                SQL(", ").join(
                    SQL("%s::%s", list(values), SQL(types[column] + "[]"))
                    for column, values in zip(columns, zip(*rows, strict=True), strict=True)
                ),
                SQL(" RETURNING %s", SQL(", ").join(SQL.identifier(c) for c in returning)) if returning else SQL(),
            )
        )
        return self.env.cr.fetchall() if returning else []

    @api.model
    def _reminder_column_types(self, table):
        """{column: its SQL type} of ``table`` (read once per database and table)."""
        key = (self.env.cr.dbname, table)
        if key not in COLUMN_TYPES:
            self.env.cr.execute(
                """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
                    WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped""",
                [table],
            )
            COLUMN_TYPES[key] = dict(self.env.cr.fetchall())
        return COLUMN_TYPES[key]

    def _reminder_channel_label(self):
        return dict(self._fields["channel"]._description_selection(self.env)).get(self.channel, self.channel)

    @api.model
    def _reminder_post(self, notes):
        """Chatter notes in one statement: ``[(model, res_id, text)]``; returns their ids in that order."""
        if not notes:
            return []
        subtype = self.env.ref("mail.mt_note")
        author = self.env.ref("base.partner_root")
        email_from = author.email_formatted
        # What mail.message would work out one message at a time (reply-to, record name), in batch.
        by_model = {}
        for model, res_id, _text in notes:
            by_model.setdefault(model, set()).add(res_id)
        # Without an alias domain (no catchall, no alias), every reply-to is the default.
        aliases = bool(self.env["mail.alias.domain"].sudo().search_count([], limit=1))
        reply_to, names = {}, {}
        for model, ids in by_model.items():
            records = self.env[model].sudo().browse(list(ids))
            reply_to[model] = records._notify_get_reply_to(default=email_from) if aliases else {}
            names[model] = self._reminder_record_names(records)
        now, date = self.env.cr.now(), fields.Datetime.now()
        rows = self._reminder_insert(
            "mail_message",
            (
                "model",
                "res_id",
                "message_type",
                "subtype_id",
                "author_id",
                "email_from",
                "reply_to",
                "record_name",
                "body",
                "message_id",
                "date",
                "create_uid",
                "create_date",
                "write_uid",
                "write_date",
                "email_add_signature",
            ),
            [
                (
                    model,
                    res_id,
                    "comment",
                    subtype.id,
                    author.id,
                    email_from,
                    reply_to[model].get(res_id) or email_from,
                    names[model].get(res_id),
                    # as mail.message's sanitiser writes a paragraph of text
                    f"<p>{_text_escape(text)}</p>",
                    generate_tracking_message_id("message-notify"),
                    date,
                    self.env.uid,
                    now,
                    self.env.uid,
                    now,
                    True,
                )
                for model, res_id, text in notes
            ],
            returning=("id",),
        )
        self.env["mail.message"].invalidate_model()
        return [row[0] for row in rows]

    @api.model
    def _reminder_record_names(self, records):
        """{id: display name} of customers and callbacks read in one query (their names as stored), of other
        records through the ORM."""
        if records._name == "res.partner":
            query = "SELECT id, complete_name FROM res_partner WHERE id = ANY(%s)"
        elif records._name == self._name:
            query = "SELECT id, name FROM auto_crm_callback WHERE id = ANY(%s)"
        else:
            return {record.id: record.display_name for record in records}
        self.env.cr.execute(SQL(query, list(records.ids)))
        names = dict(self.env.cr.fetchall())
        missing = records.browse([record_id for record_id in records.ids if not names.get(record_id)])
        names.update({record.id: record.display_name for record in missing})
        return names

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
