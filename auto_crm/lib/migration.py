"""Helpers for the add-on's migration scripts (plain SQL: they run before the registry is loaded). Kept out of
migrations/, where Odoo takes every folder (a __pycache__ too, once pip compiles the wheel) for a version."""


def column_exists(cr, table, column):
    cr.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s", (table, column))
    return bool(cr.fetchone())


def rename_field(cr, model, old, new):
    """Rename a stored field in place: its column, its ir.model.fields row (so tracking history and
    exports that point at it follow) and the XML id of that row. Does nothing when already done."""
    table = model.replace(".", "_")
    if column_exists(cr, table, old) and not column_exists(cr, table, new):
        # identifiers cannot be parameters; they are the migration scripts' own constants, quoted
        cr.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{old}" TO "{new}"')  # pylint: disable=sql-injection
    cr.execute("UPDATE ir_model_fields SET name = %s WHERE model = %s AND name = %s", (new, model, old))
    old_xmlid = f"field_{table}__{old}"
    new_xmlid = f"field_{table}__{new}"
    cr.execute(
        "UPDATE ir_model_data SET name = %s WHERE module = 'auto_crm' AND model = 'ir.model.fields' AND name = %s",
        (new_xmlid, old_xmlid),
    )
    # The XML ids of a selection field's values carry the field's name; without this, the values
    # would look orphaned at the end of the update and be deleted.
    cr.execute(
        "UPDATE ir_model_data SET name = %s || substr(name, %s) "
        "WHERE module = 'auto_crm' AND model = 'ir.model.fields.selection' AND name LIKE %s",
        (
            f"selection__{table}__{new}__",
            len(f"selection__{table}__{old}__") + 1,
            f"selection\\_\\_{table}\\_\\_{old}\\_\\_%",
        ),
    )
