-- One row per child under five measured in the latest measurement round (bulan penimbangan): the
-- child's last measurement in that round (by date, then the latest entry, then the higher id), so a
-- measurement entered twice counts once. Stunting = status_tb_u 'pendek' or 'sangat pendek', as
-- the e-PPGBM application computed it (WHO height-for-age below -2 SD).
with

pengukuran as (
    select * from {{ ref('stg_dinkes__pengukuran') }}
),

putaran_terakhir as (
    select max(bulan_pengukuran) as bulan_pengukuran
    from pengukuran
),

terakhir_per_anak as (
    select pengukuran.*
    from pengukuran
    inner join putaran_terakhir
        on pengukuran.bulan_pengukuran = putaran_terakhir.bulan_pengukuran
    where pengukuran.umur_bulan between 0 and 59
    qualify row_number() over (
        partition by pengukuran.nik_pseudonim
        order by pengukuran.tanggal_ukur desc, pengukuran.updated_at desc, pengukuran.id_pengukuran desc
    ) = 1
),

final as (
    select
        ---------- ids
        nik_pseudonim,
        id_pengukuran,
        kode_puskesmas,

        ---------- strings
        bulan_pengukuran,
        status_tb_u,

        ---------- numerics
        umur_bulan,
        berat_badan,
        tinggi_badan,

        ---------- booleans
        is_stunting,

        ---------- dates
        tanggal_ukur
    from terakhir_per_anak
)

select * from final
