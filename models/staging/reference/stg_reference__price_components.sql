with source as (
    select * from {{ ref('price_components') }}
),

renamed as (
    select
        stream,
        price_component,
        fee_type,
        quantity_unit,
        pricing_unit,
        quantity_per_pricing_unit,
        focus_pricing_unit,
        focus_consumed_unit,
        sku_meter,
        service_name,
        service_subcategory
    from source
)

select * from renamed
