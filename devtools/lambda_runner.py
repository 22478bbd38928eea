"""Runs an unzipped Zappa package the way the Lambda runtime does, for tests and benchmarks.

    python -I -S devtools/lambda_runner.py PACKAGE_DIR RUNTIME_DIR

sys.path holds the package, RUNTIME_DIR (what the Lambda runtime itself provides: boto3,
botocore and their dependencies) and the standard library: nothing from the developer's venv.
One process is one warm container: it imports Zappa's handler once, then reads one JSON event a
line on stdin and answers each with a line `@@lambda@@ {"response": ..., "seconds": ...}`.
The first such line is {"import_seconds": ...}. Everything else on stdout is the function's logs.
"""

import json
import os
import sys
import time
import traceback
import uuid

MARK = "@@lambda@@ "


class Context:
    """The parts of Lambda's context object that Zappa and the shop read."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "myshop-dev")
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)


def answer(payload):
    sys.stdout.write(MARK + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


def main():
    package_dir, runtime_dir = sys.argv[1:3]
    sys.path[:] = [package_dir, runtime_dir, *(p for p in sys.path if p and "site-packages" not in p)]
    os.chdir(package_dir)  # Lambda's working directory is the package (/var/task).
    started = time.perf_counter()
    import handler  # Zappa's entry point, handler.lambda_handler

    answer({"import_seconds": time.perf_counter() - started})
    for line in sys.stdin:
        event = json.loads(line)
        started = time.perf_counter()
        try:
            response = handler.lambda_handler(event, Context())
        except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
            response = {"unhandled": repr(error), "traceback": traceback.format_exc()}
        answer({"response": response, "seconds": time.perf_counter() - started})


if __name__ == "__main__":
    main()
