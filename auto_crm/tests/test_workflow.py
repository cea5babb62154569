"""The one workflow mechanism (auto_crm.workflow.mixin), attacked like a JSON-RPC client would:
every move the transition table does not have is refused to every group and to sudo, the stamps
and signatures cannot be written by hand, and the groups of the table hold."""

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..lib.workflow import WORKFLOWS, refused_pairs
from .common import AutoCrmCase


@tagged("post_install", "-at_install")
class TestWorkflow(AutoCrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {
            "agent": cls.agent,
            "advisor": cls.advisor,
            "manager": cls.manager,
            "dealer admin": cls.dealer_admin,
        }
        cls.complaint = cls.env["auto_crm.complaint"].create(
            {
                "subject": "Noise after repair",
                "partner_id": cls.customer.id,
                "root_cause": "Loose clip",
                "resolution": "Clip fixed",
            }
        )
        cls.visit = cls.env["auto_crm.service.visit"].create(
            {"partner_id": cls.customer.id, "vehicle_id": cls.vehicle.id, "mileage_in": 1000}
        )
        cls.action = cls.env["auto_crm.corrective.action"].create(
            {
                "name": "Clip check at inspection",
                "origin_type": "complaint",
                "complaint_ids": [(6, 0, cls.complaint.ids)],
                "user_id": cls.advisor.id,
                "deadline": "2026-04-30",
                "description": "<p>Check the trim clips.</p>",
            }
        )
        cls.callback = cls.env["auto_crm.callback"].create({"partner_id": cls.customer.id})
        cls.records = {
            "auto_crm.service.visit": cls.visit,
            "auto_crm.complaint": cls.complaint,
            "auto_crm.corrective.action": cls.action,
            "auto_crm.callback": cls.callback,
        }

    def put_in(self, record, state):
        """Put a record in a state behind the workflow's back (SQL), as the set-up of an attack."""
        self.env.flush_all()
        self.env.cr.execute(
            f'UPDATE "{record._table}" SET state = %s WHERE id = %s',
            (state, record.id),
        )
        record.invalidate_recordset()

    def envs(self, record):
        """The record as each group's user, and as sudo (a callback is assigned to the user, so
        that every group sees it)."""
        for label, user in self.users.items():
            if record._name == "auto_crm.callback":
                self.env.cr.execute("UPDATE auto_crm_callback SET user_id = %s WHERE id = %s", (user.id, record.id))
                record.invalidate_recordset()
            yield label, record.with_user(user)
        yield "sudo", record.sudo()

    def labels(self, record, *states):
        selection = dict(record._fields["state"]._description_selection(record.env))
        return [selection[state] for state in states]

    # ------------------------------------------------------------------ the table, for everybody
    def test_moves_outside_the_table_are_refused_to_every_group_and_to_sudo(self):
        for model, (states, _initial, table) in WORKFLOWS.items():
            record = self.records[model]
            for old, new in refused_pairs(table, states):
                self.put_in(record, old)
                for label, as_user in self.envs(record):
                    with self.subTest(model=model, move=(old, new), user=label):
                        with self.assertRaises(UserError) as caught:
                            as_user.write({"state": new})
                        message = str(caught.exception)
                        self.assertNotIsInstance(caught.exception, AccessError, message)
                        self.assertIn("cannot go from", message)
                        for state_label in self.labels(record, old, new):
                            self.assertIn(state_label, message)
                        record.invalidate_recordset()
                        self.assertEqual(record.state, old)

    def test_every_pair_of_the_table_has_a_button(self):
        for model, (_states, _initial, table) in WORKFLOWS.items():
            Model = self.env[model]
            self.assertEqual(Model._workflow_transitions, table)
            for pair, (button, _groups) in table.items():
                with self.subTest(model=model, move=pair):
                    self.assertTrue(callable(getattr(Model, button, None)), button)

    def test_moves_in_the_table_refused_to_users_outside_its_groups(self):
        cases = [
            (self.visit, "reception", "cancel", {"cancel_reason": "Postponed"}, ["agent"]),
            (self.visit, "cancel", "appointment", {}, ["agent", "advisor"]),
            (self.visit, "followup", "delivery", {}, ["agent", "advisor"]),
            (self.action, "waiting_approval", "approved", {}, ["agent", "advisor", "manager"]),
            (self.action, "waiting_approval", "draft", {}, ["agent", "advisor", "manager"]),
            (self.action, "done", "verified", {"effectiveness": "Checked"}, ["agent", "advisor"]),
            (self.action, "done", "in_progress", {}, ["agent", "advisor"]),
            (self.action, "draft", "cancel", {"cancel_reason": "Duplicate"}, ["agent", "advisor"]),
            (self.action, "cancel", "draft", {}, ["agent", "advisor"]),
            (self.callback, "failed", "todo", {}, ["agent", "advisor"]),
            (self.callback, "todo", "expired", {}, ["agent", "advisor", "manager", "dealer admin", "sudo"]),
        ]
        for record, old, new, vals, refused in cases:
            self.put_in(record, old)
            for label, as_user in self.envs(record):
                if label not in refused:
                    continue
                with self.subTest(model=record._name, move=(old, new), user=label):
                    with self.assertRaises(AccessError) as caught:
                        as_user.write(dict(vals, state=new))
                    # Refused by the table's groups, not by the access rights of the model.
                    self.assertEqual(str(caught.exception), as_user._workflow_denied_message(old, new))
                    record.invalidate_recordset()
                    self.assertEqual(record.state, old)
            # The groups of the table may make the move (as sudo, the add-on's code may too).
            if "dealer admin" not in refused:
                self.put_in(record, old)
                record.with_user(self.dealer_admin).write(dict(vals, state=new))
                self.assertEqual(record.state, new)

    def test_the_engine_alone_expires_a_callback(self):
        # Not a plain write, not even as superuser: the engine's expiry (its housekeeping) does it.
        with self.assertRaises(AccessError):
            self.callback.sudo().write({"state": "expired", "close_reason": "expired"})
        self.assertEqual(self.callback.state, "todo")
        self.callback.sudo()._workflow_write({"state": "expired", "close_reason": "expired"})
        self.assertEqual(self.callback.state, "expired")
        with self.assertRaises(UserError):
            self.callback.sudo().write({"state": "done"})

    def test_creation_starts_at_the_initial_states_only(self):
        Callback = self.env["auto_crm.callback"]
        for state in ("in_progress", "done", "failed", "expired", "cancel"):
            with self.subTest(state=state), self.assertRaises(UserError):
                Callback.sudo().create({"partner_id": self.customer.id, "state": state})

    # ------------------------------------------------------------------ stamps and signatures
    def test_stamps_and_signatures_cannot_be_written_by_hand(self):
        for model, record in self.records.items():
            protected = sorted(self.env[model]._workflow_protected_fields())
            self.assertTrue(protected, model)
            for fname in protected:
                field = record._fields[fname]
                value = {"datetime": "2026-01-01 10:00:00", "integer": 7, "many2one": self.manager.id}[field.type]
                for label, as_user in self.envs(record):
                    if label == "sudo":
                        continue
                    with self.subTest(model=model, field=fname, user=label):
                        with self.assertRaises(UserError) as caught:
                            as_user.write({fname: value})
                        self.assertTrue(str(caught.exception).startswith(field.string), str(caught.exception))
                        # Nor with the context key a client may send: its value is not the mixin's.
                        with self.assertRaises(UserError):
                            as_user.with_context(auto_crm_workflow_stamp=True).write({fname: value})

    def test_stamps_cannot_be_created_either(self):
        with self.assertRaises(UserError) as caught:
            self.env["auto_crm.service.visit"].with_user(self.advisor).create(
                {
                    "partner_id": self.customer.id,
                    "vehicle_id": self.vehicle.id,
                    "date_delivered": "2020-01-01 10:00:00",
                }
            )
        self.assertTrue(str(caught.exception).startswith("Delivered"))

    # ------------------------------------------------------------------ allowed moves do what the buttons do
    def test_kanban_drag_of_an_allowed_move_stamps_the_date(self):
        with freeze_time("2026-05-04 09:00:00"):
            self.visit.with_user(self.advisor).write({"state": "reception"})
        self.assertEqual(str(self.visit.date_reception), "2026-05-04 09:00:00")
        self.assertEqual(self.visit.odometer_reading_id.value, 1000)
        self.visit.with_user(self.advisor).write({"state": "repair"})
        self.visit.with_user(self.advisor).write({"state": "inspection"})
        with self.assertRaises(UserError) as caught:
            self.visit.with_user(self.advisor).write({"state": "repair"})
        self.assertTrue(str(caught.exception).startswith("Inspection Notes"))
        self.visit.with_user(self.advisor).write({"state": "repair", "inspection_note": "Noise remains"})
        self.assertEqual(self.visit.inspection_failures, 1, "a dragged failed inspection counts like the button")
        with freeze_time("2026-05-05 09:00:00"):
            self.complaint.with_user(self.agent).write({"state": "investigating"})
        self.assertEqual(str(self.complaint.date_acknowledged), "2026-05-05 09:00:00")

    def test_corrective_action_signatures_follow_the_moves(self):
        action = self.action.with_user(self.advisor)
        action.write({"state": "waiting_approval"})
        self.action.with_user(self.dealer_admin).write({"state": "approved"})
        self.assertEqual(self.action.approved_by_id, self.dealer_admin)
        self.assertTrue(self.action.date_approved)
        with self.assertRaises(AccessError):
            self.action.with_user(self.agent).write({"state": "in_progress"})
        action.write({"state": "in_progress"})
        action.write({"state": "done", "result": "Clips checked on every car."})
        self.assertTrue(self.action.date_done)
        self.action.with_user(self.manager).write({"state": "in_progress"})
        self.assertFalse(self.action.date_done, "back to work: no longer done")

    def test_plain_write_to_done_does_what_the_button_does(self):
        self.company.complaint_callback_score_threshold = 2
        callback = self.callback.with_user(self.agent)
        self.callback.user_id = self.agent
        callback.write({"close_reason": "other"})
        with freeze_time("2026-05-06 09:00:00"):
            callback.write({"state": "done", "customer_complains": True})
        self.assertEqual(self.callback.state, "done")
        self.assertEqual(str(self.callback.date_done), "2026-05-06 09:00:00")
        self.assertFalse(self.callback.close_reason)
        self.assertEqual(len(self.callback.complaint_ids), 1, "the complaint is opened as by the button")
        with self.assertRaises(UserError):
            self.callback.with_user(self.manager).write({"state": "todo"})

    def test_kanban_columns_from_the_mixin(self):
        expected = {
            "auto_crm.service.visit": ["appointment", "reception", "repair", "inspection", "delivery", "followup"],
            "auto_crm.complaint": [
                "new",
                "acknowledged",
                "investigating",
                "resolving",
                "awaiting_confirmation",
                "closed",
            ],
            "auto_crm.corrective.action": ["draft", "waiting_approval", "approved", "in_progress", "done", "verified"],
            "auto_crm.callback": ["todo", "in_progress", "done", "failed", "expired", "cancel"],
        }
        for model, states in expected.items():
            with self.subTest(model=model):
                groups = self.env[model].web_read_group([("id", "=", 0)], ["state"], ["state"])["groups"]
                self.assertEqual([group["state"] for group in groups], states)
