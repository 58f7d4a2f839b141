{#- The keys region aliases are matched on (models/intermediate/wilayah/int_wilayah_alias.sql). -#}

{% macro wilayah_name_key(expression) -%}
    {#- A name as a key: upper case, without the words agencies put in front (Desa, Kelurahan, Kec.,
        Kecamatan, Ds., Kel.) and without anything that is not a letter or digit, so "Desa Tanah
        Grogot", "TANAH  GROGOT" and "tanah-grogot" meet. -#}
    nullif(regexp_replace(
        regexp_replace(
            upper(trim(cast({{ expression }} as varchar))),
            '^(DESA|KELURAHAN|KEL\.?|DS\.?|KEC\.?|KECAMATAN)\s+', ''
        ),
        '[^A-Z0-9]', '', 'g'
    ), '')
{%- endmacro %}

{% macro wilayah_code_key(expression) -%}
    {#- A code as a key: its digits only ("64.01.02.2005", "6401022005" and " 6401022005 " meet). -#}
    nullif(regexp_replace(cast({{ expression }} as varchar), '[^0-9]', '', 'g'), '')
{%- endmacro %}
