{#
    The bill lines in the shape of the FinOps FOCUS specification (1.2),
    one charge per line, written with the line (ledger.issued_focus_charges;
    its mapping is described there and in docs/analysts-and-bi.md).
#}
{%- set q = adapter.quote %}
-- noqa: disable=RF06
with issued_focus_charges as (
    select * from {{ ledger_state(ref('issued_focus_charges')) }}
),

final as (
    select
        {{ q("BillingAccountId") }},
        {{ q("BillingAccountName") }},
        {{ q("BillingAccountType") }},
        {{ q("SubAccountId") }},
        {{ q("SubAccountName") }},
        {{ q("SubAccountType") }},
        {{ q("InvoiceId") }},
        {{ q("InvoiceIssuerName") }},
        {{ q("ProviderName") }},
        {{ q("PublisherName") }},
        {{ q("BillingPeriodStart") }},
        {{ q("BillingPeriodEnd") }},
        {{ q("ChargePeriodStart") }},
        {{ q("ChargePeriodEnd") }},
        {{ q("ChargeCategory") }},
        {{ q("ChargeClass") }},
        {{ q("ChargeFrequency") }},
        {{ q("ChargeDescription") }},
        {{ q("BillingCurrency") }},
        {{ q("BilledCost") }},
        {{ q("EffectiveCost") }},
        {{ q("ListCost") }},
        {{ q("ContractedCost") }},
        {{ q("ListUnitPrice") }},
        {{ q("ContractedUnitPrice") }},
        {{ q("PricingCategory") }},
        {{ q("PricingQuantity") }},
        {{ q("PricingUnit") }},
        {{ q("ConsumedQuantity") }},
        {{ q("ConsumedUnit") }},
        {{ q("ServiceName") }},
        {{ q("ServiceCategory") }},
        {{ q("ServiceSubcategory") }},
        {{ q("SkuId") }},
        {{ q("SkuPriceId") }},
        {{ q("SkuPriceDetails") }},
        {{ q("SkuMeter") }},
        {{ q("x_BillDate") }},
        {{ q("x_UsageDate") }},
        {{ q("x_IsLate") }},
        {{ q("x_BillingItem") }},
        {{ q("x_EventCount") }},
        {{ q("x_BillingRunId") }},
        {{ q("x_IssuedAt") }},
        {{ q("x_AdjustedBillDate") }}
    from issued_focus_charges
)

select * from final
