{#- Fails with one row per combination of the given columns that occurs more than once
    (our own version of dbt_utils' test: the hub is not reachable offline). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

combinations as (
    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as jumlah_baris
    from {{ model }}
    group by all
)

select *
from combinations
where jumlah_baris > 1

{% endtest %}
