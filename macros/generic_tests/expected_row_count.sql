{#- Fails (one row) when the model does not have exactly `expected` rows matching `where`. -#}
{% test expected_row_count(model, expected, where=none) %}

with

counted as (
    select count(*) as actual
    from {{ model }}
    {% if where %}where {{ where }}{% endif %}
)

select
    actual,
    {{ expected }} as expected
from counted
where actual != {{ expected }}

{% endtest %}
