-- The conformance report: per agency dataset, how many records were mapped to a Kemendagri region
-- and how (code scheme or name), and how many could not be. Unmapped records are never dropped
-- silently: the marts leave them out of every region, and this table (also in build.json and on
-- the console after `make run`) says how many per dataset.
with

{#- (agency, dataset, mapped model, the rows its marts count). The population marts count living
    residents, so the registry's report does too: mart total + unmapped = living residents. -#}
{% set mapped_models = [
    ('disdukcapil', 'penduduk', 'int_penduduk_wilayah_mapped', 'is_hidup'),
    ('dinkes', 'balita', 'int_balita_wilayah_mapped', 'true'),
    ('dinkes', 'kunjungan', 'int_kunjungan_wilayah_mapped', 'true'),
    ('disdik', 'sekolah', 'int_sekolah_wilayah_mapped', 'true'),
    ('disdik', 'peserta_didik', 'int_peserta_didik_wilayah_mapped', 'true'),
    ('dpmd', 'dana_desa', 'int_dana_desa_wilayah_mapped', 'true'),
    ('diskominfo', 'pengaduan', 'int_pengaduan_wilayah_mapped', 'true'),
] %}

{% for agency, dataset, model, counted_rows in mapped_models %}
{{ model }}_counted as (
    select
        '{{ agency }}' as opd,
        '{{ agency }}__{{ dataset }}' as dataset,
        '{{ model }}' as model,
        count(*) as jumlah_baris,
        count_if(is_wilayah_unmapped) as jumlah_tidak_terpetakan,
        count_if(not is_wilayah_unmapped and metode_pemetaan like 'kode%') as jumlah_lewat_kode,
        count_if(not is_wilayah_unmapped and metode_pemetaan = 'nama') as jumlah_lewat_nama
    from {{ ref(model) }}
    where {{ counted_rows }}
),
{% endfor %}

counted as (
    {% for agency, dataset, model, counted_rows in mapped_models %}
    select * from {{ model }}_counted
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        opd,
        dataset,
        model,
        jumlah_baris,
        jumlah_tidak_terpetakan,
        jumlah_lewat_kode,
        jumlah_lewat_nama,
        round(100.0 * jumlah_tidak_terpetakan / nullif(jumlah_baris, 0), 2) as persen_tidak_terpetakan
    from counted
)

select * from final
order by dataset
