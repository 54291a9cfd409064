"""An independent computation of the bills, in Python decimals, for the tests.

Prices are typed in here from the published pricing page (Agent Metering and
Billing), not read from the seeds, so a wrong seed or a wrong formula in SQL
shows up as a difference.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

D = Decimal
# catalog model -> (currency, input per 1M tokens, output per 1M tokens, item name)
TOKEN_PRICES = {
    "qwen-max": ("CNY", D("2.40"), D("9.60"), "Qwen-Max"),
    "doubao-pro-32k": ("CNY", D("0.80"), D("2.00"), "Doubao-Pro-32k"),
    "deepseek-chat": ("CNY", D("2.00"), D("8.00"), "Deepseek-Chat"),
    "gpt-4o": ("USD", D("2.50"), D("10.00"), "GPT-4o"),
    "gpt-4o-mini": ("USD", D("0.15"), D("0.60"), "GPT-4o-mini"),
    "gemini-1.5-pro": ("USD", D("1.25"), D("2.50"), "Gemini-1.5-pro"),
    "gemini-2.0-flash": ("USD", D("0.10"), D("0.40"), "Gemini-2.0-flash"),
    "claude-3-5-haiku": ("USD", D("0.80"), D("4.00"), "Claude 3.5 Haiku"),
    "claude-3-7-sonnet": ("USD", D("3.00"), D("15.00"), "Claude 3.7 Sonnet"),
}
ALIASES = {
    "qwen-max-latest": "qwen-max",
    "gpt-4o-2024-05-13": "gpt-4o",
    "gpt-4o-2024-08-06": "gpt-4o",
    "gpt-4o-2024-11-20": "gpt-4o",
    "gpt-4o-mini-2024-07-18": "gpt-4o-mini",
    "gemini-1.5-pro-001": "gemini-1.5-pro",
    "gemini-1.5-pro-002": "gemini-1.5-pro",
    "gemini-2.0-flash-001": "gemini-2.0-flash",
    "claude-3-5-haiku-20241022": "claude-3-5-haiku",
    "claude-3-5-haiku-latest": "claude-3-5-haiku",
    "claude-3-7-sonnet-20250219": "claude-3-7-sonnet",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet",
}
# vendor -> (currency, price per hour, item)
ASR_PRICES = {
    "aispeech": ("CNY", D("5.00"), "AISpeech ASR"),
    "google": ("USD", D("1.44"), "Google ASR"),
}
# vendor -> (currency, price per 1000 characters, item)
TTS_PRICES = {
    "aispeech": ("CNY", D("0.20"), "AISpeech TTS"),
    "volcano-ark": ("CNY", D("0.30"), "Volcano Ark TTS"),
    "azure": ("USD", D("0.015"), "Azure TTS"),
}
CENT = D("0.01")
TWELVE = D("0.000000000001")


# A dated price change: billing item -> [(effective_from, price), ...], each in force
# from its day (inclusive) until the next one; before the first, the list price above.
PriceChanges = dict[str, list[tuple[dt.date, Decimal]]]


def price_on(item: str, list_price: Decimal, day: dt.date, changes: PriceChanges | None) -> Decimal:
    """The price of a billing item in force on a day."""
    price = list_price
    for effective_from, changed in sorted((changes or {}).get(item, [])):
        if effective_from <= day:
            price = changed
    return price


def catalog_items() -> dict[str, tuple[str, str, str, str, Decimal]]:
    """billing item -> (stream, catalog item, price component, currency, list price)."""
    items = {}
    for model, (currency, price_in, price_out, name) in TOKEN_PRICES.items():
        items[f"{name} input"] = ("llm", model, "input", currency, price_in)
        items[f"{name} output"] = ("llm", model, "output", currency, price_out)
    for vendor, (currency, price, item) in ASR_PRICES.items():
        items[item] = ("asr", vendor, "audio", currency, price)
    for vendor, (currency, price, item) in TTS_PRICES.items():
        items[item] = ("tts", vendor, "characters", currency, price)
    return items


def billing_day(occurred_at: str, zone: str = "Asia/Shanghai") -> dt.date:
    instant = dt.datetime.fromisoformat(occurred_at.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(ZoneInfo(zone)).date()


def expected_bills(
    billed_events: dict[str, list[dict]],
    zone: str = "Asia/Shanghai",
    price_changes: PriceChanges | None = None,
):
    """(lines, bills) for events known to be billed, keyed like the marts; each line is
    priced at the price in force on its own usage day (price_changes).

    lines: {(bill_date, tenant, billing_item): (currency, quantity, amount, amount_due, events)}
    bills: {(bill_date, tenant, currency): (total_amount, amount_due, line_count)}
    """
    quantities: dict[tuple, list] = defaultdict(lambda: [None, D(0), 0, None])
    for stream, events in billed_events.items():
        for event in events:
            day = billing_day(event["occurred_at"], zone)
            tenant = event["tenant_id"].strip()
            if stream == "llm":
                reported = event["model"].strip().lower()
                model = ALIASES.get(reported, reported)
                currency, price_in, price_out, name = TOKEN_PRICES[model]
                parts = [
                    (f"{name} input", D(str(event["input_tokens"])), price_in, "tokens"),
                    (f"{name} output", D(str(event["output_tokens"])), price_out, "tokens"),
                ]
            elif stream == "asr":
                currency, price, item = ASR_PRICES[event["vendor"].strip().lower()]
                parts = [(item, D(str(event["audio_seconds"])), price, "seconds")]
            else:
                currency, price, item = TTS_PRICES[event["vendor"].strip().lower()]
                parts = [(item, D(str(event["characters"])), price, "characters")]
            for item, quantity, list_price, unit in parts:
                price = price_on(item, list_price, day, price_changes)
                entry = quantities[(day, tenant, item)]
                entry[0] = (currency, price, unit)
                entry[1] += quantity
                entry[2] += 1 if quantity > 0 else 0

    lines = {}
    for key, ((currency, price, unit), quantity, events, _) in quantities.items():
        if quantity == 0:
            continue
        if unit == "tokens":
            amount = quantity * price / D(1_000_000)
        elif unit == "seconds":
            amount = (quantity * price / D(3600)).quantize(TWELVE, rounding=ROUND_HALF_UP)
        else:
            amount = quantity * price / D(1000)
        amount_due = amount.quantize(CENT, rounding=ROUND_HALF_UP)
        lines[key] = (currency, quantity, amount, amount_due, events)

    bills: dict[tuple, list] = defaultdict(lambda: [D(0), D(0), 0])
    for (day, tenant, _item), (currency, _q, amount, amount_due, _e) in lines.items():
        bill = bills[(day, tenant, currency)]
        bill[0] += amount
        bill[1] += amount_due
        bill[2] += 1
    return lines, {key: tuple(value) for key, value in bills.items()}


def expected_lines_by_bill(
    events: list[tuple[str, str, dict]],
    zone: str = "Asia/Shanghai",
    price_changes: PriceChanges | None = None,
):
    """Lines keyed (bill_date, tenant, billing_item, usage_date) for (stream, bill_date, event).

    For runs over several days: an event is on the bill of the day given with it (its
    own day, or a later one for late usage); each usage day keeps lines of its own,
    priced at that day's price.
    """
    by_bill: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for stream, bill_date, event in events:
        by_bill[bill_date][stream].append(event)
    lines = {}
    for bill_date, streams in by_bill.items():
        day_lines, _ = expected_bills(streams, zone, price_changes)
        for (usage_date, tenant, item), line in day_lines.items():
            lines[(dt.date.fromisoformat(bill_date), tenant, item, usage_date)] = line
    return lines
