-- Open data, Satu Data style: stunting prevalence among children under five measured in the latest
-- measurement round, per kecamatan of residence (the child's desa in the Dinkes register). Each child
-- counts once (its last measurement in the round). Children whose desa cannot be resolved, or who are
-- not in the register, are left out of the kecamatan and reported by rpt_wilayah_tidak_terpetakan.
-- Every kecamatan is listed (0 measured: counts 0, percent null). Counts of children: the privacy
-- gate suppresses 1..10 (catalog small_cells).
{{
    config(
        location=var('marts_dir') ~ '/prevalensi_stunting_per_kecamatan.parquet',
        format='parquet',
    )
}}

with

diukur as (
    select * from {{ ref('int_balita_pengukuran_terakhir') }}
),

balita as (
    select * from {{ ref('int_balita_wilayah_mapped') }}
    where not is_wilayah_unmapped
),

putaran as (
    select max(bulan_pengukuran) as bulan_pengukuran
    from diukur
),

per_kecamatan as (
    select
        balita.kode_kecamatan,
        count(*) as jumlah_balita_diukur,
        count(*) filter (where diukur.is_stunting) as jumlah_balita_stunting
    from diukur
    inner join balita
        on diukur.nik_pseudonim = balita.nik_pseudonim
    group by balita.kode_kecamatan
),

kecamatan as (
    select * from {{ ref('dim_wilayah') }}
    where level = 'kecamatan'
),

final as (
    select
        {{ satu_data_wilayah_header('kecamatan') }},
        cast(kecamatan.kode_kemendagri as varchar) as kode_kecamatan,
        cast(kecamatan.nama as varchar) as nama_kecamatan,
        cast(putaran.bulan_pengukuran as varchar) as bulan_pengukuran,
        cast(coalesce(per_kecamatan.jumlah_balita_diukur, 0) as bigint) as jumlah_balita_diukur,
        cast(coalesce(per_kecamatan.jumlah_balita_stunting, 0) as bigint) as jumlah_balita_stunting,
        -- Percent of the children measured, two decimals; null when no child was measured.
        cast(
            round(per_kecamatan.jumlah_balita_stunting * 100.0 / nullif(per_kecamatan.jumlah_balita_diukur, 0), 2)
            as decimal(5, 2)
        ) as persen_stunting,
        cast('balita' as varchar) as satuan,
        cast(left(putaran.bulan_pengukuran, 4) as integer) as tahun
    from kecamatan
    cross join putaran
    left join per_kecamatan
        on kecamatan.kode_kemendagri = per_kecamatan.kode_kecamatan
)

select * from final
order by kode_kecamatan
