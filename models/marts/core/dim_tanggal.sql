-- One row per day, 2015-2030: the periods agencies report by (tahun, semester, triwulan, bulan).
with

days as (
    select cast(spine.day as date) as tanggal
    from range(date '2015-01-01', date '2031-01-01', interval 1 day) as spine (day)
),

final as (
    select
        tanggal,
        cast(year(tanggal) as integer) as tahun,
        cast(case when month(tanggal) <= 6 then 1 else 2 end as integer) as semester,
        cast(quarter(tanggal) as integer) as triwulan,
        cast(month(tanggal) as integer) as bulan,
        [
            'Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni',
            'Juli', 'Agustus', 'September', 'Oktober', 'November', 'Desember'
        ][month(tanggal)] as nama_bulan,
        cast(weekofyear(tanggal) as integer) as minggu_iso,
        cast(isodow(tanggal) as integer) as hari_dalam_minggu,
        ['Senin', 'Selasa', 'Rabu', 'Kamis', 'Jumat', 'Sabtu', 'Minggu'][isodow(tanggal)] as nama_hari,
        isodow(tanggal) >= 6 as is_akhir_pekan
    from days
)

select * from final
order by tanggal
