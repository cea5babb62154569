from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .input_limits import check_vals
from .res_company import AMOUNT_RANGES, CALLBACK_RANGES

ADMIN = "auto_crm.group_admin"

#: The Dealer CRM settings of the store: each is the ``res.company`` field of the same name.
DEALER_SETTINGS = (
    "complaint_goodwill_limit",
    "complaint_callback_score_threshold",
    "value_grade_a_spend",
    "value_grade_a_visits",
    "value_grade_b_spend",
    "value_grade_b_visits",
    "lifecycle_satisfied_visits",
    "lifecycle_retained_visits",
    "lifecycle_loyal_visits",
    "lifecycle_at_risk_days",
    "lifecycle_lost_days",
    "retention_service_interval_months",
    "retention_return_grace_months",
    "completeness_partner_field_ids",
    "completeness_vehicle_field_ids",
    "completeness_profile",
    "auto_crm_tz",
    # the agent's day (issue 12)
    "callback_retry_mode",
    "callback_retry_hours",
    "callback_opening_hour",
    "callback_pressure_calls",
    "callback_pressure_days",
)

# The workshop board's margin before a promised delivery.
DEALER_SETTINGS = (*DEALER_SETTINGS, "promise_risk_minutes")

# The customers at risk (issue 13).
DEALER_SETTINGS = (*DEALER_SETTINGS, "auto_crm_risk_threshold")

# The questionnaire link (issue 14).
DEALER_SETTINGS = (*DEALER_SETTINGS, "callback_link_expiry_days", "callback_link_fallback_days")
# SMS quiet hours of the store (issue 14).
DEALER_SETTINGS = (*DEALER_SETTINGS, "auto_crm_sms_quiet_start", "auto_crm_sms_quiet_end")


class ResConfigSettings(models.TransientModel):
    """Settings → Dealer CRM: the store's complaint, segment, lifecycle, retention and data-quality
    settings. Odoo's settings page is for system administrators; of them, only dealer administrators
    see and change this section (the fields' ``groups`` and the check in ``create``)."""

    _inherit = "res.config.settings"

    auto_crm_currency_id = fields.Many2one(related="company_id.currency_id", string="Store Currency")
    auto_crm_tz = fields.Selection(related="company_id.auto_crm_tz", readonly=False, groups=ADMIN)
    complaint_goodwill_limit = fields.Monetary(
        related="company_id.complaint_goodwill_limit",
        currency_field="auto_crm_currency_id",
        readonly=False,
        groups=ADMIN,
    )
    complaint_callback_score_threshold = fields.Integer(
        related="company_id.complaint_callback_score_threshold", readonly=False, groups=ADMIN
    )
    value_grade_a_spend = fields.Monetary(
        related="company_id.value_grade_a_spend", currency_field="auto_crm_currency_id", readonly=False, groups=ADMIN
    )
    value_grade_a_visits = fields.Integer(related="company_id.value_grade_a_visits", readonly=False, groups=ADMIN)
    value_grade_b_spend = fields.Monetary(
        related="company_id.value_grade_b_spend", currency_field="auto_crm_currency_id", readonly=False, groups=ADMIN
    )
    value_grade_b_visits = fields.Integer(related="company_id.value_grade_b_visits", readonly=False, groups=ADMIN)
    lifecycle_satisfied_visits = fields.Integer(
        related="company_id.lifecycle_satisfied_visits", readonly=False, groups=ADMIN
    )
    lifecycle_retained_visits = fields.Integer(
        related="company_id.lifecycle_retained_visits", readonly=False, groups=ADMIN
    )
    lifecycle_loyal_visits = fields.Integer(related="company_id.lifecycle_loyal_visits", readonly=False, groups=ADMIN)
    lifecycle_at_risk_days = fields.Integer(related="company_id.lifecycle_at_risk_days", readonly=False, groups=ADMIN)
    lifecycle_lost_days = fields.Integer(related="company_id.lifecycle_lost_days", readonly=False, groups=ADMIN)
    retention_service_interval_months = fields.Integer(
        related="company_id.retention_service_interval_months", readonly=False, groups=ADMIN
    )
    retention_return_grace_months = fields.Integer(
        related="company_id.retention_return_grace_months", readonly=False, groups=ADMIN
    )
    completeness_partner_field_ids = fields.Many2many(
        related="company_id.completeness_partner_field_ids", readonly=False, groups=ADMIN
    )
    completeness_vehicle_field_ids = fields.Many2many(
        related="company_id.completeness_vehicle_field_ids", readonly=False, groups=ADMIN
    )
    completeness_profile = fields.Boolean(related="company_id.completeness_profile", readonly=False, groups=ADMIN)
    promise_risk_minutes = fields.Integer(related="company_id.promise_risk_minutes", readonly=False, groups=ADMIN)
    # the agent's day (issue 12): retries after no answer, contact pressure
    callback_retry_mode = fields.Selection(related="company_id.callback_retry_mode", readonly=False, groups=ADMIN)
    callback_retry_hours = fields.Integer(related="company_id.callback_retry_hours", readonly=False, groups=ADMIN)
    callback_opening_hour = fields.Float(related="company_id.callback_opening_hour", readonly=False, groups=ADMIN)
    callback_pressure_calls = fields.Integer(related="company_id.callback_pressure_calls", readonly=False, groups=ADMIN)
    callback_pressure_days = fields.Integer(related="company_id.callback_pressure_days", readonly=False, groups=ADMIN)

    @api.model_create_multi
    def create(self, vals_list):
        # The amounts are converted as the settings record is created: a NaN would fail there, raw.
        check_vals(self, vals_list, AMOUNT_RANGES, names=AMOUNT_RANGES)
        check_vals(self, vals_list, CALLBACK_RANGES, names=CALLBACK_RANGES)
        # Related fields write through to the store as the settings record is created, before
        # execute()/set_values(): a change from anyone but a dealer administrator is refused here.
        # (write() already refuses the fields to users outside their groups.)
        if not self.env.su and not self.env.user.has_group(ADMIN):
            for vals in vals_list:
                changed = self._auto_crm_changed_settings(vals)
                if changed:
                    raise AccessError(
                        _(
                            "%s: only dealer administrators can change the Dealer CRM settings.",
                            ", ".join(changed),
                        )
                    )
        return super().create(vals_list)

    @api.model
    def _auto_crm_changed_settings(self, vals):
        """Labels of the Dealer CRM settings whose value in ``vals`` differs from the store's."""
        company = self.env["res.company"].browse(vals["company_id"]) if vals.get("company_id") else self.env.company
        changed = []
        for name in DEALER_SETTINGS:
            if name not in vals:
                continue
            field = self._fields[name]
            # as res.config.settings' own create() compares related values
            value = field.convert_to_record(field.convert_to_cache(vals[name], self), self)
            if value != company.sudo()[name]:
                changed.append(field._description_string(self.env))
        return changed

    # the customers at risk (issue 13)
    auto_crm_risk_threshold = fields.Integer(related="company_id.auto_crm_risk_threshold", readonly=False, groups=ADMIN)

    # the questionnaire link (issue 14)
    callback_link_expiry_days = fields.Integer(
        related="company_id.callback_link_expiry_days", readonly=False, groups=ADMIN
    )
    callback_link_fallback_days = fields.Integer(
        related="company_id.callback_link_fallback_days", readonly=False, groups=ADMIN
    )
    # SMS quiet hours of the store (issue 14)
    auto_crm_sms_quiet_start = fields.Float(related="company_id.auto_crm_sms_quiet_start", readonly=False, groups=ADMIN)
    auto_crm_sms_quiet_end = fields.Float(related="company_id.auto_crm_sms_quiet_end", readonly=False, groups=ADMIN)
