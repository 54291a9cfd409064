-- Every reason this run gave a record is one of seeds/reference/usage_reasons
-- (what analysts read beside it), under the status it goes with.
select
    usage_records.status,
    usage_records.reason,
    count(*) as records
from {{ ref('usage_records') }} as usage_records
left join {{ ref('stg_reference__usage_reasons') }} as reasons
    on usage_records.reason = reasons.reason
where
    usage_records.reason is not null
    and (
        reasons.reason is null
        or reasons.status <> usage_records.status
    )
group by usage_records.status, usage_records.reason
