{#- Use the folder's schema as given (reference, staging, core, open), not dbt's
    default "<target schema>_<custom schema>", so the names match the docs. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
