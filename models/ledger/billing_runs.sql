{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
) }}

{#
    One row per run that closed billing days: the days from closed_from to
    closed_through (billing_date) are closed, their bills issued. A run whose
    billing_date is already closed adds no row. Built after the bills, so a
    day counts as closed only once its bills exist.
#}
{%- set last_closed = last_closed_day() %}

with issued_bills as (
    select * from {{ ref('daily_bills') }}
    where billing_run_id = '{{ billing_run_id() }}'
),

this_run as (
    select
        {{ last_closed_day_literal() }} + 1 as closed_from,
        {{ billing_date_literal() }} as closed_through,
        '{{ billing_run_id() }}' as billing_run_id,
        {{ run_started_at_literal() }} as run_started_at,
        (select count(*) from issued_bills) as bills_issued
),

final as (
    select
        closed_from,
        closed_through,
        billing_run_id,
        run_started_at,
        bills_issued
    from this_run
    {%- if last_closed is not none %}
    where closed_through > date '{{ last_closed }}'
    {%- endif %}
)

select * from final
