-- The living population on the reference date, one row per resident: the denominator every
-- agency's per-capita figures use (other marts may ref() it). Residents whose desa could not be
-- conformed are kept, with is_wilayah_unmapped true and no desa: a denominator per desa leaves
-- them out, a regency total does not.
with

penduduk as (
    select * from {{ ref('int_penduduk_wilayah_mapped') }}
    where is_hidup
),

final as (
    select
        ---------- ids
        nik_pseudonim,
        kk_pseudonim,
        kode_desa,
        kode_kecamatan,

        ---------- strings
        jenis_kelamin,
        kelompok_umur,

        ---------- numerics
        umur_tahun,
        umur_bulan,

        ---------- booleans
        is_wilayah_unmapped,

        ---------- meta
        _dibangun_pada
    from penduduk
)

select * from final
