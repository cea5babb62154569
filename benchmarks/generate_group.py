"""Add a dealer group of GROUP_STORES stores holding GROUP_VISITS service visits to a generated database, for the
group figures (issue 15: 200 stores, 10,000,000 visits).

Run it in Odoo's shell after ``benchmarks/generate_data.py`` (``tools/dev bench --size group`` does both):

    GROUP_STORES=200 GROUP_VISITS=10000000 tools/dev odoo shell -d DB --no-http < benchmarks/generate_group.py

What it makes:

- the group company (``Dealer Group``) and GROUP_STORES stores whose ``parent_id`` it is, through the ORM as an
  administrator creates them (the main store's currency and time zone), and the group's satisfaction weighting:
  a copy of the main store's active one, activated at the group (the stores inherit it);
- GROUP_VISITS visits spread evenly over the stores (store = n mod GROUP_STORES), each a copy of one of the
  generator's visits (drawn by n x 7919 mod their number) with every stored column as it is (state, stamps,
  amounts, customer, car, advisor) but its own number and store; the cars and customers stay the generator's
  (the group's shared archive), lines, readings and ledger entries are not copied (the group figures read the
  visits' stored totals);
- for one copied visit in GROUP_CALLBACK_EVERY (4; by id) whose source has callbacks closed as done, failed or
  expired, a copy of each (state, due date, scores, index) in the visit's store with the visit as its source, the
  index weighed with the group's weighting (attempts and answers are not copied: a closed callback counts as
  executed anyway);
- one complaint per 100 visits (by visit id), received the day after the visit's delivery, with a 72-hour
  resolution deadline; resolved after 0 to 4 days (so one in five past its deadline, one in ten never resolved),
  closed a day after it was resolved.

Everything is bulk SQL (``INSERT ... SELECT`` over ``generate_series``) with the triggers off during the load
(``session_replication_role = replica``: the foreign keys are those of rows that exist) and the secondary indexes
of the three tables dropped during the load and built again after it (their definitions read from
``pg_indexes``; the unique ones and the constraints stay), committed per batch of 1,000,000 visits; ANALYZE at
the end. The checks at the end count what must be 0 and exit 1 when one is not.
"""

import os
import sys
import time

env = globals()["env"]  # provided by `odoo-bin shell`
env = env(context=dict(env.context, tracking_disable=True, mail_notrack=True, mail_create_nolog=True))
cr = env.cr
STORES = int(os.environ.get("GROUP_STORES", "200"))
VISITS = int(os.environ.get("GROUP_VISITS", "10000000"))
BATCH = 1_000_000
#: the callbacks of one copied visit in CALLBACK_EVERY (by id) are copied with it
CALLBACK_EVERY = int(os.environ.get("GROUP_CALLBACK_EVERY", "4"))
GROUP_NAME = "Dealer Group"
started = time.time()


def say(message):
    print(f"  {message} ({time.time() - started:.0f}s)", flush=True)


def scalar(query, params=None):
    cr.execute(query, params)
    return cr.fetchone()[0]


def copied_columns(table, excluded):
    """The column lists ("a", "b" and src."a", src."b") of ``table``'s columns a copy takes as they are."""
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_name = %s AND column_name <> ALL(%s) ORDER BY ordinal_position""",
        [table, list(excluded)],
    )
    names = [row[0] for row in cr.fetchall()]
    return ", ".join(f'"{c}"' for c in names), ", ".join(f'src."{c}"' for c in names)


# --- the group and its stores, through the ORM --------------------------------------------------------
main_store = env.company
Company = env["res.company"].sudo()
group = Company.search([("name", "=", GROUP_NAME)], limit=1)
if group:
    print(f"{GROUP_NAME} already exists: nothing to add")
    sys.exit(0)
group = Company.create({"name": GROUP_NAME, "currency_id": main_store.currency_id.id})
stores = Company.browse()
for number in range(1, STORES + 1):
    stores |= Company.create(
        {
            "name": f"{GROUP_NAME} Store {number:03d}",
            "parent_id": group.id,
            "currency_id": main_store.currency_id.id,
            "auto_crm_tz": main_store.auto_crm_tz,
        }
    )
    if number % 50 == 0:
        say(f"{number} stores")
env.user.sudo().write({"company_ids": [(4, company.id) for company in group | stores]})
Hierarchy = env["auto_crm.csi.hierarchy"].sudo()
index = Hierarchy.search([("company_id", "=", main_store.id), ("state", "=", "active")], limit=1)
weighting = index.with_company(group)._copy_as_draft(group)
weighting.action_activate()
env.flush_all()
cr.commit()
say(f"{GROUP_NAME} (id {group.id}) and {len(stores)} stores, weighting {weighting.id}")

# --- the secondary indexes of the loaded tables are dropped during the load and built again after it --------
LOADED = ("auto_crm_service_visit", "auto_crm_callback", "auto_crm_complaint")
cr.execute(
    """SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
          AND i.indexdef NOT LIKE 'CREATE UNIQUE INDEX%%'""",
    [list(LOADED)],
)
secondary = cr.fetchall()
for name, _definition in secondary:
    cr.execute(f'DROP INDEX "{name}"')
cr.commit()
say(f"{len(secondary)} secondary indexes dropped for the load")
cr.execute("SET synchronous_commit = off")

# --- visits ------------------------------------------------------------------------------------------------
cr.execute("CREATE TABLE IF NOT EXISTS group_gen_store (n integer PRIMARY KEY, company_id integer)")
cr.execute("TRUNCATE group_gen_store")
cr.execute(
    "INSERT INTO group_gen_store SELECT n - 1, id FROM unnest(%s::int[]) WITH ORDINALITY AS s(id, n)", [stores.ids]
)
cr.execute("CREATE TABLE IF NOT EXISTS group_gen_source (rn integer PRIMARY KEY, id integer)")
cr.execute("TRUNCATE group_gen_source")
cr.execute(
    """INSERT INTO group_gen_source
       SELECT row_number() OVER (ORDER BY id) - 1, id FROM auto_crm_service_visit WHERE company_id = %s""",
    [main_store.id],
)
sources = cr.rowcount
columns, source_columns = copied_columns(
    "auto_crm_service_visit", ("id", "name", "company_id", "create_date", "write_date")
)
max_visit = scalar("SELECT max(id) FROM auto_crm_service_visit")
cr.execute("ANALYZE group_gen_store, group_gen_source")
for first in range(0, VISITS, BATCH):
    last = min(first + BATCH, VISITS) - 1
    cr.execute("SET LOCAL session_replication_role = replica")
    cr.execute(
        f"""INSERT INTO auto_crm_service_visit ({columns}, name, company_id, create_date, write_date)
            SELECT {source_columns}, 'G/' || lpad(g::text, 8, '0'), st.company_id, now(), now()
              FROM generate_series(%(first)s, %(last)s) AS g
              JOIN group_gen_store st ON st.n = g %% %(stores)s
              JOIN group_gen_source map ON map.rn = (g::bigint * 7919) %% %(sources)s
              JOIN auto_crm_service_visit src ON src.id = map.id""",
        {"first": first, "last": last, "stores": STORES, "sources": sources},
    )
    cr.commit()
    say(f"{last + 1:,} visits")

# --- callbacks of the copied visits ------------------------------------------------------------------------
columns, source_columns = copied_columns(
    "auto_crm_callback",
    ("id", "name", "company_id", "source_id", "csi_hierarchy_id", "create_date", "write_date"),
)
has_name = scalar(
    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'auto_crm_callback' AND column_name = 'name'"
)
cr.execute("SET LOCAL session_replication_role = replica")
cr.execute(
    f"""INSERT INTO auto_crm_callback ({columns}, {"name, " if has_name else ""}company_id, source_id,
                                       csi_hierarchy_id, create_date, write_date)
        SELECT {source_columns}, {"'G/' || v.id, " if has_name else ""}v.company_id, v.id,
               CASE WHEN src.csi_hierarchy_id IS NULL THEN NULL ELSE %(weighting)s END, now(), now()
          FROM auto_crm_service_visit v
          JOIN group_gen_source map ON map.rn = ((v.id - %(max_visit)s - 1)::bigint * 7919) %% %(sources)s
          JOIN auto_crm_callback src
            ON src.source_model = 'auto_crm.service.visit' AND src.source_id = map.id
           AND src.state IN ('done', 'failed', 'expired')
         WHERE v.id > %(max_visit)s AND v.id %% %(every)s = 0""",
    {"weighting": weighting.id, "max_visit": max_visit, "sources": sources, "every": CALLBACK_EVERY},
)
callbacks = cr.rowcount
cr.commit()
say(f"{callbacks:,} callbacks")

# --- complaints ----------------------------------------------------------------------------------------------
cr.execute("SET LOCAL session_replication_role = replica")
cr.execute(
    """INSERT INTO auto_crm_complaint (name, subject, company_id, partner_id, vehicle_id, state, channel, severity,
                                       active, date_received, deadline_resolve, date_resolved, date_closed,
                                       create_uid, create_date, write_uid, write_date)
       SELECT 'GC/' || v.id, 'Noise after the service', v.company_id, v.partner_id, v.vehicle_id,
              CASE WHEN v.id %% 1000 < 100 THEN 'new' ELSE 'closed' END, 'phone', 'general', TRUE,
              rec.received, rec.received + interval '72 hours',
              CASE WHEN v.id %% 1000 < 100 THEN NULL
                   ELSE rec.received + make_interval(days => ((v.id / 100) %% 5)::int) END,
              CASE WHEN v.id %% 1000 < 100 THEN NULL
                   ELSE rec.received + make_interval(days => ((v.id / 100) %% 5)::int + 1) END,
              %(uid)s, now(), %(uid)s, now()
         FROM auto_crm_service_visit v
        CROSS JOIN LATERAL (SELECT v.date_delivered + interval '1 day' AS received) rec
        WHERE v.id > %(max_visit)s AND v.id %% 100 = 0 AND v.date_delivered IS NOT NULL""",
    {"uid": env.uid, "max_visit": max_visit},
)
complaints = cr.rowcount
cr.execute("DROP TABLE group_gen_store")
cr.execute("DROP TABLE group_gen_source")
cr.commit()
say(f"{complaints:,} complaints")
cr.execute("SET maintenance_work_mem = '1GB'")
for _name, definition in secondary:
    cr.execute(definition)
    cr.commit()
say(f"{len(secondary)} secondary indexes built again")
cr.execute("ANALYZE auto_crm_service_visit, auto_crm_callback, auto_crm_complaint, res_company")
cr.commit()
say("analysed")

# --- checks (each must count 0) ------------------------------------------------------------------------------
CHECKS = [
    (
        "visits short of the target",
        f"SELECT GREATEST({VISITS} - count(*), 0) FROM auto_crm_service_visit v "
        f"JOIN res_company c ON c.id = v.company_id WHERE c.parent_id = {group.id}",
    ),
    (
        "stores without visits",
        f"SELECT count(*) FROM res_company c WHERE c.parent_id = {group.id} "
        "AND NOT EXISTS (SELECT 1 FROM auto_crm_service_visit v WHERE v.company_id = c.id)",
    ),
    (
        "duplicate repair order numbers in a store",
        "SELECT count(*) FROM (SELECT 1 FROM auto_crm_service_visit GROUP BY company_id, name HAVING count(*) > 1) d",
    ),
    (
        "callbacks in another store than their visit",
        f"SELECT count(*) FROM auto_crm_callback c JOIN auto_crm_service_visit v ON v.id = c.source_id "
        f"AND c.source_model = 'auto_crm.service.visit' WHERE v.id > {max_visit} AND c.company_id <> v.company_id",
    ),
    (
        "complaints closed without being resolved, or before they were received",
        "SELECT count(*) FROM auto_crm_complaint WHERE name LIKE 'GC/%%' AND date_closed IS NOT NULL "
        "AND (date_resolved IS NULL OR date_closed < date_received)",
    ),
]
failed = 0
for label, query in CHECKS:
    count = scalar(query)
    print(f"  check {label}: {count}")
    failed += bool(count)
print(
    f"group: {len(stores)} stores, {VISITS:,} visits, {callbacks:,} callbacks, {complaints:,} complaints "
    f"in {time.time() - started:.0f}s"
)
sys.exit(1 if failed else 0)
