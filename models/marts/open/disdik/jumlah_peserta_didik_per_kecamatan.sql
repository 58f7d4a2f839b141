-- Open data, Satu Data style (long/tidy): pupils per kecamatan (where the school is), jenjang, sex
-- and school year. Pupils of schools that cannot be placed in a kecamatan are left out here and
-- reported by rpt_wilayah_tidak_terpetakan (tests/warehouse/test_disdik_dpmd_models.py checks that
-- the mart plus the unmapped pupils is every pupil of the recaps).
-- Counts of people: the privacy gate suppresses small cells at publication (catalog small_cells).
{{
    config(
        location=var('marts_dir') ~ '/jumlah_peserta_didik_per_kecamatan.parquet',
        format='parquet',
    )
}}

with

peserta_didik as (
    select * from {{ ref('int_peserta_didik_wilayah_mapped') }}
    where not is_wilayah_unmapped
),

kecamatan as (
    select * from {{ ref('dim_wilayah') }}
    where level = 'kecamatan'
),

per_jenis_kelamin as (
    select
        kode_kecamatan,
        jenjang,
        'Laki-laki' as jenis_kelamin,
        tahun_ajaran,
        tahun,
        jumlah_laki_laki as jumlah_peserta_didik
    from peserta_didik
    union all
    select
        kode_kecamatan,
        jenjang,
        'Perempuan' as jenis_kelamin,
        tahun_ajaran,
        tahun,
        jumlah_perempuan as jumlah_peserta_didik
    from peserta_didik
),

counted as (
    select
        kode_kecamatan,
        jenjang,
        jenis_kelamin,
        tahun_ajaran,
        tahun,
        sum(jumlah_peserta_didik) as jumlah_peserta_didik
    from per_jenis_kelamin
    group by all
),

final as (
    select
        {{ satu_data_wilayah_header('kecamatan') }},
        cast(counted.kode_kecamatan as varchar) as kode_kecamatan,
        cast(kecamatan.nama as varchar) as nama_kecamatan,
        cast(counted.jenjang as varchar) as jenjang,
        cast(counted.jenis_kelamin as varchar) as jenis_kelamin,
        cast(counted.tahun_ajaran as varchar) as tahun_ajaran,
        cast(counted.jumlah_peserta_didik as bigint) as jumlah_peserta_didik,
        cast('orang' as varchar) as satuan,
        cast(counted.tahun as integer) as tahun
    from counted
    left join kecamatan
        on counted.kode_kecamatan = kecamatan.kode_kemendagri
)

select * from final
order by kode_kecamatan, jenjang, jenis_kelamin, tahun
