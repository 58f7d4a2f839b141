-- The regions of Kabupaten Paser, one row per kabupaten, kecamatan and desa/kelurahan, keyed by
-- the Kemendagri code, with the codes other agencies use (BPS, Kemdikbud, KPU), postal codes and
-- the area computed from the boundaries (seeds/reference/paser_wilayah_luas.csv, warehouse/boundaries.py).
with

kabupaten_kota as (
    select
        '64' as kode_provinsi,
        'Kalimantan Timur' as nama_provinsi,
        '64.01' as kode_kabupaten_kota,
        'Kabupaten Paser' as nama_kabupaten_kota
),

bridging as (
    select * from {{ ref('paser_bridging_bps_kemendagri_2024') }}
),

bridging_kabupaten as (
    select * from bridging
    where level = 'kabupaten'
),

bridging_kecamatan as (
    select * from bridging
    where level = 'kecamatan'
),

kecamatan as (
    select * from {{ ref('paser_kecamatan_kemendagri') }}
),

kecamatan_crosswalk as (
    select * from {{ ref('paser_kecamatan_crosswalk') }}
),

desa_kelurahan as (
    select * from {{ ref('paser_desa_kelurahan_kemendagri') }}
),

desa_crosswalk as (
    select * from {{ ref('paser_desa_crosswalk') }}
),

luas as (
    select * from {{ ref('paser_wilayah_luas') }}
),

kabupaten_rows as (
    select
        'kabupaten' as level,
        kabupaten_kota.kode_kabupaten_kota as kode_kemendagri,
        kabupaten_kota.nama_kabupaten_kota as nama,
        cast(null as varchar) as kode_kecamatan,
        cast(null as varchar) as nama_kecamatan,
        cast(null as varchar) as jenis,
        bridging_kabupaten.kode_bps,
        cast(null as varchar) as kode_kemdikbud,
        cast(null as varchar) as id_kpu,
        bridging_kabupaten.kode_pos_per_bps_pos_bridging as kode_pos
    from kabupaten_kota
    left join bridging_kabupaten
        on kabupaten_kota.kode_kabupaten_kota = bridging_kabupaten.kode_kemendagri
),

kecamatan_rows as (
    select
        'kecamatan' as level,
        kecamatan.kode_kemendagri,
        kecamatan.nama_kecamatan as nama,
        kecamatan.kode_kemendagri as kode_kecamatan,
        kecamatan.nama_kecamatan,
        cast(null as varchar) as jenis,
        kecamatan_crosswalk.kode_bps_bridging_2024 as kode_bps,
        kecamatan_crosswalk.kode_kec_kemdikbud_2019 as kode_kemdikbud,
        kecamatan_crosswalk.id_kecamatan_kpu_2024 as id_kpu,
        -- Some kecamatan have several postal codes ("76211;76212"): kept as the list BPS gives.
        bridging_kecamatan.kode_pos_per_bps_pos_bridging as kode_pos
    from kecamatan
    left join kecamatan_crosswalk
        on kecamatan.kode_kemendagri = kecamatan_crosswalk.kode_kemendagri
    left join bridging_kecamatan
        on kecamatan.kode_kemendagri = bridging_kecamatan.kode_kemendagri
),

desa_kelurahan_rows as (
    select
        'desa_kelurahan' as level,
        desa_kelurahan.kode_kemendagri,
        desa_kelurahan.nama,
        desa_kelurahan.kode_kecamatan,
        desa_kelurahan.nama_kecamatan,
        desa_kelurahan.jenis_by_code as jenis,
        desa_crosswalk.kode_bps_bridging_2024 as kode_bps,
        cast(null as varchar) as kode_kemdikbud,
        desa_crosswalk.id_desa_kpu_2024 as id_kpu,
        desa_crosswalk.kodepos_cahyadsn_2025 as kode_pos
    from desa_kelurahan
    left join desa_crosswalk
        on desa_kelurahan.kode_kemendagri = desa_crosswalk.kode_kemendagri
),

wilayah as (
    select * from kabupaten_rows
    union all
    select * from kecamatan_rows
    union all
    select * from desa_kelurahan_rows
),

final as (
    select
        wilayah.level,
        wilayah.kode_kemendagri,
        wilayah.nama,
        wilayah.kode_kecamatan,
        wilayah.nama_kecamatan,
        wilayah.jenis,
        wilayah.kode_bps,
        wilayah.kode_kemdikbud,
        wilayah.id_kpu,
        wilayah.kode_pos,
        luas.luas_km2,
        kabupaten_kota.kode_provinsi,
        kabupaten_kota.nama_provinsi,
        kabupaten_kota.kode_kabupaten_kota,
        kabupaten_kota.nama_kabupaten_kota
    from wilayah
    cross join kabupaten_kota
    left join luas
        on
            wilayah.level = luas.level
            and wilayah.kode_kemendagri = luas.kode_kemendagri
)

select * from final
order by kode_kemendagri
