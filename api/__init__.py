"""CloudAct REST API (FastAPI). Built in issue 5; nothing is served from here yet."""
