from odoo import api, fields, models
from odoo.exceptions import ValidationError

#: The first-time-fix window of the staff scorecards, in days (from, to).
FIRST_FIX_DAYS_RANGE = (1, 365)


class ResCompany(models.Model):
    """The staff scorecards' setting of a store (Settings → Dealer CRM → Staff Scorecards)."""

    # each feature keeps its own settings beside its code (archive, group figures, scorecards)
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    scorecard_first_fix_days = fields.Integer(
        string="First-time Fix Window (days)",
        default=30,
        help="A delivered visit is fixed the first time when its car does not come back for the same work (a "
        "visit of the same type) within this many days: the staff scorecards' first-time fix.",
    )

    def _owned_user_fields(self):
        user_fields = super()._owned_user_fields()
        user_fields["scorecard_first_fix_days"] = ()
        return user_fields

    @api.constrains("scorecard_first_fix_days")
    def _check_scorecard_first_fix_days(self):
        low, high = FIRST_FIX_DAYS_RANGE
        for company in self:
            if not low <= company.scorecard_first_fix_days <= high:
                raise ValidationError(
                    self.env._(
                        "First-time Fix Window (days): from %(low)s to %(high)s days; %(value)s is out of range.",
                        low=low,
                        high=high,
                        value=company.scorecard_first_fix_days,
                    )
                )
