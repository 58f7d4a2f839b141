-- Open data, Satu Data style: complete basic immunisation coverage per desa. Denominator (sasaran):
-- living children aged 12-23 months on var('tanggal_referensi') per desa of the population register
-- (int_penduduk_hidup). Numerator: those of them whose Dinkes records show all 11 basic antigens by
-- that date (int_balita_imunisasi_dasar, matched on the NIK pseudonym). Matching on the person keeps
-- the percentage within 0-100 and the desa that of the register; a Dinkes child the register does not
-- know is not counted. Residents whose desa the register cannot resolve are left out (and reported
-- by rpt_wilayah_tidak_terpetakan). Every desa is listed (no sasaran: counts 0, percent null). Counts
-- of children: the privacy gate suppresses 1..10 (catalog small_cells).
{{
    config(
        location=var('marts_dir') ~ '/cakupan_imunisasi_dasar_lengkap_per_desa.parquet',
        format='parquet',
    )
}}

with

sasaran as (
    select * from {{ ref('int_penduduk_hidup') }}
    where
        umur_bulan between 12 and 23
        and not is_wilayah_unmapped
),

imunisasi as (
    select * from {{ ref('int_balita_imunisasi_dasar') }}
),

per_desa as (
    select
        sasaran.kode_desa,
        count(*) as jumlah_sasaran,
        count(*) filter (where imunisasi.is_imunisasi_dasar_lengkap) as jumlah_imunisasi_lengkap
    from sasaran
    left join imunisasi
        on sasaran.nik_pseudonim = imunisasi.nik_pseudonim
    group by sasaran.kode_desa
),

desa as (
    select * from {{ ref('dim_wilayah') }}
    where level = 'desa_kelurahan'
),

final as (
    select
        {{ satu_data_wilayah_header('desa') }},
        cast(desa.kode_kecamatan as varchar) as kode_kecamatan,
        cast(desa.nama_kecamatan as varchar) as nama_kecamatan,
        cast(desa.kode_kemendagri as varchar) as kode_desa,
        cast(desa.nama as varchar) as nama_desa,
        cast(coalesce(per_desa.jumlah_sasaran, 0) as bigint) as jumlah_sasaran,
        cast(coalesce(per_desa.jumlah_imunisasi_lengkap, 0) as bigint) as jumlah_imunisasi_lengkap,
        -- Percent of the sasaran, two decimals; null when the desa has no child aged 12-23 months.
        cast(
            round(per_desa.jumlah_imunisasi_lengkap * 100.0 / nullif(per_desa.jumlah_sasaran, 0), 2)
            as decimal(5, 2)
        ) as persen_cakupan,
        cast('anak' as varchar) as satuan,
        cast(year(cast('{{ var("tanggal_referensi") }}' as date)) as integer) as tahun
    from desa
    left join per_desa
        on desa.kode_kemendagri = per_desa.kode_desa
)

select * from final
order by kode_desa
