"""The worker Lambda: runs the Celery tasks that SQS hands it in batches (`handler`).

The Lambda takes the place of `celery worker` on AWS. An SQS event-source mapping with
ReportBatchItemFailures delivers the queue's messages as records; each record is one Celery
message as kombu's SQS transport wrote it. The handler runs each message's task the way a
worker would and names the records that failed, which SQS delivers again (and moves to the
dead-letter queue after the queue's maxReceiveCount); the others are deleted.

A worker waits for a message's eta in memory; a Lambda cannot, so the waiting is left to the
queue: a record that arrives before its eta is sent to the queue again with DelaySeconds, and a
task's retry is published with DelaySeconds (see shop_project.celery). Only standard queues
take a per-message delay; FIFO queues are not supported.

DJANGO_SETTINGS_MODULE: Zappa sets it. Without it, the default is the one shop_project.celery
sets when the package is imported (before this module runs): production on Lambda.

The modules: `records` (the entry, one outcome per record), `messages` (decoding a body),
`task_run` (running the task through Celery's tracer), `sqs` (sending a record back),
`container` (Django set up once per container). The confirmation sweep's scheduled entry is
apps.orders.lambda_handlers.
"""

from shop_project.lambda_worker.records import handler

__all__ = ["confirmations_sweep_handler", "handler"]


def __getattr__(name: str):
    # The sweep's old entry, for one release: the scheduled rule of a stage deployed before the
    # entry moved names shop_project.lambda_worker.confirmations_sweep_handler, and keeps firing
    # at the new code while `zappa update` replaces the function and then the rule. Looked up on
    # demand (PEP 562, as Zappa's getattr does): a plain import here would be circular, since
    # apps.orders.lambda_handlers imports this package's container.
    if name == "confirmations_sweep_handler":
        from apps.orders.lambda_handlers import confirmations_sweep_handler

        return confirmations_sweep_handler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
