{#- `unique` for the registry's incremental models and the views over them, checked for the rows the last
    build wrote: those models stamp each row with the build's start (_dibangun_pada), and a kept row
    passed when it was written. An incremental build checks what changed (`unique` grouped 3.1M
    64-character pseudonyms per model at scale 10 in every registry rebuild):
    - on the incremental model, every row holding a key written now, kept ones too (delete+insert on the
      key should have removed a kept row whose key comes again; this checks that it did);
    - on a view that is a projection of such a model (`projection_of`: one row per row of it, no join),
      the rows written now: a duplicate with a kept row would be one in the model too, which the
      model's own test finds.
    When no row is older than the last build (a full build), the whole table is checked as `unique`
    does: the semi join of the first case would cost twice its time and half again its memory. -#}
{% test unique_in_build(model, column_name, projection_of=none) %}

{%- set latest = "(select max(terakhir._dibangun_pada) from " ~ model ~ " as terakhir)" %}
{%- set kept_rows = 0 %}
{#- Only when the test runs: `dbt docs generate` and `compile` compile it without the data (maybe without the table). #}
{%- if execute and flags.WHICH in ['build', 'test'] %}
    {%- set counted = run_query("select count(*) from " ~ model ~ " where _dibangun_pada < " ~ latest) %}
    {%- set kept_rows = counted.columns[0].values()[0] %}
{%- endif %}

with

{% if kept_rows == 0 -%}
checked as (
    select {{ column_name }} as kunci
    from {{ model }}
),
{%- else -%}
written as (
    select {{ column_name }} as kunci
    from {{ model }}
    where _dibangun_pada = {{ latest }}
),

checked as (
    {%- if projection_of is none %}
    select {{ column_name }} as kunci
    from {{ model }}
    where {{ column_name }} in (select written.kunci from written)
    {%- else %}
    select kunci
    from written
    {%- endif %}
),
{%- endif %}

duplicates as (
    select
        kunci,
        count(*) as jumlah_baris
    from checked
    group by kunci
    having count(*) > 1
)

select * from duplicates

{% endtest %}
