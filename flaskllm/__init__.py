"""FlaskLLM: a spec-first HTTP API that puts large language models behind a spreadsheet."""

__version__ = "0.1.0"
