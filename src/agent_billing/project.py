"""Where things are: the dbt project, the warehouse file, the sample data."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def project_dir() -> Path:
    """The dbt project root (the repository holding dbt_project.yml)."""
    configured = os.environ.get("BILLING_PROJECT_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(__file__).resolve().parents[2], Path.cwd()]
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate.resolve()
    raise SystemExit(
        "billing: cannot find the dbt project (dbt_project.yml); "
        "set BILLING_PROJECT_DIR to the repository root"
    )


def target_dir(root: Path | None = None) -> Path:
    """dbt's target folder (manifest, run results): DBT_TARGET_PATH as dbt reads it
    (relative to the project), else target/ in the project."""
    root = root or project_dir()
    return root / os.environ.get("DBT_TARGET_PATH", "target")


def db_path() -> Path:
    """The DuckDB file dbt builds into (BILLING_DB_PATH)."""
    configured = os.environ.get("BILLING_DB_PATH")
    if configured:
        return Path(configured).expanduser().resolve()
    return project_dir() / "warehouse" / "billing.duckdb"


def sample_usage_root() -> Path:
    """Where `billing demo` writes sample usage (the usage_root default)."""
    return project_dir() / "sample_data" / "usage"


def dbt_executable() -> str:
    """The dbt installed beside this package (same virtual environment)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"
