"""``purposegate worker``: the Faust worker that applies the policy on Kafka."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import faust
from faust.web import Request, Response, View

from agents import pipeline
from agents.runtime import Runtime
from policy.compile import compile_policy
from policy.history import policy_record, read_policy
from policy.keys import load_keys
from streams.cli import args as args_
from streams.kafka.admin import ensure_topics, topic_specs
from streams.kafka.app import build_app
from streams.kafka.clients import check_connection
from streams.kafka.metrics_page import install_metrics
from streams.kafka.policies import keep_policy
from streams.settings import Settings
from streams.wire.codec import Codec
from streams.wire.generate import load_checked
from streams.wire.topic_schemas import wire_schemas

log = logging.getLogger("purposegate.worker")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker", help="run the Faust worker (settings from KAFKA_* / PURPOSEGATE_* env)"
    )
    parser.add_argument("--web-port", type=args_.port, help="port of /health and /metrics")
    parser.add_argument(
        "--no-create-topics",
        action="store_true",
        help="do not create missing topics at start-up (they must exist)",
    )
    parser.set_defaults(func=run)


def build_worker_app(settings: Settings, create_topics: bool = True) -> faust.App:
    """Load and compile the policy, create topics, keep the policy version (before anything is
    decided under it), wire agents, health and metrics."""
    policy, text = read_policy(settings.policy_file)
    compiled = compile_policy(policy, load_keys(settings), limits=settings.input_limits())
    store = load_checked(policy)
    codec = Codec(store, settings)
    # Confluent: every topic's subject registered (BACKWARD) before anything is sent; a schema
    # the registry refuses stops the worker here with the topic and the registry's reason.
    codec.bind_topics(wire_schemas(policy, store), settings.topic)
    if create_topics:
        ensure_topics(settings, topic_specs(settings, compiled.shared_topics))
    else:  # fail here, in one line, rather than in Faust's retries
        check_connection(settings)
    keep_policy(settings, codec, policy_record(policy, text))
    (settings.data_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    rt = Runtime(settings=settings, compiled=compiled, codec=codec, app=app)
    pipeline.register(app, rt)
    install_metrics(app, settings, compiled.policy_version)
    _install_health(app)
    return app


def _install_health(app: faust.App) -> None:
    @app.page("/health")
    async def health(web: View, request: Request) -> Response:
        assigned = len(app.consumer.assignment()) if app.consumer else 0
        recovering = bool(app.in_recovery) or bool(app.rebalancing)
        status = "ok" if assigned and not recovering else "starting"
        body = {"status": status, "assigned_partitions": assigned, "recovering": recovering}
        code = 200 if status == "ok" else 503
        result: Response = web.json(body, status=code)
        return result


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.web_port:
        settings = settings.model_copy(update={"web_port": args.web_port})
    logging.basicConfig(level=settings.log_level)
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python's admin client chatter
    app = build_worker_app(settings, create_topics=not args.no_create_topics)
    log.info(
        "starting worker app_id=%s bootstrap=%s partitions=%d web_port=%d",
        settings.app_id,
        settings.kafka_bootstrap,
        settings.partitions,
        settings.web_port,
    )
    worker = faust.Worker(app, loglevel=settings.log_level)
    # Faust's terminal spinner, at WARNING or above, sets the root logger to DEBUG so that it
    # can spin on every record: aiokafka then builds a debug LogRecord per message sent
    # (a third of the worker's CPU in `make bench`). A daemon needs no spinner.
    worker.spinner = None
    worker.execute_from_commandline()  # returns on SIGTERM/SIGINT after a clean shutdown
    return 0
