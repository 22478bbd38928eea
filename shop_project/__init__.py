"""The shop's Django project.

The Celery app (shop_project.celery) is not imported here: a web request that publishes no
task should not pay for importing Celery on a Lambda cold start. The tasks modules import it.
"""
