with source as (
    select * from {{ ref('model_aliases') }}
),

renamed as (
    select
        lower(trim(reported_model)) as reported_model,
        lower(trim(model)) as model,
        lower(trim(match_type)) as match_type
    from source
)

select * from renamed
