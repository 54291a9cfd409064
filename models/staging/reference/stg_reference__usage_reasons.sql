with source as (
    select * from {{ ref('usage_reasons') }}
),

renamed as (
    select
        reason,
        status,
        description as reason_description
    from source
)

select * from renamed
