"""Operating an office's installation for years: backup and restore, the doctor, metrics."""
