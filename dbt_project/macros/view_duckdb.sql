{#- Views on DuckDB (dbt-duckdb has none of its own; this replaces dbt's default for it, BigQuery keeps dbt's).
    A view is only its SQL, bound again by DuckDB at every query: a view whose compiled SQL is the one it was created
    with (an MD5 of it kept as the view's comment) is left as it is, and the node's message says "unchanged", instead
    of being created again, renamed and its old copy dropped (0.1-0.3 s per view; an org's nightly build runs the
    staging views every time). Any other view is created or replaced in one statement, inside the node's transaction;
    a relation of another type by that name is dropped first. -#}
{%- materialization view, adapter='duckdb' -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set marker = 'cloudact sql md5 ' ~ local_md5(sql) -%}
  {%- set unchanged = false -%}
  {%- if existing_relation is not none and existing_relation.is_view -%}
    {%- set found = run_query(
      "select comment from duckdb_views() where database_name = '" ~ (this.database | replace("'", "''"))
      ~ "' and schema_name = '" ~ (this.schema | replace("'", "''"))
      ~ "' and view_name = '" ~ (this.identifier | replace("'", "''")) ~ "'"
    ) -%}
    {%- set unchanged = found.rows | length == 1 and found.rows[0][0] == marker -%}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if unchanged %}
    {#- No statement: the node's result says so (run_results' message "unchanged"). -#}
    {%- do store_raw_result('main', message='unchanged', code='unchanged', rows_affected=-1) -%}
  {%- else %}
    {%- if existing_relation is not none and not existing_relation.is_view %}
      {{ adapter.drop_relation(existing_relation) }}
    {%- endif %}
    {% call statement('main') -%}
      create or replace view {{ target_relation }} as (
        {{ sql }}
      )
    {%- endcall %}
    {% call statement('view_marker') -%}
      comment on view {{ target_relation }} is '{{ marker }}'
    {%- endcall %}
  {%- endif %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}
