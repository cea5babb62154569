import datetime

from odoo import fields

from odoo.addons.auto_crm.lib.vin import with_check_digit

from .common import AutoCrmCase


class CallbackCase(AutoCrmCase):
    """A team of two agents, a small questionnaire, and helpers that make sources in bulk."""

    vin_counter = 1000
    bulk_counter = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The seeded (and demo) rules would add their own callbacks: each test uses its own rules.
        cls.env["auto_crm.callback.rule"].search([]).active = False
        # The store's day ("today" for the engine, the board and the nightly jobs) is Shanghai's.
        cls.company.auto_crm_tz = "Asia/Shanghai"
        cls.env.user.tz = "Asia/Shanghai"
        cls.agent2 = cls.env["res.users"].create(
            {
                "name": "Agent 2",
                "login": "crm_agent2",
                "groups_id": [(6, 0, [cls.env.ref("auto_crm.group_agent").id])],
                "company_id": cls.company.id,
                "company_ids": [(6, 0, [cls.company.id])],
            }
        )
        cls.team = cls.env["auto_crm.callback.team"].create(
            {"name": "CR Team", "member_ids": [(6, 0, [cls.agent.id, cls.agent2.id])]}
        )
        cls.questionnaire = cls.env["auto_crm.questionnaire"].create(
            {
                "name": "Test after-service",
                "question_ids": [
                    (0, 0, {"sequence": 1, "name": "Greeted?", "step": "greeting", "required": True}),
                    (0, 0, {"sequence": 2, "name": "Clean?", "step": "cleanliness", "required": False}),
                    (0, 0, {"sequence": 3, "name": "Overall?", "step": "overall", "required": True}),
                ],
            }
        )

    # ------------------------------------------------------------------ helpers
    @classmethod
    def make_rule(cls, **vals):
        values = {
            "name": "Test rule",
            "trigger": "service_delivered",
            "delay_days": 3,
            "window_days": 4,
            "questionnaire_id": cls.questionnaire.id,
            "assignment": "team",
            "team_id": cls.team.id,
            # (a new rule starts inactive and from its first day, issue 12: the tests' rules run at once
            # and over their whole window)
            "active": True,
            "date_start": False,
        }
        values.update(vals)
        return cls.env["auto_crm.callback.rule"].create(values)

    @classmethod
    def close_calls(cls, callbacks):
        """Cancel these open callbacks (as the agents or the nightly expiry would close them): a
        customer has one open callback per store at a time (issue 12), so a test that calls the same
        customers with another rule closes the first calls."""
        callbacks.filtered(lambda c: c.state in ("todo", "in_progress")).write(
            {"state": "cancel", "close_reason": "other"}
        )

    @classmethod
    def make_customers(cls, count, **vals):
        values = {"auto_customer": True, "auto_callback_consent": True}
        values.update(vals)
        partners = cls.env["res.partner"].create(
            [dict(values, name=f"客户 {index}", mobile=f"+86 138 1000 {index:04d}") for index in range(count)]
        )
        vehicles = cls.env["auto_crm.vehicle"].create(
            [
                {"vin": cls.make_vin(cls.next_vin()), "partner_id": partner.id, "model_id": cls.car_model.id}
                for partner in partners
            ]
        )
        return partners, vehicles

    @classmethod
    def next_vin(cls):
        CallbackCase.vin_counter += 1
        return CallbackCase.vin_counter

    @classmethod
    def make_delivered_visits(cls, count, delivered, **visit_vals):
        """count customers, each with a car and a visit delivered at the given datetime. The visits
        are created through the ORM and moved to follow-up in SQL (the workflow is tested elsewhere)."""
        partners, vehicles = cls.make_customers(count)
        visits = cls.env["auto_crm.service.visit"].create(
            [
                dict(
                    {"partner_id": p.id, "vehicle_id": v.id, "mileage_in": 10000, "advisor_id": cls.advisor.id},
                    **visit_vals,
                )
                for p, v in zip(partners, vehicles, strict=True)
            ]
        )
        cls.set_visit_dates(visits, state="followup", date_reception=delivered, date_delivered=delivered)
        return visits

    @classmethod
    def bulk_delivered_visits(cls, count, delivered, dnd_every=0, company=None):
        """count customers, each with a car and a visit delivered at the given datetime, inserted
        with bulk SQL as a data migration does (no ORM, no ANALYZE): the planner's statistics do not
        know them. Every dnd_every-th customer is do-not-disturb. Returns the visits' ids."""
        cls.env.flush_all()
        cr = cls.env.cr
        company = company or cls.company
        CallbackCase.bulk_counter += 1
        tag = f"BULK{CallbackCase.bulk_counter}"
        cr.execute(
            """INSERT INTO res_partner (name, complete_name, active, type, auto_customer, auto_callback_consent,
                                        auto_do_not_disturb, create_date, write_date, create_uid, write_uid)
               SELECT '客户 ' || %(tag)s || '-' || n, '客户 ' || %(tag)s || '-' || n, TRUE, 'contact', TRUE, TRUE,
                      %(dnd)s > 0 AND n %% GREATEST(%(dnd)s, 1) = 0, now(), now(), 1, 1
                 FROM generate_series(1, %(count)s) AS n
                ORDER BY n
            RETURNING id""",
            {"tag": tag, "count": count, "dnd": dnd_every},
        )
        partner_ids = sorted(row[0] for row in cr.fetchall())
        serial = CallbackCase.bulk_counter * 100000
        vins = [with_check_digit(f"LBVAB2180P{serial + n:07d}") for n in range(count)]
        cr.execute(
            """INSERT INTO auto_crm_vehicle (vin, partner_id, company_id, active, sold_here,
                                             create_date, write_date, create_uid, write_uid)
               SELECT vin, partner_id, %(company)s, TRUE, FALSE, now(), now(), 1, 1
                 FROM unnest(%(vins)s::varchar[], %(partners)s::int[]) AS row(vin, partner_id)
            RETURNING id, partner_id""",
            {"company": company.id, "vins": vins, "partners": partner_ids},
        )
        vehicles = sorted(cr.fetchall(), key=lambda row: row[1])
        cr.execute(
            """INSERT INTO auto_crm_service_visit (
                       name, company_id, partner_id, vehicle_id, advisor_id, state, visit_type, mileage_in,
                       date_appointment, date_reception, date_delivered, amount_labour, amount_parts, amount_total,
                       amount_paid, payment_method, kanban_state, inspection_failures,
                       create_date, write_date, create_uid, write_uid)
               SELECT %(tag)s || '/' || lpad(row.n::text, 7, '0'), %(company)s, row.partner_id, row.vehicle_id,
                      %(advisor)s, 'followup', 'maintenance', 10000, %(day)s - interval '2 hours',
                      %(day)s - interval '1 hour', %(day)s, 260, 398, 658, 658, 'mobile', 'normal', 0,
                      now(), now(), 1, 1
                 FROM unnest(%(vehicles)s::int[], %(partners)s::int[]) WITH ORDINALITY AS row(vehicle_id, partner_id, n)
            RETURNING id""",
            {
                "tag": tag,
                "company": company.id,
                "advisor": cls.advisor.id,
                "day": delivered,
                "vehicles": [vehicle for vehicle, _partner in vehicles],
                "partners": [partner for _vehicle, partner in vehicles],
            },
        )
        visit_ids = sorted(row[0] for row in cr.fetchall())
        cls.env.invalidate_all()
        return visit_ids

    @classmethod
    def set_visit_dates(cls, visits, **vals):
        cls.env.flush_all()
        columns = ", ".join(f"{name} = %({name})s" for name in vals)
        cls.env.cr.execute(
            f"UPDATE auto_crm_service_visit SET {columns} WHERE id IN %(ids)s", dict(vals, ids=tuple(visits.ids))
        )
        visits.invalidate_recordset()

    def deliver(self, visit):
        """Walk a visit through the real workflow to delivery."""
        self.add_line(visit)
        return self.walk_to(visit, "followup")

    @classmethod
    def preview(cls, rule):
        """The counts the engine would log for the rule if it ran now."""
        return cls.env["auto_crm.callback.engine"]._preview(rule)

    @classmethod
    def callbacks(cls, rule):
        return cls.env["auto_crm.callback"].search([("rule_id", "=", rule.id)])

    @staticmethod
    def at(day, hour=10):
        return datetime.datetime.combine(fields.Date.to_date(day), datetime.time(hour))
