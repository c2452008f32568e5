"""The TDL (transparent dynamic layer) dataset: format, construction, synthetic data."""
