{{ config(
    incremental_strategy='append',
    upgrade_from='marts.focus_charges',
) }}

{#
    The bill lines in the shape of the FinOps FOCUS specification (1.2):
    one charge per bill line, written by the run that issues the line and
    never changed after (like the lines); marts.focus_charges shows them. Each mapping choice is described
    in _billing__models.yml and docs/analysts-and-bi.md. In short: a tenant is both the
    billing account and the sub-account; a daily bill is the invoice and
    its day the billing period; the usage day is the charge period;
    BilledCost and EffectiveCost are the line’s amount_due, ContractedCost
    and ContractedUnitPrice its exact amount and unit price as billed (a
    tenant’s contract price or discount, else the list), ListCost and
    ListUnitPrice the same at the list price. An adjustment line (a
    correction of an earlier line after a price fix) is a charge of
    ChargeCategory Adjustment and ChargeClass Correction whose costs are the
    differences, without quantities or unit prices. Columns of the
    specification that do not apply (commitments, regions, resources) are
    left out rather than filled with nulls. x_ columns are this project’s.

    FOCUS column names are PascalCase; they are quoted so that every engine
    keeps their case.
#}
{%- set q = adapter.quote %}
-- noqa: disable=RF06
with bill_line_items as (
    select * from {{ ref('issued_bill_lines') }}
),

prices as (
    select * from {{ ref('int_prices_unioned') }}
),

publishers as (
    select * from {{ ref('stg_pricing__catalog_publishers') }}
),

price_components as (
    select * from {{ ref('stg_reference__price_components') }}
),

lines as (
    select
        bill_line_items.*,
        bill_line_items.line_type = 'adjustment' as is_adjustment,
        prices.stream,
        prices.price_component,
        publishers.publisher_name,
        price_components.focus_pricing_unit,
        price_components.focus_consumed_unit,
        price_components.quantity_per_pricing_unit,
        price_components.sku_meter,
        price_components.service_name,
        price_components.service_subcategory
    from bill_line_items
    left join prices
        on
            bill_line_items.fee_type = prices.fee_type
            and bill_line_items.catalog_item = prices.catalog_item
            and bill_line_items.billing_item = prices.billing_item
            and bill_line_items.price_effective_from = prices.effective_from
    left join publishers
        on
            prices.stream = publishers.stream
            and bill_line_items.catalog_item = publishers.catalog_item
    left join price_components
        on
            prices.stream = price_components.stream
            and prices.price_component = price_components.price_component
),

final as (
    select
        tenant_id as {{ q('BillingAccountId') }},
        tenant_id as {{ q('BillingAccountName') }},
        'Tenant' as {{ q('BillingAccountType') }},
        tenant_id as {{ q('SubAccountId') }},
        tenant_id as {{ q('SubAccountName') }},
        'Tenant' as {{ q('SubAccountType') }},
        concat_ws(
            '/', cast(bill_date as string), tenant_id, currency
        ) as {{ q('InvoiceId') }},
        {{ invoice_issuer_name_literal() }} as {{ q('InvoiceIssuerName') }},
        {{ invoice_issuer_name_literal() }} as {{ q('ProviderName') }},
        publisher_name as {{ q('PublisherName') }},
        {{ billing_day_start('bill_date') }} as {{ q('BillingPeriodStart') }},
        {{ billing_day_start('bill_date + 1') }} as {{ q('BillingPeriodEnd') }},
        {{ billing_day_start('usage_date') }} as {{ q('ChargePeriodStart') }},
        {{ billing_day_start('usage_date + 1') }} as {{ q('ChargePeriodEnd') }},
        case
            when is_adjustment then 'Adjustment' else 'Usage'
        end as {{ q('ChargeCategory') }},
        case
            when is_adjustment then 'Correction'
        end as {{ q('ChargeClass') }},
        case
            when is_adjustment then 'One-Time' else 'Usage-Based'
        end as {{ q('ChargeFrequency') }},
        case
            when is_adjustment
                then
                    'Correction of '
                    || billing_item
                    || ' on '
                    || cast(usage_date as string)
                    || ' (bill of '
                    || cast(adjusted_bill_date as string)
                    || '): unit price '
                    || cast(previous_unit_price as string)
                    || ' -> '
                    || cast(unit_price as string)
            else
                billing_item
                || ' on '
                || cast(usage_date as string)
                || case
                    when is_late
                        then
                            ' (late usage, billed on '
                            || cast(bill_date as string)
                            || ')'
                    else ''
                end
        end as {{ q('ChargeDescription') }},
        currency as {{ q('BillingCurrency') }},
        amount_due as {{ q('BilledCost') }},
        amount_due as {{ q('EffectiveCost') }},
        list_amount as {{ q('ListCost') }},
        amount as {{ q('ContractedCost') }},
        {#- an adjustment is a difference of costs: no quantity is consumed
            or priced again, so its unit prices and quantities are null -#}
        case
            when not is_adjustment then list_unit_price
        end as {{ q('ListUnitPrice') }},
        case
            when not is_adjustment then unit_price
        end as {{ q('ContractedUnitPrice') }},
        'Standard' as {{ q('PricingCategory') }},
        case
            when not is_adjustment
                then {{ pricing_quantity('fee_type', 'quantity') }}
        end as {{ q('PricingQuantity') }},
        case
            when not is_adjustment then focus_pricing_unit
        end as {{ q('PricingUnit') }},
        case
            when not is_adjustment then quantity
        end as {{ q('ConsumedQuantity') }},
        case
            when not is_adjustment then focus_consumed_unit
        end as {{ q('ConsumedUnit') }},
        service_name as {{ q('ServiceName') }},
        'AI and Machine Learning' as {{ q('ServiceCategory') }},
        service_subcategory as {{ q('ServiceSubcategory') }},
        concat_ws('/', stream, catalog_item, price_component)
            as {{ q('SkuId') }},
        concat_ws(
            '/',
            stream,
            catalog_item,
            price_component,
            cast(price_effective_from as string)
        ) as {{ q('SkuPriceId') }},
        {#- the properties every charge of a SkuPriceId shares, as JSON -#}
        concat(
            '{"BillingItem": ', {{ json_string('billing_item') }},
            ', "CatalogItem": ', {{ json_string('catalog_item') }},
            ', "PriceComponent": ', {{ json_string('price_component') }},
            ', "ConsumedUnit": ', {{ json_string('focus_consumed_unit') }},
            ', "ConsumedUnitsPerPricingUnit": ',
            cast(quantity_per_pricing_unit as string),
            ', "ListUnitPrice": ', cast(list_unit_price as string),
            ', "PriceEffectiveFrom": ',
            {{ json_string('cast(price_effective_from as string)') }},
            '}'
        ) as {{ q('SkuPriceDetails') }},
        sku_meter as {{ q('SkuMeter') }},
        bill_date as {{ q('x_BillDate') }},
        usage_date as {{ q('x_UsageDate') }},
        is_late as {{ q('x_IsLate') }},
        billing_item as {{ q('x_BillingItem') }},
        event_count as {{ q('x_EventCount') }},
        billing_run_id as {{ q('x_BillingRunId') }},
        issued_at as {{ q('x_IssuedAt') }},
        adjusted_bill_date as {{ q('x_AdjustedBillDate') }}
    from lines
)

select * from final
