{#
    One row per run that closed billing days: the days from closed_from to
    closed_through (billing_date) are closed, their bills issued. A run whose
    billing_date is already closed adds no row. Built after the bills, so a
    day counts as closed only once its bills exist. The zone of the first
    row is the zone of the warehouse (see macros/config/billing_guards.sql).
#}
{%- set last_closed = last_closed_day() %}

with issued_bills as (
    select * from {{ ref('issued_bills') }}
),

catalog_version as (
    select * from {{ ref('int_catalog_version') }}
),

this_run as (
    select
        {{ last_closed_day_literal() }} + 1 as closed_from,
        {{ billing_date_literal() }} as closed_through,
        '{{ billing_run_id() }}' as billing_run_id,
        {{ run_started_at_literal() }} as run_started_at,
        (select count(*) from issued_bills) as bills_issued,
        {{ billing_timezone_literal() }} as billing_timezone,
        (
            select catalog_version.catalog_version from catalog_version
        ) as catalog_version
),

final as (
    select
        closed_from,
        closed_through,
        billing_run_id,
        run_started_at,
        bills_issued,
        billing_timezone,
        catalog_version
    from this_run
    {%- if last_closed is not none %}
    where closed_through > date '{{ last_closed }}'
    {%- endif %}
)

select * from final
