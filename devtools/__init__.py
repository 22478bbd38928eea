"""Development machinery that the tests and the benchmarks share; never shipped.

moto SQS and Celery on it (`sqs`), real `celery worker` processes (`workers`), the Zappa deploy
venv and commands (`zappa`), and the unzipped Lambda package run as Lambda runs it
(`lambda_package`, `lambda_runner`). Nothing here imports pytest: the fixtures that wrap these
live in tests/support/. Zappa's "exclude" and .dockerignore keep this folder out of the Lambda
package and the image.
"""
