{#- `unique` for the registry's incremental models and the views over them, checked for the rows the last
    build wrote: those models stamp each row with the build's start (_dibangun_pada), and a kept row
    passed when it was written. In a full build every row is written now, so the whole table is checked,
    as `unique` does; an incremental build checks what changed (`unique` grouped 3.1M 64-character
    pseudonyms per model at scale 10, in every registry rebuild).
    - On the incremental model: every row holding a key written now, kept ones too (delete+insert on the
      key should have removed a kept row whose key comes again; this checks that it did).
    - On a view that is a projection of such a model (`projection_of`: one row per row of it, no join),
      the rows written now only: a duplicate with a kept row would be one in the model too, which the
      model's own test finds. -#}
{% test unique_in_build(model, column_name, projection_of=none) %}

with

written as (
    select {{ column_name }} as kunci
    from {{ model }}
    where _dibangun_pada = (select max(terakhir._dibangun_pada) from {{ model }} as terakhir)
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
)

select
    kunci,
    count(*) as jumlah_baris
from checked
group by kunci
having count(*) > 1

{% endtest %}
