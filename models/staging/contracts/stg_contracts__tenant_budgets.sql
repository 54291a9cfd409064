{#
    The budgets of seeds/contracts/tenant_budgets.csv, typed. The seed is
    read as text so that each value is checked as written: budget_month and
    budget_amount are null for a month that is not YYYY-MM and an amount
    that is not a plain number with at most two decimals, and the tests of
    this model then stop the build, showing the row.
#}
{%- set month_pattern = '[0-9]{4}-(0[1-9]|1[0-2])' %}
{%- set amount_pattern = '[0-9]+([.][0-9]{1,2})?' %}

with source as (
    select * from {{ ref('tenant_budgets') }}
),

renamed as (
    select
        -- ids
        source.tenant_id,
        upper(trim(source.currency)) as currency,
        -- the month as written, and its first day
        source.month as month_text,
        case
            when
                {{ text_matches('trim(source.month)', month_pattern) }}
                then cast(concat(trim(source.month), '-01') as date)
        end as budget_month,
        -- the budget as written, and as an amount
        source.budget_amount as budget_amount_text,
        case
            when
                {{ text_matches('trim(source.budget_amount)', amount_pattern) }}
                then cast(trim(source.budget_amount) as decimal(38, 2))
        end as budget_amount
    from source
)

select * from renamed
