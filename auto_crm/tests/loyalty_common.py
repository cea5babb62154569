from freezegun import freeze_time

from odoo import Command

from .common import AutoCrmCase


class LoyaltyCase(AutoCrmCase):
    """A programme for the main store: spend-based tiers Silver (from 10), Gold (2,000), Platinum
    (6,000) over 12 months, one point per 10 paid, a point worth 1.00, points expiring after 12 months."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Program = cls.env["auto_crm.loyalty.program"]
        settings = {
            "name": "Test Programme",
            "auto_enroll": True,
            "earn_rate": 0.1,
            "point_value": 1.0,
            "expiry_months": 12,
            "tier_basis": "spend",
            "qualification_months": 12,
        }
        # The store's segment and retention settings (Settings → Dealer CRM).
        cls.company.write(
            {
                "value_grade_a_spend": 10000,
                "value_grade_a_visits": 4,
                "value_grade_b_spend": 3000,
                "value_grade_b_visits": 2,
                "lifecycle_at_risk_days": 180,
                "lifecycle_lost_days": 365,
                "retention_service_interval_months": 6,
                "retention_return_grace_months": 1,
            }
        )
        cls.program = Program._for_company(cls.company)
        if cls.program:
            # The demo programme of the store: keep it, with these settings and fresh tiers.
            cls.program.tier_ids.write({"active": False})
            cls.program.write(settings)
        else:
            cls.program = Program.create(dict(settings, company_id=cls.company.id))
        cls.program.write(
            {
                "tier_ids": [
                    Command.create({"name": "T-Silver", "threshold": 10}),
                    Command.create({"name": "T-Gold", "threshold": 2000, "labour_discount": 5}),
                    Command.create({"name": "T-Platinum", "threshold": 6000, "priority_booking": True}),
                ]
            }
        )
        cls.silver, cls.gold, cls.platinum = cls.program.tier_ids.sorted("threshold")
        cls.Member = cls.env["auto_crm.loyalty.member"]
        cls.Ledger = cls.env["auto_crm.loyalty.ledger"]
        cls._mileage = 10000

    def deliver(self, amount, when="2026-03-02 10:00:00", vehicle=None, partner=None, payment_method="cash"):
        """A visit received and delivered at the given moment, paid in full."""
        vehicle = vehicle or self.vehicle
        with freeze_time(when):
            visit = self.make_visit(
                vehicle_id=vehicle.id, partner_id=(partner or vehicle.partner_id or self.customer).id
            )
            type(self)._mileage += 1000
            visit.mileage_in = self._mileage
            self.add_line(visit, "labour", amount)
            self.walk_to(visit, "followup", payment_method=payment_method)
        return visit

    def to_settlement(self, amount, vehicle=None):
        visit = self.make_visit(vehicle_id=(vehicle or self.vehicle).id)
        type(self)._mileage += 1000
        visit.mileage_in = self._mileage
        self.add_line(visit, "labour", amount)
        self.walk_to(visit, "delivery")
        visit.payment_method = "cash"
        return visit

    def member_of(self, partner=None):
        return self.Member.search(
            [("partner_id", "=", (partner or self.customer).id), ("program_id", "=", self.program.id)]
        )
