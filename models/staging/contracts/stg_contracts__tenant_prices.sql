{#
    The contract prices of seeds/contracts/tenant_prices.csv, typed. The
    seed is read as text so that each value is checked as written: a price
    that is not a number >= 0 with at most six decimals (the scale of the
    price list), a discount that is not a percentage from 0 to 100 with at
    most two decimals, or a day that is not YYYY-MM-DD is null here, and the
    tests of this model then stop the build, showing the row.
#}
{%- set price_pattern = '[0-9]+([.][0-9]{1,6})?' %}
{%- set percent_pattern = '[0-9]{1,3}([.][0-9]{1,2})?' %}
{%- set day_pattern = '[0-9]{4}-[0-9]{2}-[0-9]{2}' %}

with source as (
    select * from {{ ref('tenant_prices') }}
),

trimmed as (
    select
        trim(tenant_id) as tenant_id,
        trim(billing_item) as billing_item,
        upper(trim(currency)) as currency,
        nullif(trim(unit_price), '') as unit_price_text,
        nullif(trim(discount_percent), '') as discount_percent_text,
        nullif(trim(effective_from), '') as effective_from_text,
        nullif(trim(effective_to), '') as effective_to_text
    from source
),

typed as (
    select
        -- ids
        tenant_id,
        billing_item,
        currency,
        -- the price as written, and as a price per pricing unit
        unit_price_text,
        case
            when {{ text_matches('unit_price_text', price_pattern) }}
                then cast(unit_price_text as decimal(18, 6))
        end as unit_price,
        -- the discount as written, and as a percentage off the list price
        discount_percent_text,
        case
            when
                {{ text_matches('discount_percent_text', percent_pattern) }}
                and try_cast(discount_percent_text as decimal(5, 2)) <= 100
                then cast(discount_percent_text as decimal(5, 2))
        end as discount_percent,
        -- validity, [effective_from, effective_to), as written and as days
        effective_from_text,
        case
            when {{ text_matches('effective_from_text', day_pattern) }}
                then try_cast(effective_from_text as date)
        end as effective_from,
        effective_to_text,
        case
            when {{ text_matches('effective_to_text', day_pattern) }}
                then try_cast(effective_to_text as date)
        end as effective_to
    from trimmed
)

select * from typed
