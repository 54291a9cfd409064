"""Daily bills per tenant and currency for AI agents' usage, built by dbt."""

__version__ = "0.1.0"
