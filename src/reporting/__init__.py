"""Compare a sweep's trials: read them from MLflow into a tidy table, pivot it, summarize
seeds with confidence intervals, and draw the comparison plots (`python -m src.export`)."""
