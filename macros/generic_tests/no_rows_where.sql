{#- Fails with every row that matches `condition`: for rules like "no school is left unmapped". -#}
{% test no_rows_where(model, condition) %}

select *
from {{ model }}
where {{ condition }}

{% endtest %}
