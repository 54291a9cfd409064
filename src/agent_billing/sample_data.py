"""Deterministic sample usage for the demo: what a small platform sends in a week.

About 20 tenants, each with a few agents, bill in CNY (Chinese models and
voice vendors), in USD (the others) or in both. Days alternate between JSON
Lines and Parquet files under <root>/<stream>/date=YYYY-MM-DD/. Like real
feeds it holds retried events (the same line delivered again), usage of
models without a published price (Mistral Large, Nova Pro), dated snapshot
ids and odd casing, and a few broken records.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

CNY_MODELS = ["qwen-max", "Qwen-Max-Latest", "doubao-pro-32k", "deepseek-chat", "DeepSeek-Chat"]
USD_MODELS = [
    "gpt-4o",
    "gpt-4o-2024-08-06",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gemini-1.5-pro-002",
    "gemini-2.0-flash",
    "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet-latest",
]
UNPRICED_MODELS = ["mistral-large-latest", "amazon.nova-pro-v1:0"]
CNY_ASR, USD_ASR = ["aispeech", "AISpeech"], ["google"]
CNY_TTS, USD_TTS = ["aispeech", "volcano-ark", "Volcano-Ark"], ["azure", "Azure"]

STREAM_COLUMNS = {
    "llm": {"model": "VARCHAR", "input_tokens": "BIGINT", "output_tokens": "BIGINT"},
    "asr": {"vendor": "VARCHAR", "audio_seconds": "DECIMAL(18,3)"},
    "tts": {"vendor": "VARCHAR", "characters": "BIGINT"},
}


def has_usage_files(root: Path) -> bool:
    """Whether any usage file (JSON Lines or Parquet) lies under root."""
    return any(
        path.suffix in (".jsonl", ".parquet")
        for stream in STREAM_COLUMNS
        for path in (root / stream).rglob("*")
        if path.is_file()
    )


def generate(root: Path, last_day: dt.date, days: int = 7, tenants: int = 20, seed: int = 7):
    """Write `days` days of usage ending on last_day (billing days, Asia/Shanghai)."""
    rng = random.Random(seed)
    zone = ZoneInfo("Asia/Shanghai")
    profiles = [_tenant_profile(rng, number) for number in range(1, tenants + 1)]
    counter = 0
    for offset in range(days):
        day = last_day - dt.timedelta(days=days - 1 - offset)
        events: dict[str, list[dict]] = {stream: [] for stream in STREAM_COLUMNS}
        for profile in profiles:
            for stream in STREAM_COLUMNS:
                for _ in range(rng.randint(*profile["volume"][stream])):
                    counter += 1
                    event = _event(rng, profile, stream, day, zone, counter)
                    events[stream].append(event)
                    if rng.random() < 0.02:  # a retried delivery
                        events[stream].append(dict(event))
        as_parquet = offset % 2 == 1
        for stream, rows in events.items():
            folder = root / stream / f"date={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            if as_parquet:
                _write_parquet(folder / "part-0.parquet", stream, rows)
            else:
                lines = [json.dumps(row) for row in rows]
                if stream == "llm" and offset == 0:
                    lines.append(lines[0][: len(lines[0]) // 2])  # a torn line
                    bad = dict(rows[1], event_id=f"evt-bad-{day}", input_tokens=-5)
                    lines.append(json.dumps(bad))  # a negative quantity
                (folder / "part-0.jsonl").write_text("\n".join(lines) + "\n")


def _tenant_profile(rng: random.Random, number: int) -> dict:
    kind = ["cny", "usd", "both"][number % 3]
    models, asr, tts = [], [], []
    if kind in ("cny", "both"):
        models += CNY_MODELS
        asr += CNY_ASR
        tts += CNY_TTS
    if kind in ("usd", "both"):
        models += USD_MODELS
        asr += USD_ASR
        tts += USD_TTS
    scale = rng.choice([1, 2, 4])
    return {
        "tenant_id": f"tenant-{number:02d}",
        "agents": [f"agent-{number:02d}-{a}" for a in range(1, rng.randint(2, 4))],
        "models": models,
        "asr": asr,
        "tts": tts,
        "volume": {
            "llm": (5 * scale, 15 * scale),
            "asr": (1 * scale, 4 * scale),
            "tts": (1 * scale, 5 * scale),
        },
    }


def _event(rng, profile, stream, day, zone, counter) -> dict:
    local = dt.datetime.combine(day, dt.time(), zone) + dt.timedelta(
        seconds=rng.randint(0, 86399), microseconds=rng.choice([0, 250000, 500000])
    )
    if rng.random() < 0.5:
        occurred_at = local.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    else:
        occurred_at = local.isoformat()
    event = {
        "event_id": f"evt-{stream}-{counter:07d}",
        "tenant_id": profile["tenant_id"],
        "agent_id": rng.choice(profile["agents"]),
        "occurred_at": occurred_at,
    }
    if stream == "llm":
        model = rng.choice(profile["models"])
        if rng.random() < 0.02:
            model = rng.choice(UNPRICED_MODELS)
        event["model"] = model
        event["input_tokens"] = rng.randint(200, 60000)
        event["output_tokens"] = rng.randint(0, 8000)
    elif stream == "asr":
        event["vendor"] = rng.choice(profile["asr"])
        event["audio_seconds"] = f"{rng.randint(1000, 600000) / 1000:.3f}"
    else:
        event["vendor"] = rng.choice(profile["tts"])
        event["characters"] = rng.randint(20, 4000)
    return event


def _write_parquet(path: Path, stream: str, rows: Iterable[dict]) -> None:
    columns = {
        "event_id": "VARCHAR",
        "tenant_id": "VARCHAR",
        "agent_id": "VARCHAR",
        "occurred_at": "TIMESTAMPTZ",
        **STREAM_COLUMNS[stream],
    }
    staging = path.with_suffix(".tmp.jsonl")
    staging.write_text("".join(json.dumps(row) + "\n" for row in rows))
    try:
        with duckdb.connect() as connection:
            connection.execute("set TimeZone = 'UTC'")
            selected = ", ".join(
                f"cast({name} as {kind}) as {name}" for name, kind in columns.items()
            )
            spec = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in columns) + "}"
            connection.execute(
                f"copy (select {selected} from read_json('{staging}', columns = {spec}, "
                f"format = 'newline_delimited')) to '{path}' (format parquet)"
            )
    finally:
        staging.unlink()
