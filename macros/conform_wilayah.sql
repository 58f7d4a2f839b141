{% macro conform_wilayah(relation, code_column=none, name_column=none, kecamatan_name_column=none, level='desa') -%}
{#-
    Map each row of `relation` (a CTE or ref) to its Kemendagri region, through the aliases in
    int_wilayah_alias: a dotted Kemendagri code, then a digits-only code (Kemendagri without dots,
    BPS, KPU, Kemdikbud), then a name (scoped by the row's kecamatan when `kecamatan_name_column`
    resolves one, else unscoped). Returns every column of `relation` plus

        kode_desa            Kemendagri 64.01.KK.TNNN (null when level = 'kecamatan' or unmapped)
        kode_kecamatan       Kemendagri 64.01.KK (from the desa, else from `kecamatan_name_column`)
        metode_pemetaan      kode_kemendagri | kode_bps | kode_kpu | kode_kemdikbud | nama | null
        is_wilayah_unmapped  no region at the requested level

    Rows are never dropped or duplicated (every alias join is unique; ambiguous aliases are skipped).
    `kecamatan_name_column` may hold a kecamatan code or name in any scheme.
-#}
{%- set alias = ref('int_wilayah_alias') -%}
{#- A code written with dots is Kemendagri's form: it is never tried as a digits-only code (BPS etc.).
    The test sits inside the key, not beside the join: an extra join condition makes DuckDB loop. -#}
{%- set code = ("case when not contains(trim(cast(src." ~ code_column ~ " as varchar)), '.') then "
               ~ wilayah_code_key('src.' ~ code_column) ~ " end") if code_column else 'cast(null as varchar)' -%}
{%- set code_as_written = 'trim(cast(src.' ~ code_column ~ ' as varchar))' if code_column else 'cast(null as varchar)' -%}
{%- set name = wilayah_name_key('src.' ~ name_column) if name_column else 'cast(null as varchar)' -%}
{%- set kec_code = wilayah_code_key('src.' ~ kecamatan_name_column) if kecamatan_name_column else 'cast(null as varchar)' -%}
{%- set kec_as_written = 'trim(cast(src.' ~ kecamatan_name_column ~ ' as varchar))' if kecamatan_name_column else 'cast(null as varchar)' -%}
{%- set kec_name = wilayah_name_key('src.' ~ kecamatan_name_column) if kecamatan_name_column else 'cast(null as varchar)' -%}
select
    src.*,
    {% if level == 'desa' -%}
    coalesce(by_dotted.kode_desa, by_code.kode_desa, by_scoped_name.kode_desa, by_name.kode_desa) as kode_desa,
    coalesce(
        by_dotted.kode_kecamatan, by_code.kode_kecamatan, by_scoped_name.kode_kecamatan, by_name.kode_kecamatan,
        kec_dotted.kode_kecamatan, kec_code.kode_kecamatan, kec_name.kode_kecamatan
    ) as kode_kecamatan,
    coalesce(by_dotted.metode, by_code.metode, by_scoped_name.metode, by_name.metode) as metode_pemetaan,
    coalesce(by_dotted.kode_desa, by_code.kode_desa, by_scoped_name.kode_desa, by_name.kode_desa) is null
        as is_wilayah_unmapped
    {%- elif level == 'kecamatan' -%}
    cast(null as varchar) as kode_desa,
    coalesce(
        by_dotted.kode_kecamatan, by_code.kode_kecamatan, by_name.kode_kecamatan,
        kec_dotted.kode_kecamatan, kec_code.kode_kecamatan, kec_name.kode_kecamatan
    ) as kode_kecamatan,
    coalesce(
        by_dotted.metode, by_code.metode, by_name.metode, kec_dotted.metode, kec_code.metode, kec_name.metode
    ) as metode_pemetaan,
    coalesce(
        by_dotted.kode_kecamatan, by_code.kode_kecamatan, by_name.kode_kecamatan,
        kec_dotted.kode_kecamatan, kec_code.kode_kecamatan, kec_name.kode_kecamatan
    ) is null as is_wilayah_unmapped
    {%- else -%}
    {{ exceptions.raise_compiler_error("conform_wilayah: level must be 'desa' or 'kecamatan', not '" ~ level ~ "'") }}
    {%- endif %}
from {{ relation }} as src
-- The kecamatan the row names (used to scope desa names, and as the answer at level kecamatan).
left join {{ alias }} as kec_dotted
    on kec_dotted.level = 'kecamatan' and kec_dotted.jenis_alias = 'kode_titik' and not kec_dotted.is_ambiguous
    and kec_dotted.alias = {{ kec_as_written }}
left join {{ alias }} as kec_code
    on kec_code.level = 'kecamatan' and kec_code.jenis_alias = 'kode' and not kec_code.is_ambiguous
    and kec_code.alias = {{ kec_code }}
left join {{ alias }} as kec_name
    on kec_name.level = 'kecamatan' and kec_name.jenis_alias = 'nama' and not kec_name.is_ambiguous
    and kec_name.alias = {{ kec_name }}
left join {{ alias }} as by_dotted
    on by_dotted.level = '{{ level }}' and by_dotted.jenis_alias = 'kode_titik' and not by_dotted.is_ambiguous
    and by_dotted.alias = {{ code_as_written }}
left join {{ alias }} as by_code
    on by_code.level = '{{ level }}' and by_code.jenis_alias = 'kode' and not by_code.is_ambiguous
    and by_code.alias = {{ code }}
left join {{ alias }} as by_scoped_name
    on by_scoped_name.level = '{{ level }}' and by_scoped_name.jenis_alias = 'nama' and not by_scoped_name.is_ambiguous
    and by_scoped_name.scope = coalesce(kec_dotted.kode_kecamatan, kec_code.kode_kecamatan, kec_name.kode_kecamatan)
    and by_scoped_name.alias = coalesce({{ name }}, {{ wilayah_name_key(code_as_written) }})
left join {{ alias }} as by_name
    on by_name.level = '{{ level }}' and by_name.jenis_alias = 'nama' and not by_name.is_ambiguous
    and by_name.scope = '*'
    and by_name.alias = coalesce({{ name }}, {{ wilayah_name_key(code_as_written) }})
{%- endmacro %}
