"""Zappa callbacks (zappa_settings.json "callbacks"), run by `zappa deploy` and `zappa update`."""

import click


def report_batch_item_failures(zappa_cli) -> None:
    """Make the function's SQS event-source mappings report batch item failures.

    Zappa creates the mapping without FunctionResponseTypes, and then Lambda treats a batch as
    one: a single failed record would make SQS deliver all ten again. The worker handler
    returns {"batchItemFailures": [...]}, which Lambda reads only with ReportBatchItemFailures.
    Runs as the "post" callback, after every deploy and update, so it holds after both.
    """
    client = zappa_cli.zappa.lambda_client
    # By the function's ARN, as Zappa itself creates and looks up its mappings: AWS takes a name
    # or an ARN, but moto matches FunctionName literally against what the mapping was made with.
    function = client.get_function(FunctionName=zappa_cli.lambda_name)["Configuration"]
    pages = client.get_paginator("list_event_source_mappings").paginate(FunctionName=function["FunctionArn"])
    for mapping in (m for page in pages for m in page["EventSourceMappings"]):
        if not mapping.get("EventSourceArn", "").startswith("arn:aws:sqs:"):
            continue
        if "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []):
            continue
        client.update_event_source_mapping(
            UUID=mapping["UUID"], FunctionResponseTypes=["ReportBatchItemFailures"]
        )
        click.echo(f"SQS mapping {mapping['UUID']} now reports batch item failures.")
