{#
    One row: a fingerprint of the price list and model aliases this run
    prices with. The ledger stamps every record it classifies with it (an
    unpriced record is looked at again when it changes), and billing_runs
    records the version each run billed with (shown by billing status).
#}
with prices as (
    select * from {{ ref('int_prices_unioned') }}
),

model_aliases as (
    select * from {{ ref('stg_pricing__model_aliases') }}
),

price_list as (
    select
        {{ sorted_text_agg(
            "concat_ws('|', stream, catalog_item, price_component, currency,"
            ~ " cast(unit_price as string), cast(effective_from as string),"
            ~ " cast(effective_to as string))",
            ','
        ) }} as price_list_text
    from prices
),

alias_list as (
    select
        {{ sorted_text_agg(
            "concat_ws('>', match_type, reported_model, model)", ','
        ) }}
            as alias_list_text
    from model_aliases
),

final as (
    select
        md5(
            coalesce(price_list.price_list_text, '')
            || '#'
            || coalesce(alias_list.alias_list_text, '')
        ) as catalog_version
    from price_list
    cross join alias_list
)

select * from final
