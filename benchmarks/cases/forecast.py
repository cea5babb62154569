"""Benchmark case of the nightly service forecast of auto_crm: the job, as its cron calls it, against a
set-based floor written by hand.

- *nightly: service forecast* — ``auto_crm.vehicle._cron_service_forecast()``: every active car's usual
  km per day (Theil-Sen over its last 24 readings, a replaced odometer starting a new series), the
  fallback averages for the cars with fewer than two readings, the next service by mileage or time
  and the explanation, written back in one UPDATE per batch (one fetch query per batch), through the
  job runner (lock, run log).
- The floor: the same figures in ONE statement with the default plan's intervals pasted in (the
  generator makes no other plan): the readings numbered per car, the series by a running count of
  replacements, every pair's slope, the median by ``percentile_cont``, the last maintenance reading,
  the milestones, the next annual inspection by the default plan's schedule, and the UPDATE with a
  short note made by ``format()``.

Runs and floors are rolled back after each repetition (every repetition writes every car).

A plain Python file loaded by path (``tools/dev bench``); the ``cases(env)`` interface is the one of
every file of ``benchmarks/cases``.
"""

from odoo.tools import SQL

from odoo.addons.auto_crm.lib.forecast import MAX_READINGS


def prepare(env):
    env.flush_all()
    plan = env.ref("auto_crm.auto_crm_service_plan_default")
    return {
        "plan": {
            name: plan[name]
            for name in (
                "first_service_km",
                "first_service_months",
                "interval_km",
                "interval_months",
                "default_km_per_day",
                "inspection_first_years",
                "inspection_second_years",
                "inspection_interval_months",
                "inspection_old_years",
                "inspection_old_interval_months",
            )
        },
        "today": env.company._auto_crm_today(),
        "uid": env.uid,
    }


def floor(cr, state):
    """The forecast of every active car in one statement."""
    p = state["plan"]
    cr.execute(
        SQL(
            """
            WITH readings AS MATERIALIZED (
                SELECT vehicle_id, date, MAX(value) AS value, BOOL_OR(is_replacement) AS replaced
                  FROM (SELECT vehicle_id, date, value, is_replacement,
                               ROW_NUMBER() OVER (PARTITION BY vehicle_id ORDER BY date DESC, id DESC) AS rn
                          FROM auto_crm_vehicle_odometer) o
                 WHERE rn <= %(max)s
                 GROUP BY vehicle_id, date
            ), series AS (
                SELECT *, SUM(replaced::int) OVER (PARTITION BY vehicle_id ORDER BY date) AS part FROM readings
            ), rates AS (
                SELECT a.vehicle_id,
                       GREATEST(PERCENTILE_CONT(0.5) WITHIN GROUP (
                           ORDER BY (b.value - a.value)::float8 / (b.date - a.date)), 0) AS rate,
                       COUNT(DISTINCT a.date) + 1 AS used
                  FROM series a JOIN series b ON b.vehicle_id = a.vehicle_id AND b.part = a.part AND b.date > a.date
                 GROUP BY a.vehicle_id
            ), last AS (
                SELECT DISTINCT ON (vehicle_id) vehicle_id, date, value FROM readings ORDER BY vehicle_id, date DESC
            ), service AS (
                SELECT DISTINCT ON (o.vehicle_id) o.vehicle_id, o.date, o.value
                  FROM auto_crm_vehicle_odometer o JOIN auto_crm_service_visit sv ON sv.id = o.visit_id
                 WHERE sv.visit_type = 'maintenance' AND sv.state != 'cancel'
                 ORDER BY o.vehicle_id, o.date DESC, o.id DESC
            ), averages AS (
                SELECT v.model_id, v.company_id, AVG(r.rate) OVER (PARTITION BY v.model_id) AS by_model,
                       AVG(r.rate) OVER (PARTITION BY v.company_id) AS by_store
                  FROM rates r JOIN auto_crm_vehicle v ON v.id = r.vehicle_id
            ), by_model AS (SELECT DISTINCT model_id, by_model FROM averages),
               by_store AS (SELECT DISTINCT company_id, by_store FROM averages),
            cars AS (
                SELECT v.id, v.purchase_date, l.date AS last_date, COALESCE(l.value, 0) AS last_value,
                       s.date AS service_date, s.value AS service_km,
                       ROUND(COALESCE(r.rate, m.by_model, st.by_store, %(default_rate)s)::numeric, 1)::float8 AS rate,
                       CASE WHEN r.rate IS NOT NULL THEN 'own' WHEN m.by_model IS NOT NULL THEN 'model'
                            WHEN st.by_store IS NOT NULL THEN 'store' ELSE 'plan' END AS source,
                       COALESCE(r.used, 0) AS used
                  FROM auto_crm_vehicle v
                  LEFT JOIN rates r ON r.vehicle_id = v.id
                  LEFT JOIN last l ON l.vehicle_id = v.id
                  LEFT JOIN service s ON s.vehicle_id = v.id
                  LEFT JOIN by_model m ON m.model_id = v.model_id
                  LEFT JOIN by_store st ON st.company_id = v.company_id
                 WHERE v.active
            ), targets AS (
                SELECT c.*,
                       CASE WHEN c.service_date IS NOT NULL THEN c.service_km + %(interval_km)s
                            WHEN c.last_value <= %(first_km)s THEN %(first_km)s
                            ELSE %(first_km)s + CEIL((c.last_value - %(first_km)s)::numeric / %(interval_km)s)::int
                                                * %(interval_km)s END AS next_km,
                       CASE WHEN c.service_date IS NOT NULL
                            THEN (c.service_date + make_interval(months => %(interval_months)s))::date
                            WHEN c.purchase_date IS NOT NULL
                            THEN (c.purchase_date + make_interval(months => %(first_months)s + %(interval_months)s
                                  * GREATEST(0, CEIL((EXTRACT(YEAR FROM a.age) * 12 + EXTRACT(MONTH FROM a.age)
                                        + (EXTRACT(DAY FROM a.age) > 0)::int - %(first_months)s)
                                        / %(interval_months)s))::int))::date END AS time_date
                  FROM cars c, LATERAL (SELECT AGE(COALESCE(c.last_date, c.purchase_date), c.purchase_date) AS age) a
            ), forecast AS (
                SELECT t.*,
                       CASE WHEN t.rate > 0 AND COALESCE(t.last_date, t.purchase_date) IS NOT NULL
                            THEN COALESCE(t.last_date, t.purchase_date) + CEIL((t.next_km - t.last_value) / t.rate)::int
                       END AS km_date
                  FROM targets t
            )
            UPDATE auto_crm_vehicle v
               SET next_service_date = LEAST(f.km_date, f.time_date), next_service_mileage = f.next_km,
                   km_per_day = f.rate, km_per_day_source = f.source,
                   next_inspection_date = CASE
                       WHEN f.purchase_date IS NULL THEN NULL
                       WHEN f.purchase_date + make_interval(years => %(i_first)s) >= %(today)s
                       THEN (f.purchase_date + make_interval(years => %(i_first)s))::date
                       WHEN f.purchase_date + make_interval(years => %(i_second)s) >= %(today)s
                       THEN (f.purchase_date + make_interval(years => %(i_second)s))::date
                       WHEN f.purchase_date + make_interval(years => %(i_old)s) >= %(today)s
                       THEN (f.purchase_date + make_interval(years => %(i_second)s, months => %(i_every)s
                             * CEIL((EXTRACT(YEAR FROM AGE(%(today)s, f.purchase_date)) * 12
                                     + EXTRACT(MONTH FROM AGE(%(today)s, f.purchase_date)) + 1
                                     - 12 * %(i_second)s) / %(i_every)s)::int))::date
                       ELSE (f.purchase_date + make_interval(years => %(i_old)s, months => %(i_old_every)s
                             * CEIL((EXTRACT(YEAR FROM AGE(%(today)s, f.purchase_date)) * 12
                                     + EXTRACT(MONTH FROM AGE(%(today)s, f.purchase_date)) + 1
                                     - 12 * %(i_old)s) / %(i_old_every)s)::int))::date END,
                   service_forecast_note = format(%(note)s,
                                                  round(f.rate::numeric), f.used, f.next_km, f.km_date, f.time_date),
                   write_uid = %(uid)s, write_date = NOW() AT TIME ZONE 'UTC'
              FROM forecast f
             WHERE v.id = f.id
               AND (v.next_service_date, v.next_service_mileage, v.km_per_day::float8, v.km_per_day_source)
                   IS DISTINCT FROM (LEAST(f.km_date, f.time_date), f.next_km, f.rate, f.source)
            """,
            max=MAX_READINGS,
            default_rate=p["default_km_per_day"],
            first_km=p["first_service_km"],
            first_months=p["first_service_months"],
            interval_km=p["interval_km"],
            interval_months=p["interval_months"],
            uid=state["uid"],
            note="~%s km/day from %s readings; %s km around %s; %s",
            today=state["today"],
            i_first=p["inspection_first_years"],
            i_second=p["inspection_second_years"],
            i_every=p["inspection_interval_months"],
            i_old=p["inspection_old_years"],
            i_old_every=p["inspection_old_interval_months"],
        )
    )


def cases(env):
    env.cr.execute("SELECT COUNT(*) FROM auto_crm_vehicle WHERE active")
    cars = env.cr.fetchone()[0]
    return [
        {
            "name": "nightly: service forecast",
            "prepare": prepare,
            "run": lambda env, state: env["auto_crm.vehicle"]._cron_service_forecast(),
            "floor": floor,
            "target": 2.0,
            "rollback": True,
            "n": cars,
        },
    ]
