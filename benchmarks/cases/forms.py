"""Benchmark cases: a service advisor opens a customer's form and a vehicle's form.

`run` is what the web client asks when a form opens: `web_read([id], specification)` as the advisor,
the specification made from the form view's fields (as the client builds it: many2one with their
display name, one2many and many2many with the fields of their inline list). `floor` reads the same
rows in the least SQL: the record's row, the display names it points at, and its lines.
Screens: no ratio target (an ORM read of a form is many small reads), flat target 1.5x vs 10k.
"""

from lxml import etree


def spec_from_form(Model):
    """The specification the web client sends for the form view of Model, as the current user."""
    views = Model.get_views([(False, "form")])
    arch = etree.fromstring(views["views"]["form"]["arch"])
    fields = {model: info.get("fields", info) for model, info in views["models"].items()}

    def walk(node, model, spec):
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "field":
                name = child.get("name")
                field = fields.get(model, {}).get(name)
                if field is None:
                    continue
                entry = {}
                if field["type"] == "many2one":
                    entry = {"fields": {"display_name": {}}}
                elif field["type"] in ("one2many", "many2many"):
                    sub = {}
                    for view in child:
                        if isinstance(view.tag, str) and view.tag in ("list", "kanban"):
                            walk(view, field["relation"], sub)
                    entry = {"fields": sub or {"display_name": {}}}
                    if field["type"] == "one2many":
                        entry["limit"] = 40
                spec[name] = entry
            else:
                walk(child, model, spec)
        return spec

    return walk(arch, Model._name, {"display_name": {}})


def prepare(env):
    # A user of the group (the generator makes none); rolled back with the case. (odoo.tests'
    # new_test_user does the same but logs an error when imported outside a test run.)
    advisor = (
        env["res.users"]
        .with_context(no_reset_password=True, mail_create_nolog=True)
        .create(
            {
                "login": "bench_forms_advisor",
                "name": "Bench Advisor",
                "groups_id": [(6, 0, [env.ref("base.group_user").id, env.ref("auto_crm.group_advisor").id])],
                "company_id": env.company.id,
                "company_ids": [(6, 0, [env.company.id])],
            }
        )
    )
    # A customer of the advisor's store in the middle of its table, with two cars and several visits.
    env.cr.execute(
        """SELECT v.partner_id, min(v.id) FROM auto_crm_vehicle v
            WHERE v.partner_id IS NOT NULL AND v.company_id = %(store)s
         GROUP BY v.partner_id HAVING count(*) >= 2
         ORDER BY v.partner_id
         OFFSET (SELECT count(*) / 2 FROM res_partner WHERE auto_customer AND company_id = %(store)s) / 8 LIMIT 1""",
        {"store": env.company.id},
    )
    row = env.cr.fetchone()
    if not row:
        env.cr.execute(
            "SELECT partner_id, id FROM auto_crm_vehicle WHERE partner_id IS NOT NULL AND company_id = %s "
            "ORDER BY id LIMIT 1",
            [env.company.id],
        )
        row = env.cr.fetchone()
    partner_id, vehicle_id = row
    Partner = env["res.partner"].with_user(advisor).with_context(lang="en_US", tz="Asia/Shanghai", bin_size=True)
    Vehicle = env["auto_crm.vehicle"].with_user(advisor).with_context(lang="en_US", tz="Asia/Shanghai", bin_size=True)
    return {
        "partner": Partner.browse(partner_id),
        "vehicle": Vehicle.browse(vehicle_id),
        "partner_spec": spec_from_form(Partner),
        "vehicle_spec": spec_from_form(Vehicle),
    }


def floor_partner(cr, state):
    pid = state["partner"].id
    cr.execute("SELECT * FROM res_partner WHERE id = %s", (pid,))
    row = cr.dictfetchone()
    # The display names it points at (store, customer manager), in one query.
    cr.execute(
        """SELECT c.name, (SELECT u.name FROM res_users uu JOIN res_partner u ON u.id = uu.partner_id
                             WHERE uu.id = %s)
             FROM res_company c WHERE c.id = %s""",
        (row["auto_customer_manager_id"], row["company_id"]),
    )
    cr.fetchall()
    cr.execute(
        """SELECT v.id, v.plate, v.vin, v.odometer, m.name, b.name,
                  (SELECT count(*) FROM auto_crm_service_visit s WHERE s.vehicle_id = v.id)
             FROM auto_crm_vehicle v
             LEFT JOIN fleet_vehicle_model m ON m.id = v.model_id
             LEFT JOIN fleet_vehicle_model_brand b ON b.id = v.brand_id
            WHERE v.partner_id = %s ORDER BY v.plate, v.vin""",
        (pid,),
    )
    cr.fetchall()
    cr.execute(
        """SELECT m.id, m.card_number, m.points_balance, t.name
             FROM auto_crm_loyalty_member m LEFT JOIN auto_crm_loyalty_tier t ON t.id = m.tier_id
            WHERE m.partner_id = %s""",
        (pid,),
    )
    cr.fetchall()
    cr.execute(
        """SELECT (SELECT count(*) FROM auto_crm_service_visit WHERE partner_id = %(p)s),
                  (SELECT count(*) FROM auto_crm_callback WHERE partner_id = %(p)s),
                  (SELECT max(date_reception) FROM auto_crm_service_visit WHERE partner_id = %(p)s
                      AND state != 'cancel')""",
        {"p": pid},
    )
    return cr.fetchall()


def floor_vehicle(cr, state):
    vid = state["vehicle"].id
    cr.execute(
        """SELECT v.*, p.name, m.name, b.name, c.name
             FROM auto_crm_vehicle v
             LEFT JOIN res_partner p ON p.id = v.partner_id
             LEFT JOIN fleet_vehicle_model m ON m.id = v.model_id
             LEFT JOIN fleet_vehicle_model_brand b ON b.id = v.brand_id
             LEFT JOIN res_company c ON c.id = v.company_id
            WHERE v.id = %s""",
        (vid,),
    )
    cr.fetchall()
    cr.execute(
        """SELECT o.id, o.date, o.value, o.source FROM auto_crm_vehicle_odometer o
            WHERE o.vehicle_id = %s ORDER BY o.date DESC, o.id DESC LIMIT 40""",
        (vid,),
    )
    cr.fetchall()
    cr.execute(
        """SELECT w.id, w.date_start, w.date_end, p.name FROM auto_crm_vehicle_ownership w
             JOIN res_partner p ON p.id = w.partner_id
            WHERE w.vehicle_id = %s ORDER BY w.date_start DESC, w.id DESC""",
        (vid,),
    )
    cr.fetchall()
    cr.execute(
        """SELECT s.id, s.name, s.state, s.date_appointment, s.amount_total FROM auto_crm_service_visit s
            WHERE s.vehicle_id = %s ORDER BY s.date_appointment DESC, s.id DESC LIMIT 40""",
        (vid,),
    )
    return cr.fetchall()


def cases(env):
    return [
        {
            "name": "forms: customer form as advisor",
            "prepare": prepare,
            "run": lambda env, state: state["partner"].web_read(state["partner_spec"]),
            "floor": floor_partner,
            "target": None,
            "rollback": True,
        },
        {
            "name": "forms: vehicle form as advisor",
            "prepare": prepare,
            "run": lambda env, state: state["vehicle"].web_read(state["vehicle_spec"]),
            "floor": floor_vehicle,
            "target": None,
            "rollback": True,
        },
    ]
