"""Outside data sources for the prediction-market models: fetch, parse and health, one class per source."""
