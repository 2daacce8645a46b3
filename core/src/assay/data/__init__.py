"""Data in: ingestion, encoders, stratified splits and folds, and the persisted Splitset."""
