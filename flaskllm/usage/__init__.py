"""Usage: what each processed item used and cost, written off the request's path.

    records.py   UsageRecord, the row of ``db.usage_records``
    recorder.py  the queue, the batch writer and the spool replay (``app.usage``)
    spool.py     the append-only file that holds records while the database is away
    report.py    totals and breakdowns for the API, the dashboard and ``flaskllm usage``
    budgets.py   per-token USD budgets and request quotas (``app.budgets``)
"""

from flaskllm.usage.records import UsageRecord
from flaskllm.usage.recorder import Recorder

__all__ = ["Recorder", "UsageRecord"]
