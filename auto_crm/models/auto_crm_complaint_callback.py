"""Where callbacks and complaints meet: a low score or a complaint on a callback opens a complaint
(once), a closed complaint gets its confirmation call from the callback engine, and recurring
issue tags from callbacks become preventive actions before they become complaints."""

from dateutil.relativedelta import relativedelta

from odoo import _, fields, models

#: How far back the recurring-issues view counts callbacks.
RECURRING_DAYS = 90


class AutoCrmComplaint(models.Model):
    _inherit = "auto_crm.complaint"

    callback_id = fields.Many2one(
        "auto_crm.callback",
        string="Callback",
        readonly=True,
        copy=False,
        index="btree_not_null",
        check_company=True,
        help="The callback in which the customer complained or gave a low score.",
    )
    confirmation_callback_ids = fields.One2many(
        "auto_crm.callback",
        compute="_compute_confirmation_callback_ids",
        string="Confirmation Callbacks",
    )

    def _compute_confirmation_callback_ids(self):
        callbacks = self.env["auto_crm.callback"].search(
            [("source_model", "=", self._name), ("source_id", "in", self.ids)]
        )
        for complaint in self:
            complaint.confirmation_callback_ids = callbacks.filtered(lambda c, cid=complaint.id: c.source_id == cid)

    def action_close(self):
        result = super().action_close()
        rules = (
            self.env["auto_crm.callback.rule"]
            .sudo()
            .search([("trigger", "=", "complaint_closed"), ("company_id", "in", [False, *self.company_id.ids])])
        )
        if rules:
            for complaint in self:
                due = fields.Date.context_today(self) + relativedelta(days=min(rules.mapped("delay_days")))
                complaint.message_post(
                    body=_(
                        "Closed. The callback rule %(rule)s will schedule the confirmation call for %(date)s.",
                        rule=rules[0].name,
                        date=due,
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        return result


class AutoCrmCallback(models.Model):
    _inherit = "auto_crm.callback"

    complaint_ids = fields.One2many("auto_crm.complaint", "callback_id", string="Complaints")
    complaint_count = fields.Integer(compute="_compute_complaint_count", string="Complaint Count")

    def _compute_complaint_count(self):
        counts = dict(
            self.env["auto_crm.complaint"]._read_group([("callback_id", "in", self.ids)], ["callback_id"], ["__count"])
        )
        for callback in self:
            callback.complaint_count = counts.get(callback, 0)

    def action_view_complaints(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("auto_crm.auto_crm_complaint_action")
        action["domain"] = [("callback_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    def _on_done(self):
        super()._on_done()
        self._open_complaints()

    def _complaint_reason(self):
        """Why this done callback must open a complaint, or False."""
        self.ensure_one()
        threshold = self.company_id.complaint_callback_score_threshold
        if self.customer_complains:
            return _("Callback %s: the customer complained during the call.", self.name)
        if self.overall_score and self.overall_score <= threshold:
            return _(
                "Callback %(callback)s: overall satisfaction %(score)s of 5 (complaint threshold %(threshold)s).",
                callback=self.name,
                score=self.overall_score,
                threshold=threshold,
            )
        return False

    def _open_complaints(self):
        """Open one complaint per callback that calls for it; a second call opens nothing more."""
        vals_list = []
        for callback in self:
            reason = callback._complaint_reason()
            if not reason:
                continue
            vals_list.append(
                {
                    "subject": reason,
                    "partner_id": callback.partner_id.id,
                    "vehicle_id": callback.vehicle_id.id,
                    "visit_id": callback.visit_id.id,
                    "company_id": callback.company_id.id,
                    "channel": "callback",
                    "callback_id": callback.id,
                    "origin_model": callback._name,
                    "origin_res_id": callback.id,
                    "description": callback.note or False,
                }
            )
        if not vals_list:
            return self.env["auto_crm.complaint"]
        # Agents may not see every store's complaint settings; the origin index keeps it to one each.
        return self.env["auto_crm.complaint"].sudo()._create_from_origin(vals_list).sudo(False)


class AutoCrmCorrectiveAction(models.Model):
    _inherit = "auto_crm.corrective.action"

    issue_tag_ids = fields.Many2many(
        "auto_crm.callback.issue.tag",
        string="Recurring Issues",
        help="Issues customers keep raising in callbacks that this (preventive) action addresses.",
    )


class AutoCrmCallbackIssueTag(models.Model):
    _inherit = "auto_crm.callback.issue.tag"

    recent_count = fields.Integer(
        compute="_compute_recent",
        string=f"Callbacks ({RECURRING_DAYS} days)",
        help=f"Done callbacks of the last {RECURRING_DAYS} days in which customers raised this issue.",
    )
    recent_complaint_count = fields.Integer(
        compute="_compute_recent",
        string="Complaints",
        help="How many of those callbacks opened a complaint.",
    )
    preventive_action_ids = fields.Many2many(
        "auto_crm.corrective.action",
        compute="_compute_recent",
        string="Actions",
    )

    def _compute_recent(self):
        since = fields.Datetime.now() - relativedelta(days=RECURRING_DAYS)
        Callback = self.env["auto_crm.callback"]
        counts = dict(
            Callback._read_group(
                [("issue_tag_ids", "in", self.ids), ("state", "=", "done"), ("date_done", ">=", since)],
                ["issue_tag_ids"],
                ["__count"],
            )
        )
        complaints = dict(
            Callback._read_group(
                [
                    ("issue_tag_ids", "in", self.ids),
                    ("state", "=", "done"),
                    ("date_done", ">=", since),
                    ("complaint_ids", "!=", False),
                ],
                ["issue_tag_ids"],
                ["__count"],
            )
        )
        actions = self.env["auto_crm.corrective.action"].search([("issue_tag_ids", "in", self.ids)])
        for tag in self:
            tag.recent_count = counts.get(tag, 0)
            tag.recent_complaint_count = complaints.get(tag, 0)
            tag.preventive_action_ids = actions.filtered(lambda a, t=tag: t in a.issue_tag_ids)

    def action_open_preventive_action(self):
        """A manager opens a preventive action from a pattern of callback issues."""
        self.ensure_one()
        action = self.env["auto_crm.corrective.action"].create(
            {
                "name": _("Prevent: %s", self.name),
                "action_type": "preventive",
                "origin_type": "recurring_issue",
                "issue_tag_ids": [fields.Command.set(self.ids)],
                "recurring_issue": _(
                    "%(issue)s was raised in %(count)s callbacks over the last %(days)s days.",
                    issue=self.name,
                    count=self.recent_count,
                    days=RECURRING_DAYS,
                ),
                "user_id": self.env.user.id,
                "deadline": fields.Date.context_today(self) + relativedelta(days=30),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": action._name,
            "res_id": action.id,
            "view_mode": "form",
            "target": "current",
        }
