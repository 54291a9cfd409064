{#
    One row per calendar day, the time spine MetricFlow joins metrics to
    (`mf query ... --group-by metric_time__day`). A view: nothing is stored.
#}
with days as (
    {{ dbt.date_spine(
        datepart='day',
        start_date="cast('2020-01-01' as date)",
        end_date="cast('2040-01-01' as date)",
    ) }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
