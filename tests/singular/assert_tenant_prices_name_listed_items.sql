-- Every contract price (seed tenant_prices) names a billing item of the
-- price list in the currency the list prices it in: a contract changes the
-- price of an item, never its currency, and prices nothing the list does not.
-- A failing row is the seed row, with the currencies the list has for it.
with tenant_prices as (
    select * from {{ ref('stg_contracts__tenant_prices') }}
),

list_items as (
    select
        billing_item,
        currency
    from {{ ref('int_prices_unioned') }}
    where unit_price is not null
    group by billing_item, currency
)

select
    tenant_prices.tenant_id,
    tenant_prices.billing_item,
    tenant_prices.currency,
    tenant_prices.effective_from_text,
    {{ sorted_text_agg('listed.currency', ', ') }} as listed_currencies
from tenant_prices
left join list_items as listed
    on tenant_prices.billing_item = listed.billing_item
group by
    tenant_prices.tenant_id,
    tenant_prices.billing_item,
    tenant_prices.currency,
    tenant_prices.effective_from_text
having
    count(
        case when listed.currency = tenant_prices.currency then 1 end
    ) = 0
