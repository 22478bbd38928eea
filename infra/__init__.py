"""Infrastructure the Zappa deployment relies on: infra/template.yaml and infra/deploy.py."""
