"""The REST API and dashboard: `rules serve` over a journal (read-only), `rules run --serve`
inside a running engine (with control). FastAPI + uvicorn, the `server` extra."""
