-- Open data, Satu Data style (long/tidy): complaints per kecamatan, category and year reported.
-- Each ticket counts once (its latest state). Complaints whose location names no kecamatan of Paser
-- are not in any row: rpt_wilayah_tidak_terpetakan reports how many. The table is a full grid
-- (every kecamatan x category x year, zeros included): "no complaint about health in Muara Samu"
-- is information here, and the privacy gate's margins need every cell of a row or column.
{{
    config(
        location=var('marts_dir') ~ '/jumlah_pengaduan_per_kategori_kecamatan.parquet',
        format='parquet',
    )
}}

with

pengaduan as (
    select * from {{ ref('int_pengaduan_wilayah_mapped') }}
    where not is_wilayah_unmapped
),

kecamatan as (
    select * from {{ ref('dim_wilayah') }}
    where level = 'kecamatan'
),

kategori_laporan as (
    select daftar.kategori
    from (
        values
        ('Infrastruktur'), ('Kesehatan'), ('Pendidikan'), ('Kependudukan'),
        ('Lingkungan'), ('Bansos'), ('Pelayanan Publik'), ('Lainnya')
    ) as daftar (kategori)
),

tahun_laporan as (
    select distinct tahun_laporan as tahun
    from pengaduan
),

counted as (
    select
        kode_kecamatan,
        kategori,
        tahun_laporan as tahun,
        count(*) as jumlah_pengaduan
    from pengaduan
    group by kode_kecamatan, kategori, tahun_laporan
),

grid as (
    select
        kecamatan.kode_kemendagri as kode_kecamatan,
        kategori_laporan.kategori,
        tahun_laporan.tahun
    from kecamatan
    cross join kategori_laporan
    cross join tahun_laporan
),

final as (
    select
        {{ satu_data_wilayah_header('kecamatan') }},
        cast(grid.kode_kecamatan as varchar) as kode_kecamatan,
        cast(kecamatan.nama as varchar) as nama_kecamatan,
        cast(grid.kategori as varchar) as kategori,
        cast(coalesce(counted.jumlah_pengaduan, 0) as bigint) as jumlah_pengaduan,
        cast('pengaduan' as varchar) as satuan,
        cast(grid.tahun as integer) as tahun
    from grid
    inner join kecamatan
        on grid.kode_kecamatan = kecamatan.kode_kemendagri
    left join counted
        on
            grid.kode_kecamatan = counted.kode_kecamatan
            and grid.kategori = counted.kategori
            and grid.tahun = counted.tahun
)

select * from final
order by kode_kecamatan, kategori, tahun
