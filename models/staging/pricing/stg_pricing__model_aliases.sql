with source as (
    select * from {{ ref('model_aliases') }}
),

renamed as (
    select
        lower(trim(reported_model)) as reported_model,
        lower(trim(model)) as model
    from source
)

select * from renamed
