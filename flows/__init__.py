"""CloudAct Prefect flows. Built in issue 6; no flow is defined here yet."""
