"""Group loyalty (18.0.1.2.0): a programme may belong to a dealer group and cover its stores.

The record rules of the loyalty models are ``noupdate`` data: the update does not rewrite them. Their
new domains (a store's users read their group programme's members, tiers, tier changes and ledger lines) are
written here. The member's ``company_id`` (related to its programme's store until now, stored) keeps its
values: every existing programme is a store's, whose members' store is the programme's. The ledger's
``company_id`` (related to the member's store until now, stored) keeps its values too: from now on it is
the store where each entry happened."""

RULES = {
    "auto_crm_loyalty_program_rule_company": (
        "Loyalty programmes: stores of the user and their group's programme",
        "['|', ('company_id', 'in', company_ids), '&', "
        "('is_group_program', '=', True), ('company_id', 'parent_of', company_ids)]",
    ),
    "auto_crm_loyalty_tier_rule_company": (
        "Loyalty tiers: stores of the user and their group's programme",
        "['|', ('company_id', 'in', company_ids), '&', "
        "('program_id.is_group_program', '=', True), ('company_id', 'parent_of', company_ids)]",
    ),
    "auto_crm_loyalty_member_rule_company": (
        "Loyalty members: stores of the user and their group programme's members",
        "['|', ('company_id', 'in', company_ids), '&', "
        "('program_id.is_group_program', '=', True), ('program_id.company_id', 'parent_of', company_ids)]",
    ),
    "auto_crm_loyalty_ledger_rule_company": (
        "Points ledger: stores of the user and their group programme's entries",
        "['|', ('company_id', 'in', company_ids), '&', "
        "('program_id.is_group_program', '=', True), ('program_id.company_id', 'parent_of', company_ids)]",
    ),
    "auto_crm_loyalty_tier_history_rule_company": (
        "Tier changes: stores of the user and their group programme's members",
        "['|', ('company_id', 'in', company_ids), '&', "
        "('member_id.program_id.is_group_program', '=', True), "
        "('member_id.program_id.company_id', 'parent_of', company_ids)]",
    ),
}


def migrate(cr, version):
    if not version:
        return
    for xmlid, (name, domain) in RULES.items():
        cr.execute(
            "UPDATE ir_rule SET name = %s, domain_force = %s WHERE id IN (SELECT res_id FROM ir_model_data "
            "WHERE module = 'auto_crm' AND model = 'ir.rule' AND name = %s)",
            (name, domain, xmlid),
        )
