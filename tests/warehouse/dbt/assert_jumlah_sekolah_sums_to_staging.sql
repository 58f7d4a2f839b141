-- The open mart counts every school of the latest batch exactly once: its total equals the
-- staging row count (no school dropped by a join, none counted twice).
with

mart as (
    select coalesce(sum(jumlah_sekolah), 0) as jumlah_sekolah
    from {{ ref('jumlah_sekolah_per_kecamatan') }}
),

staging as (
    select count(*) as jumlah_sekolah
    from {{ ref('stg_disdik__sekolah') }}
)

select
    mart.jumlah_sekolah as jumlah_di_mart,
    staging.jumlah_sekolah as jumlah_di_staging
from mart
cross join staging
where mart.jumlah_sekolah != staging.jumlah_sekolah
