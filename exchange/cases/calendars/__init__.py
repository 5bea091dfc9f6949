"""The holiday arrangements the State Council published, one YAML file per year (shipped data)."""
