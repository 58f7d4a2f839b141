-- Dana Desa per desa and budget year, conformed to the Kemendagri desa code, one row per desa and
-- year: the latest report. Operators write the desa by Kemendagri code, BPS code, or name only (in
-- the BPS or KPU spelling); conform_wilayah() maps all of them. A report sent again as a new row
-- (a late correction, or the same report entered twice) replaces the earlier one: the newest
-- updated_at wins, then the higher report id. Rows no code or name resolves are kept, keyed by
-- how they were written, with is_wilayah_unmapped true: the mart leaves them out and
-- rpt_wilayah_tidak_terpetakan reports them.
with

dana_desa as (
    select * from {{ ref('stg_dpmd__dana_desa') }}
),

conformed as (
    {{ conform_wilayah(
        relation='dana_desa',
        code_column='kode_desa_asli',
        name_column='nama_desa_asli',
        kecamatan_name_column='nama_kecamatan_asli',
        level='desa',
    ) }}
),

keyed as (
    select
        *,
        coalesce(
            kode_desa,
            'tidak_terpetakan:' || coalesce(trim(kode_desa_asli), '') || ':' || upper(trim(nama_desa_asli))
        ) as kunci_desa
    from conformed
),

latest as (
    select
        *,
        count(*) over (partition by kunci_desa, tahun_anggaran) as jumlah_laporan
    from keyed
    qualify row_number() over (
        partition by kunci_desa, tahun_anggaran
        order by updated_at desc, id_laporan desc
    ) = 1
),

final as (
    select
        ---------- ids
        id_laporan,
        kode_desa,
        kode_kecamatan,
        kunci_desa,
        kode_desa_asli,

        ---------- strings
        nama_desa_asli,
        nama_kecamatan_asli,
        metode_pemetaan,

        ---------- numerics
        tahun_anggaran,
        pagu_dana_desa,
        realisasi_tahap_1,
        realisasi_tahap_2,
        realisasi_tahap_3,
        total_realisasi,
        jumlah_laporan,

        ---------- booleans
        is_wilayah_unmapped,

        ---------- dates
        tanggal_laporan,

        ---------- timestamps
        updated_at,

        ---------- meta
        _batch_id,
        _source_file
    from latest
)

select * from final
