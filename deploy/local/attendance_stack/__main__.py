"""`python -m attendance_stack run`: the whole platform on this machine, until Ctrl-C.

`python -m attendance_stack kafka-topics --bootstrap-server 127.0.0.1:19092 --describe` (or
kafka-console-consumer, kafka-consumer-groups, kafka-get-offsets, kafka-configs): Kafka's own
tools, from the jars `make install` fetched. With STACK_KAFKA_SECURED=1 the broker takes only
SASL_SSL: give the tools `--command-config .data/kafka-tools.properties`, as `run` prints."""

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

from attendance_stack.kafka import TOOLS, exec_tool
from attendance_stack.stack import SERVICES, LocalStack, StackConfig

FLOW = """
  MIS / app --PUT register--> register-service --outbox--> Kafka (attendance.marks.v1)
        analytics-service --figures, flags--> Kafka (analytics.risk-flags.v1)
        notification-service: stores and sends parent messages
        la-returns-service: compiles LA returns, fetching figures from analytics over HTTP
        support-service: support cases suggested by the flags --outbox--> Kafka (support.cases.v1)
"""


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in TOOLS:
        exec_tool(sys.argv[1], sys.argv[2:])
    parser = argparse.ArgumentParser(description="Run the attendance platform locally.")
    parser.add_argument("command", choices=["run", *TOOLS], help="run the platform, or one of Kafka's tools")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".data"),
        help="kept between runs so registers survive a restart (default: .data)",
    )
    parser.add_argument("--fresh", action="store_true", help="delete the data folder first")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.data_dir, ignore_errors=True)
    stack = LocalStack(StackConfig.from_environment(args.data_dir.resolve()))
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack.start()
    print("\nThe attendance platform is running:")
    for service in SERVICES:
        print(f"  {service + '-service':22} {stack.url(service)}   (API docs: {stack.url(service)}/docs)")
    print(f"  {'PostgreSQL':22} {stack.database_url}")
    print(f"  {'Kafka bootstrap':22} {stack.kafka_bootstrap_servers}")
    if stack.security:
        print(f"  {'Kafka security':22} SASL_SSL, SCRAM-SHA-512 and ACLs; each service its own principal")
        print(f"  {'Kafka tools (admin)':22} --command-config {stack.tool_config()}")
    print(f"  {'logs':22} {stack.logs}")
    print(FLOW)
    print("Get a token with: make token ROLE=mis SCHOOLS=100001    Press Ctrl-C to stop.")
    exit_code = 0
    while not stopping:
        if dead := stack.dead_services():
            print(f"stopped unexpectedly: {', '.join(dead)}; see {stack.logs}", file=sys.stderr)
            exit_code = 1
            break
        time.sleep(0.5)
    print("stopping: services finish their batches, then the broker and PostgreSQL stop")
    stack.stop()
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
