import math
import random
import secrets

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

MANAGER = "auto_crm.group_manager"


class AutoCrmCallbackAuditWizard(models.TransientModel):
    """Order a callback audit: a random sample of the done callbacks of a period (optionally of some
    agents), each to be called again by the auditor.

    The population: the callbacks of the store done in the period (by their completion date, in the
    store's calendar), of the chosen agents if any, not already audited, and not made by the auditor
    (an agent never audits their own calls). The sample: N callbacks, or a percentage of the population
    rounded up, drawn with ``random.Random(seed)`` from the population sorted by id, so the same seed
    over the same population draws the same sample; the seed is recorded on each audit. Without a seed
    one is drawn.
    """

    _name = "auto_crm.callback.audit.wizard"
    _description = "Order a Callback Audit"
    _inherit = ["auto_crm.owned.mixin"]
    #: Fields a person writes (auto_crm.owned.mixin); every other stored field is the add-on's.
    _user_fields = {
        "company_id", "date_from", "date_to", "agent_ids", "sample_mode", "sample_size", "sample_percent",
        "auditor_id", "seed",
    }  # fmt: skip

    company_id = fields.Many2one("res.company", string="Store", required=True, default=lambda self: self.env.company)
    date_from = fields.Date(string="Done From", required=True)
    date_to = fields.Date(string="Done To", required=True)
    agent_ids = fields.Many2many(
        "res.users", string="Agents", help="Audit these agents' calls only; leave empty for every agent."
    )
    sample_mode = fields.Selection(
        [("count", "A number of calls"), ("percent", "A percentage of the calls")],
        string="Sample",
        required=True,
        default="count",
    )
    sample_size = fields.Integer(string="Calls to Audit", default=5)
    sample_percent = fields.Float(string="Share to Audit (%)", default=10.0)
    auditor_id = fields.Many2one(
        "res.users",
        required=True,
        domain="[('share', '=', False)]",
        help="The agent who calls the customers again; their own calls are never in the sample.",
    )
    seed = fields.Integer(help="The seed of the random draw: the same seed draws the same sample. Empty: drawn.")

    @api.constrains("sample_size", "sample_percent", "date_from", "date_to")
    def _check_sample(self):
        for wizard in self:
            if wizard.sample_mode == "count" and not 1 <= wizard.sample_size <= 10000:
                raise ValidationError(_("Calls to Audit: from 1 to 10,000; %s is out of range.", wizard.sample_size))
            if wizard.sample_mode == "percent" and not 0 < wizard.sample_percent <= 100:
                raise ValidationError(
                    _("Share to Audit (%%): more than 0 and at most 100; %s is out of range.", wizard.sample_percent)
                )
            if wizard.date_from and wizard.date_to and wizard.date_from > wizard.date_to:
                raise ValidationError(_("Done To: the period ends before it starts."))

    def _population(self):
        """The ids of the done callbacks the sample is drawn from, sorted."""
        self.ensure_one()
        store = self.company_id
        tz = store._auto_crm_tz_name()
        self.env.cr.execute(
            """SELECT c.id
                 FROM auto_crm_callback c
                WHERE c.company_id = %(company)s AND c.state = 'done'
                  AND (c.date_done AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(stop)s
                  AND c.user_id IS NOT NULL AND c.user_id != %(auditor)s
                  AND (%(all_agents)s OR c.user_id = ANY(%(agents)s))
                  AND NOT EXISTS (SELECT 1 FROM auto_crm_callback_audit a
                                   WHERE a.callback_id = c.id AND a.state != 'cancel')
                ORDER BY c.id""",
            {
                "company": store.id,
                "tz": tz,
                "start": self.date_from,
                "stop": self.date_to,
                "auditor": self.auditor_id.id,
                "all_agents": not self.agent_ids,
                "agents": self.agent_ids.ids,
            },
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _sample(self, population, seed):
        if self.sample_mode == "count":
            size = self.sample_size
        else:
            size = math.ceil(len(population) * self.sample_percent / 100.0)
        size = min(size, len(population))
        return sorted(random.Random(seed).sample(population, size))

    def action_order(self):
        self.ensure_one()
        if not self.env.user.has_group(MANAGER):
            raise AccessError(_("Only managers order a callback audit."))
        if self.company_id not in self.env.user.company_ids:
            raise AccessError(_("Store: you do not work for %s.", self.company_id.name))
        if not self.auditor_id.has_group("auto_crm.group_agent"):
            raise UserError(_("Auditor: %s is not a Dealer CRM user.", self.auditor_id.name))
        population = self._population()
        if not population:
            raise UserError(
                _(
                    "No done callback of %(store)s in this period to audit (the auditor's own calls and calls "
                    "already audited are left out).",
                    store=self.company_id.name,
                )
            )
        seed = self.seed or secrets.randbelow(2**31 - 1) + 1
        sample = self._sample(population, seed)
        # Two managers ordering at once may draw the same calls: each order updates its sampled calls'
        # rows first, so that the second of two overlapping orders fails with a serialization failure
        # (REPEATABLE READ) and Odoo runs it again on a fresh snapshot, where the first order's audits
        # are taken out of the population. (Without it, the second would fail on the one-audit
        # constraint, an error to the manager.)
        self.env.cr.execute("UPDATE auto_crm_callback SET write_date = write_date WHERE id = ANY(%s)", [sample])
        callbacks = self.env["auto_crm.callback"].sudo().browse(sample)
        # (the audits show in the auditor's list and their chatter; no e-mail per audit)
        Audit = self.env["auto_crm.callback.audit"].sudo().with_context(mail_auto_subscribe_no_notify=True)
        audits = Audit.browse()
        for callback in callbacks:
            vals = {
                "callback_id": callback.id,
                "company_id": callback.company_id.id,
                "user_id": self.auditor_id.id,
                "sample_seed": seed,
                "line_ids": [
                    (0, 0, {
                        "question_id": answer.question_id.id,
                        "sequence": answer.question_id.sequence,
                        "original_score_value": int(answer.score),
                    })
                    for answer in callback.answer_ids
                    if answer.score
                ],
            }  # fmt: skip
            audits |= Audit.create(vals)
        for audit in audits:
            audit.message_post(
                body=_(
                    "Sampled by %(user)s: %(count)s of %(population)s done callbacks, seed %(seed)s.",
                    user=self.env.user.name,
                    count=len(audits),
                    population=len(population),
                    seed=seed,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return {
            "type": "ir.actions.act_window",
            "name": _("Callback Audits"),
            "res_model": "auto_crm.callback.audit",
            "view_mode": "list,form",
            "domain": [("id", "in", audits.ids)],
            "target": "current",
        }
