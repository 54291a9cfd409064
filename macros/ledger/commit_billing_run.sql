{#
    on-run-end: publish the run’s ledger rows into the state, all or
    nothing (see the materialization ledger).

    The run’s rows are committed only when this invocation is a dbt build
    that built every ledger model and ran every test of them, and no node
    failed, errored or was skipped. Otherwise nothing is written and the
    log says why: the state stays as the last green build left it, and the
    next build starts from there (the rows in the schema audit are rebuilt
    by it; nothing needs cleaning).

    On DuckDB the commit is one transaction: a process killed during it
    leaves the state as before or fully committed. Spark has no
    transactions across tables: see spark__ledger_commit.
#}
{% macro commit_billing_run(results) -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set ledger_models = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
            and node.config.materialized == 'ledger' -%}
            {%- do ledger_models.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set ledger_ids = ledger_models | map(attribute='unique_id') | list -%}

    {%- set built = [] -%}
    {%- set ran = [] -%}
    {%- set failed = [] -%}
    {%- for result in results -%}
        {%- do ran.append(result.node.unique_id) -%}
        {%- if result.status | string in ('error', 'fail', 'skipped', 'runtime error') -%}
            {%- do failed.append(result.node.unique_id) -%}
        {%- elif result.node.unique_id in ledger_ids -%}
            {%- do built.append(result.node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- set touched = ledger_ids | select('in', ran) | list -%}
    {%- if not touched -%}
        {{- return('') -}}
    {%- endif -%}
    {%- if failed -%}
        {{- log(
            'Nothing committed to the ledger: ' ~ failed | length
            ~ ' node(s) did not pass (' ~ failed[:5] | join(', ')
            ~ (', ...' if failed | length > 5 else '') ~ ')', info=true
        ) -}}
        {{- return('') -}}
    {%- endif -%}
    {%- set missing = ledger_ids | reject('in', built) | list -%}
    {%- if missing or flags.WHICH != 'build' -%}
        {{- log(
            'Nothing committed to the ledger: only a dbt build of every '
            ~ 'ledger model and its tests commits (not built here: '
            ~ (missing | join(', ') or 'their tests') ~ ')', info=true
        ) -}}
        {{- return('') -}}
    {%- endif -%}
    {%- set untested = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'test'
            and node.depends_on.nodes | select('in', ledger_ids) | list
            and node.unique_id not in ran -%}
            {%- do untested.append(node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if untested -%}
        {{- log(
            'Nothing committed to the ledger: ' ~ untested | length
            ~ ' test(s) of the ledger models did not run ('
            ~ untested[:5] | join(', ') ~ ')', info=true
        ) -}}
        {{- return('') -}}
    {%- endif -%}

    {#- DAG order: a model after the ledger models it reads -#}
    {%- set depth = {} -%}
    {%- for _ in ledger_models -%}
        {%- for node in ledger_models -%}
            {%- set level = namespace(value=0) -%}
            {%- for parent in node.depends_on.nodes if parent in depth -%}
                {%- set level.value = [level.value, depth[parent] + 1] | max -%}
            {%- endfor -%}
            {%- do depth.update({node.unique_id: level.value}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set steps = [] -%}
    {%- for node in ledger_models -%}
        {%- set run_relation = adapter.get_relation(
            database=node.database, schema=node.schema,
            identifier=node.alias
        ) -%}
        {%- do steps.append({
            'run': run_relation,
            'state': ledger_state(run_relation),
            'strategy': node.config.get('incremental_strategy') or 'append',
            'unique_key': node.config.get('unique_key'),
            'predicates': node.config.get('incremental_predicates') or [],
            'order': depth[node.unique_id],
        }) -%}
    {%- endfor -%}
    {{- log('Committing the run to the ledger (' ~ steps | length ~ ' tables)', info=true) -}}
    {{- return(ledger_commit(steps | sort(attribute='order'))) -}}
{%- endmacro %}


{#- The commit of the steps, per engine. -#}
{% macro ledger_commit(steps) -%}
    {{- return(adapter.dispatch('ledger_commit')(steps)) -}}
{%- endmacro %}


{#- The columns a run’s rows and the state have in common, quoted. -#}
{% macro ledger_commit_columns(step) -%}
    {%- set state_columns = adapter.get_columns_in_relation(step.state)
        | map(attribute='name') | map('lower') | list -%}
    {%- set columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(step.run) -%}
        {%- if column.name | lower in state_columns -%}
            {%- do columns.append(adapter.quote(column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(columns) -}}
{%- endmacro %}


{#-
    DuckDB: every statement in one transaction (dbt opens it, the last line
    commits it); an error, or the process killed before the commit, leaves
    the state as it was.
-#}
{% macro default__ledger_commit(steps) -%}
    {%- set statements = [] -%}
    {%- for step in steps -%}
        {%- set columns = ledger_commit_columns(step) -%}
        {%- set keys = [step.unique_key] if step.unique_key is string
            else (step.unique_key or []) -%}
        {%- if step.strategy == 'insert_overwrite' -%}
            {%- do statements.append('delete from ' ~ step.state) -%}
        {%- elif step.strategy == 'delete+insert' -%}
            {%- set matches = [] -%}
            {%- for key in keys -%}
                {%- do matches.append(
                    'DBT_INTERNAL_SOURCE.' ~ key
                    ~ ' = DBT_INCREMENTAL_TARGET.' ~ key
                ) -%}
            {%- endfor -%}
            {%- set conditions = [
                'exists (select 1 from ' ~ step.run
                ~ ' as DBT_INTERNAL_SOURCE where ' ~ matches | join(' and ') ~ ')'
            ] -%}
            {%- for predicate in step.predicates -%}
                {%- do conditions.append('(' ~ predicate ~ ')') -%}
            {%- endfor -%}
            {%- do statements.append(
                'delete from ' ~ step.state ~ ' as DBT_INCREMENTAL_TARGET where '
                ~ conditions | join(' and ')
            ) -%}
        {%- endif -%}
        {%- do statements.append(
            'insert into ' ~ step.state ~ ' (' ~ columns | join(', ')
            ~ ') select ' ~ columns | join(', ') ~ ' from ' ~ step.run
        ) -%}
    {%- endfor -%}
    {% call statement('ledger_commit', auto_begin=true) -%}
        {{ statements | join(';\n') }}
    {%- endcall %}
    {% do adapter.commit() %}
    {{- return('') -}}
{%- endmacro %}


{#-
    Spark: the statements run one by one, in the order of the DAG (the
    records, the files, then the bills, billing_runs last). Plain Parquet
    tables have no transactions across tables: a process killed during the
    commit can leave part of it written (docs/spark.md); a table format
    with transactions (Delta, Iceberg) would make it atomic.
-#}
{% macro spark__ledger_commit(steps) -%}
    {%- for step in steps -%}
        {%- set columns = ledger_commit_columns(step) -%}
        {%- if step.strategy == 'insert_overwrite' -%}
            {% do run_query(
                'insert overwrite table ' ~ step.state
                ~ ' select ' ~ columns | join(', ') ~ ' from ' ~ step.run
            ) %}
        {%- elif step.strategy == 'delete+insert' -%}
            {% do run_query(spark_delete_insert_sql(
                step.run, step.state, step.unique_key, step.predicates
            )) %}
        {%- else -%}
            {% do run_query(
                'insert into ' ~ step.state ~ ' (' ~ columns | join(', ')
                ~ ') select ' ~ columns | join(', ') ~ ' from ' ~ step.run
            ) %}
        {%- endif -%}
    {%- endfor -%}
    {{- return('') -}}
{%- endmacro %}
