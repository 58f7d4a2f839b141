-- Enrolment per school and school year. Disdik sends one workbook per school year and may send a
-- year again (a corrected recap): each year's latest committed batch replaces that year's earlier
-- ones, so a school left out of the corrected recap is gone from that year, as in the recap.
with

source as (
    select raw_batches.*
    from {{ source('raw_disdik', 'peserta_didik') }} as raw_batches
    qualify raw_batches._batch_id = max(raw_batches._batch_id) over (partition by raw_batches.tahun_ajaran)
),

renamed as (
    select
        ---------- ids
        npsn,

        ---------- strings
        nama_sekolah,
        jenjang,
        status_sekolah,
        tahun_ajaran,

        ---------- numerics
        cast(left(tahun_ajaran, 4) as integer) as tahun,
        cast(jumlah_laki_laki as bigint) as jumlah_laki_laki,
        cast(jumlah_perempuan as bigint) as jumlah_perempuan,
        -- The recap's own total is kept to check it; the L + P sum is what the marts count.
        cast(jumlah_peserta_didik as bigint) as jumlah_peserta_didik_tertulis,
        cast(jumlah_laki_laki + jumlah_perempuan as bigint) as jumlah_peserta_didik,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file,
        _source_row
    from source
)

select * from renamed
