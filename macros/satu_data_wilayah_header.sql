{#-
    The four region columns every open mart starts with, in the Satu Data Indonesia order:
    kode_provinsi, nama_provinsi, kode_kabupaten_kota, nama_kabupaten_kota, taken from `alias`
    (a dim_wilayah row of the mart's level, joined in the mart). Text, whatever the dimension's type.

        select
            {{ satu_data_wilayah_header('desa') }},
            cast(desa.kode_kecamatan as varchar) as kode_kecamatan,
            ...
-#}
{% macro satu_data_wilayah_header(alias) -%}
    cast({{ alias }}.kode_provinsi as varchar) as kode_provinsi,
        cast({{ alias }}.nama_provinsi as varchar) as nama_provinsi,
        cast({{ alias }}.kode_kabupaten_kota as varchar) as kode_kabupaten_kota,
        cast({{ alias }}.nama_kabupaten_kota as varchar) as nama_kabupaten_kota
{%- endmacro %}
