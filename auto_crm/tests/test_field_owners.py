"""Every field has an owner (auto_crm.owned.mixin), attacked like a JSON-RPC client would: for every
model of the add-on and every Dealer CRM group, each stored field the model does not list as a
person's is written on an existing record and put into a new one, and must be refused. The attack is
generated from the registry, so a field nobody declared is attacked (and refused) by default."""

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import AutoCrmCase

REFUSED = (AccessError, UserError, ValidationError)
OWNERS_MESSAGE = "is set by the Dealer CRM itself|is written by .* only"
ATTACK_DATE = fields.Date.to_date("2030-01-01")
ATTACK_DATETIME = fields.Datetime.to_datetime("2030-01-01 08:00:00")


@tagged("post_install", "-at_install")
class TestFieldOwners(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            "agent": cls.agent,
            "advisor": cls.advisor,
            "manager": cls.manager,
            "dealer admin": cls.dealer_admin,
        }
        cls.models = {}
        for name in sorted(cls.env.registry):
            model = cls.env[name]
            if model._abstract:
                continue
            if model._original_module != "auto_crm" and name not in ("res.partner", "res.company"):
                continue
            cls.models[name] = model
        # A record of each model: demo data, or the shared set-up's.
        cls.records = {"res.partner": cls.customer, "res.company": cls.company}
        for name, model in cls.models.items():
            if name not in cls.records:
                cls.records[name] = model.sudo().with_context(active_test=False).search([], limit=1, order="id")
        # Models demo data leaves empty: a record made as superuser (the add-on's jobs make them).
        complaint = cls.env["auto_crm.complaint"].search([], limit=1)
        run = cls.env["auto_crm.job.run"].search([], limit=1)
        recipes = {
            "auto_crm.complaint.escalation": lambda: {
                "complaint_id": complaint.id,
                "kind": cls.env["auto_crm.complaint.escalation"]._fields["kind"].selection[0][0],
                "company_id": complaint.company_id.id,
            },
            "auto_crm.job.run.line": lambda: {"run_id": run.id},
            "auto_crm.callback.report.wizard": dict,
            "auto_crm.callback.link": lambda: {
                "callback_id": cls.env["auto_crm.callback"].search([], limit=1).id,
                "token_hash": "0" * 64,
                "channel": "email",
                "date_expiry": fields.Datetime.now(),
            },
            "auto_crm.staff.handover": lambda: {
                "company_id": cls.company.id,
                "user_id": cls.agent.id,
                "manager_id": cls.manager.id,
                "mode": "one",
            },
            "auto_crm.staff.handover.line": lambda: {
                "handover_id": cls.records["auto_crm.staff.handover"].id,
                "kind": "customer",
                "state": "moved",
                "from_user_id": cls.agent.id,
                "to_user_id": cls.advisor.id,
                "customer_id": cls.customer.id,
            },
            "auto_crm.staff.handover.wizard": lambda: {"user_id": cls.agent.id},
            "auto_crm.daily.report.wizard": dict,
            # the dealer group (issue 15): records the add-on writes when a car is received or a customer moves
            "auto_crm.vehicle.receipt": lambda: {
                "vehicle_id": cls.vehicle.id,
                "vin": cls.vehicle.vin,
                "company_id": cls.company.id,
                "from_company_id": cls.other_company.id,
                "user_id": cls.manager.id,
                "date": fields.Datetime.now(),
            },
            "auto_crm.customer.transfer": lambda: {
                "partner_id": cls.customer.id,
                "from_company_id": cls.other_company.id,
                "company_id": cls.company.id,
                "user_id": cls.manager.id,
                "date": fields.Datetime.now(),
                "reason": "Moved house",
            },
            "auto_crm.vehicle.receive.wizard": lambda: {"vin": cls.vehicle.vin},
            "auto_crm.customer.transfer.wizard": lambda: {"partner_id": cls.customer.id, "reason": "Moved house"},
            "auto_crm.callback.audit": lambda: cls._audit_recipe(),
            "auto_crm.callback.audit.line": lambda: {
                "audit_id": cls.records["auto_crm.callback.audit"].id,
                "question_id": cls.env["auto_crm.question"].search([], limit=1).id,
                "original_score_value": 4,
            },
            "auto_crm.callback.audit.wizard": lambda: {
                "date_from": "2026-01-01",
                "date_to": "2026-01-31",
                "auditor_id": cls.agent.id,
            },
        }
        for name, recipe in recipes.items():
            if not cls.records[name]:
                cls.records[name] = cls.env[name].sudo().create(recipe())

    @classmethod
    def _audit_recipe(cls):
        """An audit of a done callback (the demo's, else one closed here), given to another agent."""
        callback = cls.env["auto_crm.callback"].search([("state", "=", "done")], limit=1)
        if not callback:
            callback = cls.env["auto_crm.callback"].create(
                {"partner_id": cls.customer.id, "user_id": cls.agent.id, "company_id": cls.company.id}
            )
            callback.action_done()
        auditor = cls.manager if callback.user_id != cls.manager else cls.dealer_admin
        return {"callback_id": callback.id, "company_id": callback.company_id.id, "user_id": auditor.id}

    def system_fields(self, model):
        return sorted(model._owned_system_fields())

    def attack_value(self, record, fname):
        """A value different from the record's for ``fname`` (None when none can be made)."""
        field = record._fields[fname]
        current = record.sudo()[fname]
        if field.type in ("char", "text", "html"):
            return "attack"
        if field.type == "integer":
            return (current or 0) + 7
        if field.type in ("float", "monetary"):
            return (current or 0.0) + 7.5
        if field.type == "boolean":
            return not current
        if field.type == "date":
            return ATTACK_DATE
        if field.type == "datetime":
            return ATTACK_DATETIME
        if field.type == "selection":
            options = [code for code, _label in field._description_selection(self.env) if code != current]
            return options[0] if options else None
        if field.type in ("many2one", "many2many"):
            other = self.env[field.comodel_name].sudo().search([("id", "not in", current.ids)], limit=1)
            if field.type == "many2one":
                return other.id if other else (False if current else None)
            return [(6, 0, other.ids)] if other else ([(5, 0, 0)] if current else None)
        if field.type == "one2many":
            return [(5, 0, 0)]
        if field.type == "binary":
            return "YXR0YWNr"
        if field.type == "json":
            return {"attack": 1}
        return None

    def assertRefused(self, method, vals):
        try:
            with self.env.cr.savepoint():
                method(vals)
        except REFUSED:
            return
        self.fail(f"{method.__self__._name}: {sorted(vals)} accepted")

    @staticmethod
    def snapshot(record, fname):
        value = record.sudo()[fname]
        return value.ids if hasattr(value, "ids") else value

    def test_every_model_declares_its_owners(self):
        """Every model of the add-on and the two inherited Odoo models go through the mechanism."""
        for name, model in self.models.items():
            with self.subTest(model=name):
                self.assertTrue(hasattr(model, "_owned_check"), f"{name} does not inherit auto_crm.owned.mixin")
                unknown = set(model._owned_user_fields()) - set(model._fields)
                self.assertFalse(unknown, f"{name} declares fields it does not have: {unknown}")
        self.assertGreater(len(self.models), 30)

    @mute_logger("odoo.sql_db", "odoo.models")
    def test_attack_write(self):
        """Each group writes each system-owned field of an existing record: refused, value unchanged."""
        attacked = 0
        for name, model in self.models.items():
            record = self.records[name]
            if not record:
                continue
            for fname in self.system_fields(model):
                value = self.attack_value(record, fname)
                if value is None:
                    continue
                before = self.snapshot(record, fname)
                for label, user in self.users.items():
                    with self.subTest(model=name, field=fname, group=label):
                        self.assertRefused(record.with_user(user).write, {fname: value})
                        record.invalidate_recordset()
                        self.assertEqual(self.snapshot(record, fname), before)
                        attacked += 1
        self.assertGreater(attacked, 700)

    @mute_logger("odoo.sql_db", "odoo.models")
    def test_attack_create(self):
        """Each group creates a record carrying a system-owned field (with the record's own user-owned
        values around it): refused, nothing created."""
        attacked = 0
        for name, model in self.models.items():
            record = self.records[name]
            user_fields = [
                fname
                for fname in model._owned_user_fields()
                if fname in model._fields and model._fields[fname].type not in ("one2many", "many2many")
            ]
            base = {}
            if record:
                base = record.sudo()._convert_to_write({fname: record.sudo()[fname] for fname in user_fields})
            count = model.sudo().with_context(active_test=False).search_count([])
            for fname in self.system_fields(model):
                value = self.attack_value(record, fname)
                if value is None:
                    continue
                for label, user in self.users.items():
                    attack = value
                    if model.with_user(user)._owned_is_default(fname, attack):
                        # the default is what a new record gets anyway: attack with another value
                        if model._fields[fname].type != "boolean":
                            continue
                        attack = not attack
                    with self.subTest(model=name, field=fname, group=label):
                        self.assertRefused(model.with_user(user).create, dict(base, **{fname: attack}))
                        attacked += 1
            self.assertEqual(model.sudo().with_context(active_test=False).search_count([]), count, name)
        self.assertGreater(attacked, 700)

    def test_owners_write_their_fields(self):
        """Each group still writes a field it owns, where its access rights allow (a business rule of
        the record may still refuse, but never the field's owner)."""
        written = set()
        for name, model in self.models.items():
            record = self.records[name]
            if not record or not model._auto:
                continue
            sample = [
                fname
                for fname in ("note", "description", "name", "sequence", "color", "active", "comment", "plate")
                if fname in model._owned_user_fields()
            ] or [
                fname
                for fname in model._owned_user_fields()
                if fname != "state" and model._fields[fname].type not in ("one2many", "many2many")
            ]
            if not sample:
                continue
            fname = sample[0]
            value = record.sudo()._convert_to_write({fname: record.sudo()[fname]})[fname]
            for label, user in self.users.items():
                mine = record.with_user(user)
                if not mine.has_access("write"):
                    continue
                with self.subTest(model=name, field=fname, group=label):
                    try:
                        with self.env.cr.savepoint():
                            mine.write({fname: value})
                    except REFUSED as error:
                        # The record's own business rule (a locked state...), not the field's owner.
                        self.assertNotRegex(str(error), OWNERS_MESSAGE)
                    else:
                        written.add(label)
        self.assertEqual(written, set(self.users))

    def test_duplicate_starts_system_fields_afresh(self):
        """Duplicating a record copies what people wrote, not the add-on's fields; a system field passed
        as a default of the copy is refused."""
        rule = self.env["auto_crm.callback.rule"].search([], limit=1)
        rule.sudo().rr_position = 5
        copy = rule.with_user(self.dealer_admin).copy()
        self.assertNotEqual(copy.rr_position, 5)
        for name, model in self.models.items():
            record = self.records[name]
            if record and model._auto and not model._transient:
                with self.subTest(model=name):
                    copied = record.with_user(self.dealer_admin).copy_data()[0]
                    self.assertFalse(set(copied) & model._owned_system_fields())
        with self.assertRaises(UserError):
            rule.with_user(self.dealer_admin).copy({"rr_position": 9})
        visit = self.make_visit()
        duplicate = visit.with_user(self.advisor).copy()
        self.assertNotEqual(duplicate.name, visit.name)

    def test_system_field_refused_with_its_name(self):
        """The refusal names the field, for the dealer administrator too."""
        visit = self.make_visit()
        with self.assertRaisesRegex(UserError, "Inspection Failures|inspection_failures"):
            visit.with_user(self.dealer_admin).write({"inspection_failures": 3})
        with self.assertRaises(UserError):
            self.make_visit().with_user(self.dealer_admin).create(
                {
                    "partner_id": self.customer.id,
                    "vehicle_id": self.vehicle.id,
                    "visit_type": "maintenance",
                    "date_reception": ATTACK_DATETIME,
                }
            )

    def test_users_are_created_with_their_contact(self):
        """Creating a user creates its contact through ``_inherits``: the ORM passes the contact's
        defaults, the add-on's own among them (who created the profile). An administrator of access
        rights creates users over RPC and through the form; a forged value is still refused."""
        rights_admin = new_test_user(
            self.env, "crm_rights_admin", groups="base.group_erp_manager,base.group_partner_manager"
        )
        Users = self.env["res.users"].with_user(rights_admin)
        user = Users.create({"name": "New Agent", "login": "new_agent_rpc"})
        self.assertEqual(user.partner_id.auto_profile_created_by_id, rights_admin)
        form = Form(Users)
        form.name = "New Advisor"
        form.login = "new_advisor_form"
        self.assertTrue(form.save().partner_id)
        with self.assertRaises(UserError):
            Users.create({"name": "Forged", "login": "forged", "auto_profile_created_by_id": self.manager.id})
