-- How many schools of the latest batch have a Kemdikbud kecamatan code the crosswalk does not
-- know, per code. The build fails when there are any (test int_sekolah_wilayah_mapped_no_unmapped_kecamatan);
-- this is the query to run against that build's warehouse.duckdb to see the size of the problem.
with

sekolah as (
    select * from {{ ref('int_sekolah_wilayah_mapped') }}
),

unmapped as (
    select
        kode_kecamatan_kemdikbud,
        nama_kecamatan_kemdikbud,
        count(*) as jumlah_sekolah
    from sekolah
    where is_kecamatan_unmapped
    group by all
)

select * from unmapped
order by kode_kecamatan_kemdikbud
