with source as (
    select * from {{ ref('asr_prices') }}
),

renamed as (
    select
        -- ids
        lower(trim(vendor)) as vendor,
        -- descriptions
        vendor_name,
        billing_item,
        -- price
        upper(trim(currency)) as currency,
        price_per_hour,
        -- validity, [effective_from, effective_to)
        effective_from,
        effective_to
    from source
)

select * from renamed
