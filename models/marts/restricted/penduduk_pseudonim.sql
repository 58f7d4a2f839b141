-- Restricted (statisticians only, never exported or published): one row per resident record in its
-- latest version, every status, pseudonymised. NIK and KK appear only as keyed pseudonyms (with the
-- key id, so a re-keying is visible); no names, no exact birth dates: age, age group and birth year.
-- Residents whose desa could not be conformed keep null region codes (is_wilayah_unmapped).
with

penduduk as (
    select * from {{ ref('int_penduduk_wilayah_mapped') }}
),

final as (
    select
        ---------- ids
        nik_pseudonim,
        kk_pseudonim,
        kunci_pseudonim_id,
        kode_desa,
        kode_kecamatan,

        ---------- strings
        jenis_kelamin,
        kelompok_umur,
        agama,
        pendidikan,
        pekerjaan,
        status_kawin,
        hubungan_keluarga,
        status,
        metode_pemetaan,

        ---------- numerics
        umur_tahun,
        umur_bulan,
        tahun_lahir,

        ---------- booleans
        is_wilayah_unmapped,

        ---------- timestamps
        diubah_pada,

        ---------- meta
        _dibangun_pada
    from penduduk
)

select * from final
