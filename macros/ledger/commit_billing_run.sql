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
    Spark: plain Parquet tables have no transactions, and a rewrite in place
    (insert overwrite) killed halfway loses the rows it had deleted. So the
    commit never writes a ledger table in place:
      1. prepare: the next state of each table is written whole to a new
         table <table>__dbt_next_<commit> (its rows and the new rows, less
         the rows replaced), in the column types of the state;
      2. mark: the empty table ledger.dbt_commit_<commit> says that every
         next state is complete;
      3. swap: each table is renamed <table>__dbt_previous_<commit> and its
         next state takes its name (a rename in the metastore: the views
         of the marts read the new table by name);
      4. the previous tables and the mark are dropped.
    A run stopped anywhere (the dbt process or the Spark server killed)
    leaves either no mark (the ledger as it was, plus next tables to drop)
    or a mark (the swap to finish): recover_interrupted_ledger_commit(),
    the first thing every later run does, finishes or discards it.
-#}
{% macro spark__ledger_commit(steps) -%}
    {%- set commit = invocation_id | replace('-', '') -%}
    {%- for step in steps -%}
        {%- set next = step.state.incorporate(
            path={'identifier': step.state.identifier ~ '__dbt_next_' ~ commit}
        ) -%}
        {%- set run_columns = adapter.get_columns_in_relation(step.run)
            | map(attribute='name') | map('lower') | list -%}
        {%- set kept = [] -%}
        {%- set added = [] -%}
        {%- for column in adapter.get_columns_in_relation(step.state) -%}
            {%- set cast = 'cast({} as ' ~ column.data_type ~ ') as '
                ~ column.quoted -%}
            {%- do kept.append(
                cast.format('DBT_INCREMENTAL_TARGET.' ~ column.quoted)
            ) -%}
            {%- do added.append(cast.format(
                column.quoted if column.name | lower in run_columns else 'null'
            )) -%}
        {%- endfor -%}
        {%- if step.strategy == 'insert_overwrite' -%}
            {%- set rows = 'select ' ~ added | join(', ') ~ ' from ' ~ step.run -%}
        {%- elif step.strategy == 'delete+insert' -%}
            {%- set rows = spark_delete_insert_rows_sql(
                step.run, step.state, step.unique_key, step.predicates,
                kept, added
            ) -%}
        {%- else -%}
            {%- set rows = 'select ' ~ kept | join(', ') ~ ' from '
                ~ step.state ~ ' as DBT_INCREMENTAL_TARGET union all select '
                ~ added | join(', ') ~ ' from ' ~ step.run -%}
        {%- endif -%}
        {% do run_query('create table ' ~ next ~ ' using parquet as ' ~ rows) %}
    {%- endfor -%}
    {% do run_query(
        'create table ' ~ ledger_state_schema() ~ '.dbt_commit_' ~ commit
        ~ ' (tables int) using parquet'
    ) %}
    {{ recover_interrupted_ledger_commit(interrupted=false) }}
    {{- return('') -}}
{%- endmacro %}


{#-
    on-run-start (Spark), before anything reads the ledger: what a commit
    stopped halfway left in the schema ledger, finished or discarded. With
    its mark (every next state complete), each table not swapped yet is
    swapped and the previous tables dropped; without it, the next tables
    are dropped and the ledger stays as it was. A commit that ran to its end
    leaves nothing, and this reads one list of tables. Also the end of
    spark__ledger_commit itself (steps 3 and 4).
-#}
{% macro recover_interrupted_ledger_commit(interrupted=true) -%}
    {{- return(adapter.dispatch('recover_interrupted_ledger_commit')(
        interrupted
    )) -}}
{%- endmacro %}

{% macro default__recover_interrupted_ledger_commit(interrupted) -%}
    {{- return('') -}}
{%- endmacro %}

{% macro spark__recover_interrupted_ledger_commit(interrupted) -%}
    {%- set schema = ledger_state_schema() -%}
    {%- if not adapter.check_schema_exists(target.database, schema) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set present = run_query('show tables in ' ~ schema).columns[1].values()
        | map('lower') | list -%}
    {%- set pattern = '^(.+)__dbt_(next|previous)_([0-9a-f]+)$' -%}
    {%- set marks = [] -%}
    {%- set left = [] -%}
    {%- for name in present -%}
        {%- if modules.re.match('^dbt_commit_[0-9a-f]+$', name) -%}
            {%- do marks.append(name) -%}
        {%- elif modules.re.match(pattern, name) -%}
            {%- do left.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not marks and not left -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set marked = marks | map('replace', 'dbt_commit_', '') | list -%}
    {%- set finished = [] -%}
    {%- set discarded = [] -%}
    {%- for name in left | sort -%}
        {%- set parts = modules.re.match(pattern, name) -%}
        {%- set table = parts.group(1) -%}
        {%- set state = api.Relation.create(
            schema=schema, identifier=table, type='table'
        ) -%}
        {%- set next = state.incorporate(path={'identifier': name}) -%}
        {%- set previous = state.incorporate(path={
            'identifier': table ~ '__dbt_previous_' ~ parts.group(3)
        }) -%}
        {%- if parts.group(2) == 'next' and parts.group(3) in marked -%}
            {#- swap: the state aside (unless already), the next state in -#}
            {%- if table in present and previous.identifier not in present -%}
                {% do adapter.rename_relation(state, previous) %}
                {%- do present.append(previous.identifier) -%}
            {%- endif -%}
            {% do adapter.rename_relation(next, state) %}
            {%- do present.append(table) -%}
            {%- do finished.append(table) -%}
        {%- elif parts.group(2) == 'next' -%}
            {% do adapter.drop_relation(next) %}
            {%- do discarded.append(table) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in present | list -%}
        {%- set parts = modules.re.match(pattern, name) -%}
        {%- if parts and parts.group(2) == 'previous' -%}
            {%- set previous = api.Relation.create(
                schema=schema, identifier=name, type='table'
            ) -%}
            {%- if parts.group(1) in present -%}
                {% do adapter.drop_relation(previous) %}
            {%- else -%}
                {#- set aside without a next state to take its place (no
                    commit does that): it is still the state -#}
                {% do adapter.rename_relation(previous, previous.incorporate(
                    path={'identifier': parts.group(1)}
                )) %}
                {%- do present.append(parts.group(1)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for mark in marks -%}
        {% do adapter.drop_relation(api.Relation.create(
            schema=schema, identifier=mark, type='table'
        )) %}
    {%- endfor -%}
    {%- if interrupted and finished -%}
        {{- log(
            'Finished the ledger commit of an interrupted run (its every table'
            ~ ' was written; now swapped in): ' ~ finished | join(', '),
            info=true
        ) -}}
    {%- endif -%}
    {%- if interrupted and discarded -%}
        {{- log(
            'Discarded the ledger commit of an interrupted run (not every table'
            ~ ' was written; the ledger is as the last finished commit left'
            ~ ' it): ' ~ discarded | join(', '),
            info=true
        ) -}}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}
